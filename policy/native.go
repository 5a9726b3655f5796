package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// parseNative reads ipsecmon's policy format (README.md): one `policy` or
// `filter` per line, fields `name=value`, `#` comments.
func parseNative(file string, data []byte) (*Set, error) {
	set := &Set{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		words, err := splitNative(sc.Text())
		if err != nil {
			return nil, lineError(file, lineNo, "%v", err)
		}
		if len(words) == 0 {
			continue
		}
		if len(words) < 2 || strings.Contains(words[1], "=") {
			return nil, lineError(file, lineNo, "%s needs a name after it", words[0])
		}
		switch strings.ToLower(words[0]) {
		case "policy":
			p, err := nativePolicy(words[1], words[2:])
			if err != nil {
				return nil, lineError(file, lineNo, "policy %q: %v", words[1], err)
			}
			p.Origin = origin(file, lineNo)
			if set.Policy(p.Name) != nil {
				return nil, lineError(file, lineNo, "policy %q is defined twice", p.Name)
			}
			set.Policies = append(set.Policies, p)
		case "filter":
			f, err := nativeFilter(words[1], words[2:])
			if err != nil {
				return nil, lineError(file, lineNo, "filter %q: %v", words[1], err)
			}
			f.Origin = origin(file, lineNo)
			set.Filters = append(set.Filters, f)
		default:
			return nil, lineError(file, lineNo, "unknown record %q (want policy or filter)", words[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", file, err)
	}
	for _, f := range set.Filters {
		if f.Policy != "" && set.Policy(f.Policy) == nil {
			set.Warnings = append(set.Warnings, fmt.Sprintf("%s: filter %q names policy %q, which this file does not define", f.Origin, f.Name, f.Policy))
		}
	}
	return set, nil
}

// splitNative splits a line into words; double quotes group (with \" and
// \\), also after "name=". A # outside quotes starts a comment.
func splitNative(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			in = true
		case quoted:
			cur.WriteByte(c)
		case c == '#':
			i = len(line)
		case c == ' ' || c == '\t' || c == '\r':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("quote not closed")
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

func nativeFilter(name string, fields []string) (GenericFilter, error) {
	f := GenericFilter{Name: name, Src: Addr{Kind: AddrMe}, Dst: Addr{Kind: AddrAny}}
	var action Action
	seen := map[string]bool{}
	for _, fld := range fields {
		k, v, hasV := strings.Cut(fld, "=")
		k = strings.ToLower(k)
		if seen[k] {
			return f, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "mirrored":
			f.Mirrored = !hasV || isYes(v)
			continue
		}
		if !hasV {
			return f, fmt.Errorf("unknown flag %q", fld)
		}
		switch k {
		case "src":
			f.Src, err = ParseAddr(v)
		case "dst":
			f.Dst, err = ParseAddr(v)
		case "proto", "protocol":
			f.Proto, err = ipproto.Parse(v)
		case "sport":
			f.SrcPort, err = ParsePorts(v)
		case "dport":
			f.DstPort, err = ParsePorts(v)
		case "action":
			action, err = ParseAction(v)
		case "in", "inbound":
			f.Inbound, err = ParseAction(v)
		case "out", "outbound":
			f.Outbound, err = ParseAction(v)
		case "policy":
			f.Policy = v
		case "conn", "conntype":
			f.Conn, err = ParseConnType(v)
		case "tunnel-src":
			f.TunnelSrc, err = ParseAddr(v)
		case "tunnel-dst":
			f.TunnelDst, err = ParseAddr(v)
		case "local":
			if v != "src" {
				return f, fmt.Errorf("local=%q: only local=src is known", v)
			}
			f.LocalSrc = true
		default:
			return f, fmt.Errorf("unknown field %q", k)
		}
		if err != nil {
			return f, fmt.Errorf("%s: %v", k, err)
		}
	}
	if action != ActionUnset {
		if f.Inbound != ActionUnset || f.Outbound != ActionUnset {
			return f, fmt.Errorf("give either action= or in=/out=, not both")
		}
		f.Inbound, f.Outbound = action, action
	}
	if f.Inbound == ActionUnset && f.Outbound == ActionUnset {
		return f, fmt.Errorf("no action (action=, in= or out=)")
	}
	negotiates := f.Inbound == ActionNegotiate || f.Outbound == ActionNegotiate
	if negotiates && f.Policy == "" {
		return f, fmt.Errorf("negotiate needs policy=NAME")
	}
	if !negotiates && f.Policy != "" {
		return f, fmt.Errorf("policy= is only used by negotiate")
	}
	if (!f.SrcPort.Any() || !f.DstPort.Any()) && f.Proto == 0 {
		return f, fmt.Errorf("ports need a protocol")
	}
	if f.Tunnel() && (f.TunnelSrc.Keyword() && f.TunnelSrc.Kind != AddrMe || f.TunnelDst.Keyword()) {
		return f, fmt.Errorf("a tunnel endpoint must be an address (tunnel-src may be me)")
	}
	return f, nil
}

func isYes(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "on":
		return true
	}
	return false
}

func nativePolicy(name string, fields []string) (NegotiationPolicy, error) {
	p := NegotiationPolicy{Name: name}
	pfs := uint16(0)
	for _, fld := range fields {
		k, v, hasV := strings.Cut(fld, "=")
		switch strings.ToLower(k) {
		case "soft":
			p.Soft = !hasV || isYes(v)
		case "mode":
			switch strings.ToLower(v) {
			case "transport":
				p.Mode = ModeTransport
			case "tunnel":
				p.Mode = ModeTunnel
			default:
				return p, fmt.Errorf("mode %q is not transport or tunnel", v)
			}
		case "pfs":
			g, err := parseGroup(v)
			if err != nil {
				return p, err
			}
			pfs = g
		case "offer":
			m, err := ParseSecurityMethod(v)
			if err != nil {
				return p, fmt.Errorf("offer %q: %v", v, err)
			}
			p.Offers = append(p.Offers, m)
		default:
			return p, fmt.Errorf("unknown field %q", k)
		}
	}
	if len(p.Offers) == 0 {
		return p, fmt.Errorf("no offer=")
	}
	for i := range p.Offers {
		p.Offers[i].PFSGroup = pfs
	}
	return p, nil
}

func parseGroup(v string) (uint16, error) {
	v = strings.ToLower(v)
	if g, ok := swDH[v]; ok {
		return g, nil
	}
	switch v {
	case "no", "none", "nopfs", "0":
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "grp"), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("pfs %q is not a Diffie-Hellman group", v)
	}
	return uint16(n), nil
}

// ParseSecurityMethod reads netsh's qmsecmethods syntax — ESP[enc,auth],
// AH[auth] or AH[auth]+ESP[enc,auth], optionally followed by
// ":KBYTESk/SECONDSs" — with Windows' names (DES, 3DES, None, MD5, SHA1,
// AES128...), strongSwan keywords (aes256, sha256, aes128gcm16) or
// ipsecmon's canonical names, optionally with the key length
// ("aes-cbc-256").
func ParseSecurityMethod(s string) (SecurityMethod, error) {
	var m SecurityMethod
	body, life, hasLife := strings.Cut(s, ":")
	ah, esp := "", ""
	for _, part := range strings.Split(body, "+") {
		up := strings.ToUpper(part)
		switch {
		case strings.HasPrefix(up, "AH[") && strings.HasSuffix(part, "]") && ah == "":
			ah = part[3 : len(part)-1]
		case strings.HasPrefix(up, "ESP[") && strings.HasSuffix(part, "]") && esp == "":
			esp = part[4 : len(part)-1]
		default:
			return m, fmt.Errorf("%q is not AH[...] or ESP[...]", part)
		}
	}
	var err error
	if esp != "" {
		m.Proto = 50
		enc, auth, ok := strings.Cut(esp, ",")
		if !ok {
			return m, fmt.Errorf("ESP[%s] needs encryption,integrity", esp)
		}
		if m.Enc, m.EncKeyBits, err = parseEncName(enc); err != nil {
			return m, err
		}
		if m.Auth, err = parseAuthName(auth); err != nil {
			return m, err
		}
		if m.Enc.AEAD() && m.Auth != algo.AuthNone {
			return m, fmt.Errorf("%s carries its own integrity: use None", enc)
		}
		if m.Enc == algo.EncNull && m.Auth == algo.AuthNone {
			return m, fmt.Errorf("ESP with neither encryption nor integrity")
		}
		if ah != "" {
			if m.AHAuth, err = parseAuthName(ah); err != nil {
				return m, err
			}
		}
	} else {
		m.Proto = 51
		if m.Auth, err = parseAuthName(ah); err != nil {
			return m, err
		}
	}
	if (m.Proto == 51 || m.AHAuth != algo.AuthUnknown) && (m.AHAuth == algo.AuthNone || m.Proto == 51 && m.Auth == algo.AuthNone) {
		return m, fmt.Errorf("AH needs an integrity algorithm")
	}
	if hasLife {
		for _, l := range strings.Split(life, "/") {
			l = strings.ToLower(strings.TrimSpace(l))
			if l == "" {
				continue
			}
			unit := l[len(l)-1]
			n, err := strconv.ParseUint(l[:len(l)-1], 10, 64)
			if err != nil || unit != 'k' && unit != 's' {
				return m, fmt.Errorf("lifetime %q is not NUMBERk or NUMBERs", l)
			}
			if unit == 'k' {
				m.LifeKBytes = n
			} else {
				m.LifeSeconds = n
			}
		}
	}
	return m, nil
}

func parseEncName(s string) (algo.Enc, int, error) {
	low := strings.ToLower(strings.TrimSpace(s))
	if low == "none" {
		return algo.EncNull, 0, nil
	}
	if e, ok := swEnc[low]; ok {
		return e.enc, e.bits, nil
	}
	if e, err := algo.ParseEnc(low); err == nil {
		return e, 0, nil
	}
	if i := strings.LastIndexByte(low, '-'); i > 0 {
		if bits, err := strconv.Atoi(low[i+1:]); err == nil && bits >= 40 && bits <= 448 && bits%8 == 0 {
			if e, err := algo.ParseEnc(low[:i]); err == nil {
				if !e.ValidKeyLen(bits/8 + e.SaltLen()) {
					return 0, 0, fmt.Errorf("%s has no %d-bit key", e, bits)
				}
				return e, bits, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("unknown encryption algorithm %q", s)
}

func parseAuthName(s string) (algo.Auth, error) {
	low := strings.ToLower(strings.TrimSpace(s))
	if low == "none" {
		return algo.AuthNone, nil
	}
	if a, ok := swInteg[low]; ok {
		return a, nil
	}
	a, err := algo.ParseAuth(low)
	if err != nil || !a.Checked() {
		return 0, fmt.Errorf("unknown integrity algorithm %q", s)
	}
	return a, nil
}
