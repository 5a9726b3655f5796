package eventlog_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ipsecmon/eventlog"
)

// lines reads a file's lines; every line must be whole (end in a newline).
func lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s ends in half a line", name)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func line(i int) []byte { return []byte(fmt.Sprintf(`{"n":%03d}`+"\n", i)) } // 10 bytes

// Size rotation: 10-byte lines, 35-byte files hold 3 lines each; 20 lines
// make files of lines 0-2, 3-5, ..., 18-19: the current file holds 18-19,
// .1 15-17, .2 12-14 (Keep 2), the 4 older files are gone. Counted by hand.
func TestRotateBySize(t *testing.T) {
	name := filepath.Join(t.TempDir(), "events.jsonl")
	f, err := eventlog.OpenFile(name, eventlog.Options{RotateSize: 35, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := f.Write(line(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		want []int
	}{{name, []int{18, 19}}, {name + ".1", []int{15, 16, 17}}, {name + ".2", []int{12, 13, 14}}} {
		var want []string
		for _, i := range c.want {
			want = append(want, strings.TrimSuffix(string(line(i)), "\n"))
		}
		if got := lines(t, c.file); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %q, want %q", filepath.Base(c.file), got, want)
		}
	}
	if _, err := os.Stat(name + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists: Keep 2 keeps two", name)
	}
	if f.Rotations() != 6 {
		t.Errorf("%d rotations, want 6", f.Rotations())
	}
	if _, err := f.Write(line(0)); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// logrotate's create mode: the log is renamed while ipsecmon writes, and
// SIGHUP makes it reopen the name. A shipper that follows the renamed file
// to its end (as Vector and Fluent Bit do by inode) and then the new one
// gets every line once, whole, in order: what was written before the
// reopen went to the renamed file, what came after to the new one.
func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(name, line(99), 0o640); err != nil {
		t.Fatal(err)
	}
	// Appending keeps what was there (a live run restarted); Truncate
	// starts afresh (a run over files).
	f, err := eventlog.OpenFile(name, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line(0))
	// The shipper has the file open.
	tail, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	if err := os.Rename(name, name+".1"); err != nil {
		t.Fatal(err)
	}
	f.Write(line(1)) // still to the renamed file, until the reopen
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write(line(2))
	f.Write(line(3))
	f.Close()
	var shipped []string
	sc := bufio.NewScanner(tail)
	for sc.Scan() {
		shipped = append(shipped, sc.Text())
	}
	shipped = append(shipped, lines(t, name)...)
	want := `{"n":099} {"n":000} {"n":001} {"n":002} {"n":003}`
	if got := strings.Join(shipped, " "); got != want {
		t.Errorf("shipped %s, want %s", got, want)
	}
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("new log mode %v: readable by others", st.Mode().Perm())
	}

	g, err := eventlog.OpenFile(name, eventlog.Options{Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	g.Write(line(7))
	g.Close()
	if got := lines(t, name); len(got) != 1 || got[0] != `{"n":007}` {
		t.Errorf("truncated log holds %q", got)
	}
}

// Lines from many goroutines (the capture path and the eviction timer)
// are never interleaved, across size rotations.
func TestConcurrentLinesWhole(t *testing.T) {
	name := filepath.Join(t.TempDir(), "events.jsonl")
	f, err := eventlog.OpenFile(name, eventlog.Options{RotateSize: 4096, Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				f.Write([]byte(fmt.Sprintf(`{"g":%d,"i":%03d,"pad":"%s"}`+"\n", g, i, strings.Repeat("x", 40))))
			}
		}()
	}
	wg.Wait()
	f.Close()
	files, _ := filepath.Glob(name + "*")
	n := 0
	for _, p := range files {
		for _, l := range lines(t, p) {
			if !strings.HasPrefix(l, `{"g":`) || !strings.HasSuffix(l, `"}`) || len(l) != len(`{"g":0,"i":000,"pad":""}`)+40 {
				t.Fatalf("%s: broken line %q", filepath.Base(p), l)
			}
			n++
		}
		if st, _ := os.Stat(p); st.Size() > 4096 {
			t.Errorf("%s: %d bytes, over the 4096 limit", filepath.Base(p), st.Size())
		}
	}
	if n != 1600 {
		t.Errorf("%d lines, want 1600", n)
	}
}
