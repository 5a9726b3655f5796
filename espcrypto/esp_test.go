package espcrypto

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// ESN across the 2^32 boundary (RFC 4303 §2.2.1, Appendix A): NULL
// encryption with HMAC-SHA-256-128, SPI 0x1000, the same inner packet sent
// with sequence number 2^32-1 (wire 0xffffffff, high half 0) and 2^32 (wire
// 0, high half 1). The ICVs were computed with `openssl dgst -sha256 -mac
// HMAC -macopt hexkey:2021…3f` over SPI‖seq‖payload‖padding‖trailer‖seq-hi,
// outside this package.
const (
	esnKey    = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	esnBefore = "00001000ffffffff450000200000000040110000010203040506070800350035000000000102020495d5f63b7f4d5a1802b2cd6367a4b2d9"
	esnAfter  = "00001000000000004500002000000000401100000102030405060708003500350000000001020204b9c686f5da251e4eb1ea34e156a26511"
)

func TestESNBoundary(t *testing.T) {
	esn, err := New(ipproto.ESP, algo.EncNull, nil, algo.AuthHMACSHA256_128, unhex(t, esnKey), true)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(ipproto.ESP, algo.EncNull, nil, algo.AuthHMACSHA256_128, unhex(t, esnKey), false)
	if err != nil {
		t.Fatal(err)
	}
	before, after := unhex(t, esnBefore), unhex(t, esnAfter)
	inner := unhex(t, "45000020000000004011000001020304050607080035003500000000")
	tests := []struct {
		name  string
		tr    *Transform
		pkt   []byte
		seqHi uint32
		want  Outcome
	}{
		{"2^32-1 with high half 0", esn, before, 0, Accepted},
		{"2^32 with high half 1", esn, after, 1, Accepted},
		{"2^32 taken for 0 (window not advanced)", esn, after, 0, NotAuthenticated},
		{"2^32-1 taken for 2^64-1", esn, before, 1, NotAuthenticated},
		// A non-ESN SA does not append the high half, so neither verifies.
		{"non-ESN SA, hi 0 packet", plain, before, 0, NotAuthenticated},
		{"non-ESN SA, hi 1 packet", plain, after, 0, NotAuthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.tr.OpenESP(tc.pkt, tc.seqHi)
			if r.Outcome != tc.want {
				t.Fatalf("%v (%v), want %v", r.Outcome, r.Reason, tc.want)
			}
			if r.Outcome == Accepted && (string(r.Payload) != string(inner) || r.NextHeader != 4 || r.PadLen != 2) {
				t.Errorf("payload %x nh %d pad %d", r.Payload, r.NextHeader, r.PadLen)
			}
		})
	}
}

// sealNullSHA1 builds a NULL-encrypted ESP packet with an HMAC-SHA1-96 ICV.
// The trailer is whatever the test passes, which lets it produce packets
// whose integrity is fine but whose plaintext is not.
func sealNullSHA1(key []byte, body []byte) []byte {
	pkt := binary.BigEndian.AppendUint32(nil, 0x1234)
	pkt = binary.BigEndian.AppendUint32(pkt, 7)
	pkt = append(pkt, body...)
	m := hmac.New(sha1.New, key)
	m.Write(pkt)
	return append(pkt, m.Sum(nil)[:12]...)
}

// sealCBCSHA1 encrypts body (which must be whole blocks) with AES-CBC and
// adds an HMAC-SHA1-96 ICV over SPI, sequence number, IV and ciphertext.
func sealCBCSHA1(encKey, authKey, iv, body []byte) []byte {
	b, _ := aes.NewCipher(encKey)
	return sealCBC(b, authKey, iv, body)
}

// Fault injection: the expected verdicts follow from how each packet was
// built, per RFC 4303 §2.4/§3.4 and the definitions.
func TestESPFaults(t *testing.T) {
	authKey := unhex(t, ahKey)
	encKey := unhex(t, "000102030405060708090a0b0c0d0e0f")
	iv := unhex(t, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
	null, err := New(ipproto.ESP, algo.EncNull, nil, algo.AuthHMACSHA1_96, authKey, false)
	if err != nil {
		t.Fatal(err)
	}
	cbc, err := New(ipproto.ESP, algo.EncAESCBC, encKey, algo.AuthHMACSHA1_96, authKey, false)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("0123456789ab") // 12 bytes
	withTrailer := func(pad []byte, padLen, nh byte) []byte {
		b := append([]byte(nil), payload...)
		b = append(b, pad...)
		return append(b, padLen, nh)
	}
	flip := func(b []byte, off int) []byte {
		c := append([]byte(nil), b...)
		c[(off+len(c))%len(c)] ^= 0x04
		return c
	}
	good := sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 2, 6))
	// 16 bytes: 12 payload, padding 1..2, pad length, next header.
	cbcGood := sealCBCSHA1(encKey, authKey, iv, withTrailer([]byte{1, 2}, 2, 17))
	tests := []struct {
		name    string
		tr      *Transform
		pkt     []byte
		outcome Outcome
		reason  Reason
	}{
		{"good NULL", null, good, Accepted, ReasonNone},
		{"good AES-CBC", cbc, cbcGood, Accepted, ReasonNone},
		{"flipped ICV bit", null, flip(good, -1), NotAuthenticated, ReasonICVMismatch},
		{"flipped payload bit", null, flip(good, 10), NotAuthenticated, ReasonICVMismatch},
		{"flipped SPI bit", null, flip(good, 0), NotAuthenticated, ReasonICVMismatch},
		{"flipped ciphertext bit", cbc, flip(cbcGood, 30), NotAuthenticated, ReasonICVMismatch},
		{"flipped IV bit", cbc, flip(cbcGood, 9), NotAuthenticated, ReasonICVMismatch},
		{"pad length past payload", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 20, 6)), NotDecrypted, ReasonBadPadLen},
		{"padding 1,2,4", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2, 4, 4, 5, 6}, 6, 6)), NotDecrypted, ReasonBadPadding},
		{"all-zero padding", null, sealNullSHA1(authKey, withTrailer([]byte{0, 0}, 2, 6)), NotDecrypted, ReasonBadPadding},
		{"next header 0", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 2, 0)), NotDecrypted, ReasonBadNextHeader},
		{"next header 44 (fragment)", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 2, 44)), NotDecrypted, ReasonBadNextHeader},
		{"next header 200 (unassigned)", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 2, 200)), NotDecrypted, ReasonBadNextHeader},
		{"next header 59 (dummy)", null, sealNullSHA1(authKey, withTrailer([]byte{1, 2}, 2, 59)), Accepted, ReasonDummy},
		{"not 4-byte aligned", null, sealNullSHA1(authKey, withTrailer([]byte{1}, 1, 6)), NotDecrypted, ReasonBadLength},
		// Valid ICV over 20 bytes of ciphertext: not whole AES blocks.
		{"ciphertext not whole blocks", cbc, sealNullSHA1(authKey, append(iv, make([]byte, 20)...)), NotDecrypted, ReasonBadLength},
		// Valid ICV over a block whose plaintext ends in pad length 0xff.
		{"CBC plaintext with pad length 255", cbc, sealCBCSHA1(encKey, authKey, iv, withTrailer([]byte{1, 2}, 0xff, 4)), NotDecrypted, ReasonBadPadLen},
		{"too short for ICV", null, good[:18], Malformed, ReasonTruncated},
		{"too short for IV", cbc, cbcGood[:30], Malformed, ReasonTruncated},
		{"empty", cbc, nil, Malformed, ReasonTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.tr.OpenESP(tc.pkt, 0)
			if r.Outcome != tc.outcome || r.Reason != tc.reason {
				t.Errorf("%v (%v), want %v (%v)", r.Outcome, r.Reason, tc.outcome, tc.reason)
			}
			if r.Outcome == Accepted && string(r.Payload) != string(payload) {
				t.Errorf("payload %q", r.Payload)
			}
		})
	}
	if null.Checked() != true || cbc.ICVLen() != 12 || cbc.IVLen() != 16 {
		t.Error("accessors")
	}
}

// AES-GCM with 8- and 12-byte ICVs. RFC 4106 §6 makes the shorter ICVs the
// leftmost bytes of the 16-byte tag, so draft-mcgrew-gcm-test-01 §4 case 2
// (a 16-byte ICV) cut by 8 or 4 bytes is a valid packet for the shorter
// variants. The standard library will not open 8-byte tags; that path
// recomputes the full tag and compares its prefix.
const (
	gcmKeymat = "feffe9928665731c6d6a8f9467308308cafebabe"
	gcmESP16  = "0000a5f80000000afacedbaddecaf888deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd183b70d3aa8bc6ee4c309e9d85a41ad4a"
)

func TestGCMShortTags(t *testing.T) {
	full := unhex(t, gcmESP16)
	for _, tc := range []struct {
		enc algo.Enc
		cut int
	}{{algo.EncAESGCM8, 8}, {algo.EncAESGCM12, 4}, {algo.EncAESGCM16, 0}} {
		t.Run(tc.enc.String(), func(t *testing.T) {
			tr, err := New(ipproto.ESP, tc.enc, unhex(t, gcmKeymat), algo.AuthNone, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			pkt := full[:len(full)-tc.cut]
			r := tr.OpenESP(pkt, 0)
			if r.Outcome != Accepted || r.NextHeader != 1 {
				t.Fatalf("%v (%v) nh %d", r.Outcome, r.Reason, r.NextHeader)
			}
			bad := append([]byte(nil), pkt...)
			bad[len(bad)-1] ^= 1
			if r := tr.OpenESP(bad, 0); r.Outcome != NotAuthenticated {
				t.Errorf("flipped tag: %v", r.Outcome)
			}
			bad = append([]byte(nil), pkt...)
			bad[20] ^= 1
			if r := tr.OpenESP(bad, 0); r.Outcome != NotAuthenticated {
				t.Errorf("flipped ciphertext: %v", r.Outcome)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	k16 := make([]byte, 16)
	tests := []struct {
		name    string
		proto   uint8
		enc     algo.Enc
		encKey  []byte
		auth    algo.Auth
		authKey []byte
	}{
		{"protocol 17", 17, algo.EncNull, nil, algo.AuthNone, nil},
		{"ESP without encryption algorithm", ipproto.ESP, algo.EncUnknown, nil, algo.AuthHMACSHA1_96, k16},
		{"AES-CBC 15-byte key", ipproto.ESP, algo.EncAESCBC, k16[:15], algo.AuthNone, nil},
		{"GCM key without salt", ipproto.ESP, algo.EncAESGCM16, k16, algo.AuthNone, nil},
		{"GCM with HMAC", ipproto.ESP, algo.EncAESGCM16, make([]byte, 20), algo.AuthHMACSHA1_96, k16},
		{"HMAC without key", ipproto.ESP, algo.EncNull, nil, algo.AuthHMACSHA1_96, nil},
		{"XCBC 20-byte key", ipproto.ESP, algo.EncNull, nil, algo.AuthAESXCBC96, make([]byte, 20)},
		{"unknown integrity", ipproto.ESP, algo.EncNull, nil, algo.AuthUnknown, nil},
		{"AH with encryption", ipproto.AH, algo.EncAESCBC, k16, algo.AuthHMACSHA1_96, k16},
		{"AH without integrity", ipproto.AH, algo.EncNull, nil, algo.AuthNone, nil},
		{"AH with GMAC", ipproto.AH, algo.EncNull, nil, algo.AuthAESGMAC128, make([]byte, 20)},
		{"enc out of range", ipproto.ESP, algo.Enc(200), k16, algo.AuthNone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Recognisable key bytes, to catch them in error messages.
			for i := range tc.authKey {
				tc.authKey[i] = "s3cr3t-k3y-bytes-and-more"[i%25]
			}
			if _, err := New(tc.proto, tc.enc, tc.encKey, tc.auth, tc.authKey, false); err == nil {
				t.Fatal("accepted")
			} else if containsAny(err.Error(), "s3cr3t", "73336372") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				return true
			}
		}
	}
	return false
}
