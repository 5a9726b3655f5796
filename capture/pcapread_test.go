package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// chopped hands out its bytes in reads of the lengths cuts gives in turn,
// so that records straddle reads and chunks in every way.
type chopped struct {
	b    []byte
	cuts []byte
	i    int
}

func (c *chopped) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(c.cuts) > 0 {
		n = min(n, int(c.cuts[c.i%len(c.cuts)])+1)
		c.i++
	}
	n = copy(p, c.b[:min(n, len(c.b))])
	c.b = c.b[n:]
	return n, nil
}

// pcapFile builds a classic pcap file: little-endian µs, snap length 65535,
// Ethernet, one record per payload.
func pcapFile(payloads ...[]byte) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, magicPcapMicro)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1)
	b.Write(h)
	for i, p := range payloads {
		r := make([]byte, 16)
		binary.LittleEndian.PutUint32(r, uint32(1700000000+i))
		binary.LittleEndian.PutUint32(r[4:], uint32(i*1000))
		binary.LittleEndian.PutUint32(r[8:], uint32(len(p)))
		binary.LittleEndian.PutUint32(r[12:], uint32(len(p)))
		b.Write(r)
		b.Write(p)
	}
	return b.Bytes()
}

// samePcap reads file with pcapgo, the reference, and with pcapReader
// (chunks of size, reads cut by cuts), and fails on the first difference
// in a record, its capture info or the error. With hold, every frame
// after the first is Kept, none released, and all must still hold their
// bytes at the end.
func samePcap(t *testing.T, file, cuts []byte, size int, hold bool) {
	t.Helper()
	if bytes.HasPrefix(file, []byte{0x1f, 0x8b}) {
		return // pcapgo gunzips; Open does that before pcapReader reads
	}
	want, werr := pcapgo.NewReader(bytes.NewReader(file))
	got, gerr := newPcapReaderSize(&chopped{b: file, cuts: cuts}, size)
	// pcapgo's header errors start with a capital; ours do not (Go style).
	if (werr == nil) != (gerr == nil) || werr != nil && !strings.EqualFold(werr.Error(), gerr.Error()) {
		t.Fatalf("header: pcapgo says %v, pcapReader %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	if want.LinkType() != got.LinkType() {
		t.Fatalf("link type %v, want %v", got.LinkType(), want.LinkType())
	}
	sameRecords(t, want, got, hold)
}

func TestPcapReaderAsPcapgo(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 300)
	file := pcapFile([]byte("one"), bytes.Repeat([]byte{1}, 70), nil, big, []byte("last record"))
	cases := []struct {
		name string
		file []byte
	}{
		{"whole", file},
		{"cut in the last record", file[:len(file)-3]},
		{"cut after a record header", file[:len(file)-len("last record")]},
		{"cut in a record header", file[:len(file)-len("last record")-5]},
		{"cut in the file header", file[:20]},
		{"snap length exceeded", func() []byte {
			f := bytes.Clone(file)
			binary.LittleEndian.PutUint32(f[24+8:], 300000)
			return f
		}()},
		{"caplen above len", func() []byte {
			f := bytes.Clone(file)
			binary.LittleEndian.PutUint32(f[24+12:], 1)
			return f
		}()},
		{"nanoseconds big-endian", func() []byte {
			f := pcapFile([]byte("x"), []byte("yz"))
			for _, at := range []int{0, 16, 20, 24, 28, 32, 36, 24 + 17, 24 + 21, 24 + 25, 24 + 29} {
				binary.BigEndian.PutUint32(f[at:], binary.LittleEndian.Uint32(f[at:]))
			}
			binary.BigEndian.PutUint32(f, magicPcapNano)
			binary.BigEndian.PutUint16(f[4:], 2)
			binary.BigEndian.PutUint16(f[6:], 4)
			return f
		}()},
		{"version 2.3", func() []byte {
			f := bytes.Clone(file)
			f[6] = 3
			return f
		}()},
	}
	for _, c := range cases {
		for _, size := range []int{64, 128, 1 << 20} {
			for _, cuts := range [][]byte{nil, {0}, {6, 40, 2, 200}} {
				for _, hold := range []bool{false, true} {
					t.Run(c.name, func(t *testing.T) { samePcap(t, c.file, cuts, size, hold) })
				}
			}
		}
	}
}

// TestPcapKept: through Open, frames become Kept once the consumer
// releases, keep their bytes while held, and chunks released are read
// into again instead of new ones being made.
func TestPcapKept(t *testing.T) {
	var payloads [][]byte
	for i := range 3000 {
		payloads = append(payloads, bytes.Repeat([]byte{byte(i)}, 700+i%300))
	}
	src, err := NewReader("t.pcap", bytes.NewReader(pcapFile(payloads...)))
	if err != nil {
		t.Fatal(err)
	}
	rel := src.(Releaser)
	var f Frame
	var held []Frame
	for {
		if err := src.Next(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		if f.Index == 1 {
			if f.Kept {
				t.Fatal("frame 1 Kept before any Release")
			}
			rel.Release(0)
			continue
		}
		if !f.Kept {
			t.Fatalf("frame %d not Kept after Release", f.Index)
		}
		held = append(held, f)
		if len(held) == 500 { // let the oldest go, as a worker finishes them
			for _, h := range held {
				if !bytes.Equal(h.Data, payloads[h.Index-1]) {
					t.Fatalf("held frame %d overwritten", h.Index)
				}
			}
			rel.Release(held[len(held)-1].Index)
			held = held[:0]
		}
	}
	for _, h := range held {
		if !bytes.Equal(h.Data, payloads[h.Index-1]) {
			t.Fatalf("held frame %d overwritten", h.Index)
		}
	}
	// ~2.4 MB read in 1 MiB chunks, at most 500 frames (~0.4 MB) held:
	// released chunks are reused.
	pc := src.(*fileSource).r.(*pcapReader)
	if n := len(pc.free) + len(pc.held) + 1; n > 3 {
		t.Errorf("%d chunks made for 2.4 MB with 0.4 MB held at a time, want at most 3", n)
	}
}

// FuzzPcapReader: pcapReader answers as pcapgo does on any bytes, in any
// read sizes and chunk sizes, and held frames keep their bytes.
func FuzzPcapReader(f *testing.F) {
	f.Add(pcapFile([]byte("one"), bytes.Repeat([]byte{1}, 70), nil), []byte{3, 17}, uint8(0), true)
	f.Add(pcapFile(bytes.Repeat([]byte{2}, 300)), []byte(nil), uint8(1), false)
	f.Add([]byte("0"), []byte(nil), uint8(0), false) // shorter than pcapgo's peek
	f.Add(pcapFile()[:10], []byte(nil), uint8(0), false)
	f.Fuzz(func(t *testing.T, file, cuts []byte, size uint8, hold bool) {
		samePcap(t, file, cuts, 64<<(size%6), hold)
	})
}
