package filters

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestSystemExpander(t *testing.T) {
	ifaces := func() ([]netip.Addr, error) { return addrs("127.0.0.1", "192.0.2.101", "2001:db8::101", "::1"), nil }
	for _, tc := range []struct {
		name string
		sys  System
		want Expander
	}{
		{
			// Values read by hand from the fixtures (see testdata/system/README.md).
			name: "dhclient",
			sys: System{ResolvConf: "testdata/system/resolv.conf", ProcRoute: "testdata/system/proc-net-route",
				IPRoute: "testdata/system/ip-route.txt", LeaseGlobs: []string{"testdata/system/*.leases"}, Interfaces: ifaces},
			want: Expander{
				Me:      addrs("192.0.2.101", "2001:db8::101"),
				DNS:     addrs("192.0.2.53", "2001:db8::53"),
				DHCP:    addrs("192.0.2.1"),
				WINS:    addrs("192.0.2.44"),
				Gateway: addrs("192.0.2.1", "2001:db8::1"),
			},
		},
		{
			// systemd-resolved stub: the upstream list; no route files: the
			// lease's router; networkd lease: no WINS.
			name: "networkd",
			sys: System{ResolvConf: "testdata/system/resolv-stub.conf", UpstreamResolvConf: "testdata/system/resolv-upstream.conf",
				LeaseGlobs: []string{"testdata/system/networkd-lease"}, Interfaces: ifaces},
			want: Expander{
				Me:      addrs("192.0.2.101", "2001:db8::101"),
				DNS:     addrs("192.0.2.53", "fe80::53"),
				DHCP:    addrs("192.0.2.2"),
				Gateway: addrs("192.0.2.1"),
			},
		},
		{
			// Nothing there: no error, no addresses.
			name: "empty",
			sys:  System{ResolvConf: "testdata/system/none", ProcRoute: "testdata/system/none", Interfaces: func() ([]netip.Addr, error) { return nil, nil }},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns := tc.sys.Expander()
			if len(warns) != 0 {
				t.Errorf("warnings %q", warns)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestProcRouteAgreesWithIPRoute(t *testing.T) {
	proc, err := readProcRoute("testdata/system/proc-net-route")
	if err != nil {
		t.Fatal(err)
	}
	ipr, err := readIPRoute("testdata/system/ip-route.txt")
	if err != nil {
		t.Fatal(err)
	}
	// ip route's IPv4 default gateway is the one /proc/net/route encodes.
	if len(proc) != 1 || len(ipr) != 2 || proc[0] != ipr[0] {
		t.Errorf("proc %v, ip route %v", proc, ipr)
	}
}

func TestLeaseLastWins(t *testing.T) {
	data := []byte("lease {\n  option dhcp-server-identifier 192.0.2.7;\n}\nlease {\n  option dhcp-server-identifier 192.0.2.8;\n  option netbios-name-servers 192.0.2.9, 192.0.2.10;\n}\n")
	l, err := parseLease("x", data)
	if err != nil || !reflect.DeepEqual(l.server, addrs("192.0.2.8")) || !reflect.DeepEqual(l.wins, addrs("192.0.2.9", "192.0.2.10")) {
		t.Errorf("%+v %v", l, err)
	}
}

func TestSystemErrors(t *testing.T) {
	for _, tc := range []struct {
		parse func(string, []byte) error
		in    string
		want  string
	}{
		{func(n string, d []byte) error { _, err := parseResolvConf(n, d); return err }, "nameserver x\n", "f:1: nameserver \"x\" is not an address"},
		{func(n string, d []byte) error { _, err := parseProcRoute(n, d); return err }, "hdr\neth0 zz 00 0 0 0 0 00\n", "f:2: not a route line"},
		{func(n string, d []byte) error { _, err := parseIPRoute(n, d); return err }, "default via nowhere dev x\n", "f:1: gateway \"nowhere\""},
		{func(n string, d []byte) error { _, err := parseLease(n, d); return err }, "lease {\n option routers 1.2.3;\n}\n", "f:2: option routers: \"1.2.3\""},
		{func(n string, d []byte) error { _, err := parseLease(n, d); return err }, "DNS=1.2.3.4\ngarbage\n", "f:2: neither a dhclient lease nor KEY=VALUE"},
	} {
		err := tc.parse("f", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzSystemFiles(f *testing.F) {
	for _, n := range []string{"resolv.conf", "proc-net-route", "ip-route.txt", "dhclient-v1.leases", "networkd-lease"} {
		if b, err := os.ReadFile("testdata/system/" + n); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseResolvConf("fuzz", data)
		parseProcRoute("fuzz", data)
		parseIPRoute("fuzz", data)
		parseLease("fuzz", data)
	})
}
