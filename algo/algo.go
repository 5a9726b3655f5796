// Package algo is the one vocabulary of ESP, AH and IKE algorithms that key
// files, IKE negotiations, the crypto code and the views share. Each
// algorithm has a canonical name (used in ipsecmon's native key format) and
// the numbers IKEv1 and IKEv2 give it on the wire, so that a suite negotiated
// on the wire and a suite read from a key file compare equal.
package algo

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// Enc is an ESP encryption (or combined-mode) algorithm.
type Enc uint8

const (
	EncUnknown Enc = iota
	EncNull
	EncAESCBC
	EncAESCTR
	EncAESGCM8
	EncAESGCM12
	EncAESGCM16
	EncAESCCM8
	EncAESCCM12
	EncAESCCM16
	EncNullAESGMAC
	EncChaCha20Poly1305
	Enc3DESCBC
	EncDESCBC
	EncBlowfishCBC
	EncTwofishCBC
	EncCAST5CBC
	numEnc
)

type encInfo struct {
	name     string // canonical, used in native key files
	display  string // shown in the views
	aead     bool
	icv      int   // AEAD tag length
	salt     int   // bytes of the key material that are salt/nonce (RFC 4106, 3686, 4309, 7634)
	iv       int   // explicit IV on the wire
	block    int   // cipher block size; the ESP payload must be a multiple of max(block, 4)
	keyBytes []int // valid key lengths without the salt
}

var encTable = [numEnc]encInfo{
	EncUnknown:          {name: "unknown", display: "unknown"},
	EncNull:             {name: "null", display: "None", block: 1, keyBytes: []int{0}},
	EncAESCBC:           {name: "aes-cbc", display: "AES-CBC", iv: 16, block: 16, keyBytes: []int{16, 24, 32}},
	EncAESCTR:           {name: "aes-ctr", display: "AES-CTR", salt: 4, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESGCM8:          {name: "aes-gcm-8", display: "AES-GCM (8-byte ICV)", aead: true, icv: 8, salt: 4, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESGCM12:         {name: "aes-gcm-12", display: "AES-GCM (12-byte ICV)", aead: true, icv: 12, salt: 4, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESGCM16:         {name: "aes-gcm-16", display: "AES-GCM", aead: true, icv: 16, salt: 4, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESCCM8:          {name: "aes-ccm-8", display: "AES-CCM (8-byte ICV)", aead: true, icv: 8, salt: 3, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESCCM12:         {name: "aes-ccm-12", display: "AES-CCM (12-byte ICV)", aead: true, icv: 12, salt: 3, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncAESCCM16:         {name: "aes-ccm-16", display: "AES-CCM", aead: true, icv: 16, salt: 3, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncNullAESGMAC:      {name: "aes-gmac", display: "None (AES-GMAC)", aead: true, icv: 16, salt: 4, iv: 8, block: 1, keyBytes: []int{16, 24, 32}},
	EncChaCha20Poly1305: {name: "chacha20-poly1305", display: "ChaCha20-Poly1305", aead: true, icv: 16, salt: 4, iv: 8, block: 1, keyBytes: []int{32}},
	Enc3DESCBC:          {name: "3des-cbc", display: "3DES", iv: 8, block: 8, keyBytes: []int{24}},
	EncDESCBC:           {name: "des-cbc", display: "DES", iv: 8, block: 8, keyBytes: []int{8}},
	EncBlowfishCBC:      {name: "blowfish-cbc", display: "Blowfish", iv: 8, block: 8, keyBytes: []int{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 28, 32, 40, 48, 56}},
	EncTwofishCBC:       {name: "twofish-cbc", display: "Twofish", iv: 16, block: 16, keyBytes: []int{16, 24, 32}},
	EncCAST5CBC:         {name: "cast5-cbc", display: "CAST-128", iv: 8, block: 8, keyBytes: []int{16}},
}

func (e Enc) info() encInfo {
	if e >= numEnc {
		return encTable[EncUnknown]
	}
	return encTable[e]
}

// String is the canonical name.
func (e Enc) String() string { return e.info().name }

// Display is the name the views show (key length is appended by callers that know it).
func (e Enc) Display() string { return e.info().display }

// AEAD reports a combined-mode algorithm: integrity comes with it and no separate Auth is used.
func (e Enc) AEAD() bool { return e.info().aead }

// IntegrityOnly reports an ESP "encryption" that leaves the payload in the
// clear: NULL (RFC 2410) and NULL with AES-GMAC (RFC 4543).
func (e Enc) IntegrityOnly() bool { return e == EncNull || e == EncNullAESGMAC }

// ICVLen is the AEAD tag length (0 for non-AEAD algorithms).
func (e Enc) ICVLen() int { return e.info().icv }

// SaltLen is how many trailing bytes of the keying material are salt or nonce rather than key.
func (e Enc) SaltLen() int { return e.info().salt }

// IVLen is the length of the explicit IV carried in each ESP packet.
func (e Enc) IVLen() int { return e.info().iv }

// BlockSize is the cipher's block size (1 for stream and counter modes).
func (e Enc) BlockSize() int { return e.info().block }

// PadAlign is the alignment RFC 4303 §2.4 requires of the ciphertext:
// the cipher block size, and never less than 4 bytes.
func (e Enc) PadAlign() int { return max(e.info().block, 4) }

// ValidKeyLen reports whether n bytes of keying material (key plus salt) fit e.
func (e Enc) ValidKeyLen(n int) bool {
	inf := e.info()
	for _, k := range inf.keyBytes {
		if k+inf.salt == n {
			return true
		}
	}
	return false
}

// Auth is an ESP or AH integrity algorithm.
type Auth uint8

const (
	AuthUnknown Auth = iota
	AuthNone
	AuthHMACMD5_96
	AuthHMACSHA1_96
	AuthHMACSHA256_128
	AuthHMACSHA384_192
	AuthHMACSHA512_256
	AuthAESXCBC96
	AuthAESGMAC128 // AH with AES-GMAC (RFC 4543 §3.2), 16-byte ICV
	// AuthUnchecked96 etc. stand for "an ICV of this length is there, but no key was given":
	// Wireshark's "ANY n bit authentication [no checking]".
	AuthUnchecked64
	AuthUnchecked96
	AuthUnchecked128
	AuthUnchecked192
	AuthUnchecked256
	numAuth
)

type authInfo struct {
	name    string
	display string
	icv     int
	key     int // required key length in bytes; -1 = any
}

var authTable = [numAuth]authInfo{
	AuthUnknown:        {name: "unknown", display: "unknown"},
	AuthNone:           {name: "none", display: "None"},
	AuthHMACMD5_96:     {name: "hmac-md5-96", display: "MD5", icv: 12, key: 16},
	AuthHMACSHA1_96:    {name: "hmac-sha1-96", display: "SHA1", icv: 12, key: 20},
	AuthHMACSHA256_128: {name: "hmac-sha2-256-128", display: "SHA-256", icv: 16, key: 32},
	AuthHMACSHA384_192: {name: "hmac-sha2-384-192", display: "SHA-384", icv: 24, key: 48},
	AuthHMACSHA512_256: {name: "hmac-sha2-512-256", display: "SHA-512", icv: 32, key: 64},
	AuthAESXCBC96:      {name: "aes-xcbc-96", display: "AES-XCBC", icv: 12, key: 16},
	AuthAESGMAC128:     {name: "aes-gmac", display: "AES-GMAC", icv: 16, key: -1},
	AuthUnchecked64:    {name: "unchecked-64", display: "unchecked (64-bit ICV)", icv: 8, key: -1},
	AuthUnchecked96:    {name: "unchecked-96", display: "unchecked (96-bit ICV)", icv: 12, key: -1},
	AuthUnchecked128:   {name: "unchecked-128", display: "unchecked (128-bit ICV)", icv: 16, key: -1},
	AuthUnchecked192:   {name: "unchecked-192", display: "unchecked (192-bit ICV)", icv: 24, key: -1},
	AuthUnchecked256:   {name: "unchecked-256", display: "unchecked (256-bit ICV)", icv: 32, key: -1},
}

func (a Auth) info() authInfo {
	if a >= numAuth {
		return authTable[AuthUnknown]
	}
	return authTable[a]
}

func (a Auth) String() string  { return a.info().name }
func (a Auth) Display() string { return a.info().display }

// ICVLen is the truncated ICV length on the wire.
func (a Auth) ICVLen() int { return a.info().icv }

// KeyLen is the key length the algorithm requires, or -1 when any length is accepted.
func (a Auth) KeyLen() int { return a.info().key }

// Checked reports whether the ICV is actually verified (false for the "unchecked" placeholders).
func (a Auth) Checked() bool { return a >= AuthHMACMD5_96 && a <= AuthAESGMAC128 }

// PRF is an IKE pseudo-random function (IKEv1: the HMAC of the negotiated hash).
type PRF uint8

const (
	PRFUnknown PRF = iota
	PRFHMACMD5
	PRFHMACSHA1
	PRFHMACSHA256
	PRFHMACSHA384
	PRFHMACSHA512
	PRFAESXCBC
	PRFAESCMAC
	numPRF
)

var prfTable = [numPRF]struct{ name, display string }{
	PRFUnknown:    {"unknown", "unknown"},
	PRFHMACMD5:    {"hmac-md5", "MD5"},
	PRFHMACSHA1:   {"hmac-sha1", "SHA1"},
	PRFHMACSHA256: {"hmac-sha2-256", "SHA-256"},
	PRFHMACSHA384: {"hmac-sha2-384", "SHA-384"},
	PRFHMACSHA512: {"hmac-sha2-512", "SHA-512"},
	PRFAESXCBC:    {"aes-xcbc", "AES-XCBC"},
	PRFAESCMAC:    {"aes-cmac", "AES-CMAC"},
}

func (p PRF) String() string {
	if p >= numPRF {
		return "unknown"
	}
	return prfTable[p].name
}

func (p PRF) Display() string {
	if p >= numPRF {
		return "unknown"
	}
	return prfTable[p].display
}

// ParseEnc, ParseAuth and ParsePRF read canonical names (native key format).
func ParseEnc(s string) (Enc, error) {
	for i := Enc(1); i < numEnc; i++ {
		if encTable[i].name == s {
			return i, nil
		}
	}
	return EncUnknown, fmt.Errorf("unknown encryption algorithm %q", s)
}

func ParseAuth(s string) (Auth, error) {
	for i := Auth(1); i < numAuth; i++ {
		if authTable[i].name == s {
			return i, nil
		}
	}
	return AuthUnknown, fmt.Errorf("unknown integrity algorithm %q", s)
}

func ParsePRF(s string) (PRF, error) {
	for i := PRF(1); i < numPRF; i++ {
		if prfTable[i].name == s {
			return i, nil
		}
	}
	return PRFUnknown, fmt.Errorf("unknown PRF %q", s)
}

// EncFromIKEv1ESP maps an IKEv1 IPsec DOI ESP transform ID (RFC 2407 §4.4.4, IANA) to Enc.
func EncFromIKEv1ESP(id uint16) Enc { return ianaAlg(ikev1ESP, id) }

// EncFromIKEv2 maps an IKEv2 transform type 1 ID (RFC 7296 §3.3.2, IANA) to Enc.
// IKE's own encryption uses the same numbers.
func EncFromIKEv2(id uint16) Enc { return ianaAlg(ikev2Encr, id) }

// EncFromIKEv1Phase1 maps the IKEv1 phase 1 Encryption Algorithm attribute (RFC 2409 App. A, RFC 3602).
func EncFromIKEv1Phase1(v uint16) Enc { return ianaAlg(ikev1P1Enc, v) }

// AuthFromIKEv1 maps the IKEv1 phase 2 Authentication Algorithm attribute (RFC 2407 §4.5, IANA).
func AuthFromIKEv1(v uint16) Auth { return ianaAlg(ikev1AuthAlg, v) }

// AuthFromIKEv1AH maps an IKEv1 AH transform ID (RFC 2407 §4.4.3, IANA).
func AuthFromIKEv1AH(id uint16) Auth { return ianaAlg(ikev1AH, id) }

// AuthFromIKEv2 maps an IKEv2 transform type 3 ID (RFC 7296 §3.3.2, IANA).
func AuthFromIKEv2(id uint16) Auth { return ianaAlg(ikev2Integ, id) }

// PRFFromIKEv1Hash maps the IKEv1 phase 1 Hash Algorithm attribute: IKEv1's PRF is HMAC of it (RFC 2409 §5).
func PRFFromIKEv1Hash(v uint16) PRF { return ianaAlg(ikev1P1Hash, v) }

// PRFFromIKEv2 maps an IKEv2 transform type 2 ID.
func PRFFromIKEv2(id uint16) PRF { return ianaAlg(ikev2PRF, id) }

// IKEv1 and IKEv2 identifiers for callers that need to print or match
// them; 0 when the registry has none for the algorithm.
func (e Enc) IKEv1ESP() uint16 { return ianaID(ikev1ESP, e) }
func (e Enc) IKEv2() uint16    { return ianaID(ikev2Encr, e) }
func (a Auth) IKEv1() uint16   { return ianaID(ikev1AuthAlg, a) }
func (a Auth) IKEv2() uint16   { return ianaID(ikev2Integ, a) }

// Hash returns the hash function an HMAC integrity algorithm is built on
// (nil for XCBC, GMAC, the unchecked placeholders and none).
func (a Auth) Hash() func() hash.Hash {
	switch a {
	case AuthHMACMD5_96:
		return md5.New
	case AuthHMACSHA1_96:
		return sha1.New
	case AuthHMACSHA256_128:
		return sha256.New
	case AuthHMACSHA384_192:
		return sha512.New384
	case AuthHMACSHA512_256:
		return sha512.New
	}
	return nil
}

// Hash returns the hash function of an HMAC PRF, which IKEv1 also uses
// plain for its IVs (nil for the AES-based PRFs).
func (p PRF) Hash() func() hash.Hash {
	switch p {
	case PRFHMACMD5:
		return md5.New
	case PRFHMACSHA1:
		return sha1.New
	case PRFHMACSHA256:
		return sha256.New
	case PRFHMACSHA384:
		return sha512.New384
	case PRFHMACSHA512:
		return sha512.New
	}
	return nil
}
