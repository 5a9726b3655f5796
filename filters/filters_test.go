package filters

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/policy"
)

func pa(s string) policy.Addr {
	a, err := policy.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func pp(from, to uint16) policy.Ports { return policy.Ports{From: from, To: to} }

// TestWeights: each weight computed by hand from the rule in README.md,
// (spec(src)+spec(dst))<<16 | 0x1000 tunnel | 0x100 protocol | 0x4 one
// destination port | 0x2 one source port | 0x1 a port range.
func TestWeights(t *testing.T) {
	type f struct {
		name         string
		src, dst     string
		proto        uint8
		sport, dport policy.Ports
		tunnel       bool
		want         uint32
	}
	rows := []f{
		{"any-any", "any", "any", 0, pp(0, 0), pp(0, 0), false, 0},                                 // 0+0
		{"me-any", "192.0.2.101", "any", 0, pp(0, 0), pp(0, 0), false, 0x200000},                   // (32+0)<<16
		{"me-/8", "192.0.2.101", "10.0.0.0/8", 0, pp(0, 0), pp(0, 0), false, 0x280000},             // (32+8)<<16
		{"me-/16-tcp", "192.0.2.101", "10.1.0.0/16", 6, pp(0, 0), pp(0, 0), false, 0x300100},       // (32+16)<<16 | 0x100
		{"me-/16-tcp-d80", "192.0.2.101", "10.1.0.0/16", 6, pp(0, 0), pp(80, 80), false, 0x300104}, // | 0x4
		{"me-/16-tcp-s1024", "192.0.2.101", "10.1.0.0/16", 6, pp(1024, 1024), pp(0, 0), false, 0x300102},
		{"me-/16-tcp-s-d", "192.0.2.101", "10.1.0.0/16", 6, pp(1234, 1234), pp(80, 80), false, 0x300106},
		{"me-host", "192.0.2.101", "10.1.0.5", 0, pp(0, 0), pp(0, 0), false, 0x400000},          // (32+32)<<16
		{"tunnel-/16-/16", "10.1.0.0/16", "10.2.0.0/16", 0, pp(0, 0), pp(0, 0), true, 0x201000}, // (16+16)<<16 | 0x1000
		// 21 addresses: 32-5 = 27 bits; (27+32)<<16 = 0x3B0000
		{"range-dns", "10.1.0.100-10.1.0.120", "10.2.0.53", 17, pp(0, 0), pp(53, 53), false, 0x3B0104},
		{"v6-host-/48", "2001:db8::101", "2001:db8:2::/48", 0, pp(0, 0), pp(0, 0), false, 0xB00000}, // (128+48)<<16
		{"portrange", "10.1.2.0/24", "10.2.2.0/24", 6, pp(1024, 65535), pp(443, 443), false, 0x300105},
	}
	w := map[string]uint32{}
	for _, r := range rows {
		got := Weight(pa(r.src), pa(r.dst), r.proto, r.sport, r.dport, r.tunnel)
		if got != r.want {
			t.Errorf("%s: weight %#x, hand-computed %#x", r.name, got, r.want)
		}
		w[r.name] = got
	}
	// Pairs in the documented order: the first outweighs the second.
	for _, p := range [][2]string{
		{"me-host", "me-/16-tcp-s-d"},          // more address bits beat protocol and ports
		{"me-/16-tcp-s-d", "me-/16-tcp-d80"},   // both ports beat one
		{"me-/16-tcp-d80", "me-/16-tcp-s1024"}, // destination port beats source port
		{"me-/16-tcp-s1024", "me-/16-tcp"},     // a port beats none
		{"me-/16-tcp", "me-/8"},                // /16 beats /8 despite no protocol on the /8
		{"me-/8", "me-any"},
		{"me-any", "any-any"},
		{"tunnel-/16-/16", "me-any"}, // same 32 address bits: the tunnel filter first
		{"portrange", "me-/16-tcp-d80"},
		{"range-dns", "portrange"},
		{"v6-host-/48", "me-host"},
	} {
		if !(w[p[0]] > w[p[1]]) {
			t.Errorf("%s (%#x) should outweigh %s (%#x)", p[0], w[p[0]], p[1], w[p[1]])
		}
	}
}

func serverSet(t *testing.T, rule WeightRule) *Set {
	t.Helper()
	ps, err := policy.Load("../policy/testdata/native/server.policy")
	if err != nil {
		t.Fatal(err)
	}
	e := &Expander{Me: addrs("192.0.2.101"), DNS: addrs("192.0.2.53"), DHCP: addrs("192.0.2.1"), WINS: addrs("192.0.2.44"), Gateway: addrs("192.0.2.1")}
	return Build(ps, e, rule)
}

func flow(src, dst string, proto uint8, sport, dport uint16) Flow {
	return Flow{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: proto, Sport: sport, Dport: dport}
}

func TestBuildServer(t *testing.T) {
	s := serverSet(t, Weight2003)
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %q", s.Warnings)
	}
	// By hand: 7 mirrored filters with both actions set give an outbound
	// filter each way minus the impossible ones (inbound from me, outbound
	// to me): 2 each = 14; Branch (not mirrored, LocalSrc) gives outbound
	// only = 1; Telnet (any→me, not mirrored) gives inbound only = 1.
	if len(s.Filters) != 16 {
		for _, f := range s.Filters {
			t.Logf("%s %s %s->%s %d", f.Name, f.Dir, f.Src, f.Dst, f.Weight)
		}
		t.Fatalf("%d specific filters, want 16", len(s.Filters))
	}
	for i := 1; i < len(s.Filters); i++ {
		if s.Filters[i-1].Weight < s.Filters[i].Weight {
			t.Errorf("not sorted by weight at %d", i)
		}
	}
	// Clients: out me→10.20/16 negotiate, in 10.20/16→me permit (inpass).
	var out, in *SpecificFilter
	for i := range s.Filters {
		f := &s.Filters[i]
		if f.Name == "Clients" && f.Dir == Outbound {
			out = f
		}
		if f.Name == "Clients" && f.Dir == Inbound {
			in = f
		}
	}
	if out == nil || in == nil || out.Src != pa("192.0.2.101") || out.Dst != pa("10.20.0.0/16") || out.Action != policy.ActionNegotiate ||
		in.Src != pa("10.20.0.0/16") || in.Dst != pa("192.0.2.101") || in.Action != policy.ActionPermit || out.Weight != 0x300000 {
		t.Errorf("Clients: out %+v in %+v", out, in)
	}
	for _, f := range serverSet(t, WeightVista).Filters {
		if f.Weight != 0 {
			t.Errorf("vista weight %d", f.Weight)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, rule := range []WeightRule{Weight2003, WeightVista} {
		s := serverSet(t, rule)
		for _, tc := range []struct {
			fl        Flow
			name      string
			dir       Direction
			action    policy.Action
			violation bool
		}{
			{flow("192.0.2.101", "192.0.2.53", 17, 40000, 53), "DNS", Outbound, policy.ActionPermit, false},
			// DHCP (udp 67→68, 64 address bits + protocol + ports) beats Gateway (same addresses).
			{flow("192.0.2.1", "192.0.2.101", 17, 67, 68), "DHCP", Inbound, policy.ActionPermit, false},
			{flow("192.0.2.1", "192.0.2.101", 1, 0, 0), "Gateway", Inbound, policy.ActionPermit, false},
			// Clear text in from a client is accepted (in=permit), out to it is not.
			{flow("10.20.1.1", "192.0.2.101", 6, 5000, 445), "Clients", Inbound, policy.ActionPermit, false},
			{flow("192.0.2.101", "10.20.1.1", 6, 445, 5000), "Clients", Outbound, policy.ActionNegotiate, true},
			// Admin: range 10.20.5.10-19 (28 bits) and a source port beat Clients (/16).
			{flow("192.0.2.101", "10.20.5.12", 6, 3389, 50000), "Admin", Outbound, policy.ActionNegotiate, true},
			// Telnet block (protocol, port) beats All (same address bits).
			{flow("203.0.113.5", "192.0.2.101", 6, 40000, 23), "Telnet", Inbound, policy.ActionBlock, true},
			{flow("203.0.113.5", "192.0.2.101", 6, 40000, 22), "All", Inbound, policy.ActionBlock, true},
			// Branch negotiates with a soft policy: clear text is no violation.
			{flow("10.30.1.1", "10.40.1.1", 0, 0, 0), "Branch", DirAny, policy.ActionNegotiate, false},
		} {
			m := s.Match(tc.fl)
			if m == nil {
				t.Errorf("%v: no match, want %s", tc.fl, tc.name)
				continue
			}
			if m.Name != tc.name || tc.dir != DirAny && m.Dir != tc.dir || m.Action != tc.action || s.Violation(m) != tc.violation {
				t.Errorf("%v: %s %s %s violation=%v; want %s %s %s %v", tc.fl, m.Name, m.Dir, m.Action, s.Violation(m), tc.name, tc.dir, tc.action, tc.violation)
			}
		}
	}
}

func TestTieRule(t *testing.T) {
	ps, err := policy.Parse("tie", []byte(`policy p offer=ESP[3des,sha1]
filter permit src=me dst=10.9.0.0/16 mirrored action=permit
filter negotiate src=me dst=10.9.0.0/16 mirrored action=negotiate policy=p
filter block src=me dst=10.9.0.0/16 proto=tcp mirrored action=block
filter block2 src=me dst=10.9.0.0/16 proto=tcp mirrored action=block
`))
	if err != nil {
		t.Fatal(err)
	}
	s := Build(ps, &Expander{Me: addrs("192.0.2.101")}, Weight2003)
	// Same weight: negotiate before permit; block (tcp) is heavier anyway,
	// and of two equal blocks the first written wins.
	if m := s.Match(flow("192.0.2.101", "10.9.1.1", 17, 1, 2)); m == nil || m.Name != "negotiate" {
		t.Errorf("udp: %+v", m)
	}
	if m := s.Match(flow("10.9.1.1", "192.0.2.101", 6, 1, 2)); m == nil || m.Name != "block" {
		t.Errorf("tcp: %+v", m)
	}
}

// labNegotiated computes, by hand-written prefix intersection, the
// selectors an IKE exchange between the two lab peers settles on (RFC 7296
// §2.9 narrowing: each side's local with the other's remote), from alice's view.
func labNegotiated(t *testing.T, alice, bob *policy.Set) []Negotiated {
	var out []Negotiated
	for _, a := range alice.Filters {
		for _, b := range bob.Filters {
			if a.Name != b.Name {
				continue
			}
			l := narrow(a.Src.Prefix, b.Dst.Prefix)
			r := narrow(a.Dst.Prefix, b.Src.Prefix)
			if !l.IsValid() || !r.IsValid() {
				continue
			}
			n := Negotiated{Name: a.Name, Local: []netip.Prefix{l}, Remote: []netip.Prefix{r}, Mode: policy.ModeTunnel}
			n.LocalTunnel, n.RemoteTunnel = a.TunnelSrc.Prefix.Addr(), a.TunnelDst.Prefix.Addr()
			if !a.Tunnel() {
				n.Mode = policy.ModeTransport
			}
			out = append(out, n)
		}
	}
	return out
}

func narrow(a, b netip.Prefix) netip.Prefix {
	switch {
	case a.Bits() >= b.Bits() && b.Contains(a.Addr()):
		return a
	case b.Bits() > a.Bits() && a.Contains(b.Addr()):
		return b
	}
	return netip.Prefix{}
}

// TestLabSpecificFiltersFromConfigAndSelectors: for each lab scenario the
// specific filters of alice's swanctl.conf equal those the negotiated
// selectors imply (acceptance 1 of issue 8).
func TestLabSpecificFiltersFromConfigAndSelectors(t *testing.T) {
	alices, _ := filepath.Glob("../policy/testdata/swanctl/lab/*-alice.conf")
	if len(alices) != 10 {
		t.Fatalf("%d lab scenarios", len(alices))
	}
	for _, af := range alices {
		t.Run(filepath.Base(af), func(t *testing.T) {
			alice, err := policy.Load(af)
			if err != nil {
				t.Fatal(err)
			}
			bob, err := policy.Load(strings.Replace(af, "-alice.conf", "-bob.conf", 1))
			if err != nil {
				t.Fatal(err)
			}
			me := &Expander{Me: addrs("198.51.100.1", "10.1.0.1", "10.1.1.1")}
			fromConf := Build(alice, me, Weight2003)
			var fromSA []SpecificFilter
			for _, n := range labNegotiated(t, alice, bob) {
				if strings.HasSuffix(af, "fail-transport-alice.conf") && n.Mode == policy.ModeTransport {
					continue // libipsec refuses transport mode: no SA (LAB-NOTES.md)
				}
				fromSA = append(fromSA, FromNegotiated(n, Weight2003)...)
			}
			var conf []SpecificFilter
			for _, f := range fromConf.Filters {
				if strings.HasSuffix(af, "fail-transport-alice.conf") && f.Name == "ike/host" {
					continue
				}
				conf = append(conf, f)
			}
			if len(conf) != len(fromSA) || len(conf) == 0 {
				t.Fatalf("%d filters from the configuration, %d from the selectors", len(conf), len(fromSA))
			}
			for i := range conf {
				a, b := conf[i], fromSA[i]
				if a.Src != b.Src || a.Dst != b.Dst || a.Dir != b.Dir || a.Action != b.Action || a.Weight != b.Weight ||
					a.TunnelSrc != b.TunnelSrc || a.TunnelDst != b.TunnelDst || a.Proto != b.Proto {
					t.Errorf("filter %d:\n conf %+v\n SA   %+v", i, a, b)
				}
			}
		})
	}
}

// TestLabViolations: clear text between the protected addresses is a
// violation; IKE between the gateways and other traffic is not (acceptance 3).
func TestLabViolations(t *testing.T) {
	ps, err := policy.Load("../policy/testdata/swanctl/lab/ikev2-tunnel-alice.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := Build(ps, &Expander{Me: addrs("198.51.100.1", "10.1.0.1")}, Weight2003)
	for _, tc := range []struct {
		fl   Flow
		want bool
	}{
		{flow("10.1.0.1", "10.2.0.1", 1, 8, 0), true},
		{flow("10.2.0.1", "10.1.0.1", 6, 80, 40000), true},
		{flow("198.51.100.1", "198.51.100.2", 17, 500, 500), false},
		{flow("198.51.100.2", "198.51.100.1", 17, 4500, 4500), false},
		{flow("10.1.0.1", "10.2.0.2", 1, 8, 0), false},
	} {
		if got := s.Violation(s.Match(tc.fl)); got != tc.want {
			t.Errorf("%v: violation %v", tc.fl, got)
		}
	}
}

func TestOffered(t *testing.T) {
	ps, err := policy.Load("../policy/testdata/swanctl/gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	lan := ps.Policy("site/lan") // aes128gcm16-ecp256, aes256-sha384-modp3072, 3des-sha1
	web := ps.Policy("site/web") // AH sha256-modp2048
	xs, err := policy.Load("../policy/testdata/xfrm/iproute2-6.1-ip-xfrm-policy.txt")
	if err != nil {
		t.Fatal(err)
	}
	esp := func(e algo.Enc, bits int, a algo.Auth, pfs uint16, known bool) Suite {
		return Suite{Proto: 50, Enc: e, EncKeyBits: bits, Auth: a, PFSGroup: pfs, PFSKnown: known}
	}
	for _, tc := range []struct {
		p    *policy.NegotiationPolicy
		s    Suite
		want Offer
	}{
		{lan, esp(algo.EncAESGCM16, 128, algo.AuthNone, 19, true), OfferYes},
		{lan, esp(algo.EncAESGCM16, 128, algo.AuthUnknown, 0, false), OfferYes},
		{lan, esp(algo.EncAESGCM16, 256, algo.AuthNone, 19, true), OfferNo}, // key length
		{lan, esp(algo.EncAESGCM16, 128, algo.AuthNone, 14, true), OfferNo}, // PFS group
		{lan, esp(algo.EncAESCBC, 256, algo.AuthHMACSHA384_192, 15, true), OfferYes},
		{lan, esp(algo.EncAESCBC, 0, algo.AuthHMACSHA384_192, 15, true), OfferYes}, // length unknown
		{lan, esp(algo.EncAESCBC, 256, algo.AuthHMACSHA1_96, 15, true), OfferNo},
		{lan, esp(algo.Enc3DESCBC, 0, algo.AuthHMACSHA1_96, 0, true), OfferYes},
		{lan, Suite{Proto: 51, Auth: algo.AuthHMACSHA256_128}, OfferNo},
		{web, Suite{Proto: 51, Auth: algo.AuthHMACSHA256_128, PFSGroup: 14, PFSKnown: true}, OfferYes},
		{web, esp(algo.EncNull, 0, algo.AuthHMACSHA256_128, 0, false), OfferNo},
		{xs.Policy("reqid 1"), esp(algo.EncAESCBC, 128, algo.AuthHMACSHA1_96, 0, false), OfferUnknown},
		{xs.Policy("reqid 1"), Suite{Proto: 51, Auth: algo.AuthHMACSHA1_96}, OfferNo},
		{nil, esp(algo.EncAESCBC, 128, algo.AuthHMACSHA1_96, 0, false), OfferUnknown},
	} {
		if got := Offered(tc.p, tc.s); got != tc.want {
			t.Errorf("%+v in %v: %s, want %s", tc.s, tc.p, got, tc.want)
		}
	}
}

func TestMatchSelectors(t *testing.T) {
	ps, err := policy.Load("../policy/testdata/swanctl/gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := Build(ps, &Expander{Me: addrs("192.0.2.1")}, Weight2003)
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		n    Negotiated
		want string
	}{
		{Negotiated{Local: []netip.Prefix{p("10.1.5.0/24")}, Remote: []netip.Prefix{p("10.2.0.7/32")}}, "site/lan"},
		{Negotiated{Local: []netip.Prefix{p("10.1.0.0/16")}, Remote: []netip.Prefix{p("10.3.0.0/24"), p("10.2.0.0/16")}}, "site/lan"},
		{Negotiated{Local: []netip.Prefix{p("10.1.0.10/32")}, Remote: []netip.Prefix{p("10.2.3.0/24")}, Proto: 6, LocalPorts: pp(80, 80)}, "site/web"},
		{Negotiated{Local: []netip.Prefix{p("10.1.0.0/15")}, Remote: []netip.Prefix{p("10.2.0.0/16")}}, ""},
		{Negotiated{Local: []netip.Prefix{p("10.1.0.0/16")}, Remote: []netip.Prefix{p("10.9.0.0/24")}}, ""},
	} {
		m := s.MatchSelectors(tc.n)
		got := ""
		if m != nil {
			got = m.Name
		}
		if got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestBuildWarnsUnknownKeyword(t *testing.T) {
	ps, err := policy.Parse("k", []byte("filter w src=me dst=wins mirrored action=permit\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := Build(ps, &Expander{Me: addrs("192.0.2.101")}, Weight2003)
	if len(s.Filters) != 0 || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `no addresses known for "wins"`) {
		t.Errorf("%+v %q", s.Filters, s.Warnings)
	}
}
