package algo

import "testing"

// TestDisplay: the one vocabulary the views use (see display.go).
func TestDisplay(t *testing.T) {
	for _, tc := range []struct {
		e    Enc
		bits int
		want string
	}{
		{EncAESCBC, 128, "AES-CBC-128"}, {EncAESCBC, 0, "AES-CBC"}, {EncAESCTR, 256, "AES-CTR-256"},
		{EncAESGCM16, 256, "AES-GCM-256"}, {EncAESGCM8, 128, "AES-GCM-128 (8-byte ICV)"}, {EncAESGCM12, 192, "AES-GCM-192 (12-byte ICV)"},
		{EncAESCCM16, 128, "AES-CCM-128"}, {EncAESCCM8, 256, "AES-CCM-256 (8-byte ICV)"},
		{EncNullAESGMAC, 128, "AES-GMAC-128"}, {EncChaCha20Poly1305, 256, "ChaCha20-Poly1305-256"},
		{Enc3DESCBC, 192, "3DES-192"}, {EncDESCBC, 64, "DES-64"}, {EncNull, 0, "None"}, {EncNull, 128, "None"},
		{EncCAST5CBC, 128, "CAST-128"}, {EncBlowfishCBC, 128, "Blowfish-128"}, {EncUnknown, 0, "unknown"},
	} {
		if got := tc.e.DisplayKey(tc.bits); got != tc.want {
			t.Errorf("%v with %d bits: %q, want %q", tc.e, tc.bits, got, tc.want)
		}
	}
	for a, want := range map[Auth]string{AuthNone: "None", AuthHMACMD5_96: "MD5", AuthHMACSHA1_96: "SHA1", AuthHMACSHA256_128: "SHA-256",
		AuthHMACSHA384_192: "SHA-384", AuthHMACSHA512_256: "SHA-512", AuthAESXCBC96: "AES-XCBC", AuthAESGMAC128: "AES-GMAC"} {
		if got := a.Display(); got != want {
			t.Errorf("%v: %q, want %q", a, got, want)
		}
	}
	for g, want := range map[DHGroup]string{0: "None", 2: "MODP-1024", 14: "MODP-2048", 19: "ECP-256", 31: "CURVE25519", 3: "group 3", 1000: "group 1000"} {
		if got := g.Display(); got != want {
			t.Errorf("group %d: %q, want %q", g, got, want)
		}
	}
	if DHGroup(0).String() != "NONE" || DHGroup(14).String() != "MODP-2048" || DHGroup(3).String() != "UNKNOWN(3)" {
		t.Error("DHGroup.String is the registry's name")
	}
}
