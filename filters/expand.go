// Package filters turns generic filters into the IP Security Monitor's
// specific filters: keywords expanded into addresses, one filter per
// direction, each with its weight; it matches flows and SAs against them.
package filters

import (
	"fmt"
	"net/netip"

	"ipsecmon/policy"
)

// Expander holds the addresses behind the Windows keywords. Fill it from
// flags (--me, --dns, --dhcp, --wins, --gateway) or from System.
type Expander struct {
	Me, DNS, DHCP, WINS, Gateway []netip.Addr
}

// Addrs returns the addresses of a keyword kind (nil for other kinds).
func (e *Expander) Addrs(k policy.AddrKind) []netip.Addr {
	switch k {
	case policy.AddrMe:
		return e.Me
	case policy.AddrDNS:
		return e.DNS
	case policy.AddrDHCP:
		return e.DHCP
	case policy.AddrWINS:
		return e.WINS
	case policy.AddrGateway:
		return e.Gateway
	}
	return nil
}

// Expand turns a specification into concrete ones: each address of a
// keyword becomes a single-address specification (as Windows creates one
// specific filter per address); anything else is returned as is. A keyword
// without addresses expands to nothing and an error says which.
func (e *Expander) Expand(a policy.Addr) ([]policy.Addr, error) {
	if !a.Keyword() {
		return []policy.Addr{a}, nil
	}
	ips := e.Addrs(a.Kind)
	if len(ips) == 0 {
		return nil, fmt.Errorf("no addresses known for %q (%s)", a.String(), a.Display())
	}
	out := make([]policy.Addr, 0, len(ips))
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		ip = ip.Unmap()
		if !ip.IsValid() || seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, policy.SingleAddr(ip))
	}
	return out, nil
}
