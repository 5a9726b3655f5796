package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --events with --events-rotate-size over a recording: the files, oldest
// (FILE.N) to newest (FILE), hold exactly the lines of the same run
// without rotation, each file within the size; a run over files writes
// its log afresh (a second run does not append).
func TestEventsRotateSize(t *testing.T) {
	dir := bundled(t, "ikev2-rekey")
	os.Chmod(filepath.Join(dir, "keys.txt"), 0o600)
	tmp := t.TempDir()
	whole := filepath.Join(tmp, "whole.jsonl")
	args := []string{"stats", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt")}
	for range 2 {
		if _, errOut, code := runCmd(t, append(args, "--events", whole)...); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	want, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(want), "\n")
	if n < 10 || strings.Count(string(want), `"event":{"kind"`) != n {
		t.Fatalf("%d events (run twice into one file): %.300s", n, want)
	}
	rot := filepath.Join(tmp, "rot.jsonl")
	if _, errOut, code := runCmd(t, append(args, "--events", rot, "--events-rotate-size", "2KB", "--events-keep", "100")...); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	files, _ := filepath.Glob(rot + ".*")
	if len(files) < 2 {
		t.Fatalf("%d rotated files of %d bytes in 2 KB files", len(files), len(want))
	}
	var got strings.Builder
	for i := len(files); i >= 0; i-- {
		name := rot
		if i > 0 {
			name = fmt.Sprintf("%s.%d", rot, i)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 2000 && strings.Count(string(b), "\n") > 1 {
			t.Errorf("%s: %d bytes, over 2 KB with more than one line", filepath.Base(name), len(b))
		}
		got.Write(b)
	}
	if got.String() != string(want) {
		t.Errorf("rotated files, oldest first, differ from the run without rotation")
	}
	if _, errOut, code := runCmd(t, "events", "-q", "-r", filepath.Join(dir, "capture.pcap"), "--events", "-", "--events-rotate-size", "1MB"); code != exitUsage ||
		!strings.Contains(errOut, "--events-rotate-size applies to an --events FILE") {
		t.Errorf("--events - with rotation: exit %d, %s", code, errOut)
	}
}
