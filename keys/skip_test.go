package keys

import (
	"strings"
	"testing"
)

// TestBadEntrySkipped: in every format, an entry that cannot be read is
// left out with a warning naming the file and line, and the entries around
// it are read (Wireshark skips bad rows of its key tables the same way).
func TestBadEntrySkipped(t *testing.T) {
	k16, k20 := strings.Repeat("11", 16), strings.Repeat("22", 20)
	for _, tc := range []struct {
		name, text string
		line       string // "file:line" the warning names
		sas, ike   int
	}{
		{"esp_sa", `"IPv4","10.0.0.1","10.0.0.2","0x00000101","AES-CBC [RFC3602]","0x` + k16 + `","NULL",""` + "\n" +
			`"IPv4","10.0.0.1","10.0.0.2","0x00000102","AES-CBC [RFC3602]","0x` + k16[:30] + `","NULL",""` + "\n" +
			`"IPv4","10.0.0.1","10.0.0.2","0x00000103","AES-CBC [RFC3602]","0x` + k16 + `","NULL",""` + "\n", "f:2", 2, 0},
		{"esp_sa unterminated quote", `"IPv4","10.0.0.1","10.0.0.2","0x00000101","AES-CBC [RFC3602]","0x` + k16 + `","NULL",""` + "\n" +
			`"IPv4","10.0.0.1` + "\n", "f:2", 1, 0},
		{"ikev2_decryption_table", "0001020304050607,08090a0b0c0d0e0f," + k16 + "," + k16 + `,"AES-CBC-128 [RFC3602]",` + k20 + "," + k20 + `,"HMAC_SHA1_96 [RFC2404]"` + "\n" +
			"1001020304050607,08090a0b0c0d0e0f," + k16 + "," + k16 + `,"AES-CBC-256 [RFC3602]",` + k20 + "," + k20 + `,"HMAC_SHA1_96 [RFC2404]"` + "\n", "f:2", 0, 1},
		{"tcpdump", "0x101@10.0.0.2 aes128-cbc:0x" + k16 + "\n0x102@10.0.0.2 rc5-cbc:0x" + k16 + "\nfile /etc/x\n0x103@10.0.0.2 aes128-cbc:0x" + k16 + "\n", "f:2", 2, 0},
		{"native", "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k16 + "\nesp spi=0x102 dst=10.0.0.2 enc=rot13\nesp spi=0x103 dst=10.0.0.2 enc=aes-cbc enc-key=" + k16 + "\n", "f:2", 2, 0},
		{"native duplicate field", "esp spi=0x101 spi=0x102 dst=10.0.0.2 enc=null\nesp spi=0x103 dst=10.0.0.2 enc=null\n", "f:1", 1, 0},
		{"ip xfrm state", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\n\tenc cbc(aes) 0x" + k16 + "\n" +
			"src 10.0.0.1 dst 10.0.0.2\n\tproto ah spi 0x00000102 mode tunnel\n" +
			"src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000103 mode tunnel\n\tenc cbc(aes) 0x" + k16 + "\n", "f:4", 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse("f", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if len(set.SAs) != tc.sas || len(set.IKEv2) != tc.ike || set.Skipped < 1 {
				t.Errorf("%d SAs, %d IKE SAs, %d skipped; want %d, %d, ≥1: %q", len(set.SAs), len(set.IKEv2), set.Skipped, tc.sas, tc.ike, set.Warnings)
			}
			if len(set.Warnings) == 0 || !strings.HasPrefix(set.Warnings[0], "keys: "+tc.line+": ") {
				t.Errorf("warnings %q; want the first to name %s", set.Warnings, tc.line)
			}
		})
	}
}

// TestXfrmUnreadableBlock: a block whose SPI is not known may have been an
// SA, so the dump is no longer the host's complete list (no Bad SPI may be
// concluded from it); one whose SPI is known still counts for lookups.
func TestXfrmUnreadableBlock(t *testing.T) {
	good := "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\n\tenc cbc(aes) 0x" + strings.Repeat("11", 16) + "\n"
	set, err := Parse("f", []byte(good+"src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x1g\n"))
	if err != nil || set.Authoritative || len(set.SAs) != 1 || set.Skipped != 1 {
		t.Errorf("unknown SPI: %v %v %q", err, set, set.Warnings)
	}
	set, err = Parse("f", []byte(good+"src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000102\n\tencap type espinudp sport x dport 4500\n"))
	if err != nil || !set.Authoritative || len(set.SAs) != 2 || !set.SAs[1].NoKeys || set.SAs[1].SPI != 0x102 || set.Skipped != 1 {
		t.Errorf("known SPI: %v %v %q", err, set, set.Warnings)
	}
	// An IPComp block that cannot be read takes no IPsec SA with it.
	set, err = Parse("f", []byte(good+"src 10.0.0.1 dst 10.0.0.2\n\tproto comp spi 0x00008a76\n\tencap type espinudp sport x dport 4500\n"))
	if err != nil || !set.Authoritative || len(set.SAs) != 1 || set.Skipped != 1 {
		t.Errorf("IPComp: %v %v %q", err, set, set.Warnings)
	}
}

// TestShortAuthKeyWarns: an integrity key shorter than the algorithm's
// (RFC 4868 §2.1.1: 32 bytes for HMAC-SHA-256-128; RFC 2404: 20 for
// HMAC-SHA1-96) is kept, with a warning naming the entry, in every format
// that gives one; a full-length key draws none.
func TestShortAuthKeyWarns(t *testing.T) {
	short, full := "0badcafe", strings.Repeat("33", 32)
	enc := strings.Repeat("11", 16)
	for _, tc := range []struct{ name, short, full string }{
		{"esp_sa",
			`"IPv4","*","10.0.0.2","0x00000101","AES-CBC [RFC3602]","0x` + enc + `","HMAC-SHA-256-128 [RFC4868]","0x` + short + `"`,
			`"IPv4","*","10.0.0.2","0x00000101","AES-CBC [RFC3602]","0x` + enc + `","HMAC-SHA-256-128 [RFC4868]","0x` + full + `"`},
		{"native", "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + enc + " auth=hmac-sha2-256-128 auth-key=" + short,
			"esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + enc + " auth=hmac-sha2-256-128 auth-key=" + full},
		{"native ikev2", "ikev2 spii=0001020304050607 spir=08090a0b0c0d0e0f enc=aes-cbc sk-ei=" + enc + " sk-er=" + enc + " integ=hmac-sha2-256-128 sk-ai=" + short + " sk-ar=" + full + " prf=hmac-sha2-256",
			"ikev2 spii=0001020304050607 spir=08090a0b0c0d0e0f enc=aes-cbc sk-ei=" + enc + " sk-er=" + enc + " integ=hmac-sha2-256-128 sk-ai=" + full + " sk-ar=" + full + " prf=hmac-sha2-256"},
		{"ip xfrm state", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\n\tauth-trunc hmac(sha256) 0x" + short + " 128\n\tenc cbc(aes) 0x" + enc,
			"src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\n\tauth-trunc hmac(sha256) 0x" + full + " 128\n\tenc cbc(aes) 0x" + enc},
		{"tcpdump ikev2", "ikev2 I 0x0001020304050607 0x08090a0b0c0d0e0f sha256:0x" + short + " aes128:0x" + enc,
			"ikev2 I 0x0001020304050607 0x08090a0b0c0d0e0f sha256:0x" + full + " aes128:0x" + enc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse("f", []byte(tc.short+"\n"))
			if err != nil || len(set.SAs)+len(set.IKEv2) != 1 {
				t.Fatalf("%v %v", err, set)
			}
			found := false
			for _, w := range set.Warnings {
				if strings.HasPrefix(w, "keys: f:1: ") && strings.Contains(w, "hmac-sha2-256-128 key is 4 bytes, shorter than the algorithm's 32") {
					found = true
				}
				if strings.Contains(w, short) {
					t.Errorf("warning shows the key: %s", w)
				}
			}
			if !found {
				t.Errorf("no warning about the 4-byte key: %q", set.Warnings)
			}
			set, err = Parse("f", []byte(tc.full+"\n"))
			if err != nil || len(set.Warnings) != 0 {
				t.Errorf("full-length key: %v %q", err, set.Warnings)
			}
		})
	}
}

// TestEmptyKeyFileWarns: a key file with nothing to use says so.
func TestEmptyKeyFileWarns(t *testing.T) {
	for name, text := range map[string]string{
		"empty":             "",
		"comments":          "# keys go here\n\n",
		"every row skipped": "esp spi=0x101 dst=10.0.0.2 enc=rot13\n",
		"only IPComp":       "src 10.0.0.1 dst 10.0.0.2\n\tproto comp spi 0x00008a76 reqid 1 mode tunnel\n",
	} {
		set, err := Parse("f", []byte(text))
		if err != nil || len(set.Warnings) == 0 || set.Warnings[len(set.Warnings)-1] != "keys: f: the file gives no keys ipsecmon can use" {
			t.Errorf("%s: %v %q", name, err, set.Warnings)
		}
	}
}
