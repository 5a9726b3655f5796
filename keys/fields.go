package keys

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"ipsecmon/algo"
)

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// errBadHex never quotes the offending text: it may be key material.
var errBadHex = errors.New("not valid hexadecimal")

// decodeHex reads hex digits with an optional 0x prefix. An odd number of
// digits is read as if a 0 preceded them (see wiresharkKey).
func decodeHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if !isHex(s) {
		return nil, errBadHex
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errBadHex
	}
	return b, nil
}

// decodeHexEven is decodeHex for formats that require whole bytes.
func decodeHexEven(s string) ([]byte, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t)%2 == 1 {
		return nil, errors.New("odd number of hex digits")
	}
	return decodeHex(t)
}

// wiresharkKey converts a key the way Wireshark's ESP dissector does
// (compute_ascii_key in epan/dissectors/packet-ipsec.c): a value starting
// with 0x or 0X is hexadecimal, and with an odd number of digits the first
// digit alone makes the first byte (as if a 0 preceded it: "0xecafe" is
// 0e ca fe); "0x" alone is an empty key; anything else is taken as ASCII
// text, byte for byte (the 2006 wiki captures use such keys).
func wiresharkKey(s string) ([]byte, error) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if len(s) == 2 {
			return nil, nil
		}
		return decodeHex(s[2:])
	}
	if s == "" {
		return nil, nil
	}
	return []byte(s), nil
}

// parseAddr reads an address selector; its errors say what the value is
// not, never what it is (callers name the field). Accepted: "*" (any address of fam; fam 0 is
// any family), an address, a CIDR prefix, or an IPv4 address whose
// trailing octets are "*" ("10.1.*.*" is 10.1.0.0/16).
func parseAddr(s string, fam int) (netip.Prefix, error) {
	if s == "*" {
		switch fam {
		case 4:
			return netip.PrefixFrom(netip.IPv4Unspecified(), 0), nil
		case 6:
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0), nil
		}
		return netip.Prefix{}, nil
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, errors.New("is not an address or prefix")
		}
		p = p.Masked()
	} else if strings.HasSuffix(s, ".*") {
		octets := strings.Split(s, ".")
		if len(octets) != 4 {
			return p, errors.New("is not an IPv4 address with wildcard octets")
		}
		bits := 32
		for i := 3; i >= 0 && octets[i] == "*"; i-- {
			octets[i] = "0"
			bits -= 8
		}
		a, err := netip.ParseAddr(strings.Join(octets, "."))
		if err != nil {
			return p, errors.New("has a * octet before a number; only trailing octets may be *")
		}
		p = netip.PrefixFrom(a, bits)
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, errors.New("is not an IP address")
		}
		a = a.Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if fam == 4 && !p.Addr().Is4() || fam == 6 && !p.Addr().Is6() {
		return p, fmt.Errorf("is not IPv%d", fam)
	}
	return p, nil
}

// parseSPI reads a Wireshark SPI: "*", a number as C's strtoul with base 0
// reads it (0x… hex, 0… octal, else decimal), or "0x" and eight hex digits
// some of which are "*" (matched digit by digit, as Wireshark does).
func parseSPI(s string) (spi, wild uint32, any bool, err error) {
	if s == "*" {
		return 0, 0, true, nil
	}
	if strings.Contains(s, "*") {
		if len(s) != 10 || !strings.HasPrefix(strings.ToLower(s), "0x") {
			return 0, 0, false, errors.New("SPI with a * is not 0x and 8 digits")
		}
		for i := 2; i < 10; i++ {
			spi <<= 4
			wild <<= 4
			switch c := s[i]; {
			case c == '*':
				wild |= 0xf
			case isHex(string(c)):
				spi |= uint32(hexVal(c))
			default:
				return 0, 0, false, errors.New("SPI is not hexadecimal")
			}
		}
		return spi, wild, false, nil
	}
	v, e := strconv.ParseUint(s, 0, 32)
	if e != nil {
		return 0, 0, false, errors.New("SPI is not a 32-bit number")
	}
	return uint32(v), 0, false, nil
}

func validEncKey(e algo.Enc, key []byte) error {
	if e.ValidKeyLen(len(key)) {
		return nil
	}
	var lens []string
	for n := 0; n <= 64; n++ {
		if e.ValidKeyLen(n) {
			lens = append(lens, strconv.Itoa(n))
		}
	}
	what := "key"
	if e.SaltLen() > 0 {
		what = fmt.Sprintf("key (with its %d-byte salt)", e.SaltLen())
	}
	return fmt.Errorf("%s %s is %d bytes; want %s", e, what, len(key), strings.Join(lens, ", "))
}

func validAuthKey(a algo.Auth, key []byte) error {
	if !a.Checked() {
		return nil
	}
	if len(key) == 0 {
		return fmt.Errorf("%s needs a key", a)
	}
	// HMAC takes any key length (RFC 2104 §3); Linux and Wireshark accept
	// them, so only the cipher-based MAC is strict.
	if a == algo.AuthAESXCBC96 && len(key) != 16 {
		return fmt.Errorf("%s key is %d bytes; want 16", a, len(key))
	}
	return nil
}

// uatField is one field of a Wireshark UAT line.
type uatField struct {
	val    string
	quoted bool
}

// splitUAT splits a line of a Wireshark UAT file (uat_load_str): fields
// separated by commas, each either a double-quoted string with \\, \" and
// \xNN escapes, or an unquoted run of hex digits (possibly empty).
func splitUAT(line string) ([]uatField, error) {
	var out []uatField
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		var f uatField
		if i < len(line) && line[i] == '"' {
			f.quoted = true
			var b strings.Builder
			i++
			closed := false
			for i < len(line) {
				c := line[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(line) {
					switch line[i+1] {
					case 'x':
						if i+3 < len(line) && isHex(line[i+2:i+4]) {
							b.WriteByte(hexVal(line[i+2])<<4 | hexVal(line[i+3]))
							i += 4
							continue
						}
						return nil, errors.New("bad \\x escape in a quoted field")
					default:
						b.WriteByte(line[i+1])
						i += 2
						continue
					}
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errors.New("unterminated quoted field")
			}
			f.val = b.String()
		} else {
			j := i
			for j < len(line) && line[j] != ',' && line[j] != ' ' && line[j] != '\t' {
				j++
			}
			f.val = line[i:j]
			i = j
		}
		out = append(out, f)
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			return out, nil
		}
		if line[i] != ',' {
			return nil, fmt.Errorf("field %d: expected a comma", len(out))
		}
		i++
	}
}
