package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)

func frames() [][]byte {
	return [][]byte{{1, 2, 3, 4}, bytes.Repeat([]byte{0xab}, 100), {9}}
}

func writePcap(t *testing.T, nano bool) []byte {
	var buf bytes.Buffer
	var w *pcapgo.Writer
	if nano {
		w = pcapgo.NewWriterNanos(&buf)
	} else {
		w = pcapgo.NewWriter(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames() {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(f), Length: len(f) + i}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writePcapng writes frames alternating between an Ethernet and a Linux cooked v2 interface.
func writePcapng(t *testing.T) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames() {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(f), Length: len(f), InterfaceIndex: (i % 2) * id}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

func TestReadFormats(t *testing.T) {
	pcapUs, pcapNs, ng := writePcap(t, false), writePcap(t, true), writePcapng(t)
	tests := []struct {
		name  string
		data  []byte
		links []layers.LinkType
		// pcap's µs format keeps microseconds only; pcapgo writes pcapng with if_tsresol 9 (ns)
		resolution time.Duration
	}{
		{"pcap µs", pcapUs, []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeRaw, layers.LinkTypeRaw}, time.Microsecond},
		{"pcap ns", pcapNs, []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeRaw, layers.LinkTypeRaw}, time.Nanosecond},
		{"pcapng two link types", ng, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet}, time.Nanosecond},
		{"gzip pcap", gz(pcapNs), []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeRaw, layers.LinkTypeRaw}, time.Nanosecond},
		{"gzip pcapng", gz(ng), []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeEthernet}, time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.cap")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var f Frame
			for i, want := range frames() {
				if err := src.Next(&f); err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
				if !bytes.Equal(f.Data, want) || f.Index != i+1 || f.LinkType != tt.links[i] {
					t.Errorf("frame %d: data %x index %d link %v; want %x %d %v", i+1, f.Data, f.Index, f.LinkType, want, i+1, tt.links[i])
				}
				if ts := t0.Add(time.Duration(i) * time.Second).Truncate(tt.resolution); !f.CI.Timestamp.Equal(ts) {
					t.Errorf("frame %d: time %v, want %v", i+1, f.CI.Timestamp, ts)
				}
			}
			if err := src.Next(&f); err != io.EOF {
				t.Fatalf("after last frame: %v, want EOF", err)
			}
			if done, total := src.(Progress).Position(); done != int64(len(tt.data)) || total != int64(len(tt.data)) {
				t.Errorf("position %d/%d, want %d/%d", done, total, len(tt.data), len(tt.data))
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good, ng := writePcap(t, false), writePcapng(t)
	// The file header is 24 bytes, each record header 16: cut inside the second record's data.
	cut := good[:24+16+4+16+10]
	tests := []struct {
		name      string
		data      []byte
		openErr   string
		packetErr string
		readable  int
	}{
		{"not a capture", []byte("hello, world"), "not a pcap or pcapng file", "", 0},
		{"empty", nil, "empty (0 bytes), not a capture file", "", 0},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, "too short to be a capture file (3 bytes)", "", 0},
		{"gzip of garbage", gz([]byte("hello")), "not a pcap or pcapng file", "", 0},
		{"truncated record", cut, "", "x: packet 2: file ends in the middle of a packet record", 1},
		// Cut right after the second record's 16-byte header: its 100
		// bytes (the second frame, see frames) never come.
		{"cut after a record header", good[:24+16+4+16], "", "x: packet 2: file ends after a packet record's header: its 100 bytes are missing", 1},
		{"cut after a record header, gzip", gz(good[:24+16+4+16]), "", "x: packet 2: file ends after a packet record's header", 1},
		// The second record's captured length (bytes 8-11 of its header)
		// set to 0xFFFFFFFF: more than the file's snap length of 65535.
		{"record length 0xFFFFFFFF", patch(good, 24+16+4+8, le32(0xFFFFFFFF)), "", "x: packet 2: damaged record: capture length exceeds snap length: 4294967295 > 65535", 1},
		// gzip's CRC-32 is the trailer's first 4 bytes (RFC 1952 §2.3.1),
		// checked after the last byte: every frame is read first.
		{"gzip checksum", patch(gz(good), len(gz(good))-8, []byte{^gz(good)[len(gz(good))-8]}), "", "x: the gzip checksum, checked after the data, does not match: all 3 packets were read", 3},
		// pcapng: the second Enhanced Packet Block's interface ID (bytes
		// 8-11) set to 7 of the file's 2 interfaces, then its block length
		// (bytes 4-7) to 0xFFFFFFF0 (RFC draft-ietf-opsawg-pcapng §4.3).
		{"pcapng interface id 7", patch(ng, epb(t, ng, 2)+8, le32(7)), "", "x: packet 2: damaged block: Interface id 7 not present in section (have only 2 interfaces)", 1},
		{"pcapng block length 0xFFFFFFF0", patch(ng, epb(t, ng, 2)+4, le32(0xFFFFFFF0)), "", "x: packet 2: a block runs past the end of the file: the capture was cut short or the block's length field is damaged", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewReader("x", bytes.NewReader(tt.data))
			if tt.openErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.openErr) {
					t.Fatalf("open error %v, want %q", err, tt.openErr)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("error is %T, want *FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var f Frame
			n := 0
			for {
				err = src.Next(&f)
				if err != nil {
					break
				}
				n++
			}
			if n != tt.readable || err == io.EOF || !strings.Contains(err.Error(), tt.packetErr) {
				t.Fatalf("read %d frames, then %v; want %d frames then %q", n, err, tt.readable, tt.packetErr)
			}
			if err := src.Next(&f); err != io.EOF {
				t.Errorf("after an error the source must be finished, got %v", err)
			}
		})
	}
}

// patch returns b with its bytes from at replaced by p.
func patch(b []byte, at int, p []byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[at:], p)
	return c
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// epb returns the offset of the n-th Enhanced Packet Block (type 6) of a
// little-endian pcapng file, walking the blocks by their lengths.
func epb(t *testing.T, b []byte, n int) int {
	for off := 0; off+8 <= len(b); off += int(binary.LittleEndian.Uint32(b[off+4:])) {
		if binary.LittleEndian.Uint32(b[off:]) == 6 {
			if n--; n == 0 {
				return off
			}
		}
	}
	t.Fatalf("no enhanced packet block %d", n)
	return 0
}

// TestOpenDirectory: a directory is named as one, not read as an empty file.
func TestOpenDirectory(t *testing.T) {
	_, err := Open(t.TempDir())
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "is a directory, not a capture file") {
		t.Errorf("Open(dir) = %v, want a FormatError saying it is a directory", err)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(writePcap(&testing.T{}, false))
	f.Add(writePcapng(&testing.T{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := NewReader("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		var fr Frame
		for i := 0; i < 1000; i++ {
			if src.Next(&fr) != nil {
				return
			}
		}
	})
}
