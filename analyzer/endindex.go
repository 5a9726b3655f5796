package analyzer

import "net/netip"

// endIndex answers endLearned's two questions — the active SA a Delete
// names (its destination, SPI and protocol), and the active SAs learned
// from traffic the other way between the same peers — without a scan of
// the table per Delete: a gateway's Deletes times its SAs was quadratic
// over a run. Most runs never need it: it is built on the first Delete of
// a pair negotiated before the capture, then kept as SAs enter. What can
// no longer answer (an SA that ended, was evicted, or got its negotiation)
// never can again, so it is dropped when a question meets it; evicted SAs
// are counted, and once they outnumber the SAs in the table the index is
// dropped whole, to be built again by the next question (O(1) amortised
// per SA either way).
type endIndex struct {
	// bySPI: per destination, SPI and protocol, in first-seen order (a
	// Delete ends the first active one, as a.order's scan did).
	bySPI map[spiDst][]*SA
	// byDir: per direction between two addresses and protocol, in any
	// order.
	byDir map[addrDir][]*SA
	stale int // evicted SAs still in the index
}

type spiDst struct {
	dst   netip.Addr
	spi   uint32
	proto uint8
}

type addrDir struct {
	src, dst netip.Addr
	proto    uint8
}

// newEndIndex indexes the SAs of order.
func newEndIndex(order []*SA) *endIndex {
	x := &endIndex{bySPI: make(map[spiDst][]*SA, len(order)), byDir: map[addrDir][]*SA{}}
	for _, sa := range order {
		x.add(sa)
	}
	return x
}

func (x *endIndex) add(sa *SA) {
	k := spiDst{sa.Key.Dst, sa.Key.SPI, sa.Key.Proto}
	x.bySPI[k] = append(x.bySPI[k], sa)
	d := addrDir{sa.Src, sa.Key.Dst, sa.Key.Proto}
	x.byDir[d] = append(x.byDir[d], sa)
}

// insert enters a new SA in the table.
func (a *Analyzer) insert(sa *SA) {
	a.sas[sa.Key] = sa
	a.order = append(a.order, sa)
	if a.ends != nil {
		a.ends.add(sa)
	}
}

// evicted notes that an SA left the table: its two entries, or fewer if a
// question dropped one already, are stale.
func (x *endIndex) evicted() { x.stale += 2 }

// inTable reports whether sa is still the table's (not evicted).
func (a *Analyzer) inTable(sa *SA) bool { return a.sas[sa.Key] == sa }

// learnedPair returns the active SA with spi and proto to sender that a
// Delete names (the first in first-seen order), and, when it has no
// negotiated partner, the only active SA learned from traffic the other
// way between the same two addresses (nil when none or several).
func (a *Analyzer) learnedPair(proto uint8, spi uint32, sender netip.Addr) (hit, other *SA) {
	if a.ends != nil && a.ends.stale > len(a.sas) {
		a.ends = nil
	}
	if a.ends == nil {
		a.ends = newEndIndex(a.order)
	}
	x := a.ends
	k := spiDst{sender, spi, proto}
	l := x.bySPI[k]
	// Drop the ended and evicted SAs in front: they never answer again.
	for len(l) > 0 && (l[0].State != StateActive || !a.inTable(l[0])) {
		if !a.inTable(l[0]) {
			x.stale--
		}
		l[0] = nil
		l = l[1:]
	}
	if len(l) == 0 {
		delete(x.bySPI, k)
		return nil, nil
	}
	x.bySPI[k] = l
	hit = l[0]
	if hit.pair != nil {
		return hit, hit.pair
	}
	d := addrDir{hit.Key.Dst, hit.Src, proto}
	cands := x.byDir[d]
	var found []*SA
	for i := 0; i < len(cands) && len(found) < 2; {
		sa := cands[i]
		switch {
		case sa == hit:
			i++
		case sa.State != StateActive || sa.neg != nil || !a.inTable(sa):
			if !a.inTable(sa) {
				x.stale--
			}
			last := len(cands) - 1
			cands[i], cands[last] = cands[last], nil
			cands = cands[:last]
		default:
			found = append(found, sa)
			i++
		}
	}
	if len(cands) == 0 {
		delete(x.byDir, d)
	} else {
		x.byDir[d] = cands
	}
	if len(found) == 1 {
		other = found[0]
	}
	return hit, other
}
