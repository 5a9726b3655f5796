package analyzer

import (
	"net/netip"

	"ipsecmon/decode"
)

// maxLinkAddrs bounds the SA sources whose link address is remembered: a
// flood of spoofed sources must not grow it without end.
const maxLinkAddrs = 4096

// linkAddr is the Ethernet source address the SAs of one IP source were
// first seen from.
type linkAddr struct {
	mac   [6]byte
	mixed bool // another SA of the same source came from another link address
}

// noteLink remembers the link address a new SA's first packet came from.
func (a *Analyzer) noteLink(p *decode.Packet) {
	if !p.HasLinkSrc || !p.Src.IsValid() {
		return
	}
	l, ok := a.links[p.Src]
	switch {
	case ok:
		if l.mac != p.LinkSrc && !l.mixed {
			l.mixed = true
			a.links[p.Src] = l
		}
	case len(a.links) >= maxLinkAddrs:
		a.hits.linkAddrs++
	default:
		if a.links == nil {
			a.links = map[netip.Addr]linkAddr{}
		}
		a.links[p.Src] = linkAddr{mac: p.LinkSrc}
	}
}

// linkedTo finds the address of the other IP version that the same host as
// me sends its SAs from: a dual-stack host's IPv4 and IPv6 SAs leave from one
// link address. Only an unambiguous one counts: me and it each sent from a
// single link address, and no other address of its version sent from that
// one (a router's address stands for every host behind it).
func (a *Analyzer) linkedTo(me netip.Addr, endpoints map[netip.Addr]int) (netip.Addr, bool) {
	l, ok := a.links[me]
	if !ok || l.mixed {
		return netip.Addr{}, false
	}
	var found netip.Addr
	n := 0
	for x := range endpoints {
		if x.Is4() == me.Is4() {
			continue
		}
		if o, ok := a.links[x]; ok && !o.mixed && o.mac == l.mac {
			found = x
			n++
		}
	}
	return found, n == 1
}
