package keys

import (
	"net/netip"
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// tcpdump's -E secrets (print-esp.c, espprint_decode_encalgo): an optional
// "SPI@dst", then "algo:secret". The algorithm is an OpenSSL cipher name
// after tcpdump strips "-hmac96" (which only says a 12-byte ICV follows; it
// is skipped, never checked) and "-cbc". A secret starting with 0x is hex,
// anything else ASCII. A line "ikev2 I|R 0xSPIi 0xSPIr integ:0xkey
// enc:0xkey" gives one direction's keys of an IKEv2 SA.
var tcpdumpCiphers = map[string]algo.Enc{
	"des":      algo.EncDESCBC,
	"3des":     algo.Enc3DESCBC, // tcpdump's alias for des-ede3-cbc
	"des3":     algo.Enc3DESCBC,
	"des-ede3": algo.Enc3DESCBC,
	"aes":      algo.EncAESCBC,
	"aes128":   algo.EncAESCBC,
	"aes192":   algo.EncAESCBC,
	"aes256":   algo.EncAESCBC,
	"aes-128":  algo.EncAESCBC,
	"aes-192":  algo.EncAESCBC,
	"aes-256":  algo.EncAESCBC,
	"bf":       algo.EncBlowfishCBC,
	"blowfish": algo.EncBlowfishCBC,
	"cast":     algo.EncCAST5CBC,
	"cast5":    algo.EncCAST5CBC,
	"cast128":  algo.EncCAST5CBC,
	"none":     algo.EncNull,
	"null":     algo.EncNull,
}

// tcpdumpAESBits pins the key length the OpenSSL name implies.
var tcpdumpAESBits = map[string]int{"aes128": 16, "aes192": 24, "aes256": 32, "aes-128": 16, "aes-192": 24, "aes-256": 32}

var tcpdumpInteg = map[string]algo.Auth{
	"md5":    algo.AuthHMACMD5_96,
	"sha1":   algo.AuthHMACSHA1_96,
	"sha256": algo.AuthHMACSHA256_128,
	"sha384": algo.AuthHMACSHA384_192,
	"sha512": algo.AuthHMACSHA512_256,
}

// tcpdumpSecret decodes tcpdump's secret: 0x and hex (an odd last digit is
// ignored, as tcpdump's espprint_decode_hex does), else ASCII.
func tcpdumpSecret(s string) ([]byte, bool, error) {
	if strings.HasPrefix(s, "0x") {
		h := s[2:]
		odd := len(h)%2 == 1
		if odd {
			h = h[:len(h)-1]
		}
		b, err := decodeHexEven(h)
		return b, odd, err
	}
	return []byte(s), false, nil
}

func (p *parser) tcpdumpAlgo(n int, tok string) (algo.Enc, algo.Auth, []byte, error) {
	name, secret, ok := strings.Cut(tok, ":")
	if !ok {
		return 0, 0, nil, p.errorf(n, "tcpdump secrets: the last field is not algo:secret")
	}
	auth := algo.AuthNone
	if strings.HasSuffix(name, "-hmac96") {
		name = strings.TrimSuffix(name, "-hmac96")
		auth = algo.AuthUnchecked96
	}
	name = strings.TrimSuffix(name, "-cbc")
	enc, ok := tcpdumpCiphers[strings.ToLower(name)]
	if !ok {
		return 0, 0, nil, p.errorf(n, "tcpdump secrets: the cipher before \":\" is not one ipsecmon can use for ESP (des, 3des, aes128/192/256, blowfish, cast128, none)")
	}
	key, odd, err := tcpdumpSecret(secret)
	if err != nil {
		return 0, 0, nil, p.errorf(n, "tcpdump secrets: secret %v", err)
	}
	if odd {
		p.warnf(n, "tcpdump secrets: odd number of hex digits; the last one is ignored, as tcpdump does")
	}
	if want, ok := tcpdumpAESBits[strings.ToLower(name)]; ok && len(key) != want {
		return 0, 0, nil, p.errorf(n, "tcpdump secrets: %s wants a %d-byte key, got %d", name, want, len(key))
	}
	if err := validEncKey(enc, key); err != nil {
		return 0, 0, nil, p.errorf(n, "tcpdump secrets: %v", err)
	}
	return enc, auth, key, nil
}

func (p *parser) tcpdump(lines []string) error {
	// IKEv2 lines come in I/R pairs; join them on the SPIs.
	ike := map[[16]byte]int{}
	for i, l := range lines {
		n := i + 1
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if err := p.tcpdumpLine(n, strings.Fields(t), ike); err != nil {
			p.skip(err)
		}
	}
	return nil
}

// tcpdumpLine reads one line of a secrets file.
func (p *parser) tcpdumpLine(n int, f []string, ike map[[16]byte]int) error {
	switch {
	case f[0] == "file":
		return p.errorf(n, "tcpdump secrets: \"file\" includes are not followed; give that file with its own --keys")
	case f[0] == "ikev2":
		return p.tcpdumpIKEv2(n, f, ike)
	case len(f) == 1:
		// No SPI@dst: tcpdump's default SA, for every SPI.
		enc, auth, key, err := p.tcpdumpAlgo(n, f[0])
		if err != nil {
			return err
		}
		p.set.SAs = append(p.set.SAs, SA{Proto: ipproto.ESP, AnySPI: true, Enc: enc, EncKey: key, Auth: auth, Origin: p.origin(n)})
	case len(f) == 2:
		spiS, dstS, ok := strings.Cut(f[0], "@")
		if !ok {
			return p.errorf(n, "tcpdump secrets: the first field is not SPI@address")
		}
		spi, err := strconv.ParseUint(spiS, 0, 32)
		if err != nil {
			return p.errorf(n, "tcpdump secrets: the SPI before @ is not a 32-bit number")
		}
		dst, err := netip.ParseAddr(dstS)
		if err != nil {
			return p.errorf(n, "tcpdump secrets: the address after @ is not an IP address")
		}
		enc, auth, key, err := p.tcpdumpAlgo(n, f[1])
		if err != nil {
			return err
		}
		dst = dst.Unmap()
		p.set.SAs = append(p.set.SAs, SA{
			Proto: ipproto.ESP, SPI: uint32(spi),
			Dst: netip.PrefixFrom(dst, dst.BitLen()),
			// tcpdump matches on SPI and destination only.
			Enc: enc, EncKey: key, Auth: auth, Origin: p.origin(n),
		})
	default:
		return p.errorf(n, "tcpdump secrets: %d fields; want [SPI@address] algo:secret", len(f))
	}
	return nil
}

func (p *parser) tcpdumpIKEv2(n int, f []string, ike map[[16]byte]int) error {
	if len(f) != 6 {
		return p.errorf(n, "tcpdump secrets: ikev2 line has %d fields; want ikev2 I|R 0xSPIi 0xSPIr integ:0xkey enc:0xkey", len(f))
	}
	if f[1] != "I" && f[1] != "R" {
		return p.errorf(n, "tcpdump secrets: ikev2 direction (field 2) is not I or R")
	}
	var spis [16]byte
	for k, s := range f[2:4] {
		if len(s) != 18 || !strings.HasPrefix(s, "0x") {
			return p.errorf(n, "tcpdump secrets: ikev2 %s (field %d) is not 0x and 16 hex digits", []string{"SPIi", "SPIr"}[k], 3+k)
		}
		b, err := decodeHexEven(s)
		if err != nil {
			return p.errorf(n, "tcpdump secrets: ikev2 %s (field %d) is not hexadecimal", []string{"SPIi", "SPIr"}[k], 3+k)
		}
		copy(spis[8*k:], b)
	}
	integName, integKeyS, ok := strings.Cut(f[4], ":")
	if !ok {
		return p.errorf(n, "tcpdump secrets: ikev2 integrity (field 5) is not algo:key")
	}
	integ, ok := tcpdumpInteg[strings.ToLower(integName)]
	if !ok {
		return p.errorf(n, "tcpdump secrets: ikev2 integrity (field 5) is not md5, sha1, sha256, sha384 or sha512")
	}
	integKey, _, err := tcpdumpSecret(integKeyS)
	if err != nil {
		return p.errorf(n, "tcpdump secrets: ikev2 integrity key %v", err)
	}
	p.shortAuthKey(n, "tcpdump secrets: ikev2 integrity: ", integ, integKey)
	enc, _, encKey, err := p.tcpdumpAlgo(n, f[5])
	if err != nil {
		return err
	}
	idx, seen := ike[spis]
	if !seen {
		sa := IKEv2SA{Enc: enc, Integ: integ, Origin: p.origin(n)}
		copy(sa.SPIi[:], spis[:8])
		copy(sa.SPIr[:], spis[8:])
		p.set.IKEv2 = append(p.set.IKEv2, sa)
		idx = len(p.set.IKEv2) - 1
		ike[spis] = idx
	}
	sa := &p.set.IKEv2[idx]
	if sa.Enc != enc || sa.Integ != integ {
		return p.errorf(n, "tcpdump secrets: ikev2 %s line names other algorithms than the line for the other direction", f[1])
	}
	switch f[1] {
	case "I":
		sa.SKei, sa.SKai = encKey, integKey
	case "R":
		sa.SKer, sa.SKar = encKey, integKey
	}
	return nil
}
