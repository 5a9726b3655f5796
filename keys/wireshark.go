package keys

import (
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// Wireshark 4.x names (epan/dissectors/packet-ipsec.c value strings) of
// the esp_sa table's encryption and authentication columns.
var wsESPEnc = map[string]algo.Enc{
	"NULL":                                algo.EncNull,
	"TripleDES-CBC [RFC2451]":             algo.Enc3DESCBC,
	"AES-CBC [RFC3602]":                   algo.EncAESCBC,
	"AES-CTR [RFC3686]":                   algo.EncAESCTR,
	"DES-CBC [RFC2405]":                   algo.EncDESCBC,
	"CAST5-CBC [RFC2144]":                 algo.EncCAST5CBC,
	"BLOWFISH-CBC [RFC2451]":              algo.EncBlowfishCBC,
	"TWOFISH-CBC":                         algo.EncTwofishCBC,
	"AES-GCM with 8 octet ICV [RFC4106]":  algo.EncAESGCM8,
	"AES-GCM with 12 octet ICV [RFC4106]": algo.EncAESGCM12,
	"AES-GCM with 16 octet ICV [RFC4106]": algo.EncAESGCM16,
	"ChaCha20 with Poly1305 [RFC7634]":    algo.EncChaCha20Poly1305,
}

// Names Wireshark knows that ipsecmon cannot use; an SA naming one is
// skipped with a warning.
var wsESPEncUnsupported = map[string]bool{
	"AES-GCM with IIV and 16 octet ICV [RFC4106 & RFC8750]": true,
	"ChaCha20 with Poly1305 and IIV [RFC7634 & RFC8750]":    true,
}

// wsESPGCMNoICV is the name Wireshark before 3.6 used for AES-GCM; it does
// not say the ICV length. Such tables (the wiki's esp_sa.no_icv) are read as
// the common 16-octet ICV, with a warning.
const wsESPGCMNoICV = "AES-GCM [RFC4106]"

var wsESPAuth = map[string]algo.Auth{
	"NULL":                                     algo.AuthNone,
	"HMAC-SHA-1-96 [RFC2404]":                  algo.AuthHMACSHA1_96,
	"HMAC-SHA-256-128 [RFC4868]":               algo.AuthHMACSHA256_128,
	"HMAC-SHA-384-192 [RFC4868]":               algo.AuthHMACSHA384_192,
	"HMAC-SHA-512-256 [RFC4868]":               algo.AuthHMACSHA512_256,
	"HMAC-MD5-96 [RFC2403]":                    algo.AuthHMACMD5_96,
	"ANY 64 bit authentication [no checking]":  algo.AuthUnchecked64,
	"ANY 96 bit authentication [no checking]":  algo.AuthUnchecked96,
	"ANY 128 bit authentication [no checking]": algo.AuthUnchecked128,
	"ANY 192 bit authentication [no checking]": algo.AuthUnchecked192,
	"ANY 256 bit authentication [no checking]": algo.AuthUnchecked256,
}

// Authentication names Wireshark checks but ipsecmon does not: the SA is
// kept with an unchecked ICV of the same length, and a warning.
var wsESPAuthUnchecked = map[string]algo.Auth{
	"HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]": algo.AuthUnchecked96,
	"MAC-RIPEMD-160-96 [RFC2857]":                        algo.AuthUnchecked96,
}

// uatRows calls fn with the 1-based line number and fields of each row of a
// Wireshark UAT file, skipping blank lines and comments.
func (p *parser) uatRows(table string, lines []string, fn func(n int, f []uatField) error) error {
	for i, l := range lines {
		n := i + 1
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		f, err := splitUAT(t)
		if err != nil {
			return p.errorf(n, "%s: %v", table, err)
		}
		if err := fn(n, f); err != nil {
			return err
		}
	}
	return nil
}

// espSA reads Wireshark's esp_sa UAT: protocol, source, destination, SPI,
// encryption, encryption key, authentication, authentication key, and since
// Wireshark 4.2 the sequence number length ("32-bit"/"64-bit") and the ESN
// high bits (hex).
func (p *parser) espSA(lines []string) error {
	return p.uatRows("esp_sa", lines, func(n int, f []uatField) error {
		var err error
		if len(f) != 8 && len(f) != 10 {
			return p.errorf(n, "esp_sa: %d fields; want 8 (Wireshark ≤ 4.0) or 10 (4.2 and later)", len(f))
		}
		for k, q := range f {
			// The key columns may be unquoted hex in hand-written files.
			if !q.quoted && k != 5 && k != 7 && q.val != "" {
				return p.errorf(n, "esp_sa: field %d is not a quoted string", k+1)
			}
		}
		sa := SA{Proto: ipproto.ESP, Origin: p.origin(n)}
		fam := 0
		switch strings.ToLower(f[0].val) {
		case "ipv4":
			fam = 4
		case "ipv6":
			fam = 6
		case "any":
		default:
			return p.errorf(n, "esp_sa: protocol %q is not IPv4, IPv6 or Any", f[0].val)
		}
		if sa.Src, err = parseAddr(f[1].val, fam); err != nil {
			return p.errorf(n, "esp_sa: source %v", err)
		}
		if sa.Dst, err = parseAddr(f[2].val, fam); err != nil {
			return p.errorf(n, "esp_sa: destination %v", err)
		}
		if sa.SPI, sa.SPIWild, sa.AnySPI, err = parseSPI(f[3].val); err != nil {
			return p.errorf(n, "esp_sa: %v", err)
		}
		encName, authName := f[4].val, f[6].val
		var ok bool
		switch {
		case encName == wsESPGCMNoICV:
			sa.Enc = algo.EncAESGCM16
			p.warnf(n, "esp_sa: %q does not give the ICV length; assuming 16 octets", encName)
		case wsESPEncUnsupported[encName]:
			p.warnf(n, "esp_sa: encryption %q is not supported; SA skipped", encName)
			return nil
		default:
			if sa.Enc, ok = wsESPEnc[encName]; !ok {
				return p.errorf(n, "esp_sa: unknown encryption algorithm %q", encName)
			}
		}
		if sa.Auth, ok = wsESPAuth[authName]; !ok {
			if sa.Auth, ok = wsESPAuthUnchecked[authName]; !ok {
				return p.errorf(n, "esp_sa: unknown authentication algorithm %q", authName)
			}
			p.warnf(n, "esp_sa: authentication %q is not supported; its ICV is not checked", authName)
		}
		if sa.Enc.AEAD() && sa.Auth != algo.AuthNone {
			return p.errorf(n, "esp_sa: %s is a combined mode; authentication must be NULL", encName)
		}
		if sa.EncKey, err = wiresharkKey(f[5].val); err != nil {
			return p.errorf(n, "esp_sa: encryption key %v", err)
		}
		if err := validEncKey(sa.Enc, sa.EncKey); err != nil {
			return p.errorf(n, "esp_sa: %v", err)
		}
		if sa.Auth.Checked() {
			if sa.AuthKey, err = wiresharkKey(f[7].val); err != nil {
				return p.errorf(n, "esp_sa: authentication key %v", err)
			}
			if err := validAuthKey(sa.Auth, sa.AuthKey); err != nil {
				return p.errorf(n, "esp_sa: %v", err)
			}
		}
		if len(f) == 10 {
			switch f[8].val {
			case "32-bit", "":
			case "64-bit":
				sa.ESN = true
			default:
				return p.errorf(n, "esp_sa: sequence number length %q is not 32-bit or 64-bit", f[8].val)
			}
			if h := strings.TrimPrefix(strings.ToLower(f[9].val), "0x"); h != "" {
				v, err := strconv.ParseUint(h, 16, 32)
				if err != nil {
					return p.errorf(n, "esp_sa: ESN high bits %q are not a 32-bit hex number", f[9].val)
				}
				sa.SeqHi = uint32(v)
			}
		}
		p.set.SAs = append(p.set.SAs, sa)
		return nil
	})
}

// ikev1Table reads Wireshark's ikev1_decryption_table: initiator cookie and
// phase 1 encryption key, both hex.
func (p *parser) ikev1Table(lines []string) error {
	return p.uatRows("ikev1_decryption_table", lines, func(n int, f []uatField) error {
		var err error
		if len(f) != 2 {
			return p.errorf(n, "ikev1_decryption_table: %d fields; want 2 (initiator cookie, encryption key)", len(f))
		}
		sa := IKEv1SA{Origin: p.origin(n)}
		c, err := decodeHexEven(f[0].val)
		if err != nil || len(c) != 8 {
			return p.errorf(n, "ikev1_decryption_table: initiator cookie is not 16 hex digits")
		}
		copy(sa.ICookie[:], c)
		if sa.EncKey, err = decodeHexEven(f[1].val); err != nil {
			return p.errorf(n, "ikev1_decryption_table: encryption key %v", err)
		}
		if len(sa.EncKey) == 0 {
			return p.errorf(n, "ikev1_decryption_table: empty encryption key")
		}
		p.set.IKEv1 = append(p.set.IKEv1, sa)
		return nil
	})
}

// Wireshark's IKEv2 table names (epan/dissectors/packet-isakmp.c
// vs_ikev2_encr_algs, vs_ikev2_auth_algs) with the key length they imply.
var wsIKEv2Enc = map[string]struct {
	enc algo.Enc
	key int // bytes without salt
}{
	"NULL [RFC2410]":        {algo.EncNull, 0},
	"3DES [RFC2451]":        {algo.Enc3DESCBC, 24},
	"AES-CBC-128 [RFC3602]": {algo.EncAESCBC, 16},
	"AES-CBC-192 [RFC3602]": {algo.EncAESCBC, 24},
	"AES-CBC-256 [RFC3602]": {algo.EncAESCBC, 32},
	"AES-CTR-128 [RFC5930]": {algo.EncAESCTR, 16},
	"AES-CTR-192 [RFC5930]": {algo.EncAESCTR, 24},
	"AES-CTR-256 [RFC5930]": {algo.EncAESCTR, 32},
}

func init() {
	for _, m := range []struct {
		mode string
		icv  [3]algo.Enc // 8, 12, 16
	}{
		{"GCM", [3]algo.Enc{algo.EncAESGCM8, algo.EncAESGCM12, algo.EncAESGCM16}},
		{"CCM", [3]algo.Enc{algo.EncAESCCM8, algo.EncAESCCM12, algo.EncAESCCM16}},
	} {
		for _, bits := range []int{128, 192, 256} {
			for k, icv := range []int{8, 12, 16} {
				name := "AES-" + m.mode + "-" + strconv.Itoa(bits) + " with " + strconv.Itoa(icv) + " octet ICV [RFC5282]"
				wsIKEv2Enc[name] = struct {
					enc algo.Enc
					key int
				}{m.icv[k], bits / 8}
			}
		}
	}
}

var wsIKEv2Integ = map[string]algo.Auth{
	"NONE [RFC4306]":                               algo.AuthNone,
	"HMAC_MD5_96 [RFC2403]":                        algo.AuthHMACMD5_96,
	"HMAC_SHA1_96 [RFC2404]":                       algo.AuthHMACSHA1_96,
	"HMAC_SHA2_256_128 [RFC4868]":                  algo.AuthHMACSHA256_128,
	"HMAC_SHA2_384_192 [RFC4868]":                  algo.AuthHMACSHA384_192,
	"HMAC_SHA2_512_256 [RFC4868]":                  algo.AuthHMACSHA512_256,
	"ANY 64-bits of Authentication [No Checking]":  algo.AuthUnchecked64,
	"ANY 96-bits of Authentication [No Checking]":  algo.AuthUnchecked96,
	"ANY 128-bits of Authentication [No Checking]": algo.AuthUnchecked128,
	"ANY 192-bits of Authentication [No Checking]": algo.AuthUnchecked192,
	"ANY 256-bits of Authentication [No Checking]": algo.AuthUnchecked256,
}

// Integrity names Wireshark knows without an algo.Auth counterpart.
var wsIKEv2IntegUnsupported = map[string]bool{
	"HMAC_MD5_128 [RFC4595]":                              true,
	"HMAC_SHA1_160 [RFC4595]":                             true,
	"HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]": true,
	"ANY 160-bits of Authentication [No Checking]":        true,
}

// ikev2Table reads Wireshark's ikev2_decryption_table: SPIi, SPIr, SK_ei,
// SK_er, encryption, SK_ai, SK_ar, integrity (keys in hex).
func (p *parser) ikev2Table(lines []string) error {
	return p.uatRows("ikev2_decryption_table", lines, func(n int, f []uatField) error {
		var err error
		if len(f) != 8 {
			return p.errorf(n, "ikev2_decryption_table: %d fields; want 8", len(f))
		}
		sa := IKEv2SA{Origin: p.origin(n)}
		for k, dst := range []*[8]byte{&sa.SPIi, &sa.SPIr} {
			b, err := decodeHexEven(f[k].val)
			if err != nil || len(b) != 8 {
				return p.errorf(n, "ikev2_decryption_table: %s is not 16 hex digits", []string{"SPIi", "SPIr"}[k])
			}
			copy(dst[:], b)
		}
		encName, integName := f[4].val, f[7].val
		enc, ok := wsIKEv2Enc[encName]
		if !ok {
			return p.errorf(n, "ikev2_decryption_table: unknown encryption algorithm %q", encName)
		}
		if wsIKEv2IntegUnsupported[integName] {
			p.warnf(n, "ikev2_decryption_table: integrity %q is not supported; IKE SA skipped", integName)
			return nil
		}
		if sa.Integ, ok = wsIKEv2Integ[integName]; !ok {
			return p.errorf(n, "ikev2_decryption_table: unknown integrity algorithm %q", integName)
		}
		sa.Enc = enc.enc
		names := []string{"SK_ei", "SK_er", "SK_ai", "SK_ar"}
		for k, dst := range []*[]byte{&sa.SKei, &sa.SKer, &sa.SKai, &sa.SKar} {
			col := []int{2, 3, 5, 6}[k]
			if *dst, err = decodeHexEven(f[col].val); err != nil {
				return p.errorf(n, "ikev2_decryption_table: %s %v", names[k], err)
			}
		}
		for k, key := range [][]byte{sa.SKei, sa.SKer} {
			if want := enc.key + sa.Enc.SaltLen(); len(key) != want {
				return p.errorf(n, "ikev2_decryption_table: %s is %d bytes; %s wants %d", names[k], len(key), encName, want)
			}
		}
		for k, key := range [][]byte{sa.SKai, sa.SKar} {
			// IKEv2 integrity keys have the algorithm's key length (RFC 7296 §2.14).
			if want := sa.Integ.KeyLen(); sa.Integ.Checked() && len(key) != want {
				return p.errorf(n, "ikev2_decryption_table: %s is %d bytes; %s wants %d", names[2+k], len(key), integName, want)
			}
		}
		p.set.IKEv2 = append(p.set.IKEv2, sa)
		return nil
	})
}
