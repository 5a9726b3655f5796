package algo

import "strconv"

// Wireshark's names of the algorithms in its key tables (UAT files):
// esp_sa's encryption and authentication columns
// (epan/dissectors/packet-ipsec.c) and ikev2_decryption_table's
// (epan/dissectors/packet-isakmp.c vs_ikev2_encr_algs,
// vs_ikev2_auth_algs). Entries marked later are absent from Wireshark 4.0
// (checked against the strings of Debian 12's libwireshark 4.0.17), so
// tables written for the lab's tshark do not use them.

type wsName[T comparable] struct {
	name  string
	alg   T
	later bool // not in Wireshark 4.0
	// inexact: Wireshark checks this algorithm but ipsecmon does not; alg
	// is an unchecked ICV of the same length (or Unknown: unusable).
	inexact bool
}

var wsESPEnc = []wsName[Enc]{
	{name: "NULL", alg: EncNull},
	{name: "TripleDES-CBC [RFC2451]", alg: Enc3DESCBC},
	{name: "AES-CBC [RFC3602]", alg: EncAESCBC},
	{name: "AES-CTR [RFC3686]", alg: EncAESCTR},
	{name: "DES-CBC [RFC2405]", alg: EncDESCBC},
	{name: "CAST5-CBC [RFC2144]", alg: EncCAST5CBC},
	{name: "BLOWFISH-CBC [RFC2451]", alg: EncBlowfishCBC},
	{name: "TWOFISH-CBC", alg: EncTwofishCBC},
	{name: "AES-GCM with 8 octet ICV [RFC4106]", alg: EncAESGCM8},
	{name: "AES-GCM with 12 octet ICV [RFC4106]", alg: EncAESGCM12},
	{name: "AES-GCM with 16 octet ICV [RFC4106]", alg: EncAESGCM16},
	{name: "ChaCha20 with Poly1305 [RFC7634]", alg: EncChaCha20Poly1305, later: true},
	// Implicit IV (RFC 8750): ipsecmon cannot decrypt these.
	{name: "AES-GCM with IIV and 16 octet ICV [RFC4106 & RFC8750]", alg: EncUnknown, later: true, inexact: true},
	{name: "ChaCha20 with Poly1305 and IIV [RFC7634 & RFC8750]", alg: EncUnknown, later: true, inexact: true},
	// The name Wireshark before 3.6 used for AES-GCM; it does not say the
	// ICV length (the wiki's esp_sa.no_icv). Read as the common 16 octets.
	{name: WiresharkESPGCMNoICV, alg: EncAESGCM16, inexact: true},
}

// WiresharkESPGCMNoICV is the esp_sa name of AES-GCM in Wireshark before
// 3.6, which does not give the ICV length.
const WiresharkESPGCMNoICV = "AES-GCM [RFC4106]"

var wsESPAuth = []wsName[Auth]{
	{name: "NULL", alg: AuthNone},
	{name: "HMAC-SHA-1-96 [RFC2404]", alg: AuthHMACSHA1_96},
	{name: "HMAC-SHA-256-128 [RFC4868]", alg: AuthHMACSHA256_128},
	{name: "HMAC-SHA-384-192 [RFC4868]", alg: AuthHMACSHA384_192},
	{name: "HMAC-SHA-512-256 [RFC4868]", alg: AuthHMACSHA512_256},
	{name: "HMAC-MD5-96 [RFC2403]", alg: AuthHMACMD5_96},
	{name: "ANY 64 bit authentication [no checking]", alg: AuthUnchecked64},
	{name: "ANY 96 bit authentication [no checking]", alg: AuthUnchecked96},
	{name: "ANY 128 bit authentication [no checking]", alg: AuthUnchecked128},
	{name: "ANY 192 bit authentication [no checking]", alg: AuthUnchecked192},
	{name: "ANY 256 bit authentication [no checking]", alg: AuthUnchecked256},
	{name: "HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]", alg: AuthUnchecked96, inexact: true},
	{name: "MAC-RIPEMD-160-96 [RFC2857]", alg: AuthUnchecked96, inexact: true},
}

// wsIKEv2Enc: the IKEv2 table names the key length with the algorithm.
type wsIKEv2EncAlg struct {
	enc      Enc
	keyBytes int // without salt
}

var wsIKEv2Enc = []wsName[wsIKEv2EncAlg]{
	{name: "NULL [RFC2410]", alg: wsIKEv2EncAlg{EncNull, 0}},
	{name: "3DES [RFC2451]", alg: wsIKEv2EncAlg{Enc3DESCBC, 24}},
}

func init() {
	for _, bits := range []int{128, 192, 256} {
		b := strconv.Itoa(bits)
		wsIKEv2Enc = append(wsIKEv2Enc,
			wsName[wsIKEv2EncAlg]{name: "AES-CBC-" + b + " [RFC3602]", alg: wsIKEv2EncAlg{EncAESCBC, bits / 8}},
			wsName[wsIKEv2EncAlg]{name: "AES-CTR-" + b + " [RFC5930]", alg: wsIKEv2EncAlg{EncAESCTR, bits / 8}})
	}
	for _, m := range []struct {
		mode string
		icv  [3]Enc // 8, 12, 16 octets
	}{
		{"GCM", [3]Enc{EncAESGCM8, EncAESGCM12, EncAESGCM16}},
		{"CCM", [3]Enc{EncAESCCM8, EncAESCCM12, EncAESCCM16}},
	} {
		for _, bits := range []int{128, 192, 256} {
			for k, icv := range []int{8, 12, 16} {
				name := "AES-" + m.mode + "-" + strconv.Itoa(bits) + " with " + strconv.Itoa(icv) + " octet ICV [RFC5282]"
				wsIKEv2Enc = append(wsIKEv2Enc, wsName[wsIKEv2EncAlg]{name: name, alg: wsIKEv2EncAlg{m.icv[k], bits / 8}})
			}
		}
	}
}

var wsIKEv2Integ = []wsName[Auth]{
	{name: "NONE [RFC4306]", alg: AuthNone},
	{name: "HMAC_MD5_96 [RFC2403]", alg: AuthHMACMD5_96},
	{name: "HMAC_SHA1_96 [RFC2404]", alg: AuthHMACSHA1_96},
	{name: "HMAC_SHA2_256_128 [RFC4868]", alg: AuthHMACSHA256_128},
	{name: "HMAC_SHA2_384_192 [RFC4868]", alg: AuthHMACSHA384_192},
	{name: "HMAC_SHA2_512_256 [RFC4868]", alg: AuthHMACSHA512_256},
	{name: "ANY 64-bits of Authentication [No Checking]", alg: AuthUnchecked64},
	{name: "ANY 96-bits of Authentication [No Checking]", alg: AuthUnchecked96},
	{name: "ANY 128-bits of Authentication [No Checking]", alg: AuthUnchecked128},
	{name: "ANY 192-bits of Authentication [No Checking]", alg: AuthUnchecked192},
	{name: "ANY 256-bits of Authentication [No Checking]", alg: AuthUnchecked256},
	// Known to Wireshark, without an ipsecmon counterpart.
	{name: "HMAC_MD5_128 [RFC4595]", alg: AuthUnknown, inexact: true},
	{name: "HMAC_SHA1_160 [RFC4595]", alg: AuthUnknown, inexact: true},
	{name: "HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]", alg: AuthUnknown, inexact: true},
	{name: "ANY 160-bits of Authentication [No Checking]", alg: AuthUnknown, inexact: true},
}

func wsLookup[T comparable](table []wsName[T], name string) (wsName[T], bool) {
	for _, e := range table {
		if e.name == name {
			return e, true
		}
	}
	return wsName[T]{}, false
}

// wsNameOf is the name of alg that Wireshark 4.0 reads, if any.
func wsNameOf[T comparable](table []wsName[T], alg T) (string, bool) {
	for _, e := range table {
		if e.alg == alg && !e.later && !e.inexact {
			return e.name, true
		}
	}
	return "", false
}

// EncFromWiresharkESP maps an esp_sa encryption name. known is false for
// a name Wireshark does not have; exact is false when ipsecmon reads the
// name differently from Wireshark: as EncUnknown (an algorithm it cannot
// use) or by assumption (WiresharkESPGCMNoICV).
func EncFromWiresharkESP(name string) (e Enc, known, exact bool) {
	w, ok := wsLookup(wsESPEnc, name)
	return w.alg, ok, ok && !w.inexact
}

// AuthFromWiresharkESP maps an esp_sa authentication name. known is false
// for a name Wireshark does not have; exact is false for an algorithm
// Wireshark checks and ipsecmon does not (an unchecked ICV of its length).
func AuthFromWiresharkESP(name string) (a Auth, known, exact bool) {
	w, ok := wsLookup(wsESPAuth, name)
	return w.alg, ok, ok && !w.inexact
}

// EncFromWiresharkIKEv2 maps an ikev2_decryption_table encryption name and
// the key length it implies (bytes, without salt); EncUnknown for names
// Wireshark does not have.
func EncFromWiresharkIKEv2(name string) (e Enc, keyBytes int) {
	w, _ := wsLookup(wsIKEv2Enc, name)
	return w.alg.enc, w.alg.keyBytes
}

// AuthFromWiresharkIKEv2 maps an ikev2_decryption_table integrity name.
// known is false for a name Wireshark does not have; a known name with
// AuthUnknown is one ipsecmon has no counterpart for.
func AuthFromWiresharkIKEv2(name string) (a Auth, known bool) {
	w, ok := wsLookup(wsIKEv2Integ, name)
	return w.alg, ok
}

// WiresharkESPName is e's name in Wireshark 4.0's esp_sa table.
func (e Enc) WiresharkESPName() (string, bool) { return wsNameOf(wsESPEnc, e) }

// WiresharkESPName is a's name in Wireshark 4.0's esp_sa table.
func (a Auth) WiresharkESPName() (string, bool) { return wsNameOf(wsESPAuth, a) }

// WiresharkIKEv2Name is a's name in Wireshark 4.0's ikev2_decryption_table.
func (a Auth) WiresharkIKEv2Name() (string, bool) { return wsNameOf(wsIKEv2Integ, a) }

// WiresharkIKEv2Name is the name in Wireshark 4.0's ikev2_decryption_table
// of e with a key of keyBytes (without salt).
func (e Enc) WiresharkIKEv2Name(keyBytes int) (string, bool) {
	return wsNameOf(wsIKEv2Enc, wsIKEv2EncAlg{e, keyBytes})
}
