package pipeline_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/pipeline"
)

// Options.OnFrame sees each frame once the analyzer has had it, with what
// it decoded to, and for a completed datagram the reassembled packet. The
// expectations follow from how the frames were built.
func TestOnFrame(t *testing.T) {
	esp := pb.ESPPacket(pb.A1, pb.A2, 0x300, 1, 100)
	other := pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+4, 0), pb.UDP(53, 53, 4), []byte{1, 2, 3, 4})
	big := pb.ESPPacket(pb.A2, pb.A1, 0x301, 1, 200)
	frags := pb.FragmentIPv4(big, 7, 104)
	if len(frags) != 2 {
		t.Fatalf("%d fragments", len(frags))
	}
	// The datagram reassembled: big with the fragments' identification
	// and its header checksum filled in (RFC 791), as a receiver's is.
	whole := bytes.Clone(big)
	whole[4], whole[5] = 0, 7
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(whole[i])<<8 | uint32(whole[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	whole[10], whole[11] = byte(^sum>>8), byte(^sum)
	frames := [][]byte{esp, other, {0x45}, frags[0], frags[1]}

	type call struct {
		index       int
		kind        string // "-" for nil
		reassembled bool
		ip          []byte
	}
	want := []call{
		{1, "ipsec", false, esp},
		{2, "other", false, other},
		{3, "-", false, nil},             // not an IP packet: not analysed
		{4, "fragment", false, frags[0]}, // the first fragment waits for the second
		{5, "ipsec", true, whole},        // the second completes the datagram
	}
	var got []call
	run := pipeline.New(analyzer.New(analyzer.Config{}), pipeline.Options{
		OnFrame: func(f *capture.Frame, p *decode.Packet, reassembled bool) {
			c := call{index: f.Index, kind: "-", reassembled: reassembled}
			if p != nil {
				c.kind, c.ip = p.Kind.String(), bytes.Clone(p.IP)
			}
			got = append(got, c)
		},
	})
	for i, data := range frames {
		f := capture.Frame{Data: data, LinkType: layers.LinkTypeRaw, Source: "test", Index: i + 1,
			CI: gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(data), Length: len(data)}}
		run.Frame(&f)
	}
	run.Finish()
	if fmt.Sprint(len(got)) != fmt.Sprint(len(want)) {
		t.Fatalf("%d calls, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.index != w.index || g.kind != w.kind || g.reassembled != w.reassembled || !bytes.Equal(g.ip, w.ip) {
			t.Errorf("call %d: frame %d %s reassembled=%v (%d bytes), want frame %d %s reassembled=%v (%d bytes)",
				i+1, g.index, g.kind, g.reassembled, len(g.ip), w.index, w.kind, w.reassembled, len(w.ip))
		}
	}
}
