package iketest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/keys"
)

// Wireshark's ikev2_decryption_table algorithm names (as its UAT writes
// them) for the algorithms the corpus uses.
var wsEnc = map[string]algo.Enc{
	"NULL [RFC2410]":                          algo.EncNull,
	"3DES [RFC2451]":                          algo.Enc3DESCBC,
	"AES-CBC-128 [RFC3602]":                   algo.EncAESCBC,
	"AES-CBC-192 [RFC3602]":                   algo.EncAESCBC,
	"AES-CBC-256 [RFC3602]":                   algo.EncAESCBC,
	"AES-CTR-128 [RFC5930]":                   algo.EncAESCTR,
	"AES-CTR-192 [RFC5930]":                   algo.EncAESCTR,
	"AES-CTR-256 [RFC5930]":                   algo.EncAESCTR,
	"AES-GCM-128 with 8 octet ICV [RFC5282]":  algo.EncAESGCM8,
	"AES-GCM-192 with 8 octet ICV [RFC5282]":  algo.EncAESGCM8,
	"AES-GCM-256 with 8 octet ICV [RFC5282]":  algo.EncAESGCM8,
	"AES-GCM-128 with 16 octet ICV [RFC5282]": algo.EncAESGCM16,
	"AES-GCM-192 with 16 octet ICV [RFC5282]": algo.EncAESGCM16,
	"AES-GCM-256 with 16 octet ICV [RFC5282]": algo.EncAESGCM16,
	"AES-CCM-128 with 12 octet ICV [RFC5282]": algo.EncAESCCM12,
	"AES-CCM-256 with 16 octet ICV [RFC5282]": algo.EncAESCCM16,
}

var wsInteg = map[string]algo.Auth{
	"NONE [RFC4306]":                              algo.AuthNone,
	"HMAC_MD5_96 [RFC2403]":                       algo.AuthHMACMD5_96,
	"HMAC_SHA1_96 [RFC2404]":                      algo.AuthHMACSHA1_96,
	"HMAC_SHA2_256_128 [RFC4868]":                 algo.AuthHMACSHA256_128,
	"HMAC_SHA2_384_192 [RFC4868]":                 algo.AuthHMACSHA384_192,
	"HMAC_SHA2_512_256 [RFC4868]":                 algo.AuthHMACSHA512_256,
	"ANY 96-bits of Authentication [No Checking]": algo.AuthUnchecked96,
}

func readLines(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		for i := range fields {
			fields[i] = strings.Trim(fields[i], `"`)
		}
		out = append(out, fields)
	}
	return out, sc.Err()
}

func spi8(s string) ([8]byte, error) {
	var out [8]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return out, fmt.Errorf("SPI %q", s)
	}
	copy(out[:], b)
	return out, nil
}

// IKEv2Table reads a Wireshark ikev2_decryption_table (test use only; the
// keys package has the real parser).
func IKEv2Table(path string) ([]keys.IKEv2SA, error) {
	rows, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var out []keys.IKEv2SA
	for i, r := range rows {
		if len(r) != 8 {
			return nil, fmt.Errorf("%s: row %d has %d fields", path, i+1, len(r))
		}
		var sa keys.IKEv2SA
		var ok bool
		if sa.SPIi, err = spi8(r[0]); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+1, err)
		}
		if sa.SPIr, err = spi8(r[1]); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+1, err)
		}
		if sa.Enc, ok = wsEnc[r[4]]; !ok {
			return nil, fmt.Errorf("%s: row %d: encryption %q", path, i+1, r[4])
		}
		if sa.Integ, ok = wsInteg[r[7]]; !ok {
			return nil, fmt.Errorf("%s: row %d: integrity %q", path, i+1, r[7])
		}
		for _, kv := range []struct {
			dst *[]byte
			s   string
		}{{&sa.SKei, r[2]}, {&sa.SKer, r[3]}, {&sa.SKai, r[5]}, {&sa.SKar, r[6]}} {
			if *kv.dst, err = hex.DecodeString(kv.s); err != nil {
				return nil, fmt.Errorf("%s: row %d: bad hex key", path, i+1)
			}
		}
		sa.Origin = fmt.Sprintf("%s:%d", path, i+1)
		out = append(out, sa)
	}
	return out, nil
}

// IKEv1Table reads a Wireshark ikev1_decryption_table (initiator cookie,
// phase 1 encryption key).
func IKEv1Table(path string) ([]keys.IKEv1SA, error) {
	rows, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var out []keys.IKEv1SA
	for i, r := range rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("%s: row %d has %d fields", path, i+1, len(r))
		}
		var sa keys.IKEv1SA
		if sa.ICookie, err = spi8(r[0]); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+1, err)
		}
		if sa.EncKey, err = hex.DecodeString(r[1]); err != nil {
			return nil, fmt.Errorf("%s: row %d: bad hex key", path, i+1)
		}
		sa.Origin = fmt.Sprintf("%s:%d", path, i+1)
		out = append(out, sa)
	}
	return out, nil
}

// Native reads ipsecmon's native key format (README.md "Native key format")
// for tests: ikev1, ikev2 and esp lines. The keys package has the real
// parser; this one trusts its input.
func Native(path string) (*keys.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set := &keys.Set{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		hx := func(k string) []byte {
			b, _ := hex.DecodeString(strings.TrimPrefix(kv[k], "0x"))
			return b
		}
		origin := fmt.Sprintf("%s:%d", path, ln)
		switch fields[0] {
		case "ikev1":
			var sa keys.IKEv1SA
			copy(sa.ICookie[:], hx("icookie"))
			if _, ok := kv["rcookie"]; ok {
				copy(sa.RCookie[:], hx("rcookie"))
				sa.HasRCookie = true
			}
			sa.EncKey, sa.SKEYIDd, sa.SKEYIDa = hx("enc-key"), hx("skeyid-d"), hx("skeyid-a")
			sa.Enc, _ = algo.ParseEnc(kv["enc"])
			sa.PRF, _ = algo.ParsePRF(kv["prf"])
			sa.Origin = origin
			set.IKEv1 = append(set.IKEv1, sa)
		case "ikev2":
			var sa keys.IKEv2SA
			copy(sa.SPIi[:], hx("spii"))
			copy(sa.SPIr[:], hx("spir"))
			sa.Enc, _ = algo.ParseEnc(kv["enc"])
			sa.Integ, _ = algo.ParseAuth(kv["integ"])
			sa.PRF, _ = algo.ParsePRF(kv["prf"])
			sa.SKei, sa.SKer, sa.SKai, sa.SKar, sa.SKd = hx("sk-ei"), hx("sk-er"), hx("sk-ai"), hx("sk-ar"), hx("sk-d")
			sa.Origin = origin
			set.IKEv2 = append(set.IKEv2, sa)
		case "esp", "ah":
			sa := keys.SA{Proto: keys.ProtoESP, Origin: origin}
			if fields[0] == "ah" {
				sa.Proto = keys.ProtoAH
			}
			var spi uint64
			fmt.Sscanf(kv["spi"], "0x%x", &spi)
			sa.SPI = uint32(spi)
			if a, err := netip.ParseAddr(kv["dst"]); err == nil {
				sa.Dst = netip.PrefixFrom(a, a.BitLen())
			}
			if a, err := netip.ParseAddr(kv["src"]); err == nil {
				sa.Src = netip.PrefixFrom(a, a.BitLen())
			}
			sa.Enc, _ = algo.ParseEnc(kv["enc"])
			sa.Auth, _ = algo.ParseAuth(kv["auth"])
			sa.EncKey, sa.AuthKey = hx("enc-key"), hx("auth-key")
			_, sa.ESN = kv["esn"]
			sa.Mode = kv["mode"]
			set.SAs = append(set.SAs, sa)
		}
	}
	return set, sc.Err()
}
