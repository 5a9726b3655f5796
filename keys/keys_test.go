package keys

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// Lines in Wireshark's esp_sa syntax, written for this test with the
// algorithm names Wireshark 4.x uses (packet-ipsec.c); the corpus files
// themselves are parsed in corpus_test.go.
func TestWiresharkESP(t *testing.T) {
	k16 := strings.Repeat("ab", 16)
	tests := []struct {
		name string
		line string
		want wantSA
		// extra checks
		spiWild uint32
		anySPI  bool
		seqHi   uint32
		encKey  string // hex, when the decoding itself is under test
		warn    bool
		err     string
	}{
		{name: "AES-CBC, HMAC-SHA-256-128, IPv4",
			line: `"IPv4","10.0.0.1","10.0.0.2","0x00001234","AES-CBC [RFC3602]","0x` + k16 + `","HMAC-SHA-256-128 [RFC4868]","0x` + strings.Repeat("cd", 32) + `"`,
			want: wantSA{ipproto.ESP, 0x1234, "10.0.0.1", "10.0.0.2", algo.EncAESCBC, 16, algo.AuthHMACSHA256_128, 32, false, "", 0, 0, 0, false}},
		{name: "ASCII keys as in the 2006 wiki captures",
			line:   `"IPv6","3ffe::1","3ffe::2","10","TripleDES-CBC [RFC2451]","3descbcencryptiontesting","HMAC-MD5-96 [RFC2403]","hmacmd5authentic"`,
			want:   wantSA{ipproto.ESP, 10, "3ffe::1", "3ffe::2", algo.Enc3DESCBC, 24, algo.AuthHMACMD5_96, 16, false, "", 0, 0, 0, false},
			encKey: hexOf("3descbcencryptiontesting")},
		{name: "odd hex digits: the first digit is a byte of its own",
			line:   `"IPv6","3ffe::1","3ffe::3","*","BLOWFISH-CBC [RFC2451]","0xecafecacafecafebbccbbccdadaffff","HMAC-SHA-1-96 [RFC2404]","0x00fdabceff00aabb55412364d003219fffabc000"`,
			want:   wantSA{ipproto.ESP, 0, "3ffe::1", "3ffe::3", algo.EncBlowfishCBC, 16, algo.AuthHMACSHA1_96, 20, false, "", 0, 0, 0, false},
			anySPI: true, encKey: "0ecafecacafecafebbccbbccdadaffff"},
		{name: "GCM with wildcards, NULL authentication and empty key",
			line: `"IPv4","*","*","0xc1a9656b","AES-GCM with 16 octet ICV [RFC4106]","0x167fc4915921b24f27f71e7498b1978c238398d6","NULL",""`,
			want: wantSA{ipproto.ESP, 0xc1a9656b, "*", "*", algo.EncAESGCM16, 20, algo.AuthNone, 0, false, "", 0, 0, 0, false}},
		{name: "Wireshark 4.2 columns: 64-bit ESN and high bits",
			line:  `"IPv4","10.0.0.1","10.0.0.2","0x00000001","ChaCha20 with Poly1305 [RFC7634]","0x` + strings.Repeat("11", 36) + `","NULL","","64-bit","0x1f"`,
			want:  wantSA{ipproto.ESP, 1, "10.0.0.1", "10.0.0.2", algo.EncChaCha20Poly1305, 36, algo.AuthNone, 0, true, "", 0, 0, 0, false},
			seqHi: 0x1f},
		{name: "Any protocol, octet wildcard, CIDR, octal SPI",
			line: `"Any","10.1.*.*","192.168.0.0/24","010","NULL","","ANY 96 bit authentication [no checking]",""`,
			want: wantSA{ipproto.ESP, 8, "10.1.0.0/16", "192.168.0.0/24", algo.EncNull, 0, algo.AuthUnchecked96, 0, false, "", 0, 0, 0, false}},
		{name: "partial SPI wildcard",
			line:    `"IPv4","*","10.0.0.2","0x0000012*","DES-CBC [RFC2405]","descbcte","NULL",""`,
			want:    wantSA{ipproto.ESP, 0x120, "*", "10.0.0.2", algo.EncDESCBC, 8, algo.AuthNone, 0, false, "", 0, 0, 0, false},
			spiWild: 0xf},
		{name: "escaped quote in an ASCII key",
			line:   `"IPv4","*","*","1","CAST5-CBC [RFC2144]","sixteen\x22byte key","NULL",""`,
			want:   wantSA{ipproto.ESP, 1, "*", "*", algo.EncCAST5CBC, 16, algo.AuthNone, 0, false, "", 0, 0, 0, false},
			encKey: hexOf(`sixteen"byte key`)},
		{name: "old GCM name: 16-octet ICV assumed",
			line: `"IPv4","*","*","1","AES-GCM [RFC4106]","0x` + strings.Repeat("22", 20) + `","NULL",""`,
			want: wantSA{ipproto.ESP, 1, "*", "*", algo.EncAESGCM16, 20, algo.AuthNone, 0, false, "", 0, 0, 0, false}, warn: true},
		{name: "HMAC-SHA-256-96 kept unchecked",
			line: `"IPv4","*","*","1","NULL","","HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]","0x` + k16 + `"`,
			want: wantSA{ipproto.ESP, 1, "*", "*", algo.EncNull, 0, algo.AuthUnchecked96, 0, false, "", 0, 0, 0, false}, warn: true},
		{name: "implicit-IV GCM skipped", warn: true,
			line: `"IPv4","*","*","1","AES-GCM with IIV and 16 octet ICV [RFC4106 & RFC8750]","0x` + strings.Repeat("22", 20) + `","NULL",""`},
		{name: "unknown encryption",
			line: `"IPv4","*","*","1","AES-XTS","0x` + k16 + `","NULL",""`,
			err:  `keys: t:2: esp_sa: encryption (column 5) is not an algorithm name of Wireshark's esp_sa table`},
		{name: "wrong AES key length",
			line: `"IPv4","*","*","1","AES-CBC [RFC3602]","0x` + k16[:30] + `","NULL",""`,
			err:  `keys: t:2: esp_sa: aes-cbc key is 15 bytes; want 16, 24, 32`},
		{name: "GCM key without salt",
			line: `"IPv4","*","*","1","AES-GCM with 8 octet ICV [RFC4106]","0x` + k16 + `","NULL",""`,
			err:  `keys: t:2: esp_sa: aes-gcm-8 key (with its 4-byte salt) is 16 bytes; want 20, 28, 36`},
		{name: "bad hex in key",
			line: `"IPv4","*","*","1","AES-CBC [RFC3602]","0xs3cr3ts3cr3ts3cr3ts3cr3ts3cr3t12","NULL",""`,
			err:  `keys: t:2: esp_sa: encryption key not valid hexadecimal`},
		{name: "IPv6 address in an IPv4 row",
			line: `"IPv4","::1","*","1","NULL","","NULL",""`,
			err:  `keys: t:2: esp_sa: source address (column 2) is not IPv4`},
		{name: "HMAC without key",
			line: `"IPv4","*","*","1","NULL","","HMAC-SHA-1-96 [RFC2404]",""`,
			err:  `keys: t:2: esp_sa: hmac-sha1-96 needs a key`},
		{name: "seven fields",
			line: `"IPv4","*","*","1","NULL","","NULL"`,
			err:  `keys: t:2: esp_sa: 7 fields; want 8 (Wireshark ≤ 4.0) or 10 (4.2 and later)`},
		{name: "unterminated quote",
			line: `"IPv4","*","*","1","NULL","","NULL","`,
			err:  `keys: t:2: esp_sa: unterminated quoted field`},
		{name: "SPI too large",
			line: `"IPv4","*","*","0x100000000","NULL","","NULL",""`,
			err:  `keys: t:2: esp_sa: SPI is not a 32-bit number (column 4)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "# This file is automatically generated, DO NOT MODIFY.\n" + tc.line + "\n"
			if tc.err != "" {
				if got, set := problem("t", text); got != tc.err || set == nil || len(set.SAs) != 0 || set.Skipped != 1 {
					t.Fatalf("problem %q (%v)\nwant %s, the row skipped", got, set, tc.err)
				}
				return
			}
			set, err := Parse("t", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if (len(set.Warnings) > 0) != tc.warn {
				t.Errorf("warnings %q", set.Warnings)
			}
			if tc.want.proto == 0 {
				if len(set.SAs) != 0 {
					t.Fatalf("SA not skipped")
				}
				return
			}
			if len(set.SAs) != 1 {
				t.Fatalf("%d SAs", len(set.SAs))
			}
			sa := set.SAs[0]
			checkSA(t, 0, sa, tc.want)
			if sa.SPIWild != tc.spiWild || sa.AnySPI != tc.anySPI || sa.SeqHi != tc.seqHi {
				t.Errorf("wild %#x any %v seq-hi %#x", sa.SPIWild, sa.AnySPI, sa.SeqHi)
			}
			if tc.encKey != "" && fmt.Sprintf("%x", sa.EncKey) != tc.encKey {
				t.Errorf("encryption key %x, want %s", sa.EncKey, tc.encKey)
			}
			if sa.Origin != "t:2" {
				t.Errorf("origin %q", sa.Origin)
			}
		})
	}
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

func TestWiresharkIKE(t *testing.T) {
	v1 := "# This file is automatically generated, DO NOT MODIFY.\nfafaeb49382a763c,735be0cb62f82675c4f7bf8fbab9b56834ba76d6ab4fa240\n"
	set, err := Parse("ikev1", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.IKEv1) != 1 || fmt.Sprintf("%x", set.IKEv1[0].ICookie) != "fafaeb49382a763c" || len(set.IKEv1[0].EncKey) != 24 {
		t.Fatalf("%v", set.IKEv1)
	}
	if set.IKEv1For([8]byte{0xfa, 0xfa, 0xeb, 0x49, 0x38, 0x2a, 0x76, 0x3c}, [8]byte{}) == nil {
		t.Error("IKEv1For")
	}

	k := func(n int) string { return strings.Repeat("5a", n) }
	tests := []struct {
		name, line string
		enc        algo.Enc
		integ      algo.Auth
		err        string
		warn       bool
	}{
		{"AES-CBC-256 + SHA2-256", "5a64e0edca3a3614,7c9ebe2a8e9ff7b8," + k(32) + "," + k(32) + `,"AES-CBC-256 [RFC3602]",` + k(32) + "," + k(32) + `,"HMAC_SHA2_256_128 [RFC4868]"`, algo.EncAESCBC, algo.AuthHMACSHA256_128, "", false},
		{"AES-GCM-256/16, no integrity", "89922c915f35570e,98d56d32e2a04742," + k(36) + "," + k(36) + `,"AES-GCM-256 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"`, algo.EncAESGCM16, algo.AuthNone, "", false},
		{"AES-CCM-128/12", "ea684d21597afd36,d9fe2ab22dac23ac," + k(19) + "," + k(19) + `,"AES-CCM-128 with 12 octet ICV [RFC5282]",,,"NONE [RFC4306]"`, algo.EncAESCCM12, algo.AuthNone, "", false},
		{"NULL", `1234567890123456,0987654321098765,,,"NULL [RFC2410]",,,"NONE [RFC4306]"`, algo.EncNull, algo.AuthNone, "", false},
		{"unchecked integrity", "a2926ae833c6f138,5464c57d0dc5e272," + k(20) + "," + k(20) + `,"AES-CTR-128 [RFC5930]",,,"ANY 96-bits of Authentication [No Checking]"`, algo.EncAESCTR, algo.AuthUnchecked96, "", false},
		{"SHA1-160 skipped", "19ab98963486359f,78f13157ccd3b3d8," + k(24) + "," + k(24) + `,"3DES [RFC2451]",` + k(20) + "," + k(20) + `,"HMAC_SHA1_160 [RFC4595]"`, 0, 0, "", true},
		{"key length disagrees with the name", "5a64e0edca3a3614,7c9ebe2a8e9ff7b8," + k(16) + "," + k(32) + `,"AES-CBC-256 [RFC3602]",` + k(32) + "," + k(32) + `,"HMAC_SHA2_256_128 [RFC4868]"`, 0, 0, "keys: v2:1: ikev2_decryption_table: SK_ei is 16 bytes; AES-CBC-256 [RFC3602] wants 32", false},
		{"integrity key length", "5a64e0edca3a3614,7c9ebe2a8e9ff7b8," + k(32) + "," + k(32) + `,"AES-CBC-256 [RFC3602]",` + k(20) + "," + k(32) + `,"HMAC_SHA2_256_128 [RFC4868]"`, 0, 0, "keys: v2:1: ikev2_decryption_table: SK_ai is 20 bytes; HMAC_SHA2_256_128 [RFC4868] wants 32", false},
		{"short SPI", "5a64e0edca3a36,7c9ebe2a8e9ff7b8,,,\"NULL [RFC2410]\",,,\"NONE [RFC4306]\"", 0, 0, "keys: v2:1: not a key file format ipsecmon knows (Wireshark esp_sa, ikev1/ikev2_decryption_table, tcpdump -E secrets, ip xfrm state, ipsecmon native)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err != "" {
				if got, set := problem("v2", tc.line+"\n"); got != tc.err || set != nil && len(set.IKEv2) != 0 {
					t.Fatalf("problem %q (%v)\nwant %s", got, set, tc.err)
				}
				return
			}
			set, err := Parse("v2", []byte(tc.line+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.warn {
				// The row's warning, and the file's: nothing in it to use.
				if len(set.IKEv2) != 0 || len(set.Warnings) != 2 || set.Warnings[1] != "keys: v2: the file gives no keys ipsecmon can use" {
					t.Fatalf("%v %q", set.IKEv2, set.Warnings)
				}
				return
			}
			if len(set.IKEv2) != 1 || set.IKEv2[0].Enc != tc.enc || set.IKEv2[0].Integ != tc.integ {
				t.Fatalf("%v", set.IKEv2)
			}
			sa := set.IKEv2[0]
			if set.IKEv2For(sa.SPIi, sa.SPIr) != &set.IKEv2[0] {
				t.Error("IKEv2For")
			}
		})
	}
}

// Lines in tcpdump's -E syntax (tcpdump(1), print-esp.c), written for this
// test in the shape of tcpdump's own tests/esp-secrets.txt.
func TestTcpdump(t *testing.T) {
	in := "# a comment\n\n" +
		"0x12345678@192.1.2.45 3des-cbc-hmac96:0x" + strings.Repeat("43", 24) + "\n" +
		"0xd1234567@2001:db8::1 aes256-cbc:0x" + strings.Repeat("aa", 32) + "\n" +
		"blowfish-cbc:sixteen-byte-key\n" +
		"ikev2 I 0x0001020304050607 0xc02e7a3031a03188 sha1:0x" + strings.Repeat("4e", 20) + " aes128:0x" + strings.Repeat("3f", 16) + "\n" +
		"ikev2 R 0x0001020304050607 0xc02e7a3031a03188 sha1:0x" + strings.Repeat("51", 20) + " aes128:0x" + strings.Repeat("be", 16) + "\n"
	set, err := Parse("secrets", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.SAs) != 3 {
		t.Fatalf("%v", set.SAs)
	}
	checkSA(t, 0, set.SAs[0], wantSA{ipproto.ESP, 0x12345678, "*", "192.1.2.45", algo.Enc3DESCBC, 24, algo.AuthUnchecked96, 0, false, "", 0, 0, 0, false})
	checkSA(t, 1, set.SAs[1], wantSA{ipproto.ESP, 0xd1234567, "*", "2001:db8::1", algo.EncAESCBC, 32, algo.AuthNone, 0, false, "", 0, 0, 0, false})
	checkSA(t, 2, set.SAs[2], wantSA{ipproto.ESP, 0, "*", "*", algo.EncBlowfishCBC, 16, algo.AuthNone, 0, false, "", 0, 0, 0, false})
	if !set.SAs[2].AnySPI {
		t.Error("default SA must match every SPI")
	}
	if len(set.IKEv2) != 1 {
		t.Fatalf("%v", set.IKEv2)
	}
	ike := set.IKEv2[0]
	if ike.Enc != algo.EncAESCBC || ike.Integ != algo.AuthHMACSHA1_96 || ike.SKei[0] != 0x3f || ike.SKer[0] != 0xbe || ike.SKai[0] != 0x4e || ike.SKar[0] != 0x51 {
		t.Errorf("%v", ike)
	}
	for _, tc := range []struct{ line, err string }{
		{"0x1@10.0.0.1 rc5-cbc:0x" + strings.Repeat("00", 16), `keys: s:1: tcpdump secrets: the cipher before ":" is not one ipsecmon can use for ESP (des, 3des, aes128/192/256, blowfish, cast128, none)`},
		{"0x1@10.0.0.1 aes128-cbc:0x" + strings.Repeat("00", 32), "keys: s:1: tcpdump secrets: aes128 wants a 16-byte key, got 32"},
		{"zz@10.0.0.1 des-cbc:0x" + strings.Repeat("00", 8), "keys: s:1: tcpdump secrets: the SPI before @ is not a 32-bit number"},
		{"0x1@nowhere des-cbc:0x" + strings.Repeat("00", 8), "keys: s:1: tcpdump secrets: the address after @ is not an IP address"},
		{"file /etc/shadow", `keys: s:1: tcpdump secrets: "file" includes are not followed; give that file with its own --keys`},
		{"ikev2 X 0x0001020304050607 0xc02e7a3031a03188 sha1:0x00 aes128:0x00", "keys: s:1: not a key file format ipsecmon knows (Wireshark esp_sa, ikev1/ikev2_decryption_table, tcpdump -E secrets, ip xfrm state, ipsecmon native)"},
	} {
		if got, set := problem("s", tc.line); got != tc.err || set != nil && len(set.SAs)+len(set.IKEv2) != 0 {
			t.Errorf("%q: problem %q\nwant %s", tc.line, got, tc.err)
		}
	}
	// An odd hex digit is dropped as tcpdump does, with a warning.
	set, err = Parse("s", []byte("0x1@10.0.0.1 des-cbc:0x"+strings.Repeat("00", 8)+"f"))
	if err != nil || len(set.SAs[0].EncKey) != 8 || len(set.Warnings) != 1 {
		t.Errorf("%v %v %q", err, set, set.Warnings)
	}
}

func TestNative(t *testing.T) {
	in := `# ipsecmon native keys
esp   spi=0xc0ffee01 dst=10.0.0.2 src=10.0.0.1 enc=aes-cbc enc-key=0x` + strings.Repeat("01", 16) + ` auth=hmac-sha2-256-128 auth-key=` + strings.Repeat("02", 32) + ` esn encap=4500:4500 mode=tunnel replay-window=64
esp   spi=0x00000002 dst=2001:db8::/32 enc=aes-gcm-16 enc-key=` + strings.Repeat("03", 20) + `   # AEAD: no auth
ah    spi=0x00000100 dst=fe80::1 auth=hmac-sha1-96 auth-key=0x` + strings.Repeat("04", 20) + ` mode=transport
ikev1 icookie=fafaeb49382a763c enc-key=0x` + strings.Repeat("05", 24) + ` enc=3des-cbc prf=hmac-md5 skeyid-d=0x` + strings.Repeat("06", 16) + `
ikev2 spii=0001020304050607 spir=c02e7a3031a03188 enc=aes-cbc sk-ei=0x` + strings.Repeat("07", 16) + ` sk-er=0x` + strings.Repeat("08", 16) + ` integ=hmac-sha2-256-128 sk-ai=0x` + strings.Repeat("09", 32) + ` sk-ar=0x` + strings.Repeat("0a", 32) + ` prf=hmac-sha2-256 sk-d=0x` + strings.Repeat("0b", 32) + `
`
	set, err := Parse("native", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.SAs) != 3 || len(set.IKEv1) != 1 || len(set.IKEv2) != 1 {
		t.Fatalf("%v", set)
	}
	checkSA(t, 0, set.SAs[0], wantSA{ipproto.ESP, 0xc0ffee01, "10.0.0.1", "10.0.0.2", algo.EncAESCBC, 16, algo.AuthHMACSHA256_128, 32, true, "tunnel", 64, 4500, 4500, false})
	checkSA(t, 1, set.SAs[1], wantSA{ipproto.ESP, 2, "*", "2001:db8::/32", algo.EncAESGCM16, 20, algo.AuthNone, 0, false, "", 0, 0, 0, false})
	checkSA(t, 2, set.SAs[2], wantSA{ipproto.AH, 0x100, "*", "fe80::1", algo.EncNull, 0, algo.AuthHMACSHA1_96, 20, false, "transport", 0, 0, 0, false})
	if v1 := set.IKEv1[0]; v1.Enc != algo.Enc3DESCBC || v1.PRF != algo.PRFHMACMD5 || len(v1.SKEYIDd) != 16 || v1.HasRCookie {
		t.Errorf("%v", v1)
	}
	if v2 := set.IKEv2[0]; v2.PRF != algo.PRFHMACSHA256 || len(v2.SKd) != 32 || len(v2.SKar) != 32 {
		t.Errorf("%v", v2)
	}
	for _, tc := range []struct{ line, err string }{
		{"esp spi=1 dst=10.0.0.1 enc=aes-cbc", "keys: n:1: esp: enc-key= is required"},
		{"esp spi=1 dst=10.0.0.1 enc=aes-cbc enc-key=00 auth=none", "keys: n:1: esp: aes-cbc key is 1 bytes; want 16, 24, 32"},
		{"esp spi=1 dst=10.0.0.1 enc=rot13 enc-key=00", `keys: n:1: esp: enc "rot13" is not an encryption algorithm (README: Native key format)`},
		{"esp spi=1 dst=10.0.0.1 enc=null auth=hmac-sha1-96", "keys: n:1: esp: auth-key= is required"},
		{"esp spi=1 dst=10.0.0.1 enc=null colour=blue", `keys: n:1: esp: unknown field "colour"`},
		{"esp spi=1 dst=10.0.0.1 enc=null fast", `keys: n:1: esp: unknown flag "fast"`},
		{"esp spi=1 spi=2 dst=10.0.0.1 enc=null", `keys: n:1: esp: "spi" given twice`},
		{"esp spi=1 dst=10.0.0.1 enc=null encap=4500", "keys: n:1: esp: encap= is not SPORT:DPORT"},
		{"esp spi=1 dst=10.0.0.1 enc=aes-gcm-16 enc-key=" + strings.Repeat("00", 20) + " auth=hmac-sha1-96 auth-key=00", "keys: n:1: esp: aes-gcm-16 is a combined mode; auth must be none or absent"},
		{"esp spi=1 dst=10.0.0.1 enc=aes-cbc enc-key=0xabc", "keys: n:1: esp: enc-key odd number of hex digits"},
		{"esp spi=1 dst=10.0.0.1 enc=aes-cbc enc-key=0xs3cr3ts3cr3ts3cr3ts3cr3ts3cr3t00", "keys: n:1: esp: enc-key not valid hexadecimal"},
		{"ah spi=1 dst=10.0.0.1", "keys: n:1: ah: auth= is required"},
		{"ikev1 icookie=0011 enc-key=00", "keys: n:1: ikev1: icookie is 2 bytes; want 8"},
		{"ikev2 spii=0001020304050607 spir=0001020304050607 enc=aes-cbc prf=hmac-sha1 sk-ei=" + strings.Repeat("00", 16) + " sk-er=" + strings.Repeat("00", 16), "keys: n:1: ikev2: integ= is required with aes-cbc"},
		{"esp spi=1 dst=10.0.0.1 enc=null\nvpn spi=2", "keys: n:2: line kind \"vpn\" is not esp, ah, ikev1 or ikev2"},
	} {
		if got, _ := problem("n", tc.line); got != tc.err {
			t.Errorf("%q: problem %q\nwant %s", tc.line, got, tc.err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"", FormatUnknown},
		{"# only a comment\n\n", FormatUnknown},
		{"\"IPv4\",\"*\",\"*\",\"*\",\"NULL\",\"\",\"NULL\",\"\"", FormatWiresharkESP},
		{"fafaeb49382a763c,735be0cb", FormatWiresharkIKEv1},
		{"1234567890123456,0987654321098765,,,\"NULL [RFC2410]\",,,\"NONE [RFC4306]\"", FormatWiresharkIKEv2},
		{"0x1@10.0.0.1 des-cbc:0x00", FormatTcpdump},
		{"des-cbc:0x0011223344556677", FormatTcpdump},
		{"ikev2 I 0x00 0x00 sha1:0x00 aes128:0x00", FormatTcpdump},
		{"src 10.0.0.1 dst 10.0.0.2\n", FormatXfrm},
		{"esp spi=1 dst=10.0.0.1 enc=null", FormatNative},
		{"ikev2 spii=00 spir=00", FormatNative},
	} {
		got, err := Detect("d", []byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestESPFor(t *testing.T) {
	in := `"IPv4","*","*","*","NULL","","NULL",""
"IPv4","*","10.0.0.2","0x0000010*","NULL","","NULL",""
"IPv4","*","10.0.0.2","0x00000101","NULL","","NULL",""
"IPv4","10.0.0.1","10.0.0.2","0x00000101","NULL","","NULL",""
"IPv4","10.0.0.0/24","10.0.0.2","0x00000101","NULL","","NULL",""
"IPv6","*","*","0x00000101","NULL","","NULL",""
"Any","*","2001:db8::/32","0x00000200","NULL","","NULL",""
"IPv4","10.0.0.9","10.0.0.2","0x00000300","NULL","","NULL",""
"IPv4","10.0.0.9","10.0.0.2","0x00000300","NULL","","NULL",""
`
	set, err := Parse("lookup", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	tests := []struct {
		proto    uint8
		src, dst string
		spi      uint32
		want     int // line number, 0 for none
	}{
		{ipproto.ESP, "10.0.0.1", "10.0.0.2", 0x101, 4},               // exact beats prefix and wildcards
		{ipproto.ESP, "10.0.0.7", "10.0.0.2", 0x101, 5},               // /24 source beats *
		{ipproto.ESP, "10.9.0.7", "10.0.0.2", 0x101, 3},               // exact SPI, any source
		{ipproto.ESP, "10.9.0.7", "10.0.0.2", 0x102, 2},               // partial SPI wildcard
		{ipproto.ESP, "10.9.0.7", "10.0.0.3", 0x102, 1},               // everything wild
		{ipproto.ESP, "::1", "2001:db8::5", 0x101, 6},                 // IPv6 row
		{ipproto.ESP, "::1", "2001:db8::5", 0x200, 7},                 // Any-protocol row with a v6 prefix
		{ipproto.ESP, "10.0.0.1", "10.0.0.2", 0x200, 1},               // v4 packet: the v6 prefix does not match
		{ipproto.AH, "10.0.0.1", "10.0.0.2", 0x101, 0},                // esp_sa rows are ESP only
		{ipproto.ESP, "::ffff:10.0.0.1", "::ffff:10.0.0.2", 0x101, 4}, // mapped addresses unmapped
		{ipproto.ESP, "10.0.0.9", "10.0.0.2", 0x300, 8},               // a tie goes to the earlier line
	}
	check := func(t *testing.T, s *Set) {
		for _, tc := range tests {
			sa := s.ESPFor(tc.proto, a(tc.src), a(tc.dst), tc.spi)
			got := 0
			if sa != nil {
				fmt.Sscanf(sa.Origin, "lookup:%d", &got)
			}
			if got != tc.want {
				t.Errorf("%d %s>%s %#x: line %d, want %d", tc.proto, tc.src, tc.dst, tc.spi, got, tc.want)
			}
		}
	}
	t.Run("indexed", func(t *testing.T) { check(t, set) })
	// A Set changed by hand falls back to scanning.
	set.SAs = append(set.SAs, SA{Proto: ipproto.ESP, AnySPI: true, Origin: "lookup:99"})
	t.Run("scanned", func(t *testing.T) { check(t, set) })
	set.reindex()
	if n := testing.AllocsPerRun(100, func() { set.ESPFor(ipproto.ESP, a("10.0.0.1"), a("10.0.0.2"), 0x101) }); n != 0 {
		t.Errorf("ESPFor allocates %v times", n)
	}
}

func TestMergeAndLoad(t *testing.T) {
	dir := t.TempDir()
	xf := filepath.Join(dir, "xfrm")
	data, err := os.ReadFile(filepath.Join("testdata", "xfrm-moby-26523.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xf, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(dir, "esp_sa")
	if err := os.WriteFile(ws, []byte(`"IPv4","*","10.0.0.2","1","NULL","","NULL",""`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Load(xf)
	if err != nil || len(a.Warnings) != 0 {
		t.Fatalf("%v %q", err, a.Warnings)
	}
	b, err := Load(ws)
	if err != nil {
		t.Fatal(err)
	}
	if want := "keys: file " + ws + " is readable by group/others (mode 0644); key files are secrets"; len(b.Warnings) != 1 || b.Warnings[0] != want {
		t.Errorf("warnings %q", b.Warnings)
	}
	a.Merge(b)
	if len(a.SAs) != 5 || !a.Authoritative || len(a.Warnings) != 1 {
		t.Errorf("merged: %d SAs, authoritative %v, %q", len(a.SAs), a.Authoritative, a.Warnings)
	}
	if sa := a.ESPFor(ipproto.ESP, netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("10.0.0.2"), 1); sa == nil || !strings.HasPrefix(sa.Origin, ws) {
		t.Errorf("merged lookup: %v", sa)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "keys: open ") {
		t.Errorf("missing file: %v", err)
	}
}

// Keys must not appear in anything printed: errors (tested above with
// recognisable keys), String, GoString or %v of a Set.
func TestNoKeysInOutput(t *testing.T) {
	in := `"IPv4","*","*","1","AES-CBC [RFC3602]","0x5ec2e75ec2e75ec2e75ec2e75ec2e75e","HMAC-SHA-1-96 [RFC2404]","0xa17ca17ca17ca17ca17ca17ca17ca17ca17ca17c"`
	set, err := Parse("t", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	set.IKEv1 = append(set.IKEv1, IKEv1SA{EncKey: []byte{0x5e, 0xc2, 0xe7}})
	set.IKEv2 = append(set.IKEv2, IKEv2SA{SKei: []byte{0x5e, 0xc2, 0xe7}, SKd: []byte{0xa1, 0x7c}})
	for _, out := range []string{
		fmt.Sprint(set.SAs[0]), fmt.Sprintf("%+v", set.SAs[0]), fmt.Sprintf("%#v", set.SAs[0]),
		fmt.Sprintf("%v", *set), fmt.Sprintf("%+v", set.SAs), fmt.Sprintf("%#v", set.IKEv1), fmt.Sprintf("%v", set.IKEv2),
	} {
		if strings.Contains(out, "5ec2e7") || strings.Contains(out, "a17c") || bytes.Contains([]byte(out), []byte{0x5e, 0xc2}) ||
			strings.Contains(out, "94 194") || strings.Contains(out, "161 124") {
			t.Errorf("key material printed: %s", out)
		}
	}
}

// problem is what Parse said was wrong with text: its error (a file it
// cannot read at all), or the first entry it left out, without the words
// it adds to say so. set is nil when Parse refused the file.
func problem(name, text string) (msg string, set *Set) {
	set, err := Parse(name, []byte(text))
	if err != nil {
		return err.Error(), nil
	}
	for _, w := range set.Warnings {
		for _, suffix := range []string{"; entry skipped", "; the SA counts for SPI lookups only, without keys"} {
			if m, ok := strings.CutSuffix(w, suffix); ok {
				return m, set
			}
		}
	}
	return "", set
}
