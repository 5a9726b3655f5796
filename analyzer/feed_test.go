package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/decode"
	"ipsecmon/internal/pktbuild"
)

// The analyzer tests build raw IP packets with pktbuild, decode them with
// the pipeline's decoder and hand the decode.Packet values to the
// analyzer, so that what they check is what a capture of those bytes gives.

// frame is one raw IP packet at a time after epoch.
type frame struct {
	at float64 // seconds
	ip []byte
}

// feed decodes the frames and gives them to the analyzer in order, frame i
// as Ref{Index: i+1}.
func feed(t *testing.T, a *Analyzer, frames ...frame) {
	t.Helper()
	dec := decode.NewDecoder()
	for i, f := range frames {
		var p decode.Packet
		if err := dec.Decode(layers.LinkTypeRaw, f.ip, len(f.ip), &p); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		a.Packet(at(f.at), &p, Ref{Source: "test", Index: i + 1})
	}
}

func at(sec float64) time.Time { return epoch.Add(time.Duration(sec * float64(time.Second))) }

func v4(s string) [4]byte   { return netip.MustParseAddr(s).As4() }
func v6(s string) [16]byte  { return netip.MustParseAddr(s).As16() }
func me(s ...string) Config { return Config{Me: prefixes(s...)} }

func prefixes(s ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, x := range s {
		if p, err := netip.ParsePrefix(x); err == nil {
			ps = append(ps, p)
		} else {
			a := netip.MustParseAddr(x)
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return ps
}

// esp4 is an ESP packet of n bytes (SPI to the end of the IP packet) from
// src to dst; esp6 the same over IPv6.
func esp4(src, dst string, spi, seq uint32, n int) []byte {
	return pktbuild.ESPPacket(v4(src), v4(dst), spi, seq, n)
}

func esp6(src, dst string, spi, seq uint32, n int) []byte {
	return pktbuild.Cat(pktbuild.IPv6(50, v6(src), v6(dst), n), pktbuild.ESP(spi, seq, n-8))
}

// espUDP4 is ESP of n bytes in UDP between the given ports (RFC 3948).
func espUDP4(src, dst string, sport, dport uint16, spi, seq uint32, n int) []byte {
	return pktbuild.Cat(pktbuild.IPv4(17, v4(src), v4(dst), 8+n, 0), pktbuild.UDP(sport, dport, n), pktbuild.ESP(spi, seq, n-8))
}

// ah4 is AH with a 12-byte ICV over a payload of protocol next; n bytes
// from the AH header to the end of the IP packet.
func ah4(src, dst string, spi, seq uint32, next uint8, n int) []byte {
	return pktbuild.AHPacket(v4(src), v4(dst), spi, seq, next, n)
}

// ike4 is an IKE message in UDP 500.
func ike4(src, dst string, msg []byte) []byte {
	return pktbuild.Cat(pktbuild.IPv4(17, v4(src), v4(dst), 8+len(msg), 0), pktbuild.UDP(500, 500, len(msg)), msg)
}

// run feeds the frames to a new analyzer and ends the input.
func run(t *testing.T, cfg Config, frames ...frame) *Analyzer {
	t.Helper()
	a := New(cfg)
	feed(t, a, frames...)
	a.Finish()
	return a
}

// repeat is n frames one millisecond apart from start, seq counting from 1.
func repeat(start float64, n int, f func(seq uint32) []byte) []frame {
	var out []frame
	for i := 0; i < n; i++ {
		out = append(out, frame{start + float64(i)/1000, f(uint32(i + 1))})
	}
	return out
}

func cat(fs ...[]frame) []frame {
	var out []frame
	for _, f := range fs {
		out = append(out, f...)
	}
	return out
}
