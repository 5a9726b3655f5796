package pipeline_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// Once an SA exists, a packet goes from frame to figures without
// allocating: decode, SA lookup, replay window, verification, decryption.
func TestSteadyStateAllocationFree(t *testing.T) {
	gcm := append(bytes.Repeat([]byte{7}, 16), 1, 2, 3, 4)
	cbc, mac := bytes.Repeat([]byte{8}, 16), bytes.Repeat([]byte{9}, 32)
	ks, err := keys.Parse("test", []byte(fmt.Sprintf(
		"esp spi=0x100 dst=10.0.0.1 enc=aes-gcm-16 enc-key=0x%x\nesp spi=0x200 dst=10.0.0.1 enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x\n", gcm, cbc, mac)))
	if err != nil {
		t.Fatal(err)
	}
	s1 := pb.Sealer{SPI: 0x100, Key: gcm, GCM: true}
	s2 := pb.Sealer{SPI: 0x200, Key: cbc, AuthKey: mac}
	inner := pb.Cat(pb.IPv4(17, [4]byte{192, 168, 1, 1}, [4]byte{192, 168, 2, 1}, 8+100, 0), pb.UDP(1, 2, 100), make([]byte, 100))
	const n = 10000
	frames := make([][]byte, 0, 2*n)
	for seq := uint64(1); seq <= n; seq++ {
		for _, s := range []*pb.Sealer{&s1, &s2} {
			esp := s.Seal(seq, inner, 4, pb.NoFault)
			frames = append(frames, pb.Cat(pb.Eth(0x0800), pb.IPv4(50, [4]byte{10, 0, 0, 2}, [4]byte{10, 0, 0, 1}, len(esp), 0), esp))
		}
	}
	for _, tt := range []struct {
		name    string
		keys    *keys.Set
		workers int
	}{{"keyless", nil, 1}, {"keyed", ks, 1}, {"keyed, 2 workers", ks, 2}} {
		t.Run(tt.name, func(t *testing.T) {
			an := analyzer.New(analyzer.Config{Keys: tt.keys, Workers: tt.workers, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
			run := pipeline.New(an, pipeline.Options{})
			ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
			i := 0
			next := func() {
				f := capture.Frame{Data: frames[i], LinkType: layers.LinkTypeEthernet,
					CI: gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frames[i]), Length: len(frames[i])}}
				run.Frame(&f)
				i++
			}
			for i < 2000 { // the SAs are created, buffers grow to size (with workers, every batch of the ring once)
				next()
			}
			// AllocsPerRun rounds the average down: one allocation per batch
			// of packets would pass it. Count them all instead; the runtime
			// and the testing package allocate now and then on their own
			// (1 in some runs, with or without workers), hence the 2.
			runs := (len(frames) - 2100) / 2 // AllocsPerRun calls once more to warm up
			total := testing.AllocsPerRun(1, func() {
				for k := 0; k < runs; k++ {
					next()
				}
			})
			if total > 2 {
				t.Errorf("%.0f allocations over %d packets, want 0", total, runs)
			}
			var verified uint64
			for _, sa := range an.SAs() {
				verified += sa.Accepted - sa.Unverified
			}
			if tt.keys != nil && verified != uint64(i) {
				t.Errorf("%d of %d packets verified", verified, i)
			}
		})
	}
}
