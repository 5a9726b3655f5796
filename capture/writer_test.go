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
