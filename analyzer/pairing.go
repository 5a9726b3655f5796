package analyzer

import (
	"cmp"
	"net/netip"
	"slices"
)

// QuickModeSA is one row of the Security Associations view: an inbound and
// an outbound SA of one negotiation, or a lone direction.
type QuickModeSA struct {
	In, Out *SA // either may be nil; both nil never
	// Pairing says how In and Out were put together: "negotiated" (IKE),
	// "inferred" (opposite addresses, the only candidate), or "" (lone).
	Pairing string
	// MyAddr and PeerAddr are the outer endpoints; for a transit capture
	// (neither is mine) MyAddr is the source of the first SA seen.
	MyAddr, PeerAddr netip.Addr
	Transit          bool
	// Policy is the 1-based index in Snapshot.Policies of the negotiation
	// policy the pair was negotiated with (0: not negotiated in the capture);
	// PolicyName the configured (--policy) negotiation policy its
	// negotiated selectors fall under ("" without one).
	Policy     int
	PolicyName string
}

// SAs returns In and Out, whichever exist.
func (q *QuickModeSA) SAs() []*SA {
	var r []*SA
	if q.In != nil {
		r = append(r, q.In)
	}
	if q.Out != nil {
		r = append(r, q.Out)
	}
	return r
}

// Any returns one of the pair (the first seen).
func (q *QuickModeSA) Any() *SA {
	switch {
	case q.In == nil:
		return q.Out
	case q.Out == nil:
		return q.In
	case q.Out.FirstSeen < q.In.FirstSeen:
		return q.Out
	}
	return q.In
}

// Mode is the row's mode when every member agrees and is known.
func (q *QuickModeSA) Mode() Mode {
	m := ModeUnknown
	for i, s := range q.SAs() {
		if i == 0 {
			m = s.Mode
		} else if s.Mode != m {
			return ModeUnknown
		}
	}
	return m
}

// mine returns a membership test for "this computer", choosing the address
// that is an endpoint of the most SAs when none was configured.
func (a *Analyzer) mine(s *Snapshot) func(netip.Addr) bool {
	if len(a.cfg.Me) > 0 {
		s.MeGiven = a.cfg.Me
		for _, p := range a.cfg.Me {
			if p.IsSingleIP() {
				s.Me = append(s.Me, p.Addr())
			}
		}
		prefixes := a.cfg.Me
		return func(ip netip.Addr) bool {
			for _, p := range prefixes {
				if p.Contains(ip) {
					return true
				}
			}
			return false
		}
	}
	count := map[netip.Addr]int{}
	firstSeen := map[netip.Addr]int{}
	for i, t := range a.tallies() {
		for j, ip := range []netip.Addr{t.dst, t.src} {
			if !ip.IsValid() {
				continue
			}
			count[ip] += int(t.sas)
			if _, ok := firstSeen[ip]; !ok {
				// Ties go to the receiver of the first SA seen.
				firstSeen[ip] = 2*i + j
			}
		}
	}
	var best netip.Addr
	for ip, n := range count {
		switch {
		case !best.IsValid(), n > count[best]:
			best = ip
		case n == count[best] && (firstSeen[ip] < firstSeen[best] || firstSeen[ip] == firstSeen[best] && ip.Less(best)):
			best = ip
		}
	}
	if !best.IsValid() {
		return func(netip.Addr) bool { return false }
	}
	s.Me, s.MeChosen = []netip.Addr{best}, true
	other, ok := a.linkedTo(best, count)
	if !ok {
		return func(ip netip.Addr) bool { return ip == best }
	}
	s.Me, s.MeLinked = append(s.Me, other), []netip.Addr{other}
	return func(ip netip.Addr) bool { return ip == best || ip == other }
}

// dirKey is one direction between two endpoints for one protocol and encapsulation.
type dirKey struct {
	proto            uint8
	src, dst         netip.Addr
	srcPort, dstPort uint16
}

func dirOf(sa *SA) dirKey {
	return dirKey{sa.Key.Proto, sa.Src, sa.Key.Dst, sa.Key.SrcPort, sa.Key.DstPort}
}

func (k dirKey) reverse() dirKey {
	return dirKey{k.proto, k.dst, k.src, k.dstPort, k.srcPort}
}

// pairRows builds the SA view's rows. Without IKE, two SAs are paired only
// when each is the other's only candidate: opposite addresses, same
// protocol, mirrored encapsulation ports. When there are several (successive
// connections between the same two hosts), the only one whose lifetime
// overlaps still counts as the only candidate.
//
// Spoofed traffic can put any number of SAs between two hosts, so the
// candidates are never listed: each direction's SAs are sorted by first
// packet once, and a lifetime's overlaps are counted and found by binary
// search (O(n log n) in all; the scan of every reverse SA for every SA made
// 100,000 spoofed pairs take 32 s).
func (a *Analyzer) pairRows(side side) []*QuickModeSA {
	groups := map[dirKey]*lifetimes{}
	for _, sa := range a.order {
		if sa.pair == nil {
			k := dirOf(sa)
			g := groups[k]
			if g == nil {
				g = &lifetimes{}
				groups[k] = g
			}
			g.sas = append(g.sas, sa)
		}
	}
	for _, g := range groups {
		g.index()
	}
	// candidate returns sa's only candidate, or nil when it has none or
	// several.
	candidate := func(sa *SA) *SA {
		rev := groups[dirOf(sa).reverse()]
		switch {
		case rev == nil:
			return nil
		case len(rev.sas) == 1:
			if rev.sas[0] != sa {
				return rev.sas[0]
			}
			return nil
		}
		return rev.onlyOverlap(sa)
	}
	done := map[*SA]bool{}
	var rows []*QuickModeSA
	for _, sa := range a.order {
		if done[sa] {
			continue
		}
		done[sa] = true
		row := &QuickModeSA{}
		other := sa.pair
		if other != nil {
			row.Pairing = "negotiated"
		} else if c := candidate(sa); c != nil && !done[c] && candidate(c) == sa {
			other = c
			row.Pairing = "inferred"
		}
		if other != nil {
			done[other] = true
		}
		place := func(x *SA) {
			switch side(x.Src, x.Key.Dst) {
			case DirIn:
				row.In = x
			case DirOut:
				row.Out = x
			}
		}
		place(sa)
		if other != nil {
			place(other)
		}
		if row.In == nil && row.Out == nil {
			// Transit: present the first SA seen as outbound from its source.
			row.Transit = true
			row.Out, row.In = sa, other
		}
		switch {
		case row.Transit:
			row.MyAddr, row.PeerAddr = sa.Src, sa.Key.Dst
		case row.In != nil:
			row.MyAddr, row.PeerAddr = row.In.Key.Dst, row.In.Src
		default:
			row.MyAddr, row.PeerAddr = row.Out.Src, row.Out.Key.Dst
		}
		rows = append(rows, row)
	}
	return rows
}

// lifetimes are the SAs of one direction, ordered by first packet, with
// what answers "which of them overlap [from, to]" in O(log n): of the SAs
// that began by to, those that ended before from do not overlap, and the
// one that ended last is an overlapping one if any is.
type lifetimes struct {
	sas  []*SA
	ends []int64 // every SA's end of use, sorted
	// top2[i] are the two SAs among sas[:i+1] that ended last (the second
	// nil when i is 0): the latest that is not the SA asking.
	top2 [][2]*SA
}

func (l *lifetimes) index() {
	slices.SortStableFunc(l.sas, func(x, y *SA) int { return cmp.Compare(x.FirstSeen, y.FirstSeen) })
	l.ends = make([]int64, len(l.sas))
	l.top2 = make([][2]*SA, len(l.sas))
	var best [2]*SA
	for i, sa := range l.sas {
		l.ends[i] = sa.pairingEnd()
		switch {
		case best[0] == nil || sa.pairingEnd() > best[0].pairingEnd():
			best = [2]*SA{sa, best[0]}
		case best[1] == nil || sa.pairingEnd() > best[1].pairingEnd():
			best[1] = sa
		}
		l.top2[i] = best
	}
	slices.Sort(l.ends)
}

// onlyOverlap returns the one SA other than sa whose lifetime overlaps
// sa's, or nil when none or several do.
func (l *lifetimes) onlyOverlap(sa *SA) *SA {
	from, to := sa.FirstSeen, sa.pairingEnd()
	began, _ := slices.BinarySearchFunc(l.sas, to+1, func(x *SA, t int64) int { return cmp.Compare(x.FirstSeen, t) })
	ended, _ := slices.BinarySearch(l.ends, from) // ends before from
	n := began - ended
	if k := dirOf(sa); k == k.reverse() {
		n-- // a flow to its own source is in this direction itself: it does not count
	}
	if n != 1 {
		return nil
	}
	for _, c := range l.top2[began-1] {
		if c != nil && c != sa && c.pairingEnd() >= from {
			return c
		}
	}
	return nil
}

// pairingEnd is the end of an SA's use, and never before its first packet
// (timestamps of several inputs need not be in order).
func (s *SA) pairingEnd() int64 { return max(s.endOfUse(), s.FirstSeen) }

// endOfUse is the end of an SA's life as far as pairing is concerned.
func (s *SA) endOfUse() int64 {
	if s.EndedAt != 0 {
		return s.EndedAt
	}
	return s.LastSeen
}

// SortRowsByFirstSeen orders rows by when their first SA appeared.
func SortRowsByFirstSeen(rows []*QuickModeSA) {
	slices.SortStableFunc(rows, func(x, y *QuickModeSA) int {
		return cmp.Compare(x.Any().FirstSeen, y.Any().FirstSeen)
	})
}
