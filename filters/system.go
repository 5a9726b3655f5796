package filters

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// System reads the keyword addresses of a live Linux host. Every path is a
// field so that tests use fixtures; DefaultSystem has the usual places.
type System struct {
	// ResolvConf is read for `nameserver` lines (dns). When every name
	// server there is a loopback stub (systemd-resolved's 127.0.0.53),
	// UpstreamResolvConf (systemd-resolved's list of real servers) is used.
	ResolvConf, UpstreamResolvConf string
	// ProcRoute is /proc/net/route (the default route's gateway).
	ProcRoute string
	// IPRoute, if set, is a file with `ip route` / `ip -6 route` output
	// (`default via ADDR ...` lines) for gateways /proc/net/route lacks (IPv6).
	IPRoute string
	// LeaseGlobs name DHCP lease files: dhclient's (`lease { ... }` blocks,
	// also NetworkManager's dhclient-*.lease), and systemd-networkd's /
	// NetworkManager internal client's KEY=VALUE files. They give the DHCP
	// server, WINS (netbios-name-servers) and, failing the above, DNS and
	// gateways. Only the last lease of a dhclient file counts.
	LeaseGlobs []string
	// Interfaces lists this host's addresses (me); nil uses net.InterfaceAddrs.
	Interfaces func() ([]netip.Addr, error)
}

// DefaultSystem is where Debian-like systems keep these files.
var DefaultSystem = System{
	ResolvConf:         "/etc/resolv.conf",
	UpstreamResolvConf: "/run/systemd/resolve/resolv.conf",
	ProcRoute:          "/proc/net/route",
	LeaseGlobs: []string{
		"/var/lib/dhcp/dhclient*.leases", "/var/lib/dhclient/*.lease*",
		"/var/lib/NetworkManager/*.lease", "/run/systemd/netif/leases/*",
	},
}

// Expander reads everything it can; a missing file is not an error (a host
// may have no DHCP), an unreadable or malformed one is reported in warnings.
func (s System) Expander() (*Expander, []string) {
	e := &Expander{}
	var warns []string
	warn := func(format string, a ...any) { warns = append(warns, fmt.Sprintf(format, a...)) }

	ifaces := s.Interfaces
	if ifaces == nil {
		ifaces = interfaceAddrs
	}
	me, err := ifaces()
	if err != nil {
		warn("interface addresses: %v", err)
	}
	for _, a := range me {
		if !a.IsLoopback() {
			e.Me = appendUnique(e.Me, a)
		}
	}

	if s.ResolvConf != "" {
		ns, err := readResolvConf(s.ResolvConf)
		if err != nil && !os.IsNotExist(err) {
			warn("%v", err)
		}
		allStub := len(ns) > 0
		for _, a := range ns {
			allStub = allStub && a.IsLoopback()
		}
		if allStub && s.UpstreamResolvConf != "" {
			if up, err := readResolvConf(s.UpstreamResolvConf); err == nil && len(up) > 0 {
				ns = up
			}
		}
		for _, a := range ns {
			e.DNS = appendUnique(e.DNS, a)
		}
	}
	if s.ProcRoute != "" {
		gws, err := readProcRoute(s.ProcRoute)
		if err != nil && !os.IsNotExist(err) {
			warn("%v", err)
		}
		for _, g := range gws {
			e.Gateway = appendUnique(e.Gateway, g)
		}
	}
	if s.IPRoute != "" {
		gws, err := readIPRoute(s.IPRoute)
		if err != nil && !os.IsNotExist(err) {
			warn("%v", err)
		}
		for _, g := range gws {
			e.Gateway = appendUnique(e.Gateway, g)
		}
	}
	for _, g := range s.LeaseGlobs {
		names, _ := filepath.Glob(g)
		for _, n := range names {
			l, err := readLease(n)
			if err != nil {
				warn("%v", err)
				continue
			}
			for _, a := range l.server {
				e.DHCP = appendUnique(e.DHCP, a)
			}
			for _, a := range l.wins {
				e.WINS = appendUnique(e.WINS, a)
			}
			if len(e.DNS) == 0 {
				e.DNS = append(e.DNS, l.dns...)
			}
			if len(e.Gateway) == 0 {
				e.Gateway = append(e.Gateway, l.routers...)
			}
		}
	}
	return e, warns
}

func appendUnique(s []netip.Addr, a netip.Addr) []netip.Addr {
	a = a.Unmap()
	for _, x := range s {
		if x == a {
			return s
		}
	}
	return append(s, a)
}

func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// readResolvConf returns the `nameserver` addresses (resolv.conf(5)); a
// scope suffix (fe80::1%eth0) is dropped.
func readResolvConf(path string) ([]netip.Addr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseResolvConf(path, data)
}

func parseResolvConf(path string, data []byte) ([]netip.Addr, error) {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			return out, fmt.Errorf("%s:%d: nameserver %q is not an address", path, n, f[1])
		}
		out = append(out, ip.WithZone(""))
	}
	return out, nil
}

// readProcRoute returns the gateways of default routes in /proc/net/route:
// columns Iface Destination Gateway Flags ..., addresses as 8 hex digits in
// host (little-endian on the machines this runs on) byte order.
func readProcRoute(path string) ([]netip.Addr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseProcRoute(path, data)
}

func parseProcRoute(path string, data []byte) ([]netip.Addr, error) {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if n == 1 || len(f) < 8 {
			continue // header
		}
		dst, err1 := hex.DecodeString(f[1])
		gw, err2 := hex.DecodeString(f[2])
		mask, err3 := hex.DecodeString(f[7])
		if err1 != nil || err2 != nil || err3 != nil || len(dst) != 4 || len(gw) != 4 || len(mask) != 4 {
			return out, fmt.Errorf("%s:%d: not a route line", path, n)
		}
		if !bytes.Equal(dst, []byte{0, 0, 0, 0}) || !bytes.Equal(mask, []byte{0, 0, 0, 0}) || bytes.Equal(gw, []byte{0, 0, 0, 0}) {
			continue
		}
		out = append(out, netip.AddrFrom4([4]byte{gw[3], gw[2], gw[1], gw[0]}))
	}
	return out, nil
}

// readIPRoute returns the `via` of `default` routes in `ip route` output.
func readIPRoute(path string) ([]netip.Addr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIPRoute(path, data)
}

func parseIPRoute(path string, data []byte) ([]netip.Addr, error) {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "default" {
			continue
		}
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "via" {
				v := f[i+1]
				if (v == "inet" || v == "inet6") && i+2 < len(f) {
					v = f[i+2]
				}
				ip, err := netip.ParseAddr(v)
				if err != nil {
					return out, fmt.Errorf("%s:%d: gateway %q is not an address", path, n, v)
				}
				out = append(out, ip.WithZone(""))
				break
			}
		}
	}
	return out, nil
}

type lease struct {
	server, wins, dns, routers []netip.Addr
}

// readLease reads a dhclient lease file (dhclient.leases(5): `lease { option
// NAME VALUE; ... }`, the last lease wins) or a systemd-networkd lease
// (KEY=VALUE: SERVER_ADDRESS, DNS, ROUTER).
func readLease(path string) (lease, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return lease{}, err
	}
	return parseLease(path, data)
}

func parseLease(path string, data []byte) (lease, error) {
	if bytes.Contains(data, []byte("lease {")) || bytes.Contains(data, []byte("lease{")) {
		return readDhclientLease(path, data)
	}
	var l lease
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return l, fmt.Errorf("%s:%d: neither a dhclient lease nor KEY=VALUE", path, n)
		}
		var dst *[]netip.Addr
		switch k {
		case "SERVER_ADDRESS":
			dst = &l.server
		case "DNS":
			dst = &l.dns
		case "ROUTER":
			dst = &l.routers
		default:
			continue
		}
		for _, s := range strings.Fields(v) {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return l, fmt.Errorf("%s:%d: %s: %q is not an address", path, n, k, s)
			}
			*dst = append(*dst, ip)
		}
	}
	return l, nil
}

func readDhclientLease(path string, data []byte) (lease, error) {
	var l, cur lease
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "lease"):
			cur, in = lease{}, true
			continue
		case line == "}":
			if in {
				l = cur
			}
			in = false
			continue
		case !in || !strings.HasPrefix(line, "option "):
			continue
		}
		f := strings.SplitN(strings.TrimSuffix(strings.TrimPrefix(line, "option "), ";"), " ", 2)
		if len(f) != 2 {
			continue
		}
		var dst *[]netip.Addr
		switch f[0] {
		case "dhcp-server-identifier":
			dst = &cur.server
		case "netbios-name-servers":
			dst = &cur.wins
		case "domain-name-servers":
			dst = &cur.dns
		case "routers":
			dst = &cur.routers
		default:
			continue
		}
		for _, s := range strings.Split(f[1], ",") {
			ip, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return l, fmt.Errorf("%s:%d: option %s: %q is not an address", path, n, f[0], strings.TrimSpace(s))
			}
			*dst = append(*dst, ip)
		}
	}
	return l, nil
}
