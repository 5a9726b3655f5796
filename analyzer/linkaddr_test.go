package analyzer

import (
	"net/netip"
	"testing"

	"ipsecmon/decode"
)

// The other IP version's address is tied to the chosen one only when it is
// the one address of its version sending from the same link address.
func TestLinkedTo(t *testing.T) {
	mac := func(b byte) [6]byte { return [6]byte{2, 0, 0, 0, 0, b} }
	for _, tc := range []struct {
		name  string
		sends map[string][][6]byte // source → link addresses of its SAs' first packets
		want  string
	}{
		{"dual stack", map[string][][6]byte{"192.0.2.1": {mac(1)}, "2001:db8::1": {mac(1)}, "2001:db8::2": {mac(2)}}, "2001:db8::1"},
		{"a router's address: two IPv6 senders", map[string][][6]byte{"192.0.2.1": {mac(1)}, "2001:db8::1": {mac(1)}, "2001:db8::2": {mac(1)}}, ""},
		{"the chosen address sends from two", map[string][][6]byte{"192.0.2.1": {mac(1), mac(3)}, "2001:db8::1": {mac(1)}}, ""},
		{"no other version", map[string][][6]byte{"192.0.2.1": {mac(1)}, "192.0.2.9": {mac(1)}}, ""},
		{"other link address", map[string][][6]byte{"192.0.2.1": {mac(1)}, "2001:db8::1": {mac(2)}}, ""},
	} {
		a := New(Config{})
		count := map[netip.Addr]int{}
		for src, macs := range tc.sends {
			for _, m := range macs {
				p := decode.Packet{Src: netip.MustParseAddr(src), LinkSrc: m, HasLinkSrc: true}
				a.noteLink(&p)
				count[p.Src]++
			}
		}
		got, ok := a.linkedTo(netip.MustParseAddr("192.0.2.1"), count)
		if (tc.want == "") == ok || ok && got.String() != tc.want {
			t.Errorf("%s: %v %v, want %q", tc.name, got, ok, tc.want)
		}
	}
	// The table is bounded: sources beyond it are counted, not kept.
	a := New(Config{})
	for i := 0; i < maxLinkAddrs+3; i++ {
		p := decode.Packet{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), HasLinkSrc: true}
		a.noteLink(&p)
	}
	if len(a.links) != maxLinkAddrs || a.hits.linkAddrs != 3 {
		t.Errorf("%d kept, %d counted", len(a.links), a.hits.linkAddrs)
	}
}
