package main

import (
	"encoding/json"
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

// TestAnomalyEventsLimitWithEvents: the anomaly_events limit bounds which
// SAs events name, so a run shows it when events are written (--events)
// and not when they go nowhere; it does not depend on how the run is
// read (before, a run without --events subscribed a log that wrote
// nowhere and showed the limit, files read at once did not).
func TestAnomalyEventsLimitWithEvents(t *testing.T) {
	capture := rekeyCapture(t)
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"no events", nil, false},
		{"events to a file", []string{"--events", filepath.Join(t.TempDir(), "ev.jsonl")}, true},
	} {
		out, stderr, code := runCmd(t, append([]string{"stats", "-q", "-o", "json", "-r", capture}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		var v struct {
			Limits []struct{ Name string } `json:"limits"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(v.Limits) == 0 {
			t.Fatalf("%s: no limits in the JSON", tc.name)
		}
		got := false
		for _, l := range v.Limits {
			got = got || l.Name == "anomaly_events"
		}
		if got != tc.want {
			t.Errorf("%s: anomaly_events among the limits: %v, want %v", tc.name, got, tc.want)
		}
	}
}
