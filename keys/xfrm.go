package keys

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/xfrmstate"
)

// xfrm reads `ip xfrm state` or `ip -s xfrm state` output with package
// xfrmstate. The dump is the host's whole SA database, so the Set becomes
// Authoritative. Linux finds an inbound SA by destination, SPI and
// protocol; the source is kept as the dump states.
//
// A block that cannot be keyed is left out with a warning, but an ESP or
// AH SA whose SPI was read still counts for SPI lookups (without keys), so
// that its packets are not taken for Bad SPI. When a block might have been
// such an SA and its SPI is not known, the dump no longer lists every SA
// and is not Authoritative.
func (p *parser) xfrm(lines []string) error {
	p.set.Authoritative = true
	complete := true
	for _, r := range xfrmstate.Read(strings.Join(lines, "\n"), time.Local) {
		var err error
		if r.Err != nil {
			err = p.errorf(r.Err.Line, "ip xfrm state: %s", r.Err.Msg)
		} else {
			err = p.xfrmSA(&r)
		}
		if err == nil {
			continue
		}
		switch {
		case (r.ProtoName == "esp" || r.ProtoName == "ah") && r.SPI != 0:
			sa := SA{Proto: ipproto.ESP, Src: hostPrefix(r.Src), Dst: hostPrefix(r.Dst), SPI: r.SPI, NoKeys: true, Origin: p.origin(r.Line)}
			if r.ProtoName == "ah" {
				sa.Proto = ipproto.AH
			}
			p.set.SAs = append(p.set.SAs, sa)
			p.set.Warnings = append(p.set.Warnings, err.Error()+"; the SA counts for SPI lookups only, without keys")
			p.set.Skipped++
		default:
			p.skip(err)
			complete = complete && keyless(r.ProtoName)
		}
	}
	if !complete {
		p.set.Authoritative = false
		p.warnf(0, "ip xfrm state: a block that may be an ESP or AH SA could not be read, so the dump is not taken for the host's complete SA list (no packet is a Bad SPI for want of an SA in it)")
	}
	return nil
}

// keyless reports a protocol whose states carry no IPsec keys: IPComp,
// Mobile IPv6, IP-in-IP and other numbered ones.
func keyless(proto string) bool {
	switch proto {
	case "comp", "route2", "hao":
		return true
	case "esp", "ah", "":
		return false
	}
	_, err := strconv.ParseUint(proto, 10, 8)
	return err == nil
}

// xfrmSA keys one SA block. Algorithms ipsecmon cannot check keep the SA
// for SPI lookups (NoKeys, or an unchecked ICV of the right length) with a
// warning; a `nokeys` listing gives NoKeys SAs.
func (p *parser) xfrmSA(r *xfrmstate.Record) error {
	sa := SA{Origin: p.origin(r.Line), Src: hostPrefix(r.Src), Dst: hostPrefix(r.Dst), SPI: r.SPI, ESN: r.ESN,
		EncapSport: r.EncapSport, EncapDport: r.EncapDport, ReplayWindow: r.Window()}
	if r.Mode == "tunnel" || r.Mode == "transport" {
		sa.Mode = r.Mode
	}
	if r.SeqHi != nil {
		sa.SeqHi = *r.SeqHi
	}
	switch r.ProtoName {
	case "esp":
		sa.Proto = ipproto.ESP
	case "ah":
		sa.Proto = ipproto.AH
	case "":
		return p.errorf(r.Line, "ip xfrm state: SA without a \"proto\" line")
	default:
		if !keyless(r.ProtoName) {
			return p.errorf(r.Line, "ip xfrm state: proto is not one ip xfrm prints (esp, ah, comp, route2, hao or a number)")
		}
		return nil // IPComp, Mobile IPv6 and IP-in-IP states carry no IPsec keys
	}
	// noKeys: a key the algorithm needs was not printed, or the algorithm
	// is one ipsecmon cannot use.
	var hasEnc, hasAuth, noKeys bool
	for _, a := range r.Algs {
		var key []byte
		if a.Key != "" {
			var err error
			if key, err = decodeHexEven(a.Key); err != nil {
				return p.errorf(a.Line, "ip xfrm state: %s key %v", a.Kind, err)
			}
		}
		haveKey := a.Key != ""
		switch a.Kind {
		case "enc":
			hasEnc = true
			e := algo.EncFromLinux(a.Name)
			if e == algo.EncUnknown {
				p.warnf(a.Line, "ip xfrm state: encryption %s is not supported; SA kept for SPI lookups only", keyword(a.Name))
				sa.Enc, noKeys = algo.EncUnknown, true
				continue
			}
			sa.Enc, sa.EncKey = e, key
			noKeys = noKeys || !haveKey && e != algo.EncNull
		case "aead":
			hasEnc, hasAuth = true, true
			e := algo.AEADFromLinux(a.Name, a.Bits)
			if e == algo.EncUnknown {
				p.warnf(a.Line, "ip xfrm state: aead %s with a %d-bit ICV is not supported; SA kept for SPI lookups only", keyword(a.Name), a.Bits)
				sa.Enc, noKeys = algo.EncUnknown, true
				continue
			}
			sa.Enc, sa.EncKey, sa.Auth = e, key, algo.AuthNone
			noKeys = noKeys || !haveKey
		case "auth", "auth-trunc":
			hasAuth = true
			trunc := a.Bits
			if a.Kind == "auth" {
				trunc = 0 // the kernel's default truncation for the name
			}
			auth, bits, known := algo.AuthFromLinux(a.Name, trunc)
			switch u := algo.UncheckedICV(bits); {
			case auth != algo.AuthUnknown:
				sa.Auth, sa.AuthKey = auth, key
				noKeys = noKeys || !haveKey && auth != algo.AuthNone
			case known && u != algo.AuthUnknown:
				p.warnf(a.Line, "ip xfrm state: integrity %s with a %d-bit ICV is not supported; its ICV is not checked", a.Name, bits)
				sa.Auth, sa.AuthKey = u, nil
			default:
				p.warnf(a.Line, "ip xfrm state: integrity %s is not supported; SA kept for SPI lookups only", keyword(a.Name))
				sa.Auth, noKeys = algo.AuthUnknown, true
			}
		}
	}
	if sa.Proto == ipproto.AH {
		sa.Enc = algo.EncNull
		if !hasAuth {
			return p.errorf(r.Line, "ip xfrm state: AH SA 0x%08x without an auth line", sa.SPI)
		}
	} else {
		if !hasEnc {
			sa.Enc = algo.EncNull
		}
		if !hasAuth {
			sa.Auth = algo.AuthNone
		}
	}
	sa.NoKeys = noKeys
	if !sa.NoKeys {
		if err := validEncKey(sa.Enc, sa.EncKey); err != nil {
			return p.errorf(r.Line, "ip xfrm state: SA 0x%08x: %v", sa.SPI, err)
		}
		if err := validAuthKey(sa.Auth, sa.AuthKey); err != nil {
			return p.errorf(r.Line, "ip xfrm state: SA 0x%08x: %v", sa.SPI, err)
		}
		p.shortAuthKey(r.Line, fmt.Sprintf("ip xfrm state: SA 0x%08x: ", sa.SPI), sa.Auth, sa.AuthKey)
	}
	p.set.SAs = append(p.set.SAs, sa)
	return nil
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
