// Package benchgen writes the synthetic capture the benchmarks read: many
// SAs, a realistic mix of sizes and encapsulations, deterministic bytes.
package benchgen

import (
	"bufio"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	pb "ipsecmon/internal/pktbuild"
)

// Spec sizes the capture.
type Spec struct {
	Packets int
	Pairs   int // SA pairs; the capture has 2*Pairs unidirectional SAs
}

// Default is the size `make bench` uses: 200,000 packets over 400 SAs.
var Default = Spec{Packets: 200_000, Pairs: 200}

// Write creates the capture at path with Ethernet framing. A third of the
// pairs are ESP, a third ESP in UDP 4500, a third AH in transport mode;
// sizes follow a mix of small (ACK-like) and full-size packets.
func Write(path string, s Spec) (frames int, bytes int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return 0, 0, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seq := make([]uint32, 2*s.Pairs)
	t := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	sizes := []int{64, 96, 128, 1200, 1400}
	for i := 0; i < s.Packets; i++ {
		sa := rng.IntN(2 * s.Pairs)
		pair, dir := sa/2, sa%2
		gw := [4]byte{10, 1, byte(pair >> 8), byte(pair)}
		me := [4]byte{10, 0, 0, 1}
		src, dst := me, gw
		if dir == 1 {
			src, dst = gw, me
		}
		seq[sa]++
		spi := uint32(0xc0000000) | uint32(sa)
		n := sizes[rng.IntN(len(sizes))]
		var ip []byte
		switch pair % 3 {
		case 0:
			ip = pb.ESPPacket(src, dst, spi, seq[sa], n)
		case 1:
			ip = pb.ESPinUDPPacket(src, dst, spi, seq[sa], n)
		default:
			ip = pb.AHPacket(src, dst, spi, seq[sa], 6, n)
		}
		frame := pb.Cat(pb.Eth(0x0800), ip)
		t = t.Add(time.Duration(5+rng.IntN(50)) * time.Microsecond)
		ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			return 0, 0, err
		}
		frames++
		bytes += int64(len(frame))
	}
	return frames, bytes, bw.Flush()
}
