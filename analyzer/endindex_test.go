package analyzer

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/algo"
	"ipsecmon/decode"
	"ipsecmon/decode/ike"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// The IKE SA of the Delete tests: A initiator, B responder, SK payloads in
// the clear (ENCR_NULL without integrity), IKE_AUTH's pair receiving on
// 0x11111111 at A and 0x22222222 at B.
var (
	delSPIi, delSPIr = pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	delKeys          = &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: delSPIi, SPIr: delSPIr, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
)

// deleteFrom is an INFORMATIONAL request (message mid of its sender) whose
// Delete payload names spis, and its empty answer: only the request's
// sender ends anything (RFC 7296 §1.4.1).
func deleteFrom(at float64, fromA bool, mid uint32, spis ...uint32) []frame {
	const I, R = ike.FlagInitiator, ike.FlagResponse
	req := pktbuild.V2SK(delSPIi, delSPIr, ike.ExchangeInformationalV2, 0, mid, pktbuild.DeleteV2(ike.ProtoESP, spis...))
	resp := pktbuild.V2SK(delSPIi, delSPIr, ike.ExchangeInformationalV2, I|R, mid)
	if fromA {
		req = pktbuild.V2SK(delSPIi, delSPIr, ike.ExchangeInformationalV2, I, mid, pktbuild.DeleteV2(ike.ProtoESP, spis...))
		resp = pktbuild.V2SK(delSPIi, delSPIr, ike.ExchangeInformationalV2, R, mid)
		return []frame{{at, v2FromA(req)}, {at + 0.01, v2FromB(resp)}}
	}
	return []frame{{at, v2FromB(req)}, {at + 0.01, v2FromA(resp)}}
}

// A Delete of a pair negotiated before the capture (so known only from its
// traffic) ends the SA it names and, when there is exactly one, the active
// SA learned from traffic the other way between the same peers. Every
// expected state is worked out by hand from that rule; SAs are named by
// their SPI (aN from A to B, bN from B to A, cN from B to C) and
// destination. The traffic begins before the IKE SA (at 1.5 s) is seen:
// after it, the tracker knows every pair between A and B, and a new SPI
// between them is a Bad SPI.
func TestDeleteOfLearnedPair(t *testing.T) {
	const (
		a1, a2, b1, b2, c1 = 0xa1, 0xa2, 0xb1, 0xb2, 0xc1
		negA, negB         = 0x11111111, 0x22222222 // IKE_AUTH's pair: A receives on negA
	)
	ab := func(at float64, spi uint32) frame { return frame{at, esp4(hostA, hostB, spi, 1, 100)} }
	ba := func(at float64, spi uint32) frame { return frame{at, esp4(hostB, hostA, spi, 1, 100)} }
	tests := []struct {
		name    string
		traffic []frame
		deletes [][]frame
		idle    time.Duration
		want    map[string]State // by "SPI>destination"; SAs not named were evicted
	}{{
		// The Delete names b1 (A receives on it); a1 is the only SA the
		// other way.
		name:    "pair",
		traffic: []frame{ab(1, a1), ba(1.1, b1)},
		deletes: [][]frame{deleteFrom(2, true, 2, b1)},
		want:    map[string]State{"a1>B": StateDeleted, "b1>A": StateDeleted},
	}, {
		name:    "pair, Delete from B",
		traffic: []frame{ab(1, a1), ba(1.1, b1)},
		deletes: [][]frame{deleteFrom(2, false, 0, a1)},
		want:    map[string]State{"a1>B": StateDeleted, "b1>A": StateDeleted},
	}, {
		// Two SAs from A to B could be b1's partner: neither is ended.
		name:    "ambiguous partner",
		traffic: []frame{ab(1, a1), ab(1.1, a2), ba(1.2, b1)},
		deletes: [][]frame{deleteFrom(2, true, 2, b1)},
		want:    map[string]State{"a1>B": StateActive, "a2>B": StateActive, "b1>A": StateDeleted},
	}, {
		// b1's Delete ends b1 alone (a1 and a2 are candidates); then B's
		// Delete of a1 finds one active SA from B to A left, b2.
		name:    "an earlier end leaves one partner",
		traffic: []frame{ab(1, a1), ab(1.1, a2), ba(1.2, b1), ba(1.3, b2)},
		deletes: [][]frame{deleteFrom(2, true, 2, b1), deleteFrom(3, false, 0, a1)},
		want:    map[string]State{"a1>B": StateDeleted, "a2>B": StateActive, "b1>A": StateDeleted, "b2>A": StateDeleted},
	}, {
		// The negotiated SA from A to B carries traffic too, but it has its
		// own partner: a1 is b1's only candidate.
		name:    "a negotiated SA is no candidate",
		traffic: []frame{ab(1, negB), ab(1.1, a1), ba(1.2, b1)},
		deletes: [][]frame{deleteFrom(2, true, 2, b1)},
		want:    map[string]State{"22222222>B": StateActive, "a1>B": StateDeleted, "b1>A": StateDeleted},
	}, {
		// The Delete comes from A: c1 (to C) has the same SPI but is not
		// A's.
		name:    "same SPI to another host",
		traffic: []frame{ab(1, a1), ba(1.1, b1), {1.2, esp4(hostB, hostC, b1, 1, 100)}},
		deletes: [][]frame{deleteFrom(2, true, 2, b1)},
		want:    map[string]State{"a1>B": StateDeleted, "b1>A": StateDeleted, "b1>C": StateActive},
	}, {
		name:    "unknown SPI",
		traffic: []frame{ab(1, a1), ba(1.1, b1)},
		deletes: [][]frame{deleteFrom(2, true, 2, 0xdead)},
		want:    map[string]State{"a1>B": StateActive, "b1>A": StateActive},
	}, {
		// An SA already ended is not ended again, nor a partner looked
		// for: the second Delete of b1 changes nothing.
		name:    "Delete of an ended SA",
		traffic: []frame{ab(1, a1), ba(1.1, b1), ba(1.2, b2)},
		deletes: [][]frame{deleteFrom(2, true, 2, b1), deleteFrom(3, true, 3, b1)},
		want:    map[string]State{"a1>B": StateDeleted, "b1>A": StateDeleted, "b2>A": StateActive},
	}, {
		// A first Delete (of an unknown SPI) at 2 s builds the index; a1,
		// a2, b2 and c1 are evicted by 7 s (see evictionTraffic). At 9 s
		// the Delete of b1 finds a3 as its only partner: the evicted a1
		// and a2 are no candidates.
		name:    "evicted SAs are no candidates",
		traffic: evictionTraffic(),
		deletes: [][]frame{deleteFrom(2, true, 2, 0xdead), deleteFrom(9, true, 3, b1)},
		idle:    5 * time.Second,
		want:    map[string]State{"a3>B": StateDeleted, "b1>A": StateDeleted, "c2>C": StateActive, "c3>C": StateActive, "c4>C": StateActive, "c5>C": StateActive},
	}, {
		// The same, with a Delete of the evicted b2 at 9 s: it names no SA
		// in the table, and a3 stays active.
		name:    "Delete of an evicted SA",
		traffic: evictionTraffic(),
		deletes: [][]frame{deleteFrom(2, true, 2, 0xdead), deleteFrom(9, true, 3, b2)},
		idle:    5 * time.Second,
		want:    map[string]State{"a3>B": StateActive, "b1>A": StateActive, "c2>C": StateActive, "c3>C": StateActive, "c4>C": StateActive, "c5>C": StateActive},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := v2IKESA(1.5, delSPIi, delSPIr, negA, negB)
			frames = append(frames, tc.traffic...)
			for _, d := range tc.deletes {
				frames = append(frames, d...)
			}
			sortFrames(frames)
			a := New(Config{Me: prefixes(hostA), Keys: delKeys, IdleTimeout: tc.idle})
			feed(t, a, frames...)
			got := map[string]State{}
			host := map[string]string{hostA: "A", hostB: "B", hostC: "C"}
			for _, sa := range a.order {
				k := fmt.Sprintf("%x>%s", sa.Key.SPI, host[sa.Key.Dst.String()])
				if _, named := tc.want[k]; named || sa.Key.SPI != negA && sa.Key.SPI != negB {
					got[k] = sa.State
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("SA states %v, want %v", got, tc.want)
			}
		})
	}
}

// evictionTraffic: a1, a2 (A to B), b2 (B to A) and c1 (B to C) see no
// packet after 1 s and, idle for 5 s, are evicted by 7 s, while a3, b1,
// c2 to c5 and the negotiated pair carry traffic every second until 8 s:
// eight SAs stay, eight index entries go stale, and the index is not
// rebuilt (what is tested is that questions skip the stale entries).
func evictionTraffic() []frame {
	fs := []frame{{1, esp4(hostA, hostB, 0xa1, 1, 100)}, {1, esp4(hostA, hostB, 0xa2, 1, 100)}, {1, esp4(hostB, hostA, 0xb2, 1, 100)}, {1, esp4(hostB, hostC, 0xc1, 1, 100)}}
	for s := uint32(1); s <= 8; s++ {
		t := float64(s)
		fs = append(fs, frame{t, esp4(hostA, hostB, 0xa3, s, 100)}, frame{t, esp4(hostB, hostA, 0xb1, s, 100)})
		for c := uint32(0xc2); c <= 0xc5; c++ {
			fs = append(fs, frame{t, esp4(hostB, hostC, c, s, 100)})
		}
		if s >= 2 { // the negotiated pair (at 1.5 s)
			fs = append(fs, frame{t, esp4(hostA, hostB, 0x22222222, s, 100)}, frame{t, esp4(hostB, hostA, 0x11111111, s, 100)})
		}
	}
	return fs
}

// sortFrames orders frames by time, keeping the order of equal times.
func sortFrames(fs []frame) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].at < fs[j-1].at; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// BenchmarkDeleteLearned is a gateway with n spoofed SA pairs between two
// hosts (traffic only, so every Delete is of a pair "negotiated before the
// capture") and an IKE SA whose Deletes name each SA A receives on, 500
// SPIs a message. Each Delete looks for the SA it names and its partner;
// a scan of the table per Delete made this quadratic (time 4× per 2× n),
// the index linear: the ns/SA figure should stay flat from n to 4n.
func BenchmarkDeleteLearned(b *testing.B) {
	for _, n := range []int{10_000, 20_000, 40_000} {
		pkts := make([]decode.Packet, 0, 2*n)
		for i := range n {
			pkts = append(pkts, *espPacket(hostA, hostB, 0xa0000000+uint32(i), 1, 100), *espPacket(hostB, hostA, 0xb0000000+uint32(i), 1, 100))
		}
		ikeFrames := v2IKESA(0, delSPIi, delSPIr, 0x11111111, 0x22222222)
		const perMsg = 500
		for i, mid := 0, uint32(2); i < n; i, mid = i+perMsg, mid+1 {
			var spis []uint32
			for j := i; j < min(i+perMsg, n); j++ {
				spis = append(spis, 0xb0000000+uint32(j))
			}
			ikeFrames = append(ikeFrames, deleteFrom(2, true, mid, spis...)...)
		}
		b.Run(fmt.Sprintf("sas=%d", 2*n), func(b *testing.B) {
			dec := decode.NewDecoder()
			for i := 0; i < b.N; i++ {
				a := New(Config{Me: prefixes(hostA), Keys: delKeys, MaxSAs: 4 * n})
				for j := range pkts {
					a.Packet(at(1), &pkts[j], Ref{})
				}
				for j, f := range ikeFrames {
					var p decode.Packet
					if err := dec.Decode(layers.LinkTypeRaw, f.ip, len(f.ip), &p); err != nil {
						b.Fatalf("frame %d: %v", j, err)
					}
					a.Packet(at(f.at), &p, Ref{})
				}
				if i == 0 {
					// Every Delete found its SA; every partner was ambiguous
					// (n candidates), so only the named SAs ended.
					ended := 0
					for _, sa := range a.order {
						if sa.State == StateDeleted {
							ended++
							if sa.Key.Dst != netip.MustParseAddr(hostA) {
								b.Fatalf("SA %08x to %v ended", sa.Key.SPI, sa.Key.Dst)
							}
						}
					}
					if ended != n {
						b.Fatalf("%d SAs ended, want %d", ended, n)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*n), "ns/SA")
		})
	}
}
