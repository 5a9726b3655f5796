package algo

import "testing"

// TestIANARegistries: values read from the IANA registries and the RFCs
// that assigned them (RFC 7296 §3.3.2, RFC 2407 §4.4, RFC 2409 App. A,
// RFC 3602 AES-CBC, RFC 4106 GCM, RFC 4309 CCM, RFC 4543 GMAC, RFC 4868
// SHA-2, RFC 7634 ChaCha20-Poly1305, RFC 3526/5903/8031 groups).
func TestIANARegistries(t *testing.T) {
	for _, tc := range []struct {
		r    Registry
		id   uint16
		name string
	}{
		{IKEv2Encr, 3, "ENCR_3DES"}, {IKEv2Encr, 12, "ENCR_AES_CBC"}, {IKEv2Encr, 13, "ENCR_AES_CTR"},
		{IKEv2Encr, 16, "ENCR_AES_CCM_16"}, {IKEv2Encr, 20, "ENCR_AES_GCM_16"}, {IKEv2Encr, 21, "ENCR_NULL_AUTH_AES_GMAC"},
		{IKEv2Encr, 28, "ENCR_CHACHA20_POLY1305"},
		{IKEv2PRF, 2, "PRF_HMAC_SHA1"}, {IKEv2PRF, 4, "PRF_AES128_XCBC"}, {IKEv2PRF, 5, "PRF_HMAC_SHA2_256"}, {IKEv2PRF, 8, "PRF_AES128_CMAC"},
		{IKEv2Integ, 0, "NONE"}, {IKEv2Integ, 2, "AUTH_HMAC_SHA1_96"}, {IKEv2Integ, 5, "AUTH_AES_XCBC_96"},
		{IKEv2Integ, 12, "AUTH_HMAC_SHA2_256_128"}, {IKEv2Integ, 14, "AUTH_HMAC_SHA2_512_256"},
		{DHGroups, 2, "MODP-1024"}, {DHGroups, 14, "MODP-2048"}, {DHGroups, 19, "ECP-256"}, {DHGroups, 31, "CURVE25519"},
		{IKEv1ESP, 3, "ESP_3DES"}, {IKEv1ESP, 12, "ESP_AES-CBC"}, {IKEv1ESP, 20, "ESP_AES-GCM_16"}, {IKEv1ESP, 23, "ESP_NULL_AUTH_AES-GMAC"},
		{IKEv1AH, 3, "AH_SHA"}, {IKEv1AH, 5, "AH_SHA2-256"}, {IKEv1AH, 9, "AH_AES-XCBC-MAC"},
		{IKEv1AuthAlg, 1, "HMAC-MD5"}, {IKEv1AuthAlg, 2, "HMAC-SHA"}, {IKEv1AuthAlg, 5, "HMAC-SHA2-256"},
		{IKEv1P1Enc, 5, "3DES-CBC"}, {IKEv1P1Enc, 7, "AES-CBC"}, {IKEv1P1Hash, 2, "SHA"}, {IKEv1P1Hash, 4, "SHA2-256"},
	} {
		if got, ok := IANAName(tc.r, tc.id); !ok || got != tc.name {
			t.Errorf("registry %d value %d: %q %v, want %q", tc.r, tc.id, got, ok, tc.name)
		}
	}
	for _, tc := range []struct {
		r  Registry
		id uint16
	}{{IKEv2Encr, 0}, {IKEv2Encr, 10}, {IKEv2Encr, 1024}, {IKEv2PRF, 0}, {IKEv1ESP, 0}, {IKEv1AH, 1}, {DHGroups, 3}, {Registry(99), 1}} {
		if n, ok := IANAName(tc.r, tc.id); ok {
			t.Errorf("registry %d value %d is not registered, got %q", tc.r, tc.id, n)
		}
	}
}

// TestIANAAlgorithms: the registry values mapped to ipsecmon's algorithms,
// both ways.
func TestIANAAlgorithms(t *testing.T) {
	encs := []struct {
		v2, v1esp, v1p1 uint16
		want            Enc
	}{
		{12, 12, 7, EncAESCBC}, {3, 3, 5, Enc3DESCBC}, {2, 2, 1, EncDESCBC}, {7, 7, 3, EncBlowfishCBC}, {6, 6, 6, EncCAST5CBC},
		{13, 13, 0, EncAESCTR}, {18, 18, 0, EncAESGCM8}, {19, 19, 0, EncAESGCM12}, {20, 20, 0, EncAESGCM16},
		{14, 14, 0, EncAESCCM8}, {16, 16, 0, EncAESCCM16}, {21, 23, 0, EncNullAESGMAC}, {28, 0, 0, EncChaCha20Poly1305}, {11, 11, 0, EncNull},
	}
	for _, tc := range encs {
		if got := EncFromIKEv2(tc.v2); got != tc.want {
			t.Errorf("IKEv2 ENCR %d: %v, want %v", tc.v2, got, tc.want)
		}
		if tc.want.IKEv2() != tc.v2 || tc.want.IKEv1ESP() != tc.v1esp {
			t.Errorf("%v: IKEv2 %d IKEv1 %d, want %d %d", tc.want, tc.want.IKEv2(), tc.want.IKEv1ESP(), tc.v2, tc.v1esp)
		}
		if tc.v1esp != 0 && EncFromIKEv1ESP(tc.v1esp) != tc.want {
			t.Errorf("IKEv1 ESP %d: %v, want %v", tc.v1esp, EncFromIKEv1ESP(tc.v1esp), tc.want)
		}
		if tc.v1p1 != 0 && EncFromIKEv1Phase1(tc.v1p1) != tc.want {
			t.Errorf("IKEv1 phase 1 encryption %d: %v, want %v", tc.v1p1, EncFromIKEv1Phase1(tc.v1p1), tc.want)
		}
	}
	// Reserved and unassigned values are no algorithm (ESP transform 0 was
	// taken for ChaCha20-Poly1305, which has no IKEv1 number).
	for _, e := range []Enc{EncFromIKEv1ESP(0), EncFromIKEv2(0), EncFromIKEv2(23), EncFromIKEv1Phase1(0), EncFromIKEv1Phase1(8)} {
		if e != EncUnknown {
			t.Errorf("unassigned value: %v", e)
		}
	}
	for _, tc := range []struct {
		v2, v1, v1ah uint16
		want         Auth
	}{
		{1, 1, 2, AuthHMACMD5_96}, {2, 2, 3, AuthHMACSHA1_96}, {12, 5, 5, AuthHMACSHA256_128}, {13, 6, 6, AuthHMACSHA384_192},
		{14, 7, 7, AuthHMACSHA512_256}, {5, 9, 9, AuthAESXCBC96}, {9, 11, 11, AuthAESGMAC128}, {10, 12, 12, AuthAESGMAC128}, {11, 13, 13, AuthAESGMAC128},
	} {
		if AuthFromIKEv2(tc.v2) != tc.want || AuthFromIKEv1(tc.v1) != tc.want || AuthFromIKEv1AH(tc.v1ah) != tc.want {
			t.Errorf("%v: IKEv2 %d → %v, IKEv1 %d → %v, AH %d → %v", tc.want, tc.v2, AuthFromIKEv2(tc.v2), tc.v1, AuthFromIKEv1(tc.v1), tc.v1ah, AuthFromIKEv1AH(tc.v1ah))
		}
	}
	if AuthFromIKEv2(0) != AuthNone || AuthFromIKEv2(8) != AuthUnknown || AuthFromIKEv1(0) != AuthUnknown || AuthFromIKEv1AH(4) != AuthUnknown {
		t.Error("NONE, AES-CMAC-96, reserved 0 and AH_DES")
	}
	if AuthHMACSHA256_128.IKEv2() != 12 || AuthHMACSHA256_128.IKEv1() != 5 || AuthAESGMAC128.IKEv2() != 9 || AuthAESGMAC128.IKEv1() != 11 {
		t.Error("the first value registered for an algorithm is its number")
	}
	for _, tc := range []struct {
		v2, v1 uint16
		want   PRF
	}{{1, 1, PRFHMACMD5}, {2, 2, PRFHMACSHA1}, {5, 4, PRFHMACSHA256}, {6, 5, PRFHMACSHA384}, {7, 6, PRFHMACSHA512}, {4, 0, PRFAESXCBC}, {8, 0, PRFAESCMAC}} {
		if PRFFromIKEv2(tc.v2) != tc.want || tc.v1 != 0 && PRFFromIKEv1Hash(tc.v1) != tc.want {
			t.Errorf("%v: IKEv2 %d → %v, IKEv1 hash %d → %v", tc.want, tc.v2, PRFFromIKEv2(tc.v2), tc.v1, PRFFromIKEv1Hash(tc.v1))
		}
	}
	if PRFFromIKEv1Hash(0) != PRFUnknown || PRFFromIKEv1Hash(3) != PRFUnknown {
		t.Error("no hash and Tiger are no PRF")
	}
}
