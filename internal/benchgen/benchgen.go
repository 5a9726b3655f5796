// Package benchgen writes the synthetic capture the benchmarks read: many
// SAs, a realistic mix of sizes and encapsulations, deterministic bytes.
package benchgen

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
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
	// Host numbers the host whose traffic the capture holds, 0 to 127:
	// host h is 10.2h.0.1 and its gateways 10.2h+1.x.y, so that captures of
	// different hosts share no address (issue 18's many files).
	Host int
	// Start is the first packet's time (zero: 27 November 2026).
	Start time.Time
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
		src, dst := endpoints(s.Host, sa)
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
		_, dst := endpoints(s.Host, sa)
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
		src, dst := endpoints(s.Host, sa)
		inner := pb.Cat(pb.IPv4(17, [4]byte{192, 168, 1, byte(pair)}, [4]byte{192, 168, 2, 1}, 8+n, 0), pb.UDP(5000, 5001, n), make([]byte, n))
		esp := sealers[sa].Seal(seq, inner, 4, pb.NoFault)
		if pair%2 == 1 {
			return pb.Cat(pb.IPv4(17, src, dst, 8+len(esp), 0), pb.UDP(4500, 4500, len(esp)), esp)
		}
		return pb.Cat(pb.IPv4(50, src, dst, len(esp), 0), esp)
	})
}

// endpoints gives the outer addresses of unidirectional SA sa of host 0:
// pair sa/2 runs between this host, 10.0.0.1, and gateway 10.1.x.y (host
// h: 10.2h.0.1 and 10.2h+1.x.y); even SAs are outbound, odd ones inbound.
func endpoints(host, sa int) (src, dst [4]byte) {
	pair := sa / 2
	me := [4]byte{10, byte(2 * host), 0, 1}
	gw := [4]byte{10, byte(2*host + 1), byte(pair >> 8), byte(pair)}
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
	return writeFramesGap(path, rng, s, sizes, 0, ipPacket)
}

// writeFramesGap is writeFrames with a fixed gap between packets (0: the
// random 5-54 µs).
func writeFramesGap(path string, rng *rand.Rand, s Spec, sizes []int, gap time.Duration, ipPacket func(sa int, seq uint64, n int) []byte) (frames int, bytes int64, err error) {
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
	if !s.Start.IsZero() {
		t = s.Start
	}
	for i := 0; i < s.Packets; i++ {
		sa := rng.IntN(2 * s.Pairs)
		seq[sa]++
		n := sizes[rng.IntN(len(sizes))]
		frame := pb.Cat(pb.Eth(0x0800), ipPacket(sa, seq[sa], n))
		if gap > 0 {
			t = t.Add(gap)
		} else {
			t = t.Add(time.Duration(5+rng.IntN(50)) * time.Microsecond)
		}
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

// Suite is one protection of the mixed capture, named as ipsecmon's native
// key format names its algorithms.
type Suite struct {
	AH              bool
	Enc, Auth       string // Enc empty for AH; Auth empty for AES-GCM
	EncKey, AuthKey int    // key bytes (Enc's includes a GCM or CTR salt)
}

// MixedSuites are what a gateway's SAs use in the mixed capture, one pair
// in len(MixedSuites) each: AES-CBC with HMAC-SHA1 and with HMAC-SHA2,
// AES-GCM, AES-CTR, 3DES, ESP with NULL encryption, and AH.
var MixedSuites = []Suite{
	{Enc: "aes-cbc", EncKey: 16, Auth: "hmac-sha1-96", AuthKey: 20},
	{Enc: "aes-cbc", EncKey: 32, Auth: "hmac-sha2-256-128", AuthKey: 32},
	{Enc: "aes-gcm-16", EncKey: 20},
	{Enc: "aes-ctr", EncKey: 20, Auth: "hmac-sha1-96", AuthKey: 20},
	{Enc: "3des-cbc", EncKey: 24, Auth: "hmac-sha1-96", AuthKey: 20},
	{Enc: "null", Auth: "hmac-sha2-256-128", AuthKey: 32},
	{AH: true, Auth: "hmac-sha1-96", AuthKey: 20},
}

// Mixed is the mixed capture's default size and clock: 200,000 packets
// over 400 SAs, 1 ms apart, as a user's capture of a busy gateway would be
// timestamped by a capture tool with millisecond resolution.
var Mixed = Spec{Packets: 200_000, Pairs: 200}

// MixedGap is the time between consecutive packets of the mixed capture.
const MixedGap = time.Millisecond

// WriteMixed creates a capture of real ciphertext and ICVs over the suites
// of MixedSuites (pair p uses suite p mod len(MixedSuites)), tunnel mode,
// ESP alone or in UDP 4500, packets gap apart, and its key file in the
// native format. The sealing is written here with the standard library,
// independently of package espcrypto, which is what the benchmark checks.
func WriteMixed(path, keyPath string, s Spec, gap time.Duration) (frames int, bytes int64, err error) {
	rng := rand.New(rand.NewPCG(9, 10))
	sealers := make([]*mixedSealer, 2*s.Pairs)
	var keys bytes2
	for sa := range sealers {
		spi := uint32(0xd0000000) | uint32(sa)
		pair := sa / 2
		_, dst := endpoints(s.Host, sa)
		su := MixedSuites[pair%len(MixedSuites)]
		m := &mixedSealer{suite: su, spi: spi, encKey: randBytes(rng, su.EncKey), authKey: randBytes(rng, su.AuthKey), udp: pair%2 == 1 && !su.AH}
		sealers[sa] = m
		d := fmt.Sprintf("%d.%d.%d.%d", dst[0], dst[1], dst[2], dst[3])
		switch {
		case su.AH:
			keys.printf("ah spi=0x%08x dst=%s auth=%s auth-key=0x%x mode=tunnel\n", spi, d, su.Auth, m.authKey)
		default:
			keys.printf("esp spi=0x%08x dst=%s enc=%s", spi, d, su.Enc)
			if len(m.encKey) > 0 {
				keys.printf(" enc-key=0x%x", m.encKey)
			}
			if su.Auth != "" {
				keys.printf(" auth=%s auth-key=0x%x", su.Auth, m.authKey)
			}
			if m.udp {
				keys.printf(" encap=4500:4500")
			}
			keys.printf("\n")
		}
	}
	if err := os.WriteFile(keyPath, keys.b, 0o600); err != nil {
		return 0, 0, err
	}
	return writeFramesGap(path, rng, s, []int{40, 72, 120, 1100, 1300}, gap, func(sa int, seq uint64, n int) []byte {
		pair := sa / 2
		src, dst := endpoints(s.Host, sa)
		inner := pb.Cat(pb.IPv4(17, [4]byte{192, 168, 1, byte(pair)}, [4]byte{192, 168, 2, 1}, 8+n, 0), pb.UDP(5000, 5001, n), make([]byte, n))
		return sealers[sa].packet(src, dst, uint32(seq), inner)
	})
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// mixedSealer seals one SA's packets with the standard library.
type mixedSealer struct {
	suite           Suite
	spi             uint32
	encKey, authKey []byte
	udp             bool
}

func (m *mixedSealer) mac(data []byte) []byte {
	h, n := sha1.New, 12
	if m.suite.Auth == "hmac-sha2-256-128" {
		h, n = sha256.New, 16
	}
	mac := hmac.New(h, m.authKey)
	mac.Write(data)
	return mac.Sum(nil)[:n]
}

// packet is the IPv4 packet carrying inner (IP-in-IP: tunnel mode).
func (m *mixedSealer) packet(src, dst [4]byte, seq uint32, inner []byte) []byte {
	hdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, m.spi), seq)
	if m.suite.AH {
		// RFC 4302 §2: next header, payload length in 32-bit words minus
		// 2, reserved, SPI, sequence number, ICV (12 bytes for SHA1-96).
		ah := pb.Cat([]byte{4, (12+12)/4 - 2, 0, 0}, hdr, make([]byte, 12))
		ip := pb.Cat(pb.IPv4(51, src, dst, len(ah)+len(inner), 0), ah, inner)
		// RFC 4302 §3.3.3.1.1.1: TOS, flags and fragment offset, TTL and
		// checksum count as zero; so does the ICV.
		z := append([]byte(nil), ip...)
		z[1], z[6], z[7], z[8], z[10], z[11] = 0, 0, 0, 0, 0, 0
		copy(ip[20+12:], m.mac(z)[:12])
		return ip
	}
	align, ivLen := 4, 0 // RFC 4303 §2.4: 4-byte alignment at least
	switch m.suite.Enc {
	case "aes-cbc":
		align, ivLen = 16, 16
	case "3des-cbc":
		align, ivLen = 8, 8
	case "aes-ctr", "aes-gcm-16":
		ivLen = 8
	}
	// RFC 4303 §2.4: padding 1, 2, 3 ... so that payload+2 aligns.
	pad := (align - (len(inner)+2)%align) % align
	pt := append([]byte(nil), inner...)
	for i := 1; i <= pad; i++ {
		pt = append(pt, byte(i))
	}
	pt = append(pt, byte(pad), 4)
	iv := make([]byte, ivLen)
	if ivLen > 0 {
		binary.BigEndian.PutUint32(iv[ivLen-4:], seq*2654435761)
	}
	var esp []byte
	switch m.suite.Enc {
	case "aes-gcm-16":
		k := m.encKey
		blk, _ := aes.NewCipher(k[:len(k)-4])
		aead, _ := cipher.NewGCM(blk)
		esp = pb.Cat(hdr, iv, aead.Seal(nil, pb.Cat(k[len(k)-4:], iv), pt, hdr))
		return m.ip(src, dst, esp)
	case "aes-cbc":
		blk, _ := aes.NewCipher(m.encKey)
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(pt, pt)
	case "3des-cbc":
		blk, _ := des.NewTripleDESCipher(m.encKey)
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(pt, pt)
	case "aes-ctr":
		// RFC 3686 §4: nonce (the key's last 4 bytes), IV, counter from 1.
		k := m.encKey
		blk, _ := aes.NewCipher(k[:len(k)-4])
		ctr := pb.Cat(k[len(k)-4:], iv, []byte{0, 0, 0, 1})
		cipher.NewCTR(blk, ctr).XORKeyStream(pt, pt)
	}
	esp = pb.Cat(hdr, iv, pt)
	return m.ip(src, dst, pb.Cat(esp, m.mac(esp)))
}

func (m *mixedSealer) ip(src, dst [4]byte, esp []byte) []byte {
	if m.udp {
		return pb.Cat(pb.IPv4(17, src, dst, 8+len(esp), 0), pb.UDP(4500, 4500, len(esp)), esp)
	}
	return pb.Cat(pb.IPv4(50, src, dst, len(esp), 0), esp)
}
