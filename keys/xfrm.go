package keys

import (
	"net/netip"
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

type xfrmState struct {
	line    int
	sa      SA
	proto   string
	hasEnc  bool
	hasAuth bool
	inStats bool
	// noKeys: a key the algorithm needs was not printed, or the algorithm
	// is one ipsecmon cannot use.
	noKeys bool
}

// xfrm reads `ip xfrm state` or `ip -s xfrm state` output: one block per
// SA, starting with "src A dst B" at the left margin, its attributes on
// indented lines. Lines ipsecmon has no use for (selectors, lifetimes,
// statistics, replay bitmaps) are skipped. The dump is the host's whole
// SA database, so the Set becomes Authoritative. Linux finds an inbound SA
// by destination, SPI and protocol; the source is kept as the dump states.
func (p *parser) xfrm(lines []string) error {
	p.set.Authoritative = true
	var cur *xfrmState
	for i, l := range lines {
		n := i + 1
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			if f[0] != "src" || len(f) < 4 || f[2] != "dst" {
				return p.errorf(n, "ip xfrm state: expected \"src ADDR dst ADDR\" to start an SA")
			}
			if err := p.xfrmFlush(cur); err != nil {
				return err
			}
			cur = &xfrmState{line: n, sa: SA{Origin: p.origin(n)}}
			for k, dst := range []*netip.Prefix{&cur.sa.Src, &cur.sa.Dst} {
				a, err := netip.ParseAddr(f[1+2*k])
				if err != nil {
					return p.errorf(n, "ip xfrm state: %s address is not an IP address", f[2*k])
				}
				a = a.Unmap()
				*dst = netip.PrefixFrom(a, a.BitLen())
			}
			continue
		}
		if cur == nil {
			return p.errorf(n, "ip xfrm state: attribute line before any \"src ADDR dst ADDR\"")
		}
		if err := p.xfrmAttr(n, cur, f); err != nil {
			return err
		}
	}
	return p.xfrmFlush(cur)
}

func (p *parser) xfrmAttr(n int, cur *xfrmState, f []string) error {
	sa := &cur.sa
	val := func(key string) (string, bool) {
		for k := 0; k+1 < len(f); k++ {
			if f[k] == key {
				return strings.TrimSuffix(f[k+1], ","), true
			}
		}
		return "", false
	}
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "proto":
		if cur.proto = arg(1); cur.proto == "" {
			return p.errorf(n, "ip xfrm state: proto without a protocol")
		}
		if s, ok := val("spi"); ok {
			// `ip -s` adds the decimal value: 0xc1a9656b(3249169771).
			if k := strings.IndexByte(s, '('); k > 0 {
				s = s[:k]
			}
			v, err := strconv.ParseUint(s, 0, 32)
			if err != nil {
				return p.errorf(n, "ip xfrm state: bad SPI: want 0x and 8 hex digits")
			}
			sa.SPI = uint32(v)
		}
		if m, ok := val("mode"); ok && (m == "tunnel" || m == "transport") {
			sa.Mode = m
		}
	case "replay-window":
		if cur.inStats { // "replay-window 0 replay 0 failed 0" under stats:
			return nil
		}
		if w, err := strconv.Atoi(arg(1)); err == nil {
			sa.ReplayWindow = max(sa.ReplayWindow, w)
		}
		for k, t := range f {
			if t == "flag" {
				for _, fl := range f[k+1:] {
					if fl == "esn" {
						sa.ESN = true
					}
				}
			}
		}
	case "flag":
		for _, fl := range f[1:] {
			if fl == "esn" {
				sa.ESN = true
			}
		}
	case "replay_window": // in the "anti-replay esn context" block
		if w, err := strconv.Atoi(strings.TrimSuffix(arg(1), ",")); err == nil {
			sa.ReplayWindow = max(sa.ReplayWindow, w)
		}
	case "seq-hi":
		if v, err := strconv.ParseUint(strings.TrimSuffix(arg(1), ","), 0, 32); err == nil {
			sa.SeqHi = uint32(v)
		}
	case "encap":
		for k, dst := range map[string]*uint16{"sport": &sa.EncapSport, "dport": &sa.EncapDport} {
			if s, ok := val(k); ok {
				v, err := strconv.ParseUint(s, 10, 16)
				if err != nil {
					return p.errorf(n, "ip xfrm state: encap %s is not a port number", k)
				}
				*dst = uint16(v)
			}
		}
	case "stats:":
		cur.inStats = true
	case "enc", "aead", "auth", "auth-trunc":
		return p.xfrmAlgo(n, cur, f)
	}
	return nil
}

// xfrmAlgo reads "enc NAME KEY", "auth NAME KEY", "auth-trunc NAME KEY
// BITS" and "aead NAME KEY BITS"; `ip -s` inserts "(N bits)" after the key,
// and `ip xfrm state list nokeys` leaves the key out.
func (p *parser) xfrmAlgo(n int, cur *xfrmState, f []string) error {
	sa := &cur.sa
	if len(f) < 2 {
		return p.errorf(n, "ip xfrm state: %s without an algorithm", f[0])
	}
	kind, name := f[0], f[1]
	rest := f[2:]
	var key []byte
	haveKey := false
	if len(rest) > 0 && strings.HasPrefix(rest[0], "0x") {
		var err error
		if key, err = decodeHexEven(rest[0]); err != nil {
			return p.errorf(n, "ip xfrm state: %s key %v", kind, err)
		}
		haveKey = true
		rest = rest[1:]
	}
	if len(rest) >= 2 && strings.HasPrefix(rest[0], "(") && rest[1] == "bits)" {
		rest = rest[2:]
	}
	bits := -1
	if len(rest) > 0 {
		if b, err := strconv.Atoi(rest[0]); err == nil {
			bits = b
		}
	}
	switch kind {
	case "enc":
		cur.hasEnc = true
		e := algo.EncFromLinux(name)
		if e == algo.EncUnknown {
			p.warnf(n, "ip xfrm state: encryption %s is not supported; SA kept for SPI lookups only", keyword(name))
			sa.Enc, cur.noKeys = algo.EncUnknown, true
			return nil
		}
		sa.Enc, sa.EncKey = e, key
		if !haveKey && e != algo.EncNull {
			cur.noKeys = true
		}
	case "aead":
		cur.hasEnc, cur.hasAuth = true, true
		e := algo.AEADFromLinux(name, bits)
		if e == algo.EncUnknown {
			p.warnf(n, "ip xfrm state: aead %s with a %d-bit ICV is not supported; SA kept for SPI lookups only", keyword(name), bits)
			sa.Enc, cur.noKeys = algo.EncUnknown, true
			return nil
		}
		sa.Enc, sa.EncKey, sa.Auth = e, key, algo.AuthNone
		if !haveKey {
			cur.noKeys = true
		}
	case "auth", "auth-trunc":
		cur.hasAuth = true
		if kind == "auth" || bits < 0 {
			bits = 0 // the kernel's default truncation for the name
		}
		auth, bits, known := algo.AuthFromLinux(name, bits)
		if auth != algo.AuthUnknown {
			sa.Auth, sa.AuthKey = auth, key
			if !haveKey && auth != algo.AuthNone {
				cur.noKeys = true
			}
			return nil
		}
		if u := algo.UncheckedICV(bits); known && u != algo.AuthUnknown {
			p.warnf(n, "ip xfrm state: integrity %s with a %d-bit ICV is not supported; its ICV is not checked", name, bits)
			sa.Auth, sa.AuthKey = u, nil
			return nil
		}
		p.warnf(n, "ip xfrm state: integrity %s is not supported; SA kept for SPI lookups only", keyword(name))
		sa.Auth, cur.noKeys = algo.AuthUnknown, true
	}
	return nil
}

func (p *parser) xfrmFlush(cur *xfrmState) error {
	if cur == nil {
		return nil
	}
	sa := &cur.sa
	switch cur.proto {
	case "esp":
		sa.Proto = ipproto.ESP
		if !cur.hasEnc {
			sa.Enc = algo.EncNull
		}
		if !cur.hasAuth {
			sa.Auth = algo.AuthNone
		}
	case "ah":
		sa.Proto = ipproto.AH
		sa.Enc = algo.EncNull
		if !cur.hasAuth {
			return p.errorf(cur.line, "ip xfrm state: AH SA 0x%08x without an auth line", sa.SPI)
		}
	case "":
		return p.errorf(cur.line, "ip xfrm state: SA without a \"proto\" line")
	case "comp", "route2", "hao":
		return nil // IPComp and Mobile IPv6 states carry no IPsec keys
	default:
		if _, err := strconv.ParseUint(cur.proto, 10, 8); err != nil {
			return p.errorf(cur.line, "ip xfrm state: proto is not one ip xfrm prints (esp, ah, comp, route2, hao or a number)")
		}
		return nil // IP-in-IP and other numbered states carry no IPsec keys
	}
	sa.NoKeys = cur.noKeys
	if !sa.NoKeys {
		if err := validEncKey(sa.Enc, sa.EncKey); err != nil {
			return p.errorf(cur.line, "ip xfrm state: SA 0x%08x: %v", sa.SPI, err)
		}
		if err := validAuthKey(sa.Auth, sa.AuthKey); err != nil {
			return p.errorf(cur.line, "ip xfrm state: SA 0x%08x: %v", sa.SPI, err)
		}
	}
	p.set.SAs = append(p.set.SAs, *sa)
	return nil
}
