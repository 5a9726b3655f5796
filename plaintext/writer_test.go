package plaintext

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/capture"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// sink records what a Writer writes.
type sink struct{ got []written }

type written struct {
	source  string
	lt      layers.LinkType
	ts      time.Time
	data    []byte
	comment string
	in, out bool
}

func (s *sink) WritePacket(fr *capture.Frame, o capture.PacketOptions) error {
	s.got = append(s.got, written{fr.Source, fr.LinkType, fr.CI.Timestamp, bytes.Clone(fr.Data), o.Comment, o.Inbound, o.Outbound})
	return nil
}

var (
	gw, peer = [4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 2}
	t0       = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func sealer(spi uint32) *pb.Sealer {
	return &pb.Sealer{SPI: spi, Key: pb.Seq(byte(spi), 16), AuthKey: pb.Seq(byte(spi)+0x40, 32)}
}

func keyOf(s *pb.Sealer, src, dst [4]byte) keys.SA {
	return keys.SA{Proto: 50, Src: netip.PrefixFrom(netip.AddrFrom4(src), 32), Dst: netip.PrefixFrom(netip.AddrFrom4(dst), 32),
		SPI: s.SPI, Enc: algo.EncAESCBC, EncKey: s.Key, Auth: algo.AuthHMACSHA256_128, AuthKey: s.AuthKey, Origin: "test"}
}

func espIn(src, dst [4]byte, esp []byte) []byte {
	return pb.Cat(pb.IPv4(50, src, dst, len(esp), 0), esp)
}

// inner is a distinct tunnel-mode inner packet per n.
func inner(n int) []byte {
	p := pb.InnerICMP([4]byte{10, 1, 0, 1}, [4]byte{10, 2, 0, 1}, 40)
	binary.BigEndian.PutUint32(p[28:], uint32(n))
	return p
}

// The Writer puts out, in capture order and whatever the workers, the
// plaintext the sender sealed (pktbuild's Sealer, standard library), a
// rebuilt header for transport mode, the innermost packet of nested SAs,
// and with the options the frames it was asked to keep, with comments that
// name SPI, sequence number and direction. Each expected packet is built
// from what was sealed.
func TestWriterOrderAndContent(t *testing.T) {
	a, b, n := sealer(0x51), sealer(0x52), sealer(0x53)
	ks := &keys.Set{SAs: []keys.SA{keyOf(a, peer, gw), keyOf(b, gw, peer), keyOf(n, [4]byte{10, 9, 0, 1}, gw)}}
	udp := pb.Cat(pb.UDP(40000, 40001, 4), []byte{1, 2, 3, 4}) // a transport payload
	wantUDP := reserialize(t, pb.Cat(pb.IPv4(17, gw, peer, len(udp), 0), udp))

	type step struct {
		frame []byte
		// what a run with KeepUndecrypted and All writes for it ("" nothing)
		kind    string // "plain", "frame"
		plain   []byte
		comment string
	}
	var steps []step
	add := func(s step) { steps = append(steps, s) }
	// Enough keyed packets, between cleartext frames, for the workers to
	// fill and turn over batches.
	seqA, seqB := 0, 0
	for i := 0; i < 1200; i++ {
		switch i % 3 {
		case 0:
			seqA++
			add(step{frame: espIn(peer, gw, a.Seal(uint64(seqA), inner(i), 4, pb.NoFault)), kind: "plain", plain: inner(i),
				comment: fmt.Sprintf("ESP SPI 0x00000051 seq %d 198.51.100.2 -> 192.0.2.1 received (tunnel mode)", seqA)})
		case 1:
			seqB++
			add(step{frame: espIn(gw, peer, b.Seal(uint64(seqB), udp, 17, pb.NoFault)), kind: "plain", plain: wantUDP,
				comment: fmt.Sprintf("ESP SPI 0x00000052 seq %d 192.0.2.1 -> 198.51.100.2 sent (transport mode)", seqB)})
		default:
			add(step{frame: pb.Cat(pb.IPv4(17, gw, peer, 12, 0), pb.UDP(500, 500, 4), []byte{0, 0, 0, 0}), kind: "frame"})
		}
	}
	add(step{frame: espIn(peer, gw, a.Seal(1, inner(0), 4, pb.NoFault)), kind: "frame",
		comment: "not decrypted: ESP SPI 0x00000051 seq 1: replay"})
	add(step{frame: espIn(peer, gw, a.Seal(uint64(seqA+1), inner(1), 4, pb.FlipICV)), kind: "frame",
		comment: fmt.Sprintf("not decrypted: ESP SPI 0x00000051 seq %d: not authenticated: ICV mismatch", seqA+1)})
	add(step{frame: pb.ESPPacket(peer, gw, 0x99, 1, 80), kind: "frame",
		comment: "not decrypted: ESP SPI 0x00000099 seq 1: no keys"})
	add(step{frame: espIn(peer, gw, a.Seal(uint64(seqA+2), nil, 59, pb.NoFault))}) // a dummy packet: nothing
	// Nested: a's tunnel carries ESP of SA n, which carries the inner packet.
	nested := espIn([4]byte{10, 9, 0, 1}, gw, n.Seal(7, inner(5000), 4, pb.NoFault))
	add(step{frame: espIn(peer, gw, a.Seal(uint64(seqA+3), nested, 4, pb.NoFault)), kind: "plain", plain: inner(5000),
		comment: fmt.Sprintf("ESP SPI 0x00000053 seq 7 10.9.0.1 -> 192.0.2.1 received (tunnel mode) in ESP SPI 0x00000051 seq %d 198.51.100.2 -> 192.0.2.1 received", seqA+3)})

	// bound 0: the Writer's own queue bounds; 20: a queue of 20 frames
	// at most, past which the analyzer is made to apply its batch early.
	for _, bound := range []int{0, 20} {
		for _, workers := range []int{1, 2} {
			for _, opts := range []Options{{}, {KeepUndecrypted: true, All: true}} {
				opts.Me = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
				t.Run(fmt.Sprintf("bound=%d workers=%d keep=%v", bound, workers, opts.All), func(t *testing.T) {
					var s sink
					var w *Writer
					an := analyzer.New(analyzer.Config{Keys: ks, Workers: workers, OnOpened: func(o *analyzer.Opened) { w.Opened(o) }})
					flushes := 0
					w = New(&s, opts, an.Waiting, func() { flushes++; an.Flush() })
					if bound > 0 {
						w.maxQueued = bound
					}
					run := pipeline.New(an, pipeline.Options{OnFrame: w.Frame})
					for i, st := range steps {
						f := capture.Frame{Data: st.frame, LinkType: layers.LinkTypeRaw, Source: "in.pcap", Index: i + 1,
							CI: gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(st.frame), Length: len(st.frame)}}
						run.Frame(&f)
					}
					run.Finish()
					w.Settle()
					var want []written
					for i, st := range steps {
						ts := t0.Add(time.Duration(i) * time.Millisecond)
						where := fmt.Sprintf("; in.pcap frame %d", i+1)
						switch {
						case st.kind == "plain":
							want = append(want, written{Interface, layers.LinkTypeRaw, ts, st.plain, st.comment + where, strings.Contains(st.comment, "received"), strings.Contains(st.comment, "sent")})
						case st.kind == "frame" && opts.All && st.comment == "":
							want = append(want, written{"in.pcap", layers.LinkTypeRaw, ts, st.frame, "not IPsec" + where, false, false})
						case st.kind == "frame" && opts.All:
							want = append(want, written{"in.pcap", layers.LinkTypeRaw, ts, st.frame, st.comment + where, true, false})
						}
					}
					if len(s.got) != len(want) {
						t.Fatalf("%d packets written, want %d", len(s.got), len(want))
					}
					for i := range want {
						g, w := s.got[i], want[i]
						if g.source != w.source || g.lt != w.lt || !g.ts.Equal(w.ts) || !bytes.Equal(g.data, w.data) || g.comment != w.comment || g.in != w.in || g.out != w.out {
							t.Fatalf("packet %d:\n got %s %v %v in=%v out=%v %q % x\nwant %s %v %v in=%v out=%v %q % x", i+1,
								g.source, g.lt, g.ts, g.in, g.out, g.comment, g.data, w.source, w.lt, w.ts, w.in, w.out, w.comment, w.data)
						}
					}
					c := w.Counts()
					if c.Decrypted != 801 || c.Tunnel != 401 || c.Transport != 400 || c.Nested != 1 || c.Dummy != 1 {
						t.Errorf("counts %+v", c)
					}
					und := fmt.Sprint(c.Undecrypted)
					if und != "map[no keys:1 not authenticated: ICV mismatch:1 replay:1]" {
						t.Errorf("undecrypted %s", und)
					}
					if (flushes > 0) != (bound > 0 && workers > 1) {
						t.Errorf("%d early flushes", flushes)
					}
				})
			}
		}
	}
}
