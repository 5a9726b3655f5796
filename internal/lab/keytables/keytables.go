// Package keytables writes key material in the files the lab records beside
// each capture: Wireshark 4.0's esp_sa, ikev1_decryption_table and
// ikev2_decryption_table (UAT files, read from $XDG_CONFIG_HOME/wireshark)
// and ipsecmon's native key format (README.md "Native key format").
// Every file it writes has mode 0600: the files hold keys.
package keytables

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// File names, as Wireshark expects them in its configuration directory.
const (
	ESPSA   = "esp_sa"
	IKEv1   = "ikev1_decryption_table"
	IKEv2   = "ikev2_decryption_table"
	Native  = "keys.txt"
	Perm    = 0o600
	comment = "# Written by ipsecmon-lab from charon's own log (keys of a throwaway lab run).\n"
)

// Write writes the key files for set into dir. IKEv1/IKEv2 tables are only
// written when the set has SAs of that version.
func Write(dir string, set keys.Set) error {
	esp, err := ESPTable(set.SAs)
	if err != nil {
		return err
	}
	files := map[string][]byte{ESPSA: esp}
	if len(set.IKEv1) > 0 {
		files[IKEv1] = IKEv1Table(set.IKEv1)
	}
	if len(set.IKEv2) > 0 {
		t, err := IKEv2Table(set.IKEv2)
		if err != nil {
			return err
		}
		files[IKEv2] = t
	}
	nat, err := NativeFile(set)
	if err != nil {
		return err
	}
	files[Native] = nat
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, Perm); err != nil {
			return err
		}
		// WriteFile keeps the mode of an existing file.
		if err := os.Chmod(p, Perm); err != nil {
			return err
		}
	}
	return nil
}

// ESPName and ESPAuthName are the names Wireshark 4.0's esp_sa UAT uses.
func ESPName(e algo.Enc) (string, error) {
	if n, ok := e.WiresharkESPName(); ok {
		return n, nil
	}
	return "", fmt.Errorf("keytables: Wireshark has no ESP encryption name for %s", e)
}

func ESPAuthName(a algo.Auth) (string, error) {
	if n, ok := a.WiresharkESPName(); ok {
		return n, nil
	}
	return "", fmt.Errorf("keytables: Wireshark has no ESP authentication name for %s", a)
}

// IKEv2EncName and IKEv2IntegName are the names of Wireshark's
// ikev2_decryption_table; keyBytes excludes the salt.
func IKEv2EncName(e algo.Enc, keyBytes int) (string, error) {
	if n, ok := e.WiresharkIKEv2Name(keyBytes); ok {
		return n, nil
	}
	return "", fmt.Errorf("keytables: Wireshark has no IKEv2 encryption name for %s", e)
}

func IKEv2IntegName(a algo.Auth) (string, error) {
	if n, ok := a.WiresharkIKEv2Name(); ok {
		return n, nil
	}
	return "", fmt.Errorf("keytables: Wireshark has no IKEv2 integrity name for %s", a)
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// ESPTable is esp_sa: protocol, src, dst, SPI, encryption, key,
// authentication, key -- all quoted (Wireshark 4.0 UAT).
func ESPTable(sas []keys.SA) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(comment)
	for _, sa := range sas {
		if sa.Proto != ipproto.ESP {
			return nil, fmt.Errorf("keytables: SA 0x%08x: only ESP is supported", sa.SPI)
		}
		en, err := ESPName(sa.Enc)
		if err != nil {
			return nil, err
		}
		auth := sa.Auth
		if sa.Enc.AEAD() {
			auth = algo.AuthNone
		}
		an, err := ESPAuthName(auth)
		if err != nil {
			return nil, err
		}
		fam := "IPv4"
		if sa.Dst.Addr().Is6() {
			fam = "IPv6"
		}
		ek, ak := "", ""
		if len(sa.EncKey) > 0 {
			ek = "0x" + hx(sa.EncKey)
		}
		if len(sa.AuthKey) > 0 && auth != algo.AuthNone {
			ak = "0x" + hx(sa.AuthKey)
		}
		fmt.Fprintf(&b, "%q,%q,%q,\"0x%08x\",%q,%q,%q,%q\n", fam, sa.Src.Addr().String(), sa.Dst.Addr().String(), sa.SPI, en, ek, an, ak)
	}
	return b.Bytes(), nil
}

// IKEv1Table is ikev1_decryption_table: initiator cookie, encryption key
// (unquoted hex; Wireshark reads quoted hex as ASCII).
func IKEv1Table(sas []keys.IKEv1SA) []byte {
	var b bytes.Buffer
	b.WriteString(comment)
	for _, sa := range sas {
		fmt.Fprintf(&b, "%s,%s\n", hx(sa.ICookie[:]), hx(sa.EncKey))
	}
	return b.Bytes()
}

// IKEv2Table is ikev2_decryption_table: SPIi, SPIr, SK_ei, SK_er,
// "encryption", SK_ai, SK_ar, "integrity".
func IKEv2Table(sas []keys.IKEv2SA) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(comment)
	for _, sa := range sas {
		en, err := IKEv2EncName(sa.Enc, len(sa.SKei)-sa.Enc.SaltLen())
		if err != nil {
			return nil, err
		}
		integ := sa.Integ
		if sa.Enc.AEAD() {
			integ = algo.AuthNone
		}
		in, err := IKEv2IntegName(integ)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%q,%s,%s,%q\n", hx(sa.SPIi[:]), hx(sa.SPIr[:]), hx(sa.SKei), hx(sa.SKer), en, hx(sa.SKai), hx(sa.SKar), in)
	}
	return b.Bytes(), nil
}

// NativeFile is ipsecmon's own key format (README.md "Native key format").
func NativeFile(set keys.Set) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(comment)
	for _, sa := range set.IKEv1 {
		fmt.Fprintf(&b, "ikev1 icookie=%s rcookie=%s enc=%s enc-key=0x%s prf=%s skeyid-d=0x%s skeyid-a=0x%s\n",
			hx(sa.ICookie[:]), hx(sa.RCookie[:]), sa.Enc, hx(sa.EncKey), sa.PRF, hx(sa.SKEYIDd), hx(sa.SKEYIDa))
	}
	for _, sa := range set.IKEv2 {
		integ := sa.Integ
		if sa.Enc.AEAD() {
			integ = algo.AuthNone
		}
		fmt.Fprintf(&b, "ikev2 spii=%s spir=%s enc=%s sk-ei=0x%s sk-er=0x%s integ=%s", hx(sa.SPIi[:]), hx(sa.SPIr[:]), sa.Enc, hx(sa.SKei), hx(sa.SKer), integ)
		if integ != algo.AuthNone {
			fmt.Fprintf(&b, " sk-ai=0x%s sk-ar=0x%s", hx(sa.SKai), hx(sa.SKar))
		}
		fmt.Fprintf(&b, " prf=%s sk-d=0x%s\n", sa.PRF, hx(sa.SKd))
	}
	for _, sa := range set.SAs {
		if sa.Proto != ipproto.ESP {
			return nil, fmt.Errorf("keytables: SA 0x%08x: only ESP is supported", sa.SPI)
		}
		fmt.Fprintf(&b, "esp spi=0x%08x dst=%s src=%s enc=%s", sa.SPI, sa.Dst.Addr(), sa.Src.Addr(), sa.Enc)
		if len(sa.EncKey) > 0 {
			fmt.Fprintf(&b, " enc-key=0x%s", hx(sa.EncKey))
		}
		auth := sa.Auth
		if sa.Enc.AEAD() {
			auth = algo.AuthNone
		}
		fmt.Fprintf(&b, " auth=%s", auth)
		if auth != algo.AuthNone {
			fmt.Fprintf(&b, " auth-key=0x%s", hx(sa.AuthKey))
		}
		if sa.ESN {
			b.WriteString(" esn")
		}
		if sa.EncapSport != 0 || sa.EncapDport != 0 {
			fmt.Fprintf(&b, " encap=%d:%d", sa.EncapSport, sa.EncapDport)
		}
		if sa.Mode != "" {
			fmt.Fprintf(&b, " mode=%s", sa.Mode)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}
