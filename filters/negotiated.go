package filters

import (
	"net/netip"

	"ipsecmon/algo"
	"ipsecmon/policy"
)

// Negotiated is what a Quick Mode / CHILD exchange settled, seen from this
// host: the lead maps IKEv1 IDci/IDcr and IKEv2 TSi/TSr onto it (Local is
// this host's side).
type Negotiated struct {
	Name          string // e.g. the SA or connection name; becomes the filters' Name
	Policy        string // negotiation policy name, if known
	Local, Remote []netip.Prefix
	Proto         uint8
	LocalPorts    policy.Ports
	RemotePorts   policy.Ports
	Mode          policy.Mode
	// LocalTunnel and RemoteTunnel are the outer addresses in tunnel mode.
	LocalTunnel, RemoteTunnel netip.Addr
}

// FromNegotiated returns the specific filters the selectors imply, as
// Windows' IKE installs them for an SA: for each local × remote prefix an
// outbound filter Local→Remote and an inbound filter Remote→Local, both
// "negotiate security", with the tunnel endpoints in tunnel mode.
func FromNegotiated(n Negotiated, rule WeightRule) []SpecificFilter {
	var s Set
	var lt, rt policy.Addr
	if n.Mode == policy.ModeTunnel && n.LocalTunnel.IsValid() && n.RemoteTunnel.IsValid() {
		lt, rt = policy.SingleAddr(n.LocalTunnel), policy.SingleAddr(n.RemoteTunnel)
	}
	for _, l := range n.Local {
		for _, r := range n.Remote {
			la, ra := selectorAddr(l), selectorAddr(r)
			s.add(SpecificFilter{Name: n.Name, Src: la, Dst: ra, Proto: n.Proto, SrcPort: n.LocalPorts, DstPort: n.RemotePorts,
				TunnelSrc: lt, TunnelDst: rt, Dir: Outbound, Action: policy.ActionNegotiate, Policy: n.Policy}, rule)
			s.add(SpecificFilter{Name: n.Name, Src: ra, Dst: la, Proto: n.Proto, SrcPort: n.RemotePorts, DstPort: n.LocalPorts,
				TunnelSrc: rt, TunnelDst: lt, Dir: Inbound, Action: policy.ActionNegotiate, Policy: n.Policy}, rule)
		}
	}
	return s.Filters
}

// selectorAddr keeps 0.0.0.0/0 and ::/0 as prefixes so that each keeps its family.
func selectorAddr(p netip.Prefix) policy.Addr { return policy.PrefixAddr(p) }

// covers reports whether filter address a contains every address of b.
func covers(a, b policy.Addr) bool {
	switch b.Kind {
	case policy.AddrPrefix:
		first := b.Prefix.Masked().Addr()
		last := lastAddr(b.Prefix)
		return a.Contains(first) && a.Contains(last) && (a.Kind != policy.AddrPrefix || a.Prefix.Bits() <= b.Prefix.Bits())
	case policy.AddrRange:
		return a.Contains(b.First) && a.Contains(b.Last)
	case policy.AddrAny:
		return a.Kind == policy.AddrAny
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func portsCover(a, b policy.Ports) bool {
	if a.Any() {
		return true
	}
	return !b.Any() && a.From <= b.From && b.To <= a.To
}

// MatchSelectors returns the most specific outbound negotiate-security
// filter that contains the SA's first local × remote selector pair, provided
// every pair is contained in some such filter (source, destination,
// protocol and ports within); otherwise nil: the SA's selectors are not
// what any policy asks for.
func (s *Set) MatchSelectors(n Negotiated) *SpecificFilter {
	if len(n.Local) == 0 || len(n.Remote) == 0 {
		return nil
	}
	var first *SpecificFilter
	for _, l := range n.Local {
		for _, r := range n.Remote {
			f := s.coveringFilter(selectorAddr(l), selectorAddr(r), n)
			if f == nil {
				return nil
			}
			if first == nil {
				first = f
			}
		}
	}
	return first
}

func (s *Set) coveringFilter(l, r policy.Addr, n Negotiated) *SpecificFilter {
	for i := range s.Filters {
		f := &s.Filters[i]
		if f.Dir != Outbound || f.Action != policy.ActionNegotiate {
			continue
		}
		if f.Proto != 0 && f.Proto != n.Proto || !portsCover(f.SrcPort, n.LocalPorts) || !portsCover(f.DstPort, n.RemotePorts) {
			continue
		}
		if covers(f.Src, l) && covers(f.Dst, r) {
			return f
		}
	}
	return nil
}

// Suite is what an SA negotiated.
type Suite struct {
	Proto      uint8 // 50 ESP, 51 AH
	Enc        algo.Enc
	EncKeyBits int       // 0 when not known
	Auth       algo.Auth // ESP integrity (AuthNone with AEAD) or AH's
	AHAuth     algo.Auth // AH of an AH+ESP bundle, else AuthUnknown
	PFSGroup   uint16
	PFSKnown   bool // the capture showed whether a KE payload was exchanged
}

// Offer says whether a suite is among a policy's offers.
type Offer uint8

const (
	OfferUnknown Offer = iota // the policy source lists no algorithms (xfrm, --list-conns)
	OfferYes
	OfferNo
)

func (o Offer) String() string {
	switch o {
	case OfferYes:
		return "offered"
	case OfferNo:
		return "not offered"
	}
	return "unknown"
}

// Offered compares a negotiated suite with the policy's offers: protocol,
// encryption and its key length (when both know it), integrity, the AH half
// of a bundle, and the PFS group when the suite's is known. Lifetimes are
// not compared (the responder may shorten them). A policy without algorithm
// offers gives OfferUnknown, unless its required protocols exclude the
// suite's (OfferNo).
func Offered(p *policy.NegotiationPolicy, s Suite) Offer {
	if p == nil {
		return OfferUnknown
	}
	if len(p.Offers) == 0 {
		if len(p.Protos) == 0 {
			return OfferUnknown
		}
		for _, pr := range p.Protos {
			if pr == s.Proto {
				return OfferUnknown
			}
		}
		return OfferNo
	}
	for _, o := range p.Offers {
		if o.Proto != s.Proto || o.AHAuth != s.AHAuth {
			continue
		}
		if s.Proto == 50 {
			if o.Enc != s.Enc || o.EncKeyBits != 0 && s.EncKeyBits != 0 && o.EncKeyBits != s.EncKeyBits {
				continue
			}
			if !o.Enc.AEAD() && o.Auth != s.Auth {
				continue
			}
		} else if o.Auth != s.Auth {
			continue
		}
		if s.PFSKnown && o.PFSGroup != s.PFSGroup {
			continue
		}
		return OfferYes
	}
	return OfferNo
}
