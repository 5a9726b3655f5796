package analyzer

import (
	"cmp"
	"net/netip"
	"slices"
)

// EndpointPair is two SA endpoints that --me both covers. Me is the one
// taken as this computer's: the sender of the first SA seen between them.
type EndpointPair struct {
	Me, Peer netip.Addr
	SAs      uint64
}

// MeEndpoint is an outer SA endpoint and how many SAs it is an end of:
// what --me would have to name.
type MeEndpoint struct {
	Addr netip.Addr
	SAs  uint64
}

// side says which end of an SA is this computer's.
type side func(src, dst netip.Addr) Direction

// sides builds the side of every SA from mine. --me can cover both ends
// of an SA (a prefix over two gateways, a host talking to itself): "sent"
// and "received" are then ambiguous, and a pair whose two SAs both count
// as received would lose its outbound SA from the SA view. For each such
// pair of endpoints the sender of the first SA seen between them is taken
// as this computer, as a row between two other hosts presents its first
// SA as sent by Me, so that a pair keeps one SA in and one out; Snapshot.MeBothEnds lists them for a
// warning. It also says when --me names no SA endpoint at all
// (Snapshot.MeUnmatched) and which endpoints it could have named.
func (a *Analyzer) sides(mine func(netip.Addr) bool, s *Snapshot) side {
	type ends struct{ lo, hi netip.Addr }
	both := map[ends]*EndpointPair{}
	var order []ends
	count := map[netip.Addr]uint64{}
	matched := false
	note := func(src, dst netip.Addr, n uint64) {
		for _, ip := range []netip.Addr{src, dst} {
			if ip.IsValid() {
				count[ip] += n
				matched = matched || mine(ip)
			}
		}
		if !src.IsValid() || !dst.IsValid() || !mine(src) || !mine(dst) {
			return
		}
		k := ends{src, dst}
		if dst.Less(src) {
			k = ends{dst, src}
		}
		p := both[k]
		if p == nil {
			p = &EndpointPair{Me: src, Peer: dst}
			both[k] = p
			order = append(order, k)
		}
		p.SAs += n
	}
	for _, sa := range a.order {
		note(sa.Src, sa.Key.Dst, 1)
	}
	// Evicted totals come from a map: a stable order for the ties.
	ev := make([]*tally, 0, len(a.evicted))
	for _, t := range a.evicted {
		ev = append(ev, t)
	}
	slices.SortFunc(ev, func(x, y *tally) int {
		return cmp.Or(x.src.Compare(y.src), x.dst.Compare(y.dst), cmp.Compare(x.proto, y.proto), cmp.Compare(x.mode, y.mode), cmp.Compare(x.state, y.state))
	})
	for _, t := range ev {
		note(t.src, t.dst, t.sas)
	}
	if len(a.cfg.Me) > 0 && len(count) > 0 && !matched {
		s.MeUnmatched = true
		for ip, n := range count {
			s.MeCandidates = append(s.MeCandidates, MeEndpoint{ip, n})
		}
		slices.SortFunc(s.MeCandidates, func(x, y MeEndpoint) int {
			return cmp.Or(cmp.Compare(y.SAs, x.SAs), x.Addr.Compare(y.Addr))
		})
	}
	for _, k := range order {
		s.MeBothEnds = append(s.MeBothEnds, *both[k])
	}
	return func(src, dst netip.Addr) Direction {
		switch {
		case dst.IsValid() && mine(dst):
			if src.IsValid() && mine(src) {
				k := ends{src, dst}
				if dst.Less(src) {
					k = ends{dst, src}
				}
				if p := both[k]; p != nil && p.Me != dst {
					return DirOut
				}
			}
			return DirIn
		case src.IsValid() && mine(src):
			return DirOut
		}
		return DirUnknown
	}
}
