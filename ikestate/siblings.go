package ikestate

import "strings"

// siblingIndex holds the pairs the tracker indexed (indexChild: every pair
// not inferred) by what liveSibling matches on, so that a Quick Mode finds
// the pair it replaces without a scan of every pair kept: an authenticated
// peer negotiating pairs with new selectors made that quadratic, up to the
// ike_sa_pairs limit. Pairs that ended or were forgotten can never match
// again: liveSibling drops them from the end of their list, and the whole
// index is compacted once its entries reach twice the pairs kept (O(1)
// amortised per pair).
type siblingIndex struct {
	m       map[siblingKey][]*childSA // per key, in indexing (ID) order
	entries int
}

// siblingKey is a pair's peers, protocol and selectors; the selectors
// either way round (a responder's pair names the initiator's selectors as
// its own responder selectors), as the sorted texts of both sides.
type siblingKey struct {
	peers peerKey
	proto uint8
	sel   [2]string
}

func siblingKeyOf(c *childSA) siblingKey {
	side := func(ss []Selector) string {
		var b strings.Builder
		for _, s := range ss {
			b.WriteString(s.Text)
			b.WriteByte(0) // no selector text holds a NUL
		}
		return b.String()
	}
	i, r := side(c.InitiatorSelectors), side(c.ResponderSelectors)
	if r < i {
		i, r = r, i
	}
	return siblingKey{c.peers, c.Proto, [2]string{i, r}}
}

// live: the pair can still be a sibling.
func (c *childSA) live() bool { return c.State == ChildActive && !c.forgotten && !c.Inferred }

// add indexes c; kept is how many pairs the tracker keeps.
func (x *siblingIndex) add(c *childSA, kept int) {
	if c.Inferred {
		return
	}
	if x.m == nil {
		x.m = map[siblingKey][]*childSA{}
	}
	k := siblingKeyOf(c)
	x.m[k] = append(x.m[k], c)
	x.entries++
	if x.entries > 2*kept+64 {
		x.compact()
	}
}

func (x *siblingIndex) compact() {
	x.entries = 0
	for k, l := range x.m {
		n := 0
		for _, c := range l {
			if c.live() {
				l[n] = c
				n++
			}
		}
		clear(l[n:])
		if n == 0 {
			delete(x.m, k)
			continue
		}
		x.m[k] = l[:n]
		x.entries += n
	}
}

// latestActive returns the latest live pair other than c with c's peers,
// protocol and selectors.
func (x *siblingIndex) latestActive(c *childSA) *childSA {
	k := siblingKeyOf(c)
	l := x.m[k]
	for len(l) > 0 && !l[len(l)-1].live() {
		l[len(l)-1] = nil
		l = l[:len(l)-1]
		x.entries--
	}
	if len(l) == 0 {
		delete(x.m, k)
		return nil
	}
	x.m[k] = l
	for i := len(l) - 1; i >= 0; i-- {
		if o := l[i]; o != c && o.live() {
			return o
		}
	}
	return nil
}
