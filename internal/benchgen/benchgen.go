// Package benchgen writes the synthetic capture the benchmarks read: many
// SAs, a realistic mix of sizes and encapsulations, deterministic bytes.
package benchgen

import (
	"bufio"
	"fmt"
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
	rng := rand.New(rand.NewPCG(1, 2))
	return writeFrames(path, rng, s, []int{64, 96, 128, 1200, 1400}, func(sa int, seq uint64, n int) []byte {
		pair := sa / 2
		src, dst := endpoints(sa)
		spi := uint32(0xc0000000) | uint32(sa)
		switch pair % 3 {
		case 0:
			return pb.ESPPacket(src, dst, spi, uint32(seq), n)
		case 1:
			return pb.ESPinUDPPacket(src, dst, spi, uint32(seq), n)
		default:
			return pb.AHPacket(src, dst, spi, uint32(seq), 6, n)
		}
	})
}

// WriteKeyed creates a capture whose ESP is real ciphertext, and a key file
// in ipsecmon's native format for it: half the pairs AES-GCM-16-128
// (RFC 4106), half AES-CBC-128 with HMAC-SHA2-256-128, tunnel mode, ESP
// alone or in UDP 4500.
func WriteKeyed(path, keyPath string, s Spec) (frames int, bytes int64, err error) {
	rng := rand.New(rand.NewPCG(5, 6))
	sealers := make([]pb.Sealer, 2*s.Pairs)
	var keys bytes2
	for sa := range sealers {
		spi := uint32(0xc0000000) | uint32(sa)
		pair := sa / 2
		_, dst := endpoints(sa)
		key := make([]byte, 20)
		auth := make([]byte, 32)
		for i := range key {
			key[i] = byte(rng.IntN(256))
		}
		for i := range auth {
			auth[i] = byte(rng.IntN(256))
		}
		encap := ""
		if pair%2 == 1 {
			encap = " encap=4500:4500"
		}
		if pair%4 < 2 {
			sealers[sa] = pb.Sealer{SPI: spi, Key: key, GCM: true}
			keys.printf("esp spi=0x%08x dst=%d.%d.%d.%d enc=aes-gcm-16 enc-key=0x%x%s\n", spi, dst[0], dst[1], dst[2], dst[3], key, encap)
		} else {
			sealers[sa] = pb.Sealer{SPI: spi, Key: key[:16], AuthKey: auth}
			keys.printf("esp spi=0x%08x dst=%d.%d.%d.%d enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x%s\n", spi, dst[0], dst[1], dst[2], dst[3], key[:16], auth, encap)
		}
	}
	if err := os.WriteFile(keyPath, keys.b, 0o600); err != nil {
		return 0, 0, err
	}
	return writeFrames(path, rng, s, []int{40, 72, 120, 1100, 1300}, func(sa int, seq uint64, n int) []byte {
		pair := sa / 2
		src, dst := endpoints(sa)
		inner := pb.Cat(pb.IPv4(17, [4]byte{192, 168, 1, byte(pair)}, [4]byte{192, 168, 2, 1}, 8+n, 0), pb.UDP(5000, 5001, n), make([]byte, n))
		esp := sealers[sa].Seal(seq, inner, 4, pb.NoFault)
		if pair%2 == 1 {
			return pb.Cat(pb.IPv4(17, src, dst, 8+len(esp), 0), pb.UDP(4500, 4500, len(esp)), esp)
		}
		return pb.Cat(pb.IPv4(50, src, dst, len(esp), 0), esp)
	})
}

// endpoints gives the outer addresses of unidirectional SA sa: pair sa/2
// runs between this host, 10.0.0.1, and gateway 10.1.x.y; even SAs are
// outbound, odd ones inbound.
func endpoints(sa int) (src, dst [4]byte) {
	pair := sa / 2
	me := [4]byte{10, 0, 0, 1}
	gw := [4]byte{10, 1, byte(pair >> 8), byte(pair)}
	if sa%2 == 1 {
		return gw, me
	}
	return me, gw
}

// writeFrames is the loop both captures share, so that they draw from rng
// in the same order: per packet a random SA, a size from sizes, and a gap
// of 5-54 µs. ipPacket builds the IP datagram for the SA's next sequence
// number.
func writeFrames(path string, rng *rand.Rand, s Spec, sizes []int, ipPacket func(sa int, seq uint64, n int) []byte) (frames int, bytes int64, err error) {
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
	seq := make([]uint64, 2*s.Pairs)
	t := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for i := 0; i < s.Packets; i++ {
		sa := rng.IntN(2 * s.Pairs)
		seq[sa]++
		n := sizes[rng.IntN(len(sizes))]
		frame := pb.Cat(pb.Eth(0x0800), ipPacket(sa, seq[sa], n))
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

type bytes2 struct{ b []byte }

func (b *bytes2) printf(format string, a ...any) { b.b = fmt.Appendf(b.b, format, a...) }
