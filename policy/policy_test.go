package policy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
)

func pfx(s string) Addr  { return PrefixAddr(netip.MustParsePrefix(s)) }
func one(s string) Addr  { return SingleAddr(netip.MustParseAddr(s)) }
func kw(k AddrKind) Addr { return Addr{Kind: k} }
func rng(a, b string) Addr {
	return Addr{Kind: AddrRange, First: netip.MustParseAddr(a), Last: netip.MustParseAddr(b)}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Addr
		spec int // hand-computed Specificity
	}{
		{"me", kw(AddrMe), 0},
		{"DNS", kw(AddrDNS), 0},
		{"dhcp", kw(AddrDHCP), 0},
		{"wins", kw(AddrWINS), 0},
		{"Gateway", kw(AddrGateway), 0},
		{"any", kw(AddrAny), 0},
		{"%any", kw(AddrAny), 0},
		{"10.1.2.3", one("10.1.2.3"), 32},
		{"10.1.2.3/24", pfx("10.1.2.0/24"), 24},
		{"10.20.0.0/255.255.0.0", pfx("10.20.0.0/16"), 16},
		{"0.0.0.0/0", pfx("0.0.0.0/0"), 0},
		{"2001:db8::/32", pfx("2001:db8::/32"), 32},
		{"fe80::1", one("fe80::1"), 128},
		// 21 addresses: 32 - ceil(log2 21) = 32 - 5 = 27
		{"10.1.0.100-10.1.0.120", rng("10.1.0.100", "10.1.0.120"), 27},
		{"10.1.0.100..10.1.0.120", rng("10.1.0.100", "10.1.0.120"), 27},
		// 32 addresses: 32 - 5 = 27; 33 addresses: 32 - 6 = 26
		{"10.0.0.0-10.0.0.31", rng("10.0.0.0", "10.0.0.31"), 27},
		{"10.0.0.0-10.0.0.32", rng("10.0.0.0", "10.0.0.32"), 26},
		// one address as a range: 32 - 0
		{"10.0.0.7-10.0.0.7", rng("10.0.0.7", "10.0.0.7"), 32},
		// 2^64 + 1 addresses: 128 - 65 = 63
		{"2001:db8::-2001:db8:0:1::", rng("2001:db8::", "2001:db8:0:1::"), 63},
	} {
		got, err := ParseAddr(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseAddr(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if s := got.Specificity(); s != tc.spec {
			t.Errorf("%q: Specificity %d, want %d", tc.in, s, tc.spec)
		}
	}
	for _, bad := range []string{"", "10.1.2", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "me/24", "www.example.com"} {
		if a, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) = %+v, want an error", bad, a)
		}
	}
}

func TestAddrContains(t *testing.T) {
	for _, tc := range []struct {
		a    Addr
		ip   string
		want bool
	}{
		{pfx("10.0.0.0/8"), "10.9.9.9", true},
		{pfx("10.0.0.0/8"), "11.0.0.0", false},
		{pfx("0.0.0.0/0"), "2001:db8::1", false},
		{kw(AddrAny), "2001:db8::1", true},
		{kw(AddrMe), "10.0.0.1", false}, // keywords contain nothing until expanded
		{rng("10.0.0.5", "10.0.0.9"), "10.0.0.9", true},
		{rng("10.0.0.5", "10.0.0.9"), "10.0.0.10", false},
		{rng("10.0.0.5", "10.0.0.9"), "::ffff:10.0.0.6", true},
	} {
		if got := tc.a.Contains(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s contains %s = %v", tc.a, tc.ip, got)
		}
	}
}

func TestParseTS(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want trafficSelector
	}{
		{"10.1.0.0/16", trafficSelector{addr: pfx("10.1.0.0/16")}},
		{"10.1.0.10/32[tcp/http]", trafficSelector{addr: one("10.1.0.10"), proto: 6, ports: Ports{80, 80}}},
		{"10.2.0.53/32[udp/domain]", trafficSelector{addr: one("10.2.0.53"), proto: 17, ports: Ports{53, 53}}},
		{"10.2.2.0/24[/443]", trafficSelector{addr: pfx("10.2.2.0/24"), ports: Ports{443, 443}}},
		{"10.2.2.0/24[0/https]", trafficSelector{addr: pfx("10.2.2.0/24"), ports: Ports{443, 443}}},
		{"10.1.2.0/24[tcp/1024-65535]", trafficSelector{addr: pfx("10.1.2.0/24"), proto: 6, ports: Ports{1024, 65535}}},
		{"dynamic[udp/l2f]", trafficSelector{dynamic: true, proto: 17, ports: Ports{1701, 1701}}},
		{"dynamic", trafficSelector{dynamic: true}},
		{"10.1.0.100..10.1.0.120[udp]", trafficSelector{addr: rng("10.1.0.100", "10.1.0.120"), proto: 17}},
		{"2001:db8:2::/48[ipv6-icmp/128]", trafficSelector{addr: pfx("2001:db8:2::/48"), proto: 58, ports: Ports{128, 128}}},
	} {
		got, err := parseTS(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTS(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/8[tcp", "10.0.0.0/8[xyz]", "10.0.0.0/8[tcp/nosuchservice]", "me", "10.0.0.0/8[tcp/80-70]"} {
		if _, err := parseTS(bad); err == nil {
			t.Errorf("parseTS(%q): want an error", bad)
		}
	}
}

// TestSwanctlGatewayFilters spells out, by hand from gateway.conf, the
// generic filters of its children.
func TestSwanctlGatewayFilters(t *testing.T) {
	set, err := Load("testdata/swanctl/gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	gw1, gw2 := one("192.0.2.1"), one("192.0.2.2")
	neg := func(name string, src, dst Addr, proto uint8, sp, dp Ports, tsrc, tdst Addr, line string) GenericFilter {
		return GenericFilter{Name: name, Src: src, Dst: dst, Proto: proto, SrcPort: sp, DstPort: dp,
			Inbound: ActionNegotiate, Outbound: ActionNegotiate, Mirrored: true, LocalSrc: true, Policy: name,
			TunnelSrc: tsrc, TunnelDst: tdst, Origin: "testdata/swanctl/gateway.conf:" + line}
	}
	want := []GenericFilter{
		neg("site/lan", pfx("10.1.0.0/16"), pfx("10.2.0.0/16"), 0, Ports{}, Ports{}, gw1, gw2, "19"),
		neg("site/lan", pfx("10.1.0.0/16"), pfx("10.3.0.0/24"), 0, Ports{}, Ports{}, gw1, gw2, "19"),
		neg("site/web", one("10.1.0.10"), pfx("10.2.0.0/16"), 6, Ports{80, 80}, Ports{}, gw1, gw2, "30"),
		neg("site/dns", rng("10.1.0.100", "10.1.0.120"), one("10.2.0.53"), 17, Ports{}, Ports{53, 53}, gw1, gw2, "37"),
		neg("site/ports", pfx("10.1.2.0/24"), pfx("10.2.2.0/24"), 6, Ports{1024, 65535}, Ports{443, 443}, gw1, gw2, "44"),
		neg("v6/ping", pfx("2001:db8:1::/48"), pfx("2001:db8:2::/48"), 58, Ports{}, Ports{128, 128}, one("2001:db8::1"), one("2001:db8::2"), "62"),
		// dynamic with local_addrs/remote_addrs %any: me and any; transport.
		neg("roadwarrior/l2tp", kw(AddrMe), kw(AddrAny), 17, Ports{1701, 1701}, Ports{}, Addr{}, Addr{}, "79"),
	}
	if len(set.Filters) != len(want) {
		t.Fatalf("%d filters, want %d", len(set.Filters), len(want))
	}
	for i := range want {
		if set.Filters[i] != want[i] {
			t.Errorf("filter %d:\n got  %+v\n want %+v", i, set.Filters[i], want[i])
		}
	}
	// The lab's tunnel scenario (alice): one child, /32 selectors both ways.
	lab, err := Load("testdata/swanctl/lab/ikev2-tunnel-alice.conf")
	if err != nil {
		t.Fatal(err)
	}
	w := neg("ike/net", one("10.1.0.1"), one("10.2.0.1"), 0, Ports{}, Ports{}, one("198.51.100.1"), one("198.51.100.2"), "16")
	w.Origin = "testdata/swanctl/lab/ikev2-tunnel-alice.conf:16"
	if len(lab.Filters) != 1 || lab.Filters[0] != w {
		t.Errorf("lab tunnel: %+v", lab.Filters)
	}
	if p := lab.Policy("ike/net"); p == nil || len(p.Offers) != 1 ||
		p.Offers[0] != (SecurityMethod{Proto: 50, Enc: algo.EncAESCBC, EncKeyBits: 128, Auth: algo.AuthHMACSHA256_128, LifeSeconds: 3600}) {
		t.Errorf("lab tunnel policy: %+v", p)
	}
}

func TestSwanctlIncludes(t *testing.T) {
	data, err := os.ReadFile("testdata/swanctl/shunts.conf")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Parse("shunts.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "shunts.conf:49: include conf.d/*.conf not followed") {
		t.Errorf("warnings %q", set.Warnings)
	}
	// Load follows includes relative to the file.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	main := "connections {\n  include conf.d/*.conf\n}\n"
	inc := "extra {\n  children {\n    c {\n      local_ts = 10.9.0.0/24\n      remote_ts = 10.8.0.0/24\n      esp_proposals = aes128-sha1\n    }\n  }\n}\n"
	os.WriteFile(filepath.Join(dir, "swanctl.conf"), []byte(main), 0o644)
	os.WriteFile(filepath.Join(dir, "conf.d", "extra.conf"), []byte(inc), 0o644)
	set, err = Load(filepath.Join(dir, "swanctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Filters) != 1 || set.Filters[0].Name != "extra/c" || !strings.HasSuffix(set.Filters[0].Origin, "extra.conf:3") {
		t.Errorf("included filters %+v", set.Filters)
	}
	// A missing literal include is an error with the line.
	os.WriteFile(filepath.Join(dir, "bad.conf"), []byte("connections {\n}\ninclude nothere.conf\n"), 0o644)
	if _, err := Load(filepath.Join(dir, "bad.conf")); err == nil || !strings.Contains(err.Error(), "bad.conf:3: include nothere.conf") {
		t.Errorf("missing include: %v", err)
	}
}

func TestXfrm(t *testing.T) {
	set, err := Load("testdata/xfrm/iproute2-6.1-ip-xfrm-policy.txt")
	if err != nil {
		t.Fatal(err)
	}
	f := "testdata/xfrm/iproute2-6.1-ip-xfrm-policy.txt:"
	// Hand-written from the commands in testdata/xfrm/README.md, in the
	// order the kernel lists them (newest first).
	want := []GenericFilter{
		{Name: "xfrm out", Src: pfx("0.0.0.0/0"), Dst: pfx("0.0.0.0/0"), Outbound: ActionPermit, Priority: 1, HasPriority: true, Origin: f + "1"},
		{Name: "xfrm out", Src: pfx("203.0.113.0/24"), Dst: pfx("0.0.0.0/0"), Outbound: ActionNegotiate, Policy: "xfrm " + f + "4",
			TunnelSrc: one("203.0.113.1"), TunnelDst: one("198.51.100.9"), Priority: 100, HasPriority: true, Origin: f + "4"},
		{Name: "xfrm out", Src: one("192.0.2.1"), Dst: one("192.0.2.3"), Outbound: ActionNegotiate, Policy: "xfrm " + f + "9", HasPriority: true, Origin: f + "9"},
		{Name: "xfrm out", Src: pfx("2001:db8:1::/64"), Dst: pfx("2001:db8:2::/64"), Proto: 1, SrcPort: Ports{8, 8}, Outbound: ActionNegotiate,
			Policy: "xfrm " + f + "15", HasPriority: true, Origin: f + "15"},
		{Name: "xfrm in", Src: one("192.0.2.1"), Dst: one("192.0.2.2"), Proto: 17, DstPort: Ports{500, 500}, Inbound: ActionPermit, Priority: 10, HasPriority: true, Origin: f + "19"},
		{Name: "xfrm out", Src: one("192.0.2.1"), Dst: one("192.0.2.2"), Proto: 6, SrcPort: Ports{1234, 1234}, DstPort: Ports{80, 80}, Outbound: ActionBlock, HasPriority: true, Origin: f + "21"},
		{Name: "xfrm fwd", Src: pfx("10.2.0.0/16"), Dst: pfx("10.1.0.0/16"), Inbound: ActionNegotiate, Policy: "reqid 1 (level use)",
			TunnelSrc: one("198.51.100.2"), TunnelDst: one("198.51.100.1"), Priority: 375423, HasPriority: true, Origin: f + "23"},
		{Name: "xfrm in", Src: pfx("10.2.0.0/16"), Dst: pfx("10.1.0.0/16"), Inbound: ActionNegotiate, Policy: "reqid 1",
			TunnelSrc: one("198.51.100.2"), TunnelDst: one("198.51.100.1"), Priority: 375423, HasPriority: true, Origin: f + "28"},
		{Name: "xfrm out", Src: pfx("10.1.0.0/16"), Dst: pfx("10.2.0.0/16"), Outbound: ActionNegotiate, Policy: "reqid 1",
			TunnelSrc: one("198.51.100.1"), TunnelDst: one("198.51.100.2"), Priority: 375423, HasPriority: true, Origin: f + "32"},
	}
	if len(set.Filters) != len(want) {
		t.Fatalf("%d filters, want %d", len(set.Filters), len(want))
	}
	for i := range want {
		if set.Filters[i] != want[i] {
			t.Errorf("filter %d:\n got  %+v\n want %+v", i, set.Filters[i], want[i])
		}
	}
	bundle := set.Policy("xfrm " + f + "9")
	if bundle == nil || len(bundle.Protos) != 2 || bundle.Protos[0] != 50 || bundle.Protos[1] != 51 || bundle.Mode != ModeTransport {
		t.Errorf("ESP+AH template policy %+v", bundle)
	}
	if p := set.Policy("reqid 1 (level use)"); p == nil || !p.Soft || p.Mode != ModeTunnel {
		t.Errorf("level use policy %+v", p)
	}

	// -s adds statistics lines and explicit defaults: the same filters.
	stats, err := Load("testdata/xfrm/iproute2-6.1-ip-s-xfrm-policy.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Filters) != len(want) {
		t.Fatalf("-s: %d filters", len(stats.Filters))
	}
	for i := range want {
		a, b := stats.Filters[i], want[i]
		a.Origin, b.Origin, a.Policy, b.Policy = "", "", "", ""
		if a != b {
			t.Errorf("-s filter %d:\n got  %+v\n want %+v", i, a, b)
		}
	}

	// Openswan: 3 tunnel policies, 8 socket policies that are not filters.
	os, err := Load("testdata/xfrm/openswan-2.6.47-ip-xfrm-policy-show.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(os.Filters) != 3 || os.Filters[0].Outbound != ActionNegotiate || os.Filters[1].Name != "xfrm fwd" || os.Policy("reqid 16385") == nil {
		t.Errorf("openswan: %+v", os.Filters)
	}
	// libreSwan one-line layout: the passthrough conn gives permit filters.
	ls, err := Load("testdata/xfrm/libreswan-3.1-ip-xfrm-policy-oneline.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Filters) != 6 || ls.Filters[0].TunnelDst != one("10.2.1.2") || ls.Filters[5].Outbound != ActionPermit || ls.Filters[5].Src != pfx("10.1.0.0/16") {
		t.Errorf("libreswan: %+v", ls.Filters)
	}
}

func TestNative(t *testing.T) {
	set, err := Load("testdata/native/server.policy")
	if err != nil {
		t.Fatal(err)
	}
	f := "testdata/native/server.policy:"
	me := kw(AddrMe)
	want := []GenericFilter{
		{Name: "DNS", Src: me, Dst: kw(AddrDNS), Proto: 17, DstPort: Ports{53, 53}, Mirrored: true, Inbound: ActionPermit, Outbound: ActionPermit, Origin: f + "7"},
		{Name: "DHCP", Src: me, Dst: kw(AddrDHCP), Proto: 17, SrcPort: Ports{68, 68}, DstPort: Ports{67, 67}, Mirrored: true, Inbound: ActionPermit, Outbound: ActionPermit, Origin: f + "8"},
		{Name: "Gateway", Src: me, Dst: kw(AddrGateway), Mirrored: true, Inbound: ActionPermit, Outbound: ActionPermit, Origin: f + "9"},
		{Name: "WINS", Src: me, Dst: kw(AddrWINS), Mirrored: true, Inbound: ActionPermit, Outbound: ActionPermit, Origin: f + "10"},
		{Name: "Clients", Src: me, Dst: pfx("10.20.0.0/16"), Mirrored: true, Inbound: ActionPermit, Outbound: ActionNegotiate, Policy: "Require Security", Origin: f + "12"},
		{Name: "Admin", Src: me, Dst: rng("10.20.5.10", "10.20.5.19"), Proto: 6, SrcPort: Ports{3389, 3389}, Mirrored: true, Inbound: ActionNegotiate, Outbound: ActionNegotiate,
			Policy: "Require Security", Conn: ConnLAN, Origin: f + "13"},
		{Name: "Branch", Src: pfx("10.30.0.0/16"), Dst: pfx("10.40.0.0/16"), Inbound: ActionNegotiate, Outbound: ActionNegotiate, Policy: "Request Security",
			TunnelSrc: one("192.0.2.1"), TunnelDst: one("203.0.113.9"), LocalSrc: true, Origin: f + "14"},
		{Name: "Telnet", Src: kw(AddrAny), Dst: me, Proto: 6, DstPort: Ports{23, 23}, Inbound: ActionBlock, Outbound: ActionBlock, Origin: f + "15"},
		{Name: "All", Src: me, Dst: kw(AddrAny), Mirrored: true, Inbound: ActionBlock, Outbound: ActionBlock, Origin: f + "16"},
	}
	if len(set.Filters) != len(want) {
		t.Fatalf("%d filters, want %d", len(set.Filters), len(want))
	}
	for i := range want {
		if set.Filters[i] != want[i] {
			t.Errorf("filter %d:\n got  %+v\n want %+v", i, set.Filters[i], want[i])
		}
	}
	req := set.Policy("Require Security")
	wantOffers := []SecurityMethod{
		{Proto: 50, Enc: algo.EncAESCBC, EncKeyBits: 256, Auth: algo.AuthHMACSHA1_96, LifeKBytes: 100000, LifeSeconds: 3600, PFSGroup: 14},
		{Proto: 50, Enc: algo.Enc3DESCBC, Auth: algo.AuthHMACSHA1_96, LifeKBytes: 100000, LifeSeconds: 900, PFSGroup: 14},
		{Proto: 50, Enc: algo.EncDESCBC, Auth: algo.AuthHMACMD5_96, AHAuth: algo.AuthHMACSHA1_96, PFSGroup: 14},
	}
	if req == nil || req.Mode != ModeTransport || req.Soft || len(req.Offers) != 3 {
		t.Fatalf("Require Security: %+v", req)
	}
	for i, o := range req.Offers {
		if o != wantOffers[i] {
			t.Errorf("offer %d = %+v, want %+v", i, o, wantOffers[i])
		}
	}
	if req.Offers[2].String() != "AH[hmac-sha1-96]+ESP[des-cbc,hmac-md5-96] pfs=14" {
		t.Errorf("String: %s", req.Offers[2])
	}
	reqst := set.Policy("Request Security")
	if reqst == nil || !reqst.Soft || len(reqst.Offers) != 2 ||
		reqst.Offers[0] != (SecurityMethod{Proto: 51, Auth: algo.AuthHMACSHA256_128, LifeSeconds: 28800}) ||
		reqst.Offers[1] != (SecurityMethod{Proto: 50, Enc: algo.EncAESGCM16, EncKeyBits: 128, Auth: algo.AuthNone}) {
		t.Errorf("Request Security: %+v", reqst)
	}
}

func TestDetect(t *testing.T) {
	for file, want := range map[string]Format{
		"testdata/xfrm/iproute2-6.1-ip-xfrm-policy.txt":          FormatXfrm,
		"testdata/xfrm/libreswan-3.1-ip-xfrm-policy-oneline.txt": FormatXfrm,
		"testdata/swanctl/gateway.conf":                          FormatSwanctl,
		"testdata/swanctl/lab/ikev1-main-bob.conf":               FormatSwanctl,
		"testdata/swanctl/gateway.list-conns.txt":                FormatListConns,
		"testdata/native/server.policy":                          FormatNative,
	} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(data); got != want {
			t.Errorf("%s: %s, want %s", file, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hello world\n", "policy: f: format not recognised"},
		{"src 10.0.0.0/8 dst 10.1.0.0/16\n\tdir sideways priority 1\n", "policy: f:1: unknown direction \"sideways\""},
		{"src 10.0.0.0/8 dst 10.1.0.0/16\n\tdir out priority x\n", "policy: f:2: priority \"x\" is not a number"},
		{"src 10.0.0.0/8 dst 10.1.0.0/16 proto tcp dport\n", "policy: f:1: \"dport\" without a value"},
		{"src 10.0.0.0/8 dst 10.1.0.0/16\nbogus\n", "policy: f:2: expected a policy starting with \"src\""},
		{"src 10.0.0.0/33 dst 10.1.0.0/16\n\tdir out\n", "policy: f:1: src: bad selector \"10.0.0.0/33\""},
		{"connections {\n  a {\n    children {\n      c {\n        local_ts = 10.0.0.0/8[tcp/nosuch]\n", "policy: f:6: section \"c\" opened on line 4 is not closed"},
		{"connections {\n  a {\n    children {\n      c {\n        local_ts = 10.0.0.0/8[tcp/nosuch]\n}}}}\n", "policy: f:5: a/c: local_ts: traffic selector \"10.0.0.0/8[tcp/nosuch]\": unknown port or service \"nosuch\""},
		{"connections {\n  a {\n    children {\n      c {\n        esp_proposals = aes128-sha1-bogus\n}}}}\n", "policy: f:5: a/c: esp_proposals: unknown algorithm keyword \"bogus\""},
		{"connections {\n  a {\n    children {\n      c {\n        mode = sideways\n}}}}\n", "policy: f:5: a/c: unknown mode \"sideways\""},
		{"connections {\n  a {\n    version = 3\n}}\n", "policy: f:3: connection a: version \"3\" is not 0, 1 or 2"},
		{"connections {\n  = x\n}\n", "policy: f:2: unexpected '='"},
		{"connections }\nx = 1\n", "policy: f:1: \"connections\" is neither a setting (=) nor a section ({)"},
		{"x: IKEv2, no reauthentication\n  c: SIDEWAYS, rekeying every 3600s\n", "policy: f:2: x/c: unknown mode \"SIDEWAYS\""},
		{"x: IKEv2, no reauthentication\n  c: TUNNEL, rekeying every 3600s\n    local:  10.0.0.0/33\n", "policy: f:3: x/c: traffic selector \"10.0.0.0/33\""},
		{"filter web src=me dst=any\n", "policy: f:1: filter \"web\": no action"},
		{"filter web src=me dst=nowhere action=permit\n", "policy: f:1: filter \"web\": dst: not an address"},
		{"filter web action=negotiate\n", "policy: f:1: filter \"web\": negotiate needs policy=NAME"},
		{"filter web dport=80 action=permit\n", "policy: f:1: filter \"web\": ports need a protocol"},
		{"filter web action=permit in=block\n", "policy: f:1: filter \"web\": give either action= or in=/out=, not both"},
		{"filter \"web action=permit\n", "policy: f:1: quote not closed"},
		{"policy p offer=ESP[rot13,sha1]\n", "policy: f:1: policy \"p\": offer \"ESP[rot13,sha1]\": unknown encryption algorithm \"rot13\""},
		{"policy p offer=ESP[aes-cbc-100,sha1]\n", "policy: f:1: policy \"p\": offer \"ESP[aes-cbc-100,sha1]\": unknown encryption algorithm"},
		{"policy p offer=ESP[aes128gcm16,sha1]\n", "carries its own integrity"},
		{"policy p offer=ESP[3des,sha1]:100x\n", "lifetime \"100x\" is not NUMBERk or NUMBERs"},
		{"policy p\n", "policy: f:1: policy \"p\": no offer="},
		{"policy p offer=AH[sha1]\npolicy p offer=AH[md5]\n", "policy: f:2: policy \"p\" is defined twice"},
	} {
		_, err := Parse("f", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got  %v\n want %q", tc.in, err, tc.want)
		}
	}
}

func TestSecurityMethodNames(t *testing.T) {
	for in, want := range map[string]SecurityMethod{
		"ESP[3DES,MD5]:100000k/2000s":  {Proto: 50, Enc: algo.Enc3DESCBC, Auth: algo.AuthHMACMD5_96, LifeKBytes: 100000, LifeSeconds: 2000},
		"ESP[None,SHA1]":               {Proto: 50, Enc: algo.EncNull, Auth: algo.AuthHMACSHA1_96},
		"AH[MD5]:204800k/300s":         {Proto: 51, Auth: algo.AuthHMACMD5_96, LifeKBytes: 204800, LifeSeconds: 300},
		"esp[aes-gcm-16-256,none]":     {Proto: 50, Enc: algo.EncAESGCM16, EncKeyBits: 256, Auth: algo.AuthNone},
		"ESP[aes192,sha512]:3600s":     {Proto: 50, Enc: algo.EncAESCBC, EncKeyBits: 192, Auth: algo.AuthHMACSHA512_256, LifeSeconds: 3600},
		"ESP[chacha20-poly1305,none]":  {Proto: 50, Enc: algo.EncChaCha20Poly1305, Auth: algo.AuthNone},
		"AH[SHA1]+ESP[DES,None]:5000k": {Proto: 50, Enc: algo.EncDESCBC, Auth: algo.AuthNone, AHAuth: algo.AuthHMACSHA1_96, LifeKBytes: 5000},
	} {
		got, err := ParseSecurityMethod(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
}
