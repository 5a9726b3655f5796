package analyzer

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"

	"ipsecmon/decode"
	"ipsecmon/ipproto"
)

// Fragmented counts the SA's packets that arrived in IP fragments (its
// sender's packets exceeded the path MTU on the way), and Largest the
// largest of them, reassembled (IP length).
func (s *SA) Fragmented() (n uint64, largest int) {
	if s.ext == nil {
		return 0, 0
	}
	return s.ext.fragmented, s.ext.largestFragmented
}

// noteFragments counts a packet that was reassembled from IP fragments.
func (s *SA) noteFragments(p *decode.Packet) {
	if p.Fragments < 2 {
		return
	}
	e := s.extension()
	e.fragmented++
	e.largestFragmented = max(e.largestFragmented, p.IPWireLen)
}

// PathMTU is what ICMP said about the packets of one SA, or of IKE
// between two peers, that did not fit the path (RFC 1191, RFC 4443 §3.2:
// a router dropped them and said how much would have fit).
type PathMTU struct {
	// Key is the quoted packet's SA (SPI 0: an IKE message, or a quote
	// too short to reach the SPI); Src the peer that sent it.
	Key SAKey
	Src netip.Addr
	IKE bool
	// Router is the first router that reported; MTU the smallest next-hop
	// MTU reported (0: the routers did not say).
	Router      netip.Addr
	MTU         uint32
	Reports     uint64
	First, Last int64
}

// maxPathMTU bounds the SAs whose ICMP reports are kept apart (limit
// path_mtu_reports): spoofed ICMP costs no more than that.
const maxPathMTU = 4096

// tooBig records an ICMP fragmentation-needed / packet-too-big message
// about an IPsec or IKE packet.
func (a *Analyzer) tooBig(now int64, p *decode.Packet) {
	t := &p.TooBig
	k := SAKey{Dst: t.Dst, SPI: t.SPI, Proto: t.Proto}
	switch {
	case t.Proto == ipproto.UDP && t.HasSPI:
		k.Proto, k.SrcPort, k.DstPort = ipproto.ESP, t.SrcPort, t.DstPort
	case t.Proto == ipproto.UDP:
		k.SrcPort, k.DstPort = t.SrcPort, t.DstPort
	}
	if k.Dst.IsMulticast() {
		k.Src = t.Src
	}
	r, ok := a.pmtu[k]
	if !ok {
		if len(a.pmtu) >= maxPathMTU {
			a.hits.pathMTU++
			return
		}
		if a.pmtu == nil {
			a.pmtu = map[SAKey]PathMTU{}
		}
		r = PathMTU{Key: k, Src: t.Src, IKE: t.IKE(), Router: p.Src, MTU: t.MTU, First: now}
	}
	r.Reports++
	r.Last = now
	if t.MTU != 0 && (r.MTU == 0 || t.MTU < r.MTU) {
		r.MTU = t.MTU
	}
	a.pmtu[k] = r
}

// pathMTUs lists the reports in order of the first.
func (a *Analyzer) pathMTUs() []PathMTU {
	out := slices.Collect(maps.Values(a.pmtu))
	slices.SortFunc(out, func(x, y PathMTU) int { return cmp.Compare(x.First, y.First) })
	return out
}
