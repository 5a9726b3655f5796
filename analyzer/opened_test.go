package analyzer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// got is one OnOpened call, with its bytes copied.
type gotOpened struct {
	index   int
	depth   int
	spi     uint32
	seq     uint64
	outcome Outcome
	nh      uint8
	header  []byte
	payload []byte
}

func (g gotOpened) String() string {
	return fmt.Sprintf("frame %d depth %d spi %#x seq %d %s nh %d (%d header bytes, %d payload bytes)", g.index, g.depth, g.spi, g.seq, g.outcome, g.nh, len(g.header), len(g.payload))
}

func collectOpened(out *[]gotOpened) func(*Opened) {
	return func(o *Opened) {
		*out = append(*out, gotOpened{o.Ref.Index, o.Depth, o.SA.Key.SPI, o.Seq, o.Outcome, o.NextHeader,
			bytes.Clone(o.Header), bytes.Clone(o.Payload)})
	}
}

// innerPacket is a distinct inner IPv4 ICMP packet per n: the sequence
// number is in its echo data, so that a packet handed over in the wrong
// order or twice shows.
func innerPacket(n int) []byte {
	p := pktbuild.InnerICMP(v4("10.1.0.1"), v4("10.2.0.1"), 56)
	binary.BigEndian.PutUint32(p[28:], uint32(n))
	return p
}

// Config.OnOpened sees every packet of a tracked SA once, in capture
// order, with the plaintext the sender sealed (pktbuild's Sealer, built on
// the standard library, not on espcrypto), on one core and on several.
func TestOnOpened(t *testing.T) {
	a := newSealed(0x2001, hostB, hostA) // keyed, AES-CBC + HMAC-SHA2-256-128
	b := newSealed(0x2002, hostA, hostB) // keyed
	gcm := sealed{pktbuild.Sealer{SPI: 0x2003, Key: pktbuild.Seq(0x60, 20), GCM: true}, hostA, hostB}
	ks := &keys.Set{SAs: []keys.SA{a.key(), b.key(), gcm.key()}}
	ks.SAs[2].Enc, ks.SAs[2].Auth, ks.SAs[2].AuthKey = algo.EncAESGCM16, algo.AuthNone, nil

	var frames []frame
	var want []gotOpened
	add := func(ip []byte, w ...gotOpened) {
		frames = append(frames, frame{float64(len(frames)) / 1000, ip})
		for _, g := range w {
			g.index = len(frames)
			want = append(want, g)
		}
	}
	hdr := func(s sealed, n int) []byte { return pktbuild.IPv4(50, v4(s.src), v4(s.dst), n, 0) }
	seal := func(s sealed, seq uint32, payload []byte, f pktbuild.Fault) []byte {
		esp := s.Seal(uint64(seq), payload, 4, f)
		return pktbuild.Cat(hdr(s, len(esp)), esp)
	}
	// Enough packets over three SAs that the parallel path fills and
	// rotates batches (batchSize 512) while they interleave.
	for i := 1; i <= 700; i++ {
		for _, s := range []sealed{a, b, gcm} {
			in := innerPacket(i*8 + int(s.SPI&7))
			p := seal(s, uint32(i), in, pktbuild.NoFault)
			add(p, gotOpened{depth: 0, spi: s.SPI, seq: uint64(i), outcome: OutcomeVerified, nh: 4, header: p[:20], payload: in})
		}
	}
	// The outcomes that carry no plaintext.
	p := seal(a, 5, innerPacket(1), pktbuild.NoFault)
	add(p, gotOpened{spi: a.SPI, seq: 5, outcome: OutcomeReplay, header: p[:20]})
	p = seal(a, 701, innerPacket(2), pktbuild.FlipICV)
	add(p, gotOpened{spi: a.SPI, seq: 701, outcome: OutcomeNotAuthenticated, header: p[:20]})
	p = seal(a, 702, innerPacket(3), pktbuild.BadPadding)
	add(p, gotOpened{spi: a.SPI, seq: 702, outcome: OutcomeNotDecrypted, header: p[:20]})
	p = esp4(hostB, hostA, 0x2999, 1, 100) // no keys
	add(p, gotOpened{spi: 0x2999, seq: 1, outcome: OutcomeUnverified, header: p[:20]})
	// A tunnel carrying ESP of its own (nested SAs): the tunnel's call,
	// then the inner SA's, whose header is the inner IP header.
	innerESP := b.Seal(900, innerPacket(900), 4, pktbuild.NoFault)
	innerIP := pktbuild.Cat(pktbuild.IPv4(50, v4(hostA), v4(hostB), len(innerESP), 0), innerESP)
	p = seal(a, 703, innerIP, pktbuild.NoFault)
	add(p, gotOpened{spi: a.SPI, seq: 703, outcome: OutcomeVerified, nh: 4, header: p[:20], payload: innerIP},
		gotOpened{depth: 1, spi: b.SPI, seq: 900, outcome: OutcomeVerified, nh: 4, header: innerIP[:20], payload: innerPacket(900)})

	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			var got []gotOpened
			run(t, Config{Keys: ks, Workers: workers, OnOpened: collectOpened(&got)}, frames...)
			if len(got) != len(want) {
				t.Fatalf("%d calls, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.String() != w.String() || !bytes.Equal(g.header, w.header) || !bytes.Equal(g.payload, w.payload) {
					t.Fatalf("call %d: %v, want %v", i+1, g, w)
				}
			}
		})
	}
}
