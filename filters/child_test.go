package filters

import (
	"net/netip"
	"reflect"
	"testing"

	"ipsecmon/ikestate"
	"ipsecmon/policy"
)

// TestFromChild: the side whose address is local takes its own selectors
// (TSi are the initiator's, TSr the responder's: RFC 7296 §2.9; IDci/IDcr
// likewise, RFC 2409 §5.5) and its own address as the local tunnel
// endpoint. The expected values are written from those rules by hand.
func TestFromChild(t *testing.T) {
	pfx := netip.MustParsePrefix
	sel := func(p string, proto uint8, from, to uint16) ikestate.Selector {
		s := ikestate.Selector{Text: p, Protocol: proto, StartPort: from, EndPort: to}
		if q, err := netip.ParsePrefix(p); err == nil {
			s.Prefix = q
		}
		return s
	}
	v4 := &ikestate.ChildSA{
		ID: 7, Mode: ikestate.ModeTunnel,
		Initiator:          netip.MustParseAddrPort("198.51.100.1:4500"),
		Responder:          netip.MustParseAddrPort("198.51.100.2:4500"),
		InitiatorSelectors: []ikestate.Selector{sel("10.1.0.0/16", 17, 0, 65535)},
		ResponderSelectors: []ikestate.Selector{sel("10.2.0.0/24", 17, 53, 53), sel("10.3.0.0/24", 17, 53, 53)},
	}
	v6 := &ikestate.ChildSA{
		ID: 8, Mode: ikestate.ModeTunnel,
		Initiator:          netip.MustParseAddrPort("[2001:db8::1]:500"),
		Responder:          netip.MustParseAddrPort("[2001:db8::2]:500"),
		InitiatorSelectors: []ikestate.Selector{sel("2001:db8:1::/48", 0, 0, 65535)},
		ResponderSelectors: []ikestate.Selector{sel("2001:db8:2::/48", 0, 0, 65535)},
	}
	transport := &ikestate.ChildSA{
		ID: 9, Mode: ikestate.ModeTransport,
		Initiator: netip.MustParseAddrPort("192.0.2.1:500"),
		Responder: netip.MustParseAddrPort("192.0.2.2:500"),
		// An IKEv1 range ID has no single prefix: it is not a filter address, but its protocol and ports count.
		InitiatorSelectors: []ikestate.Selector{sel("192.0.2.1-192.0.2.9", 6, 0, 65535)},
		ResponderSelectors: []ikestate.Selector{sel("192.0.2.2/32", 6, 443, 443)},
	}
	anyPort := policy.Ports{From: 0, To: 65535}
	dns := policy.Ports{From: 53, To: 53}
	initiatorSide := Negotiated{Name: "child 7", Mode: policy.ModeTunnel,
		Local: []netip.Prefix{pfx("10.1.0.0/16")}, Remote: []netip.Prefix{pfx("10.2.0.0/24"), pfx("10.3.0.0/24")},
		Proto: 17, LocalPorts: anyPort, RemotePorts: dns,
		LocalTunnel: netip.MustParseAddr("198.51.100.1"), RemoteTunnel: netip.MustParseAddr("198.51.100.2")}
	responderSide := Negotiated{Name: "child 7", Mode: policy.ModeTunnel,
		Local: []netip.Prefix{pfx("10.2.0.0/24"), pfx("10.3.0.0/24")}, Remote: []netip.Prefix{pfx("10.1.0.0/16")},
		Proto: 17, LocalPorts: dns, RemotePorts: anyPort,
		LocalTunnel: netip.MustParseAddr("198.51.100.2"), RemoteTunnel: netip.MustParseAddr("198.51.100.1")}
	for _, tc := range []struct {
		name  string
		c     *ikestate.ChildSA
		local string
		want  Negotiated
	}{
		{"initiator is me", v4, "198.51.100.1", initiatorSide},
		{"responder is me (or a transit row led by its SA)", v4, "198.51.100.2", responderSide},
		{"IPv4-mapped responder", v4, "::ffff:198.51.100.2", responderSide},
		{"neither peer: the initiator's side", v4, "203.0.113.9", initiatorSide},
		{"no address: the initiator's side", v4, "", initiatorSide},
		{"IPv6 responder", v6, "2001:db8::2", Negotiated{Name: "child 8", Mode: policy.ModeTunnel,
			Local: []netip.Prefix{pfx("2001:db8:2::/48")}, Remote: []netip.Prefix{pfx("2001:db8:1::/48")},
			LocalPorts: anyPort, RemotePorts: anyPort,
			LocalTunnel: netip.MustParseAddr("2001:db8::2"), RemoteTunnel: netip.MustParseAddr("2001:db8::1")}},
		{"IPv6 initiator", v6, "2001:db8::1", Negotiated{Name: "child 8", Mode: policy.ModeTunnel,
			Local: []netip.Prefix{pfx("2001:db8:1::/48")}, Remote: []netip.Prefix{pfx("2001:db8:2::/48")},
			LocalPorts: anyPort, RemotePorts: anyPort,
			LocalTunnel: netip.MustParseAddr("2001:db8::1"), RemoteTunnel: netip.MustParseAddr("2001:db8::2")}},
		{"transport, responder", transport, "192.0.2.2", Negotiated{Name: "child 9", Mode: policy.ModeTransport,
			Local: []netip.Prefix{pfx("192.0.2.2/32")}, Proto: 6,
			LocalPorts: policy.Ports{From: 443, To: 443}, RemotePorts: anyPort}},
		{"transport, initiator", transport, "192.0.2.1", Negotiated{Name: "child 9", Mode: policy.ModeTransport,
			Remote: []netip.Prefix{pfx("192.0.2.2/32")}, Proto: 6,
			LocalPorts: anyPort, RemotePorts: policy.Ports{From: 443, To: 443}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var local netip.Addr
			if tc.local != "" {
				local = netip.MustParseAddr(tc.local)
			}
			if got := FromChild(tc.c, local); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromChild(%s)\n got  %+v\n want %+v", tc.local, got, tc.want)
			}
		})
	}
}

// TestFromChildSamePeerAddress: when both peers share an address (two
// daemons on one host), the address alone cannot pick a side; the
// initiator's is taken rather than a swap.
func TestFromChildSamePeerAddress(t *testing.T) {
	c := &ikestate.ChildSA{ID: 1, Mode: ikestate.ModeTunnel,
		Initiator:          netip.MustParseAddrPort("127.0.0.1:500"),
		Responder:          netip.MustParseAddrPort("127.0.0.1:4500"),
		InitiatorSelectors: []ikestate.Selector{{Prefix: netip.MustParsePrefix("10.1.0.0/16")}},
		ResponderSelectors: []ikestate.Selector{{Prefix: netip.MustParsePrefix("10.2.0.0/16")}},
	}
	n := FromChild(c, netip.MustParseAddr("127.0.0.1"))
	if len(n.Local) != 1 || n.Local[0] != netip.MustParsePrefix("10.1.0.0/16") {
		t.Errorf("Local %v; want the initiator's 10.1.0.0/16", n.Local)
	}
}
