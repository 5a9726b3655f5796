package keys

import (
	"strconv"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// uatRows calls fn with the 1-based line number and fields of each row of a
// Wireshark UAT file, skipping blank lines and comments. A row fn cannot
// read is skipped with a warning.
func (p *parser) uatRows(table string, lines []string, fn func(n int, f []uatField) error) error {
	for i, l := range lines {
		n := i + 1
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		f, err := splitUAT(t)
		if err != nil {
			p.skip(p.errorf(n, "%s: %v", table, err))
			continue
		}
		if err := fn(n, f); err != nil {
			p.skip(err)
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
			return p.errorf(n, "esp_sa: protocol (column 1) is not IPv4, IPv6 or Any")
		}
		if sa.Src, err = parseAddr(f[1].val, fam); err != nil {
			return p.errorf(n, "esp_sa: source address (column 2) %v", err)
		}
		if sa.Dst, err = parseAddr(f[2].val, fam); err != nil {
			return p.errorf(n, "esp_sa: destination address (column 3) %v", err)
		}
		if sa.SPI, sa.SPIWild, sa.AnySPI, err = parseSPI(f[3].val); err != nil {
			return p.errorf(n, "esp_sa: %v (column 4)", err)
		}
		encName, authName := f[4].val, f[6].val
		enc, known, exact := algo.EncFromWiresharkESP(encName)
		switch {
		case !known:
			return p.errorf(n, "esp_sa: encryption (column 5) is not an algorithm name of Wireshark's esp_sa table")
		case encName == algo.WiresharkESPGCMNoICV:
			p.warnf(n, "esp_sa: %q does not give the ICV length; assuming 16 octets", encName)
		case !exact:
			p.warnf(n, "esp_sa: encryption %q is not supported; SA skipped", encName)
			return nil
		}
		sa.Enc = enc
		if sa.Auth, known, exact = algo.AuthFromWiresharkESP(authName); !known {
			return p.errorf(n, "esp_sa: authentication (column 7) is not an algorithm name of Wireshark's esp_sa table")
		} else if !exact {
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
			p.shortAuthKey(n, "esp_sa: authentication key (column 8): ", sa.Auth, sa.AuthKey)
		}
		if len(f) == 10 {
			switch f[8].val {
			case "32-bit", "":
			case "64-bit":
				sa.ESN = true
			default:
				return p.errorf(n, "esp_sa: sequence number length (column 9) is not 32-bit or 64-bit")
			}
			if h := strings.TrimPrefix(strings.ToLower(f[9].val), "0x"); h != "" {
				v, err := strconv.ParseUint(h, 16, 32)
				if err != nil {
					return p.errorf(n, "esp_sa: ESN high bits (column 10) are not a 32-bit hex number")
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
		enc, encKeyBytes := algo.EncFromWiresharkIKEv2(encName)
		if enc == algo.EncUnknown {
			return p.errorf(n, "ikev2_decryption_table: encryption (column 5) is not an algorithm name of Wireshark's ikev2_decryption_table")
		}
		integ, known := algo.AuthFromWiresharkIKEv2(integName)
		if !known {
			return p.errorf(n, "ikev2_decryption_table: integrity (column 8) is not an algorithm name of Wireshark's ikev2_decryption_table")
		}
		if integ == algo.AuthUnknown {
			p.warnf(n, "ikev2_decryption_table: integrity %q is not supported; IKE SA skipped", integName)
			return nil
		}
		sa.Enc, sa.Integ = enc, integ
		names := []string{"SK_ei", "SK_er", "SK_ai", "SK_ar"}
		for k, dst := range []*[]byte{&sa.SKei, &sa.SKer, &sa.SKai, &sa.SKar} {
			col := []int{2, 3, 5, 6}[k]
			if *dst, err = decodeHexEven(f[col].val); err != nil {
				return p.errorf(n, "ikev2_decryption_table: %s %v", names[k], err)
			}
		}
		for k, key := range [][]byte{sa.SKei, sa.SKer} {
			if want := encKeyBytes + sa.Enc.SaltLen(); len(key) != want {
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
