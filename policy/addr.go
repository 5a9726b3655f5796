package policy

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// AddrKind says what an address specification is.
type AddrKind uint8

const (
	AddrNone    AddrKind = iota // unset (the tunnel endpoint of a transport filter)
	AddrAny                     // Windows "Any IP Address"
	AddrMe                      // "My IP Address": every address of this host
	AddrDNS                     // "DNS Servers <dynamic>"
	AddrDHCP                    // "DHCP Server <dynamic>"
	AddrWINS                    // "WINS Servers <dynamic>"
	AddrGateway                 // "Default Gateway <dynamic>"
	AddrPrefix                  // one address (full-length prefix) or a subnet
	AddrRange                   // First..Last inclusive
)

var addrKeywords = [...]struct{ word, display string }{
	AddrNone:    {"", "None"},
	AddrAny:     {"any", "Any IP Address"},
	AddrMe:      {"me", "My IP Address"},
	AddrDNS:     {"dns", "DNS Servers"},
	AddrDHCP:    {"dhcp", "DHCP Server"},
	AddrWINS:    {"wins", "WINS Servers"},
	AddrGateway: {"gateway", "Default Gateway"},
}

// Addr is an address specification that keeps keywords as keywords.
type Addr struct {
	Kind   AddrKind
	Prefix netip.Prefix // AddrPrefix, masked
	First  netip.Addr   // AddrRange
	Last   netip.Addr   // AddrRange
}

// Keyword reports one of me, dns, dhcp, wins, gateway: an address the host
// has to tell (filters.Expander).
func (a Addr) Keyword() bool { return a.Kind >= AddrMe && a.Kind <= AddrGateway }

// String is the native-format spelling: a keyword, an address, a prefix or
// a range "first-last"; "" for AddrNone.
func (a Addr) String() string {
	switch a.Kind {
	case AddrPrefix:
		if a.Prefix.IsSingleIP() {
			return a.Prefix.Addr().String()
		}
		return a.Prefix.String()
	case AddrRange:
		return a.First.String() + "-" + a.Last.String()
	}
	if int(a.Kind) < len(addrKeywords) {
		return addrKeywords[a.Kind].word
	}
	return "?"
}

// Display is the IP Security Monitor's wording for keywords and the address
// otherwise.
func (a Addr) Display() string {
	if a.Kind <= AddrGateway {
		return addrKeywords[a.Kind].display
	}
	return a.String()
}

// Contains reports whether ip is in a concrete specification (any, prefix,
// range). Keywords contain nothing until expanded.
func (a Addr) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch a.Kind {
	case AddrAny:
		return ip.IsValid()
	case AddrPrefix:
		return a.Prefix.Contains(ip)
	case AddrRange:
		return ip.Is4() == a.First.Is4() && a.First.Compare(ip) <= 0 && ip.Compare(a.Last) <= 0
	}
	return false
}

// Is4 reports an IPv4 prefix or range (false for keywords and any).
func (a Addr) Is4() bool {
	switch a.Kind {
	case AddrPrefix:
		return a.Prefix.Addr().Is4()
	case AddrRange:
		return a.First.Is4()
	}
	return false
}

// Specificity is how many bits of the address the specification fixes: the
// address length minus log2 of the number of addresses it covers, rounded
// up (a /24 gives 24, a single IPv4 address 32, a range of 21 addresses 27,
// any 0). Keywords give 0: expand them first.
func (a Addr) Specificity() int {
	switch a.Kind {
	case AddrPrefix:
		return a.Prefix.Bits()
	case AddrRange:
		hi1, lo1 := addrWords(a.First)
		hi2, lo2 := addrWords(a.Last)
		// count-1 = Last-First (128-bit subtraction)
		lo, borrow := bits.Sub64(lo2, lo1, 0)
		hi, _ := bits.Sub64(hi2, hi1, borrow)
		// ceil(log2(count)) = bit length of (count-1)
		n := bits.Len64(lo)
		if hi != 0 {
			n = 64 + bits.Len64(hi)
		}
		return a.First.BitLen() - n
	}
	return 0
}

func addrWords(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	if a.Is4() {
		return 0, uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	}
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

// SingleAddr makes the specification of one address.
func SingleAddr(ip netip.Addr) Addr {
	ip = ip.Unmap()
	return Addr{Kind: AddrPrefix, Prefix: netip.PrefixFrom(ip, ip.BitLen())}
}

// PrefixAddr makes the specification of a subnet (masked).
func PrefixAddr(p netip.Prefix) Addr {
	return Addr{Kind: AddrPrefix, Prefix: netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()}
}

// ParseAddr reads a keyword (me, dns, dhcp, wins, gateway, any;
// case-insensitive), an address, a prefix ("10.0.0.0/8", IPv4 also with a
// dotted mask "10.0.0.0/255.0.0.0"), or a range ("a-b" or strongSwan's "a..b").
func ParseAddr(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	for k := AddrAny; k <= AddrGateway; k++ {
		if low == addrKeywords[k].word {
			return Addr{Kind: k}, nil
		}
	}
	switch low {
	case "%any", "*":
		return Addr{Kind: AddrAny}, nil
	case "%any4":
		return PrefixAddr(netip.PrefixFrom(netip.IPv4Unspecified(), 0)), nil
	case "%any6":
		return PrefixAddr(netip.PrefixFrom(netip.IPv6Unspecified(), 0)), nil
	}
	if i := strings.Index(s, ".."); i >= 0 {
		return parseRange(s[:i], s[i+2:])
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		return parseRange(s[:i], s[i+1:])
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		ip, err := netip.ParseAddr(s[:i])
		if err != nil {
			return Addr{}, fmt.Errorf("bad address %q", s[:i])
		}
		m := s[i+1:]
		n, err := strconv.Atoi(m)
		if err != nil {
			mask, merr := netip.ParseAddr(m)
			if merr != nil || !mask.Is4() || !ip.Unmap().Is4() {
				return Addr{}, fmt.Errorf("bad prefix length or mask %q", m)
			}
			if n, err = maskBits(mask); err != nil {
				return Addr{}, err
			}
		}
		if n < 0 || n > ip.Unmap().BitLen() {
			return Addr{}, fmt.Errorf("prefix length %d out of range in %q", n, s)
		}
		return PrefixAddr(netip.PrefixFrom(ip.Unmap(), n)), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return Addr{}, fmt.Errorf("not an address, prefix, range or keyword: %q", s)
	}
	return SingleAddr(ip), nil
}

func parseRange(a, b string) (Addr, error) {
	first, err1 := netip.ParseAddr(strings.TrimSpace(a))
	last, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Addr{}, fmt.Errorf("bad address range %q-%q", a, b)
	}
	first, last = first.Unmap(), last.Unmap()
	if first.Is4() != last.Is4() {
		return Addr{}, fmt.Errorf("address range %s-%s mixes IPv4 and IPv6", first, last)
	}
	if last.Less(first) {
		return Addr{}, fmt.Errorf("address range %s-%s ends before it starts", first, last)
	}
	return Addr{Kind: AddrRange, First: first, Last: last}, nil
}

func maskBits(m netip.Addr) (int, error) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := bits.LeadingZeros32(^v)
	if v<<n != 0 {
		return 0, fmt.Errorf("mask %s is not contiguous", m)
	}
	return n, nil
}

// Ports is an inclusive port range; the zero value means any port.
type Ports struct{ From, To uint16 }

// Any reports the zero value (every port).
func (p Ports) Any() bool { return p.From == 0 && p.To == 0 || p.From == 0 && p.To == 65535 }

// Single returns the port of a one-port range.
func (p Ports) Single() (uint16, bool) { return p.From, !p.Any() && p.From == p.To }

// Contains reports whether port is in the range.
func (p Ports) Contains(port uint16) bool { return p.Any() || p.From <= port && port <= p.To }

func (p Ports) String() string {
	if p.Any() {
		return "Any"
	}
	if p.From == p.To {
		return strconv.Itoa(int(p.From))
	}
	return fmt.Sprintf("%d-%d", p.From, p.To)
}

// ParsePorts reads "any", "0" (netsh's any), a number, a service name
// (services below), or "from-to".
func ParsePorts(s string) (Ports, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "any", "%any", "0", "opaque", "%opaque":
		return Ports{}, nil
	}
	if i := strings.IndexByte(s, '-'); i > 0 {
		a, err1 := parsePort(s[:i])
		b, err2 := parsePort(s[i+1:])
		if err1 != nil || err2 != nil || b < a {
			return Ports{}, fmt.Errorf("bad port range %q", s)
		}
		return Ports{a, b}, nil
	}
	p, err := parsePort(s)
	if err != nil {
		return Ports{}, err
	}
	return Ports{p, p}, nil
}

func parsePort(s string) (uint16, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), nil
	}
	if p, ok := services[strings.ToLower(s)]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown port or service %q", s)
}

// services are the names strongSwan prints for ports (getservbyport, i.e.
// /etc/services of netbase) that IPsec policies commonly use.
var services = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
	"bootps": 67, "bootpc": 68, "tftp": 69, "http": 80, "www": 80, "kerberos": 88,
	"pop3": 110, "sunrpc": 111, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138,
	"netbios-ssn": 139, "imap2": 143, "imap": 143, "snmp": 161, "snmp-trap": 162,
	"ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500, "syslog": 514,
	"submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995, "l2f": 1701,
	"l2tp": 1701, "pptp": 1723, "radius": 1812, "radius-acct": 1813, "nfs": 2049,
	"ms-wbt-server": 3389, "ipsec-nat-t": 4500, "sip": 5060, "sip-tls": 5061,
}
