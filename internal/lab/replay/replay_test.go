package replay

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestNewReader: the same two frames written as pcap and as pcapng come
// back unchanged and in order.
func TestNewReader(t *testing.T) {
	frames := [][]byte{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0}, bytes.Repeat([]byte{0xab}, 60)}
	ci := func(b []byte) gopacket.CaptureInfo {
		return gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(b), Length: len(b)}
	}
	var pcap, ng bytes.Buffer
	w := pcapgo.NewWriter(&pcap)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	nw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(ci(f), f); err != nil {
			t.Fatal(err)
		}
		if err := nw.WritePacket(ci(f), f); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"pcap": pcap.Bytes(), "pcapng": ng.Bytes()} {
		r, err := newReader(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, want := range frames {
			got, _, err := r.ZeroCopyReadPacketData()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s frame %d: %x, %v", name, i, got, err)
			}
		}
	}
	if _, err := newReader(bufio.NewReader(bytes.NewReader([]byte{1, 2}))); err == nil {
		t.Error("2-byte file: no error")
	}
}

func TestRunRejectsZeroLoops(t *testing.T) {
	if _, err := Run(context.Background(), "lo", []string{"x.pcap"}, 0); err == nil {
		t.Error("0 loops: no error")
	}
}
