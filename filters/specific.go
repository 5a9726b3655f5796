package filters

import (
	"fmt"
	"net/netip"
	"sort"

	"ipsecmon/policy"
)

// Direction of a specific filter or a packet, seen from this host.
type Direction uint8

const (
	DirAny Direction = iota // a flow whose direction is not known
	Inbound
	Outbound
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "Inbound"
	case Outbound:
		return "Outbound"
	}
	return "Any"
}

// SpecificFilter is one row of the Specific Filters view: concrete
// addresses, one direction, one action, a weight.
type SpecificFilter struct {
	Name             string
	Src, Dst         policy.Addr // AddrAny, AddrPrefix or AddrRange
	Proto            uint8
	SrcPort, DstPort policy.Ports
	// TunnelSrc and TunnelDst: the tunnel endpoints for this direction
	// (AddrNone in transport mode).
	TunnelSrc, TunnelDst policy.Addr
	Dir                  Direction
	Action               policy.Action
	Policy               string // negotiation policy name
	Conn                 policy.ConnType
	Weight               uint32 // what the view shows (0 with WeightVista)
	// Generic is the filter this one was expanded from; nil for filters
	// implied by negotiated selectors (FromNegotiated).
	Generic *policy.GenericFilter
	// specificity orders matching whatever Weight shows; order keeps the
	// sources' order for the last tie.
	specificity uint32
	order       int
}

// WeightRule chooses what the Weight column shows.
type WeightRule uint8

const (
	// Weight2003 is the Windows Server 2003 ordering (see Weight).
	Weight2003 WeightRule = iota
	// WeightVista: Windows Vista and later show 0 for every filter (their
	// Base Filtering Engine weighs filters itself); matching still goes by
	// specificity.
	WeightVista
)

// ParseWeightRule reads "2003" (or "") and "vista".
func ParseWeightRule(s string) (WeightRule, error) {
	switch s {
	case "", "2003", "windows2003", "xp":
		return Weight2003, nil
	case "vista", "0":
		return WeightVista, nil
	}
	return 0, fmt.Errorf("unknown weight rule %q (want 2003 or vista)", s)
}

// Weight bits, most significant first. See README.md "Weights" for the
// rule and its sources.
const (
	weightAddrShift = 16      // bits 16-24: specificity of source + destination address
	weightTunnel    = 1 << 12 // a tunnel filter over a transport filter with the same selectors
	weightProto     = 1 << 8  // a specific IP protocol
	weightDstPort   = 1 << 2  // one destination port
	weightSrcPort   = 1 << 1  // one source port
	weightPortRange = 1 << 0  // not a single port, but narrower than any (strongSwan ranges)
)

// Weight computes the Windows Server 2003-style weight of a filter:
//
//	(specificity(src) + specificity(dst)) << 16
//	+ 0x1000 if it is a tunnel filter
//	+ 0x100  if it names an IP protocol
//	+ 0x4    if it names one destination port
//	+ 0x2    if it names one source port
//	+ 0x1    if either port is a range narrower than "any"
//
// where specificity is the number of fixed address bits (policy.Addr.Specificity:
// 32 for one IPv4 address, 24 for a /24, 0 for any). So a more specific
// address always outweighs protocol and ports, a protocol outweighs ports,
// and a destination port outweighs a source port.
func Weight(src, dst policy.Addr, proto uint8, sport, dport policy.Ports, tunnel bool) uint32 {
	w := uint32(src.Specificity()+dst.Specificity()) << weightAddrShift
	if tunnel {
		w |= weightTunnel
	}
	if proto != 0 {
		w |= weightProto
	}
	if _, ok := dport.Single(); ok {
		w |= weightDstPort
	}
	if _, ok := sport.Single(); ok {
		w |= weightSrcPort
	}
	if _, one := sport.Single(); !sport.Any() && !one {
		w |= weightPortRange
	} else if _, one := dport.Single(); !dport.Any() && !one {
		w |= weightPortRange
	}
	return w
}

// Set is the specific filters of a policy, most specific first.
type Set struct {
	Filters []SpecificFilter
	// Me are this host's addresses, used to tell a flow's direction.
	Me []netip.Addr
	// Policies are the negotiation policies the filters name.
	Policies []policy.NegotiationPolicy
	Warnings []string
}

// Build expands generic filters into specific filters.
//
// Each generic filter Src→Dst gives an outbound and an inbound specific
// filter for packets from Src to Dst, each with that direction's action;
// a mirrored filter gives the same two for packets from Dst to Src (with
// the tunnel endpoints swapped). Directions whose action is unset, and
// those that cannot happen — an inbound packet from this host's side (the
// `me` keyword, or the local side of a strongSwan child) or an outbound one
// to it — are left out. Keywords become one filter per address.
func Build(set *policy.Set, e *Expander, rule WeightRule) *Set {
	out := &Set{Policies: set.Policies}
	if e != nil {
		out.Me = e.Me
	} else {
		e = &Expander{}
	}
	for gi := range set.Filters {
		g := &set.Filters[gi]
		srcs, err1 := e.Expand(g.Src)
		dsts, err2 := e.Expand(g.Dst)
		tsrcs, err3 := expandEndpoint(e, g.TunnelSrc)
		tdsts, err4 := expandEndpoint(e, g.TunnelDst)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s: filter %q: %v: no specific filters for it", g.Origin, g.Name, err))
			}
		}
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			continue
		}
		srcLocal := g.Src.Kind == policy.AddrMe || g.LocalSrc
		dstLocal := g.Dst.Kind == policy.AddrMe
		type way struct {
			from, to           []policy.Addr
			sport, dport       policy.Ports
			tfrom, tto         policy.Addr
			fromLocal, toLocal bool
		}
		ways := []way{{srcs, dsts, g.SrcPort, g.DstPort, tsrcs, tdsts, srcLocal, dstLocal}}
		if g.Mirrored {
			ways = append(ways, way{dsts, srcs, g.DstPort, g.SrcPort, tdsts, tsrcs, dstLocal, srcLocal})
		}
		for _, w := range ways {
			for _, dir := range []Direction{Outbound, Inbound} {
				act := g.Outbound
				if dir == Inbound {
					act = g.Inbound
				}
				if act == policy.ActionUnset || dir == Inbound && w.fromLocal || dir == Outbound && w.toLocal {
					continue
				}
				for _, s := range w.from {
					for _, d := range w.to {
						if s.Kind != policy.AddrAny && d.Kind != policy.AddrAny && s.Is4() != d.Is4() {
							continue // me expands to both families; keep each with its own
						}
						sf := SpecificFilter{Name: g.Name, Src: s, Dst: d, Proto: g.Proto, SrcPort: w.sport, DstPort: w.dport,
							TunnelSrc: w.tfrom, TunnelDst: w.tto, Dir: dir, Action: act, Conn: g.Conn, Generic: g}
						if act == policy.ActionNegotiate {
							sf.Policy = g.Policy
						}
						out.add(sf, rule)
					}
				}
			}
		}
	}
	out.sort()
	return out
}

// expandEndpoint: a tunnel endpoint keyword names one address (the first);
// without addresses it stays the keyword (the endpoint does not take part
// in matching).
func expandEndpoint(e *Expander, a policy.Addr) (policy.Addr, error) {
	if !a.Keyword() {
		return a, nil
	}
	if as, err := e.Expand(a); err == nil {
		return as[0], nil
	}
	return a, nil
}

func (s *Set) add(f SpecificFilter, rule WeightRule) {
	f.specificity = Weight(f.Src, f.Dst, f.Proto, f.SrcPort, f.DstPort, f.TunnelSrc.Kind != policy.AddrNone || f.TunnelDst.Kind != policy.AddrNone)
	f.Weight = f.specificity
	if rule == WeightVista {
		f.Weight = 0
	}
	f.order = len(s.Filters)
	s.Filters = append(s.Filters, f)
}

// restrictiveness breaks ties between equally specific filters: block,
// then negotiate, then permit (ipsecmon's rule; see README.md).
func restrictiveness(a policy.Action) int {
	switch a {
	case policy.ActionBlock:
		return 3
	case policy.ActionNegotiate:
		return 2
	case policy.ActionPermit:
		return 1
	}
	return 0
}

// sort orders filters as matching tries them: higher specificity first,
// then the more restrictive action, then the order of the sources.
func (s *Set) sort() {
	sort.SliceStable(s.Filters, func(i, j int) bool {
		a, b := &s.Filters[i], &s.Filters[j]
		if a.specificity != b.specificity {
			return a.specificity > b.specificity
		}
		if ra, rb := restrictiveness(a.Action), restrictiveness(b.Action); ra != rb {
			return ra > rb
		}
		return a.order < b.order
	})
}

// Flow is one packet's (or connection's) selector fields. For ICMP, Sport
// carries the type and Dport the code (RFC 4301 §4.4.1.1).
type Flow struct {
	Src, Dst     netip.Addr
	Proto        uint8
	Sport, Dport uint16
	// Dir, when known; DirAny lets Set.Me decide (source is mine: outbound,
	// destination is mine: inbound) and otherwise matches either direction.
	Dir Direction
}

func (f *SpecificFilter) matches(fl Flow) bool {
	if !f.Src.Contains(fl.Src) || !f.Dst.Contains(fl.Dst) {
		return false
	}
	if f.Proto != 0 && f.Proto != fl.Proto {
		return false
	}
	return f.SrcPort.Contains(fl.Sport) && f.DstPort.Contains(fl.Dport)
}

// Direction tells a flow's direction from Set.Me when the flow does not say.
func (s *Set) Direction(fl Flow) Direction {
	if fl.Dir != DirAny {
		return fl.Dir
	}
	for _, m := range s.Me {
		if m == fl.Src.Unmap() {
			return Outbound
		}
	}
	for _, m := range s.Me {
		if m == fl.Dst.Unmap() {
			return Inbound
		}
	}
	return DirAny
}

// Match returns the most specific filter the flow matches (highest weight;
// equal weights: block before negotiate before permit, then source order),
// or nil.
func (s *Set) Match(fl Flow) *SpecificFilter {
	dir := s.Direction(fl)
	for i := range s.Filters {
		f := &s.Filters[i]
		if dir != DirAny && f.Dir != dir {
			continue
		}
		if f.matches(fl) {
			return f
		}
	}
	return nil
}

// Policy returns the negotiation policy a filter names, or nil.
func (s *Set) Policy(name string) *policy.NegotiationPolicy {
	for i := range s.Policies {
		if s.Policies[i].Name == name {
			return &s.Policies[i]
		}
	}
	return nil
}

// Violation reports whether a clear-text packet that matched f breaks the
// policy (Windows' "plaintext packets received" on a secure filter): f
// blocks, or f negotiates security and its policy does not allow falling
// back to clear text (NegotiationPolicy.Soft). A packet that matched no
// filter, or a permit filter, is not a violation.
func (s *Set) Violation(f *SpecificFilter) bool {
	if f == nil {
		return false
	}
	switch f.Action {
	case policy.ActionBlock:
		return true
	case policy.ActionNegotiate:
		p := s.Policy(f.Policy)
		return p == nil || !p.Soft
	}
	return false
}
