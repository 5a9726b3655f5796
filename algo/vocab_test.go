package algo

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLinuxNames: the kernel's names (net/xfrm/xfrm_algo.c: .name and
// .uinfo.auth.icv_truncbits / .uinfo.aead.icv_truncbits), expected
// algorithms written from RFC 4868 §2.3 (truncation to half the hash),
// RFC 2403/2404/3566 (96 bits), RFC 4106/4309 (ICV 8, 12 or 16 octets).
func TestLinuxNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Enc
	}{
		{"cbc(aes)", EncAESCBC}, {"rfc3686(ctr(aes))", EncAESCTR}, {"cbc(des3_ede)", Enc3DESCBC},
		{"cbc(des)", EncDESCBC}, {"cbc(blowfish)", EncBlowfishCBC}, {"cbc(twofish)", EncTwofishCBC},
		{"cbc(cast5)", EncCAST5CBC}, {"ecb(cipher_null)", EncNull}, {"cipher_null", EncNull},
		{"cbc(serpent)", EncUnknown}, {"cbc(camellia)", EncUnknown}, {"rfc4106(gcm(aes))", EncUnknown},
	} {
		if got := EncFromLinux(tc.name); got != tc.want {
			t.Errorf("EncFromLinux(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		icv  int
		want Enc
	}{
		{"rfc4106(gcm(aes))", 64, EncAESGCM8}, {"rfc4106(gcm(aes))", 96, EncAESGCM12}, {"rfc4106(gcm(aes))", 128, EncAESGCM16},
		{"rfc4309(ccm(aes))", 64, EncAESCCM8}, {"rfc4309(ccm(aes))", 96, EncAESCCM12}, {"rfc4309(ccm(aes))", 128, EncAESCCM16},
		{"rfc4543(gcm(aes))", 128, EncNullAESGMAC}, {"rfc7539esp(chacha20,poly1305)", 128, EncChaCha20Poly1305},
		{"rfc4106(gcm(aes))", 0, EncUnknown}, {"rfc4106(gcm(aes))", 32, EncUnknown}, {"rfc7539esp(chacha20,poly1305)", 96, EncUnknown},
		{"cbc(aes)", 128, EncUnknown},
	} {
		if got := AEADFromLinux(tc.name, tc.icv); got != tc.want {
			t.Errorf("AEADFromLinux(%q, %d) = %v, want %v", tc.name, tc.icv, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name      string
		trunc     int
		want      Auth
		wantBits  int
		wantKnown bool
	}{
		{"hmac(md5)", 96, AuthHMACMD5_96, 96, true}, {"hmac(md5)", 0, AuthHMACMD5_96, 96, true},
		{"hmac(sha1)", 96, AuthHMACSHA1_96, 96, true}, {"hmac(sha1)", 0, AuthHMACSHA1_96, 96, true},
		{"hmac(sha1)", 160, AuthUnknown, 160, true},
		{"hmac(sha256)", 128, AuthHMACSHA256_128, 128, true},
		// The kernel's default for hmac(sha256) is the pre-RFC 4868 96 bits.
		{"hmac(sha256)", 0, AuthUnknown, 96, true}, {"hmac(sha256)", 96, AuthUnknown, 96, true},
		{"hmac(sha384)", 192, AuthHMACSHA384_192, 192, true}, {"hmac(sha384)", 0, AuthHMACSHA384_192, 192, true},
		{"hmac(sha512)", 256, AuthHMACSHA512_256, 256, true}, {"hmac(sha512)", 0, AuthHMACSHA512_256, 256, true},
		{"xcbc(aes)", 96, AuthAESXCBC96, 96, true}, {"xcbc(aes)", 0, AuthAESXCBC96, 96, true},
		{"digest_null", 0, AuthNone, 0, true},
		{"hmac(rmd160)", 96, AuthUnknown, 96, false}, {"cmac(aes)", 0, AuthUnknown, 0, false},
	} {
		a, bits, known := AuthFromLinux(tc.name, tc.trunc)
		if a != tc.want || bits != tc.wantBits || known != tc.wantKnown {
			t.Errorf("AuthFromLinux(%q, %d) = %v, %d, %v; want %v, %d, %v", tc.name, tc.trunc, a, bits, known, tc.want, tc.wantBits, tc.wantKnown)
		}
	}
	for bits, want := range map[int]Auth{64: AuthUnchecked64, 96: AuthUnchecked96, 128: AuthUnchecked128, 192: AuthUnchecked192, 256: AuthUnchecked256, 0: AuthUnknown, 80: AuthUnknown, 160: AuthUnknown} {
		if got := UncheckedICV(bits); got != want {
			t.Errorf("UncheckedICV(%d) = %v, want %v", bits, got, want)
		}
	}
}

// TestLinuxNamesInRealDumps: every algorithm line of the real `ip xfrm
// state` dumps kept as test data names an algorithm in the table.
func TestLinuxNamesInRealDumps(t *testing.T) {
	files, _ := filepath.Glob("../keys/testdata/xfrm-*.txt")
	more, _ := filepath.Glob("../hosts/testdata/linux-ip-*xfrm-state*.txt")
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("%d dumps", len(files))
	}
	re := regexp.MustCompile(`(?m)^\s+(enc|auth|auth-trunc|aead) (\S+)`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			switch m[1] {
			case "enc":
				if EncFromLinux(m[2]) == EncUnknown {
					t.Errorf("%s: enc %s unknown", f, m[2])
				}
			case "aead":
				if _, ok := linuxAEAD[m[2]]; !ok {
					t.Errorf("%s: aead %s unknown", f, m[2])
				}
			default:
				if _, _, known := AuthFromLinux(m[2], 0); !known {
					t.Errorf("%s: auth %s unknown", f, m[2])
				}
			}
		}
	}
	if seen < 20 {
		t.Errorf("only %d algorithm lines", seen)
	}
}

// TestStrongSwanNames: libstrongswan's names (crypter.c, signer.c, prf.c
// enum names), expected algorithms written from the names' meaning.
func TestStrongSwanNames(t *testing.T) {
	for name, want := range map[string]Enc{
		"NULL": EncNull, "AES_CBC": EncAESCBC, "aes_cbc": EncAESCBC, "AES_CTR": EncAESCTR,
		"AES_GCM_8": EncAESGCM8, "AES_GCM_12": EncAESGCM12, "AES_GCM_16": EncAESGCM16,
		"AES_CCM_8": EncAESCCM8, "AES_CCM_12": EncAESCCM12, "AES_CCM_16": EncAESCCM16,
		"NULL_AES_GMAC": EncNullAESGMAC, "CHACHA20_POLY1305": EncChaCha20Poly1305, "3DES_CBC": Enc3DESCBC,
		"DES_CBC": EncDESCBC, "BLOWFISH_CBC": EncBlowfishCBC, "TWOFISH_CBC": EncTwofishCBC, "CAST_CBC": EncCAST5CBC,
		"CAMELLIA_CBC": EncUnknown, "AES_CBC_128": EncUnknown, "": EncUnknown,
	} {
		if got := EncFromStrongSwan(name); got != want {
			t.Errorf("EncFromStrongSwan(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]Auth{
		"HMAC_MD5_96": AuthHMACMD5_96, "HMAC_SHA1_96": AuthHMACSHA1_96, "hmac_sha1_96": AuthHMACSHA1_96,
		"HMAC_SHA2_256_128": AuthHMACSHA256_128, "HMAC_SHA2_384_192": AuthHMACSHA384_192,
		"HMAC_SHA2_512_256": AuthHMACSHA512_256, "AES_XCBC_96": AuthAESXCBC96,
		"AES_128_GMAC": AuthAESGMAC128, "AES_192_GMAC": AuthAESGMAC128, "AES_256_GMAC": AuthAESGMAC128,
		"HMAC_SHA2_256_96": AuthUnknown, "AES_CMAC_96": AuthUnknown, "HMAC_SHA1_160": AuthUnknown,
	} {
		if got := AuthFromStrongSwan(name); got != want {
			t.Errorf("AuthFromStrongSwan(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]PRF{
		"PRF_HMAC_MD5": PRFHMACMD5, "PRF_HMAC_SHA1": PRFHMACSHA1, "PRF_HMAC_SHA2_256": PRFHMACSHA256,
		"PRF_HMAC_SHA2_384": PRFHMACSHA384, "PRF_HMAC_SHA2_512": PRFHMACSHA512, "PRF_AES128_XCBC": PRFAESXCBC,
		"PRF_AES128_CMAC": PRFAESCMAC, "prf_hmac_sha1": PRFHMACSHA1, "PRF_HMAC_TIGER": PRFUnknown, "HMAC_SHA1_96": PRFUnknown,
	} {
		if got := PRFFromStrongSwan(name); got != want {
			t.Errorf("PRFFromStrongSwan(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestStrongSwanNamesInLab: every algorithm name charon printed in the
// lab's recorded listings (swanctl --list-sas --raw) is in the table.
func TestStrongSwanNamesInLab(t *testing.T) {
	files, _ := filepath.Glob("../testdata/pcaps/lab/*/*-list-sas-*-raw.txt")
	if len(files) == 0 {
		t.Skip("no lab recordings")
	}
	re := regexp.MustCompile(`(encr-alg|integ-alg|prf-alg)=([A-Za-z0-9_]+)`)
	names := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[2]] = m[1]
		}
	}
	if len(names) < 8 {
		t.Fatalf("only %d names: %v", len(names), names)
	}
	for n, kind := range names {
		unknown := false
		switch kind {
		case "encr-alg":
			unknown = EncFromStrongSwan(n) == EncUnknown
		case "integ-alg":
			unknown = AuthFromStrongSwan(n) == AuthUnknown
		case "prf-alg":
			unknown = PRFFromStrongSwan(n) == PRFUnknown
		}
		if unknown {
			t.Errorf("%s %s is not in the table", kind, n)
		}
	}
}

// TestWiresharkNames: the esp_sa and ikev2_decryption_table names
// (packet-ipsec.c esp_encryption_type_vals / esp_authentication_type_vals,
// packet-isakmp.c vs_ikev2_encr_algs / vs_ikev2_auth_algs), read and
// written back.
func TestWiresharkNames(t *testing.T) {
	for _, tc := range []struct {
		name         string
		want         Enc
		known, exact bool
	}{
		{"TripleDES-CBC [RFC2451]", Enc3DESCBC, true, true},
		{"AES-GCM with 12 octet ICV [RFC4106]", EncAESGCM12, true, true},
		{"ChaCha20 with Poly1305 [RFC7634]", EncChaCha20Poly1305, true, true},
		{"AES-GCM [RFC4106]", EncAESGCM16, true, false},
		{"AES-GCM with IIV and 16 octet ICV [RFC4106 & RFC8750]", EncUnknown, true, false},
		{"AES-CBC", EncUnknown, false, false},
	} {
		e, known, exact := EncFromWiresharkESP(tc.name)
		if e != tc.want || known != tc.known || exact != tc.exact {
			t.Errorf("EncFromWiresharkESP(%q) = %v %v %v", tc.name, e, known, exact)
		}
	}
	for _, tc := range []struct {
		name         string
		want         Auth
		known, exact bool
	}{
		{"NULL", AuthNone, true, true},
		{"HMAC-SHA-256-128 [RFC4868]", AuthHMACSHA256_128, true, true},
		{"ANY 192 bit authentication [no checking]", AuthUnchecked192, true, true},
		{"HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]", AuthUnchecked96, true, false},
		{"MAC-RIPEMD-160-96 [RFC2857]", AuthUnchecked96, true, false},
		{"HMAC_SHA2_256_128 [RFC4868]", AuthUnknown, false, false}, // the IKEv2 table's spelling
	} {
		a, known, exact := AuthFromWiresharkESP(tc.name)
		if a != tc.want || known != tc.known || exact != tc.exact {
			t.Errorf("AuthFromWiresharkESP(%q) = %v %v %v", tc.name, a, known, exact)
		}
	}
	for _, tc := range []struct {
		name     string
		want     Enc
		keyBytes int
	}{
		{"AES-CBC-192 [RFC3602]", EncAESCBC, 24}, {"AES-CTR-128 [RFC5930]", EncAESCTR, 16},
		{"AES-GCM-256 with 8 octet ICV [RFC5282]", EncAESGCM8, 32}, {"AES-CCM-128 with 12 octet ICV [RFC5282]", EncAESCCM12, 16},
		{"3DES [RFC2451]", Enc3DESCBC, 24}, {"NULL [RFC2410]", EncNull, 0}, {"AES-CBC [RFC3602]", EncUnknown, 0},
	} {
		if e, k := EncFromWiresharkIKEv2(tc.name); e != tc.want || k != tc.keyBytes {
			t.Errorf("EncFromWiresharkIKEv2(%q) = %v %d", tc.name, e, k)
		}
	}
	for _, tc := range []struct {
		name  string
		want  Auth
		known bool
	}{
		{"HMAC_SHA2_512_256 [RFC4868]", AuthHMACSHA512_256, true}, {"NONE [RFC4306]", AuthNone, true},
		{"HMAC_SHA1_160 [RFC4595]", AuthUnknown, true}, {"HMAC-SHA-1-96 [RFC2404]", AuthUnknown, false},
	} {
		if a, known := AuthFromWiresharkIKEv2(tc.name); a != tc.want || known != tc.known {
			t.Errorf("AuthFromWiresharkIKEv2(%q) = %v %v", tc.name, a, known)
		}
	}
	// Written names: Wireshark 4.0's, and they read back as what was written.
	if _, ok := EncChaCha20Poly1305.WiresharkESPName(); ok {
		t.Error("ChaCha20-Poly1305 has no esp_sa name in Wireshark 4.0")
	}
	if n, _ := EncAESGCM16.WiresharkESPName(); n != "AES-GCM with 16 octet ICV [RFC4106]" {
		t.Errorf("AES-GCM-16 written as %q", n)
	}
	if n, _ := AuthUnchecked96.WiresharkESPName(); n != "ANY 96 bit authentication [no checking]" {
		t.Errorf("unchecked 96 written as %q", n)
	}
	for e := Enc(0); e < numEnc; e++ {
		if n, ok := e.WiresharkESPName(); ok {
			if got, _, exact := EncFromWiresharkESP(n); got != e || !exact {
				t.Errorf("%v written as %q reads back as %v", e, n, got)
			}
		}
		for _, k := range []int{0, 16, 24, 32} {
			if n, ok := e.WiresharkIKEv2Name(k); ok {
				if got, gk := EncFromWiresharkIKEv2(n); got != e || gk != k {
					t.Errorf("%v/%d written as %q reads back as %v/%d", e, k, n, got, gk)
				}
			}
		}
	}
	for a := Auth(0); a < numAuth; a++ {
		if n, ok := a.WiresharkESPName(); ok {
			if got, _, exact := AuthFromWiresharkESP(n); got != a || !exact {
				t.Errorf("%v written as %q reads back as %v", a, n, got)
			}
		}
		if n, ok := a.WiresharkIKEv2Name(); ok {
			if got, _ := AuthFromWiresharkIKEv2(n); got != a {
				t.Errorf("%v written as %q reads back as %v", a, n, got)
			}
		}
	}
}

// libwiresharkStrings reports which of names are NUL-terminated strings
// of the installed Wireshark 4.0's libwireshark (the test is skipped
// without it): the names are string constants of its read-only data.
func libwiresharkStrings(t *testing.T, names map[string]bool) map[string]bool {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("no tshark")
	}
	v, _ := exec.Command(tshark, "--version").Output()
	if !bytes.Contains(v, []byte("Wireshark) 4.0.")) {
		t.Skipf("not Wireshark 4.0: %s", bytes.SplitN(v, []byte("\n"), 2)[0])
	}
	ldd, _ := exec.Command("ldd", tshark).Output()
	lib := regexp.MustCompile(`/\S*libwireshark\.so\S*`).Find(ldd)
	if lib == nil {
		t.Skip("libwireshark not found")
	}
	ef, err := elf.Open(string(lib))
	if err != nil {
		t.Skip(err)
	}
	defer ef.Close()
	sec := ef.Section(".rodata")
	if sec == nil {
		t.Skip("no .rodata")
	}
	b, err := sec.Data()
	if err != nil {
		t.Skip(err)
	}
	found := map[string]bool{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			i = len(b)
		}
		if names[string(b[:i])] {
			found[string(b[:i])] = true
		}
		b = b[min(i+1, len(b)):]
	}
	return found
}

// TestWiresharkNamesInLibwireshark: every name not marked later is a
// string of the installed libwireshark when that is Wireshark 4.0, and
// those marked later are not (skipped without tshark 4.0).
func TestWiresharkNamesInLibwireshark(t *testing.T) {
	later := map[string]bool{}
	for _, e := range wsESPEnc {
		later[e.name] = e.later
	}
	for _, e := range wsESPAuth {
		later[e.name] = e.later
	}
	for _, e := range wsIKEv2Enc {
		if !strings.Contains(e.name, "octet ICV") { // the GCM/CCM names are built with a format string
			later[e.name] = e.later
		}
	}
	for _, e := range wsIKEv2Integ {
		later[e.name] = e.later
	}
	delete(later, "NULL") // too short to tell
	names := map[string]bool{}
	for n := range later {
		names[n] = true
	}
	found := libwiresharkStrings(t, names)
	for name, l := range later {
		if found[name] == l {
			t.Errorf("%q: in libwireshark 4.0 %v, table says later %v", name, found[name], l)
		}
	}
}
