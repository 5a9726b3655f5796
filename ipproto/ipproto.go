// Package ipproto is the one vocabulary of IP protocol numbers (IANA
// "Assigned Internet Protocol Numbers"): the constants the decoder, the key
// readers and the analyzer share, the names every view shows, and the
// names policy files may use.
package ipproto

import (
	"fmt"
	"strconv"
	"strings"
)

// Protocol numbers ipsecmon refers to by name.
const (
	Any    uint8 = 0 // in a selector or filter: every protocol (RFC 4301 §4.4.1 "ANY")
	ICMP   uint8 = 1
	TCP    uint8 = 6
	UDP    uint8 = 17
	IPv6   uint8 = 41
	GRE    uint8 = 47
	ESP    uint8 = 50 // RFC 4303
	AH     uint8 = 51 // RFC 4302
	ICMPv6 uint8 = 58
	OSPF   uint8 = 89
	SCTP   uint8 = 132
)

// names are the display names; other numbers show as the number.
var names = map[uint8]string{
	Any: "Any", ICMP: "ICMP", TCP: "TCP", UDP: "UDP", GRE: "GRE", ESP: "ESP", AH: "AH",
	ICMPv6: "ICMPv6", OSPF: "OSPF", SCTP: "SCTP",
}

// Name is the name views show for p: "Any" for 0 (the wildcard of
// selectors and filters), "ESP", "TCP", "ICMPv6", ..., or the number.
func Name(p uint8) string {
	if n, ok := names[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// keywords are the names policy sources use (/etc/protocols, strongSwan
// and iproute2 keywords), lower case.
var keywords = map[string]uint8{
	"icmp": ICMP, "igmp": 2, "ipencap": 4, "ipip": 4, "tcp": TCP, "egp": 8, "udp": UDP, "ipv6": IPv6,
	"rsvp": 46, "gre": GRE, "esp": ESP, "ah": AH, "ipv6-icmp": ICMPv6, "icmpv6": ICMPv6, "icmp6": ICMPv6,
	"ospf": OSPF, "pim": 103, "l2tp": 115, "sctp": SCTP, "raw": 255,
}

// Parse reads a protocol keyword (any case) or number; "any", "%any",
// "all", "0" and "" are Any.
func Parse(s string) (uint8, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "any", "%any", "0", "all":
		return Any, nil
	}
	if p, ok := keywords[s]; ok {
		return p, nil
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), nil
	}
	return 0, fmt.Errorf("unknown protocol %q", s)
}
