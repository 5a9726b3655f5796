package keytables

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

func set() keys.Set {
	var s keys.Set
	s.SAs = []keys.SA{
		{Proto: ipproto.ESP, Src: netip.MustParsePrefix("198.51.100.1/32"), Dst: netip.MustParsePrefix("198.51.100.2/32"), SPI: 0x6f03193f,
			Enc: algo.EncAESCBC, EncKey: []byte{0x01, 0x02}, Auth: algo.AuthHMACSHA256_128, AuthKey: []byte{0xaa}, EncapSport: 4500, EncapDport: 4500, Mode: "tunnel"},
		{Proto: ipproto.ESP, Src: netip.MustParsePrefix("198.51.100.2/32"), Dst: netip.MustParsePrefix("198.51.100.1/32"), SPI: 0x0000abcd,
			Enc: algo.EncAESGCM16, EncKey: []byte{0x03}, Auth: algo.AuthNone},
		{Proto: ipproto.ESP, Src: netip.MustParsePrefix("198.51.100.2/32"), Dst: netip.MustParsePrefix("198.51.100.1/32"), SPI: 1,
			Enc: algo.EncNull, Auth: algo.AuthHMACSHA1_96, AuthKey: []byte{0xbb}},
	}
	var c1, c2 [8]byte
	copy(c1[:], []byte{0xfa, 0xfa, 0xeb, 0x49, 0x38, 0x2a, 0x76, 0x3c})
	copy(c2[:], []byte{1, 2, 3, 4, 5, 6, 7, 8})
	s.IKEv1 = []keys.IKEv1SA{{ICookie: c1, RCookie: c2, HasRCookie: true, EncKey: []byte{0x73, 0x5b}, Enc: algo.Enc3DESCBC, PRF: algo.PRFHMACSHA256, SKEYIDd: []byte{0xd}, SKEYIDa: []byte{0xa}}}
	s.IKEv2 = []keys.IKEv2SA{
		{SPIi: c1, SPIr: c2, Enc: algo.EncAESCBC, SKei: make([]byte, 32), SKer: make([]byte, 32), Integ: algo.AuthHMACSHA512_256, SKai: []byte{1}, SKar: []byte{2}, PRF: algo.PRFHMACSHA512, SKd: []byte{3}},
		{SPIi: c2, SPIr: c1, Enc: algo.EncAESGCM16, SKei: make([]byte, 20), SKer: make([]byte, 20), Integ: algo.AuthNone, PRF: algo.PRFHMACSHA384, SKd: []byte{4}},
	}
	return s
}

// The expected lines follow the Wireshark 4.0 UAT layouts of the corpus'
// wireshark-tests and wiki key tables (quoted esp_sa, unquoted hex for IKE).
func TestTables(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, set()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		ESPSA: {
			`"IPv4","198.51.100.1","198.51.100.2","0x6f03193f","AES-CBC [RFC3602]","0x0102","HMAC-SHA-256-128 [RFC4868]","0xaa"`,
			`"IPv4","198.51.100.2","198.51.100.1","0x0000abcd","AES-GCM with 16 octet ICV [RFC4106]","0x03","NULL",""`,
			`"IPv4","198.51.100.2","198.51.100.1","0x00000001","NULL","","HMAC-SHA-1-96 [RFC2404]","0xbb"`,
		},
		IKEv1: {`fafaeb49382a763c,735b`},
		IKEv2: {
			`fafaeb49382a763c,0102030405060708,` + strings.Repeat("00", 32) + `,` + strings.Repeat("00", 32) + `,"AES-CBC-256 [RFC3602]",01,02,"HMAC_SHA2_512_256 [RFC4868]"`,
			`0102030405060708,fafaeb49382a763c,` + strings.Repeat("00", 20) + `,` + strings.Repeat("00", 20) + `,"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`,
		},
		Native: {
			`ikev1 icookie=fafaeb49382a763c rcookie=0102030405060708 enc=3des-cbc enc-key=0x735b prf=hmac-sha2-256 skeyid-d=0x0d skeyid-a=0x0a`,
			`ikev2 spii=fafaeb49382a763c spir=0102030405060708 enc=aes-cbc sk-ei=0x` + strings.Repeat("00", 32) + ` sk-er=0x` + strings.Repeat("00", 32) + ` integ=hmac-sha2-512-256 sk-ai=0x01 sk-ar=0x02 prf=hmac-sha2-512 sk-d=0x03`,
			`ikev2 spii=0102030405060708 spir=fafaeb49382a763c enc=aes-gcm-16 sk-ei=0x` + strings.Repeat("00", 20) + ` sk-er=0x` + strings.Repeat("00", 20) + ` integ=none prf=hmac-sha2-384 sk-d=0x04`,
			`esp spi=0x6f03193f dst=198.51.100.2 src=198.51.100.1 enc=aes-cbc enc-key=0x0102 auth=hmac-sha2-256-128 auth-key=0xaa encap=4500:4500 mode=tunnel`,
			`esp spi=0x0000abcd dst=198.51.100.1 src=198.51.100.2 enc=aes-gcm-16 enc-key=0x03 auth=none`,
			`esp spi=0x00000001 dst=198.51.100.1 src=198.51.100.2 enc=null auth=hmac-sha1-96 auth-key=0xbb`,
		},
	}
	for name, lines := range want {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(b)), "\n")
		if !strings.HasPrefix(got[0], "#") {
			t.Errorf("%s: no comment line first", name)
		}
		if strings.Join(got[1:], "\n") != strings.Join(lines, "\n") {
			t.Errorf("%s:\n%s\nwant:\n%s", name, strings.Join(got[1:], "\n"), strings.Join(lines, "\n"))
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}

func TestWriteKeepsModeOfExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ESPSA)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, set()); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}

func TestUnsupported(t *testing.T) {
	s := set()
	s.SAs[0].Enc = algo.EncChaCha20Poly1305
	if err := Write(t.TempDir(), s); err == nil || !strings.Contains(err.Error(), "no ESP encryption name for chacha20-poly1305") {
		t.Errorf("error %v", err)
	}
}
