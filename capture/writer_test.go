package capture

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestWriterRotates(t *testing.T) {
	dir := t.TempDir()
	// Each frame is 100 bytes: 132 bytes as an enhanced packet block. A limit
	// of 1000 bytes leaves room for the section and interface headers plus
	// a few packets per file.
	w, err := NewWriter(filepath.Join(dir, "out.pcapng"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var in []Frame
	for i := 0; i < 20; i++ {
		lt, src := layers.LinkTypeEthernet, "eth0"
		if i%3 == 0 {
			lt, src = layers.LinkTypeLinuxSLL2, "any"
		}
		fr := Frame{Data: bytes.Repeat([]byte{byte(i)}, 100), LinkType: lt, Source: src,
			CI: gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: 100, Length: 100}}
		in = append(in, fr)
		if err := w.Write(&fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := w.Files()
	if len(files) < 3 {
		t.Fatalf("%d files, want rotation into several", len(files))
	}
	var out []Frame
	for _, name := range files {
		if st, _ := os.Stat(name); st.Size() > 1000 {
			t.Errorf("%s is %d bytes, over the 1000-byte limit", name, st.Size())
		}
		src, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var f Frame
		for src.Next(&f) == nil {
			f.Data = append([]byte(nil), f.Data...)
			out = append(out, f)
		}
		src.Close()
	}
	if len(out) != len(in) {
		t.Fatalf("read back %d frames, wrote %d", len(out), len(in))
	}
	for i := range in {
		if !bytes.Equal(in[i].Data, out[i].Data) || in[i].LinkType != out[i].LinkType || !in[i].CI.Timestamp.Equal(out[i].CI.Timestamp) {
			t.Errorf("frame %d differs after the round trip: link %v vs %v", i, in[i].LinkType, out[i].LinkType)
		}
	}
}

func TestWriterEmptyFileIsValid(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.pcapng")
	w, err := NewWriter(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := Open(p)
	if err != nil {
		t.Fatalf("an empty capture must still open: %v", err)
	}
	var f Frame
	if err := src.Next(&f); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

// A writer for secrets (no permission for group or others) leaves no file
// others can read, also when the file was there before: a new file gets
// the mode, an existing one is made to have it. An ordinary writer keeps
// an existing file's mode, as tcpdump -w does.
func TestWriterModeOfExistingFile(t *testing.T) {
	for _, tt := range []struct {
		perm, want os.FileMode
	}{
		{0o600, 0o600},
		{0o666, 0o644},
	} {
		path := filepath.Join(t.TempDir(), "out.pcapng")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
		w, err := NewWriterMode(path, 0, tt.perm)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tt.want {
			t.Errorf("writer mode %04o over a 0644 file: file is %04o, want %04o", tt.perm, st.Mode().Perm(), tt.want)
		}
	}
}
