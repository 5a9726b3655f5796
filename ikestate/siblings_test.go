package ikestate

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func sel(texts ...string) []Selector {
	var ss []Selector
	for _, t := range texts {
		ss = append(ss, Selector{Text: t})
	}
	return ss
}

// The pair a Quick Mode replaces (IKEv1 has no REKEY_SA): the latest pair
// still active with the same peers, protocol and selectors, either way
// round. The expected pair of each question is worked out by hand.
func TestLiveSibling(t *testing.T) {
	p := peersOf(netip.MustParseAddrPort("10.0.0.1:500"), netip.MustParseAddrPort("10.0.0.2:500"))
	other := peersOf(netip.MustParseAddrPort("10.0.0.1:500"), netip.MustParseAddrPort("10.0.0.3:500"))
	a, b, c := "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"
	pair := func(peers peerKey, proto uint8, i, r []Selector) *childSA {
		return &childSA{peers: peers, ChildSA: ChildSA{Proto: proto, State: ChildActive, InitiatorSelectors: i, ResponderSelectors: r}}
	}
	pairs := []*childSA{
		0: pair(p, 50, sel(a), sel(b)),
		1: pair(p, 50, sel(b), sel(a)),     // the same, negotiated by the other peer
		2: pair(p, 51, sel(a), sel(b)),     // AH
		3: pair(other, 50, sel(a), sel(b)), // other peers
		4: pair(p, 50, sel(a, c), sel(b)),  // more selectors
		5: pair(p, 50, sel(a), sel(b, c)),
		6: pair(p, 50, sel(a+b), nil), // the texts run together
	}
	tr := New(nil)
	for i, c := range pairs {
		c.ID = i + 1
		tr.children = append(tr.children, c)
		tr.indexChild(c)
	}
	q := pair(p, 50, sel(a), sel(b))
	tr.children = append(tr.children, q)
	steps := []struct {
		change func()
		want   int // index in pairs; -1: none
	}{
		{func() {}, 1},
		{func() { pairs[1].State = ChildDeleted }, 0},
		{func() { pairs[0].forgotten = true }, -1},
	}
	for i, s := range steps {
		s.change()
		got := slices.Index(pairs, tr.liveSibling(q))
		if got != s.want {
			t.Errorf("step %d: pair %d, want %d", i, got, s.want)
		}
	}
	if got := tr.liveSibling(pair(p, 51, sel(b), sel(a))); got != pairs[2] {
		t.Errorf("AH: %v, want pair 2", got)
	}
	// An inferred pair (its selectors not read) is nobody's sibling.
	inf := pair(p, 50, sel(a), sel(b))
	inf.Inferred = true
	tr.children = append(tr.children, inf)
	tr.indexChild(inf)
	if got := tr.liveSibling(q); got != nil {
		t.Errorf("inferred pair found: %v", got)
	}
}

// The index answers as the scan of every pair kept did, over random
// pairs (3 peer pairs, 2 protocols, 3 selector sets either way round)
// that end and are forgotten at random: 20,000 questions.
func TestLiveSiblingMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ends := []string{"10.0.0.2:500", "10.0.0.3:500", "10.0.0.4:4500"}
	sels := [][]Selector{sel("10.1.0.0/16"), sel("10.2.0.0/16"), sel("10.1.0.0/16", "10.3.0.0/16")}
	tr := New(nil)
	for i := range 20_000 {
		c := &childSA{peers: peersOf(netip.MustParseAddrPort("10.0.0.1:500"), netip.MustParseAddrPort(ends[rng.IntN(3)])),
			ChildSA: ChildSA{ID: i + 1, Proto: uint8(50 + rng.IntN(2)), State: ChildActive, InitiatorSelectors: sels[rng.IntN(3)], ResponderSelectors: sels[rng.IntN(3)]}}
		tr.children = append(tr.children, c)
		if want, got := scanSibling(tr, c), tr.liveSibling(c); got != want {
			t.Fatalf("pair %d: index found %v, scan %v", c.ID, got, want)
		}
		tr.indexChild(c)
		// End a random pair; now and then forget the oldest ones, as the
		// limits do.
		if o := tr.children[rng.IntN(len(tr.children))]; rng.IntN(2) == 0 {
			o.State = ChildDeleted
		}
		if len(tr.children) > 300 {
			for _, o := range tr.children[:100] {
				o.forgotten = true
			}
			tr.children = slices.Delete(tr.children, 0, 100)
		}
	}
}

// BenchmarkLiveSibling: n pairs between the same peers, each with new
// selectors (what an authenticated peer can make), each looking for the
// pair it replaces as a Quick Mode does. "scan" is the lookup before the
// index (every pair kept, newest first); "index" the index. The ns/pair of
// the index should stay flat from n to 4n; the scan's grows with n.
func BenchmarkLiveSibling(b *testing.B) {
	p := peersOf(netip.MustParseAddrPort("10.0.0.1:500"), netip.MustParseAddrPort("10.0.0.2:500"))
	for _, n := range []int{2048, 4096, 8192} {
		pairs := make([]*childSA, n)
		for i := range pairs {
			pairs[i] = &childSA{peers: p, ChildSA: ChildSA{ID: i + 1, Proto: 50, State: ChildActive,
				InitiatorSelectors: sel(fmt.Sprintf("10.%d.%d.0/24", i>>8, i&255)), ResponderSelectors: sel("10.255.0.0/16")}}
		}
		for _, how := range []string{"scan", "index"} {
			b.Run(fmt.Sprintf("%s/pairs=%d", how, n), func(b *testing.B) {
				for range b.N {
					tr := New(nil)
					for _, c := range pairs {
						tr.children = append(tr.children, c)
						var old *childSA
						if how == "scan" {
							old = scanSibling(tr, c)
						} else {
							old = tr.liveSibling(c)
						}
						if old != nil {
							b.Fatalf("pair %d has a sibling", c.ID)
						}
						tr.indexChild(c)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pair")
			})
		}
	}
}

// scanSibling is liveSibling before the index: a scan of every pair kept.
func scanSibling(t *Tracker, c *childSA) *childSA {
	eq := func(x, y []Selector) bool {
		return slices.EqualFunc(x, y, func(p, q Selector) bool { return p.Text == q.Text })
	}
	for i := len(t.children) - 1; i >= 0; i-- {
		o := t.children[i]
		if o == c || o.State != ChildActive || o.peers != c.peers || o.Inferred {
			continue
		}
		if o.Proto == c.Proto && (eq(o.InitiatorSelectors, c.InitiatorSelectors) && eq(o.ResponderSelectors, c.ResponderSelectors) ||
			eq(o.InitiatorSelectors, c.ResponderSelectors) && eq(o.ResponderSelectors, c.InitiatorSelectors)) {
			return o
		}
	}
	return nil
}
