package analyzer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"ipsecmon/ipproto"
)

// referencePairs is the README's rule written out as it reads, every SA
// against every other (quadratic): two SAs not paired by IKE pair when
// each is the other's only candidate — opposite addresses, same protocol,
// mirrored ports; among several, the only one whose lifetime overlaps. It
// returns each SA's partner (absent: lone).
func referencePairs(order []*SA) map[*SA]*SA {
	reverseOf := func(x, y *SA) bool {
		return x != y && x.pair == nil && y.pair == nil && x.Key.Proto == y.Key.Proto &&
			x.Src == y.Key.Dst && x.Key.Dst == y.Src && x.Key.SrcPort == y.Key.DstPort && x.Key.DstPort == y.Key.SrcPort
	}
	// A lifetime runs from the first packet to the end of use, and never
	// ends before it begins.
	end := func(s *SA) int64 { return max(s.endOfUse(), s.FirstSeen) }
	cands := func(x *SA) []*SA {
		var rev []*SA
		for _, y := range order {
			if reverseOf(x, y) || y == x && x.pair == nil && dirOf(x) == dirOf(x).reverse() {
				rev = append(rev, y)
			}
		}
		if len(rev) == 1 && rev[0] != x {
			return rev
		}
		var c []*SA
		for _, y := range rev {
			if y != x && x.FirstSeen <= end(y) && y.FirstSeen <= end(x) {
				c = append(c, y)
			}
		}
		return c
	}
	partner := map[*SA]*SA{}
	done := map[*SA]bool{}
	for _, x := range order {
		if done[x] {
			continue
		}
		done[x] = true
		if x.pair != nil {
			partner[x], partner[x.pair] = x.pair, x
			done[x.pair] = true
			continue
		}
		if c := cands(x); len(c) == 1 && !done[c[0]] {
			if back := cands(c[0]); len(back) == 1 && back[0] == x {
				partner[x], partner[c[0]] = c[0], x
				done[c[0]] = true
			}
		}
	}
	return partner
}

// pairRows against the rule as written, on random tables: three hosts (the
// third also talking to itself), two protocols, encapsulated or not, IKE pairs
// among them, lifetimes that overlap, nest, touch, or end before they
// begin.
func TestPairRowsAgainstDefinition(t *testing.T) {
	hosts := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}
	mine := func(ip netip.Addr) bool { return ip == hosts[0] }
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 9))
		a := New(Config{})
		n := 2 + rng.IntN(40)
		for i := range n {
			src, dst := hosts[rng.IntN(3)], hosts[rng.IntN(3)]
			if src == dst {
				src, dst = hosts[2], hosts[2] // flows to themselves: only between others
			}
			k := SAKey{Dst: dst, SPI: uint32(i + 1), Proto: ipproto.ESP}
			if rng.IntN(4) == 0 {
				k.Proto = ipproto.AH
			}
			if rng.IntN(3) == 0 {
				k.SrcPort, k.DstPort = 4500, 4500
			}
			first := int64(rng.IntN(20))
			sa := &SA{Key: k, Src: src, FirstSeen: first, LastSeen: first + int64(rng.IntN(8))}
			if rng.IntN(5) == 0 {
				sa.EndedAt = int64(rng.IntN(25))
			}
			a.order = append(a.order, sa)
		}
		for range rng.IntN(3) {
			x, y := a.order[rng.IntN(n)], a.order[rng.IntN(n)]
			if x != y && x.pair == nil && y.pair == nil && x.Src == y.Key.Dst && y.Src == x.Key.Dst {
				x.pair, y.pair = y, x
			}
		}
		want := referencePairs(a.order)
		rows := a.pairRows(a.sides(mine, &Snapshot{}))
		got := map[*SA]*SA{}
		seen := 0
		for _, r := range rows {
			seen += len(r.SAs())
			if r.In != nil && r.Out != nil {
				got[r.In], got[r.Out] = r.Out, r.In
			}
		}
		if seen != n {
			t.Fatalf("seed %d: rows hold %d SAs, want %d", seed, seen, n)
		}
		if fmt.Sprint(len(got)) != fmt.Sprint(len(want)) {
			t.Fatalf("seed %d: %d SAs paired, want %d", seed, len(got), len(want))
		}
		for x, y := range want {
			if got[x] != y {
				t.Fatalf("seed %d: SA %v paired with %v, want %v", seed, x.Key, got[x], y.Key)
			}
		}
	}
}

// A frozen copy is computed into a snapshot while packets keep coming
// (run with -race): only Freeze shares the lock with Packet. The snapshot
// holds what the copy held, every SA in one row. All packets come at one
// moment between two hosts, so every SA has as many candidates as the
// other direction has SAs: none is paired.
func TestFrozenSnapshotWhilePacketsGoOn(t *testing.T) {
	a := New(Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}, OnEvent: func(Event) {}})
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range uint32(2000) {
			mu.Lock()
			a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x10000+i, 1, 100), Ref{})
			a.Packet(epoch, espPacket("10.0.0.1", "10.0.0.2", 0x20000+i, 1, 100), Ref{})
			a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x10000+i, 1, 100), Ref{}) // a replay
			mu.Unlock()
		}
	}()
	for range 20 {
		mu.Lock()
		f := a.Freeze()
		mu.Unlock()
		s := f.Snapshot()
		n := 0
		for _, r := range s.Rows {
			n += len(r.SAs())
		}
		if n != s.SAs {
			t.Fatalf("snapshot of %d SAs has %d in %d rows", s.SAs, n, len(s.Rows))
		}
	}
	<-done
	s := a.Snapshot()
	if len(s.Rows) != 4000 || s.Rows[0].Pairing != "" || s.Stats[ReplayDetected].Value != 2000 {
		t.Errorf("%d rows (first %q), %d replays; want 4000 lone SAs and 2000 replays", len(s.Rows), s.Rows[0].Pairing, s.Stats[ReplayDetected].Value)
	}
}
