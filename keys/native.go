package keys

import (
	"fmt"
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// native reads ipsecmon's own format (README, "Native key format"): one
// SA per line, "#" starts a comment, fields name=value, hex with an
// optional 0x. Hex values need whole bytes here; there is no legacy to
// follow.
func (p *parser) native(lines []string) error {
	for i, l := range lines {
		n := i + 1
		if k := strings.IndexByte(l, '#'); k >= 0 {
			l = l[:k]
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		kv := map[string]string{}
		flags := map[string]bool{}
		var dup error
		for _, t := range f[1:] {
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				if flags[t] {
					dup = p.errorf(n, "%s: flag %s given twice", f[0], keyword(t))
				}
				flags[t] = true
				continue
			}
			if _, ok := kv[k]; ok {
				dup = p.errorf(n, "%s: %s given twice", f[0], keyword(k))
			}
			kv[k] = v
		}
		if dup != nil {
			p.skip(dup)
			continue
		}
		nl := &nativeLine{p: p, n: n, kind: f[0], kv: kv, flags: flags}
		var err error
		switch f[0] {
		case "esp", "ah":
			err = nl.sa()
		case "ikev1":
			err = nl.ikev1()
		case "ikev2":
			err = nl.ikev2()
		default:
			err = p.errorf(n, "line kind %s is not esp, ah, ikev1 or ikev2", keyword(f[0]))
		}
		if err != nil {
			p.skip(err)
		}
	}
	return nil
}

type nativeLine struct {
	p     *parser
	n     int
	kind  string
	kv    map[string]string
	flags map[string]bool
	used  map[string]bool
}

func (l *nativeLine) errorf(format string, args ...any) error {
	return l.p.errorf(l.n, "%s: %s", l.kind, fmt.Sprintf(format, args...))
}

func (l *nativeLine) get(k string) (string, bool) {
	if l.used == nil {
		l.used = map[string]bool{}
	}
	l.used[k] = true
	v, ok := l.kv[k]
	return v, ok
}

func (l *nativeLine) need(k string) (string, error) {
	v, ok := l.get(k)
	if !ok || v == "" {
		return "", l.errorf("%s= is required", k)
	}
	return v, nil
}

// hexField reads a hex value; the message names the field, not its content.
func (l *nativeLine) hexField(k string, required bool) ([]byte, error) {
	v, ok := l.get(k)
	if !ok {
		if required {
			return nil, l.errorf("%s= is required", k)
		}
		return nil, nil
	}
	b, err := decodeHexEven(v)
	if err != nil {
		return nil, l.errorf("%s %v", k, err)
	}
	return b, nil
}

func (l *nativeLine) cookie(k string, required bool) ([8]byte, bool, error) {
	var c [8]byte
	b, err := l.hexField(k, required)
	if err != nil || b == nil {
		return c, false, err
	}
	if len(b) != 8 {
		return c, false, l.errorf("%s is %d bytes; want 8", k, len(b))
	}
	copy(c[:], b)
	return c, true, nil
}

// done rejects fields and flags the line kind does not know, so that a
// typo is not silently ignored.
func (l *nativeLine) done(flags ...string) error {
	for k := range l.kv {
		if !l.used[k] {
			return l.errorf("unknown field %s", keyword(k))
		}
	}
	allowed := map[string]bool{}
	for _, f := range flags {
		allowed[f] = true
	}
	for f := range l.flags {
		if !allowed[f] {
			return l.errorf("unknown flag %s", keyword(f))
		}
	}
	return nil
}

func (l *nativeLine) sa() error {
	sa := SA{Proto: ipproto.ESP, Origin: l.p.origin(l.n), ESN: l.flags["esn"]}
	if l.kind == "ah" {
		sa.Proto = ipproto.AH
	}
	spi, err := l.need("spi")
	if err != nil {
		return err
	}
	if sa.SPI, sa.SPIWild, sa.AnySPI, err = parseSPI(spi); err != nil {
		return l.errorf("%v", err)
	}
	dst, err := l.need("dst")
	if err != nil {
		return err
	}
	if sa.Dst, err = parseAddr(dst, 0); err != nil {
		return l.errorf("dst %v", err)
	}
	if src, ok := l.get("src"); ok {
		if sa.Src, err = parseAddr(src, 0); err != nil {
			return l.errorf("src %v", err)
		}
	}
	if sa.Proto == ipproto.ESP {
		e, err := l.need("enc")
		if err != nil {
			return err
		}
		if sa.Enc, err = algo.ParseEnc(e); err != nil {
			return l.errorf("enc %s is not an encryption algorithm (README: Native key format)", keyword(e))
		}
		if sa.EncKey, err = l.hexField("enc-key", sa.Enc != algo.EncNull); err != nil {
			return err
		}
		if err := validEncKey(sa.Enc, sa.EncKey); err != nil {
			return l.errorf("%v", err)
		}
	} else {
		sa.Enc = algo.EncNull
	}
	sa.Auth = algo.AuthNone
	if a, ok := l.get("auth"); ok {
		if sa.Auth, err = algo.ParseAuth(a); err != nil {
			return l.errorf("auth %s is not an integrity algorithm (README: Native key format)", keyword(a))
		}
	} else if sa.Proto == ipproto.AH {
		return l.errorf("auth= is required")
	}
	if sa.Enc.AEAD() && sa.Auth != algo.AuthNone {
		return l.errorf("%s is a combined mode; auth must be none or absent", sa.Enc)
	}
	if sa.AuthKey, err = l.hexField("auth-key", sa.Auth.Checked()); err != nil {
		return err
	}
	if err := validAuthKey(sa.Auth, sa.AuthKey); err != nil {
		return l.errorf("%v", err)
	}
	l.p.shortAuthKey(l.n, l.kind+": auth-key: ", sa.Auth, sa.AuthKey)
	if e, ok := l.get("encap"); ok {
		s, d, ok := strings.Cut(e, ":")
		sp, err1 := strconv.ParseUint(s, 10, 16)
		dp, err2 := strconv.ParseUint(d, 10, 16)
		if !ok || err1 != nil || err2 != nil {
			return l.errorf("encap= is not SPORT:DPORT")
		}
		sa.EncapSport, sa.EncapDport = uint16(sp), uint16(dp)
	}
	if m, ok := l.get("mode"); ok {
		if m != "tunnel" && m != "transport" {
			return l.errorf("mode= is not tunnel or transport")
		}
		sa.Mode = m
	}
	if w, ok := l.get("replay-window"); ok {
		if sa.ReplayWindow, err = strconv.Atoi(w); err != nil || sa.ReplayWindow < 0 {
			return l.errorf("replay-window= is not a window size")
		}
	}
	if err := l.done("esn"); err != nil {
		return err
	}
	l.p.set.SAs = append(l.p.set.SAs, sa)
	return nil
}

func (l *nativeLine) ikev1() error {
	sa := IKEv1SA{Origin: l.p.origin(l.n)}
	var err error
	if sa.ICookie, _, err = l.cookie("icookie", true); err != nil {
		return err
	}
	if sa.RCookie, sa.HasRCookie, err = l.cookie("rcookie", false); err != nil {
		return err
	}
	if sa.EncKey, err = l.hexField("enc-key", true); err != nil {
		return err
	}
	if len(sa.EncKey) == 0 {
		return l.errorf("enc-key is empty")
	}
	if e, ok := l.get("enc"); ok {
		if sa.Enc, err = algo.ParseEnc(e); err != nil {
			return l.errorf("enc %s is not an encryption algorithm (README: Native key format)", keyword(e))
		}
	}
	if v, ok := l.get("prf"); ok {
		if sa.PRF, err = algo.ParsePRF(v); err != nil {
			return l.errorf("prf %s is not a PRF (README: Native key format)", keyword(v))
		}
	}
	if sa.SKEYIDd, err = l.hexField("skeyid-d", false); err != nil {
		return err
	}
	if sa.SKEYIDa, err = l.hexField("skeyid-a", false); err != nil {
		return err
	}
	if err := l.done(); err != nil {
		return err
	}
	l.p.set.IKEv1 = append(l.p.set.IKEv1, sa)
	return nil
}

func (l *nativeLine) ikev2() error {
	sa := IKEv2SA{Origin: l.p.origin(l.n)}
	var err error
	if sa.SPIi, _, err = l.cookie("spii", true); err != nil {
		return err
	}
	if sa.SPIr, _, err = l.cookie("spir", true); err != nil {
		return err
	}
	e, err := l.need("enc")
	if err != nil {
		return err
	}
	if sa.Enc, err = algo.ParseEnc(e); err != nil {
		return l.errorf("enc %s is not an encryption algorithm (README: Native key format)", keyword(e))
	}
	sa.Integ = algo.AuthNone
	if v, ok := l.get("integ"); ok {
		if sa.Integ, err = algo.ParseAuth(v); err != nil {
			return l.errorf("integ %s is not an integrity algorithm (README: Native key format)", keyword(v))
		}
	} else if !sa.Enc.AEAD() {
		return l.errorf("integ= is required with %s", sa.Enc)
	}
	v, err := l.need("prf")
	if err != nil {
		return err
	}
	if sa.PRF, err = algo.ParsePRF(v); err != nil {
		return l.errorf("prf %s is not a PRF (README: Native key format)", keyword(v))
	}
	for _, k := range []struct {
		name string
		dst  *[]byte
	}{{"sk-ei", &sa.SKei}, {"sk-er", &sa.SKer}} {
		if *k.dst, err = l.hexField(k.name, sa.Enc != algo.EncNull); err != nil {
			return err
		}
		if err := validEncKey(sa.Enc, *k.dst); err != nil {
			return l.errorf("%s: %v", k.name, err)
		}
	}
	for _, k := range []struct {
		name string
		dst  *[]byte
	}{{"sk-ai", &sa.SKai}, {"sk-ar", &sa.SKar}} {
		if *k.dst, err = l.hexField(k.name, sa.Integ.Checked()); err != nil {
			return err
		}
		l.p.shortAuthKey(l.n, l.kind+": "+k.name+": ", sa.Integ, *k.dst)
	}
	if sa.SKd, err = l.hexField("sk-d", false); err != nil {
		return err
	}
	if err := l.done(); err != nil {
		return err
	}
	l.p.set.IKEv2 = append(l.p.set.IKEv2, sa)
	return nil
}
