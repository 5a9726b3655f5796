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
	// policy the pair was negotiated with (0: not negotiated in the capture).
	Policy int
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
	return func(ip netip.Addr) bool { return ip == best }
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
func (a *Analyzer) pairRows(mine func(netip.Addr) bool) []*QuickModeSA {
	groups := map[dirKey][]*SA{}
	for _, sa := range a.order {
		if sa.pair == nil {
			k := dirOf(sa)
			groups[k] = append(groups[k], sa)
		}
	}
	candidates := func(sa *SA) []*SA {
		rev := groups[dirOf(sa).reverse()]
		if len(rev) == 1 && rev[0] != sa {
			return rev
		}
		var c []*SA
		for _, o := range rev {
			if o != sa && overlaps(sa, o) {
				c = append(c, o)
			}
		}
		return c
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
		} else if c := candidates(sa); len(c) == 1 && !done[c[0]] {
			if back := candidates(c[0]); len(back) == 1 && back[0] == sa {
				other = c[0]
				row.Pairing = "inferred"
			}
		}
		if other != nil {
			done[other] = true
		}
		place := func(x *SA) {
			switch {
			case mine(x.Key.Dst):
				row.In = x
			case mine(x.Src):
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

// overlaps reports whether two SAs were in use at the same time.
func overlaps(x, y *SA) bool {
	return x.FirstSeen <= y.endOfUse() && y.FirstSeen <= x.endOfUse()
}

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
