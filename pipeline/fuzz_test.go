package pipeline_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/pipeline"
)

// FuzzFrames feeds raw IP frames through the whole run: decoding, IPv4 and
// IPv6 reassembly and the analyzer. Every frame must be accounted for:
// analysed, skipped with a reason, or counted as a fragment.
func FuzzFrames(f *testing.F) {
	esp6 := pb.Cat(pb.IPv6(50, pb.V6B, pb.V6A, 120), pb.ESP(0x6006, 1, 112))
	esp4 := pb.ESPPacket(pb.IPv4Addr(2), pb.IPv4Addr(1), 0x4004, 1, 600)
	var seed [][]byte
	seed = append(seed, pb.FragmentIPv6(esp6, 40, 6, 7, 48, 48)...)
	seed = append(seed, esp4[:20+64], esp4)
	f.Add(bytes.Join(seed, []byte("\xfe\xfe")))
	f.Fuzz(func(t *testing.T, data []byte) {
		an := analyzer.New(analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
		run := pipeline.New(an, pipeline.Options{})
		t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		frames := bytes.Split(data, []byte("\xfe\xfe"))
		for i, d := range frames {
			fr := capture.Frame{
				Data: d, LinkType: layers.LinkTypeRaw, Source: "fuzz", Index: i + 1,
				// Far apart now and then, so that reassembly timeouts run.
				CI: gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i*i) * time.Second), CaptureLength: len(d), Length: len(d)},
			}
			run.Frame(&fr)
		}
		run.Finish()
		if st := run.Stats(); st.Frames != uint64(len(frames)) {
			t.Fatalf("%d frames counted of %d", st.Frames, len(frames))
		}
	})
}
