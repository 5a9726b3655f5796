package algo

import "strconv"

// The IANA registries of IKE transform identifiers ("Internet Key Exchange
// Version 2 (IKEv2) Parameters" and "Internet Key Exchange (IKE)
// Attributes", with the IPsec DOI's "ISAKMP ... Transform Identifiers"):
// each value's registered name and, where ipsecmon has it, the algorithm.
// One table per registry serves both ways: the decoder names what it
// reads, key derivation and the views map it to an algorithm.

// Registry is one of the IANA registries below.
type Registry uint8

const (
	IKEv2Encr    Registry = iota + 1 // IKEv2 Transform Type 1 (RFC 7296 §3.3.2)
	IKEv2PRF                         // IKEv2 Transform Type 2
	IKEv2Integ                       // IKEv2 Transform Type 3
	DHGroups                         // IKEv2 Transform Type 4; IKEv1 Group Description (RFC 2409 App. A) uses the same numbers
	IKEv1ESP                         // IPsec DOI ESP transform IDs (RFC 2407 §4.4.4)
	IKEv1AH                          // IPsec DOI AH transform IDs (RFC 2407 §4.4.3)
	IKEv1AuthAlg                     // IPsec DOI Authentication Algorithm attribute (RFC 2407 §4.5)
	IKEv1P1Enc                       // IKEv1 phase 1 Encryption Algorithm attribute (RFC 2409 App. A)
	IKEv1P1Hash                      // IKEv1 phase 1 Hash Algorithm attribute (RFC 2409 App. A)
)

type iana[T comparable] struct {
	id   uint16
	name string
	alg  T // the zero (Unknown) value when ipsecmon has no such algorithm
}

var ikev2Encr = []iana[Enc]{
	{1, "ENCR_DES_IV64", EncUnknown}, {2, "ENCR_DES", EncDESCBC}, {3, "ENCR_3DES", Enc3DESCBC},
	{4, "ENCR_RC5", EncUnknown}, {5, "ENCR_IDEA", EncUnknown}, {6, "ENCR_CAST", EncCAST5CBC},
	{7, "ENCR_BLOWFISH", EncBlowfishCBC}, {8, "ENCR_3IDEA", EncUnknown}, {9, "ENCR_DES_IV32", EncUnknown},
	{11, "ENCR_NULL", EncNull}, {12, "ENCR_AES_CBC", EncAESCBC}, {13, "ENCR_AES_CTR", EncAESCTR},
	{14, "ENCR_AES_CCM_8", EncAESCCM8}, {15, "ENCR_AES_CCM_12", EncAESCCM12}, {16, "ENCR_AES_CCM_16", EncAESCCM16},
	{18, "ENCR_AES_GCM_8", EncAESGCM8}, {19, "ENCR_AES_GCM_12", EncAESGCM12}, {20, "ENCR_AES_GCM_16", EncAESGCM16},
	{21, "ENCR_NULL_AUTH_AES_GMAC", EncNullAESGMAC}, {23, "ENCR_CAMELLIA_CBC", EncUnknown},
	{24, "ENCR_CAMELLIA_CTR", EncUnknown}, {25, "ENCR_CAMELLIA_CCM_8", EncUnknown},
	{26, "ENCR_CAMELLIA_CCM_12", EncUnknown}, {27, "ENCR_CAMELLIA_CCM_16", EncUnknown},
	{28, "ENCR_CHACHA20_POLY1305", EncChaCha20Poly1305},
}

var ikev2PRF = []iana[PRF]{
	{1, "PRF_HMAC_MD5", PRFHMACMD5}, {2, "PRF_HMAC_SHA1", PRFHMACSHA1}, {3, "PRF_HMAC_TIGER", PRFUnknown},
	{4, "PRF_AES128_XCBC", PRFAESXCBC}, {5, "PRF_HMAC_SHA2_256", PRFHMACSHA256}, {6, "PRF_HMAC_SHA2_384", PRFHMACSHA384},
	{7, "PRF_HMAC_SHA2_512", PRFHMACSHA512}, {8, "PRF_AES128_CMAC", PRFAESCMAC},
}

var ikev2Integ = []iana[Auth]{
	{0, "NONE", AuthNone}, {1, "AUTH_HMAC_MD5_96", AuthHMACMD5_96}, {2, "AUTH_HMAC_SHA1_96", AuthHMACSHA1_96},
	{3, "AUTH_DES_MAC", AuthUnknown}, {4, "AUTH_KPDK_MD5", AuthUnknown}, {5, "AUTH_AES_XCBC_96", AuthAESXCBC96},
	{6, "AUTH_HMAC_MD5_128", AuthUnknown}, {7, "AUTH_HMAC_SHA1_160", AuthUnknown}, {8, "AUTH_AES_CMAC_96", AuthUnknown},
	// One ipsecmon algorithm for the three GMAC key lengths: the key tells them apart.
	{9, "AUTH_AES_128_GMAC", AuthAESGMAC128}, {10, "AUTH_AES_192_GMAC", AuthAESGMAC128}, {11, "AUTH_AES_256_GMAC", AuthAESGMAC128},
	{12, "AUTH_HMAC_SHA2_256_128", AuthHMACSHA256_128}, {13, "AUTH_HMAC_SHA2_384_192", AuthHMACSHA384_192},
	{14, "AUTH_HMAC_SHA2_512_256", AuthHMACSHA512_256},
}

var dhGroups = []iana[DHGroup]{
	{0, "NONE", 0}, {1, "MODP-768", 1}, {2, "MODP-1024", 2}, {5, "MODP-1536", 5}, {14, "MODP-2048", 14},
	{15, "MODP-3072", 15}, {16, "MODP-4096", 16}, {17, "MODP-6144", 17}, {18, "MODP-8192", 18},
	{19, "ECP-256", 19}, {20, "ECP-384", 20}, {21, "ECP-521", 21}, {22, "MODP-1024-S160", 22},
	{23, "MODP-2048-S224", 23}, {24, "MODP-2048-S256", 24}, {25, "ECP-192", 25}, {26, "ECP-224", 26},
	{27, "BRAINPOOL-P224", 27}, {28, "BRAINPOOL-P256", 28}, {29, "BRAINPOOL-P384", 29}, {30, "BRAINPOOL-P512", 30},
	{31, "CURVE25519", 31}, {32, "CURVE448", 32}, {33, "GOST3410-2012-256", 33}, {34, "GOST3410-2012-512", 34},
	{35, "ML-KEM-512", 35}, {36, "ML-KEM-768", 36}, {37, "ML-KEM-1024", 37},
}

var ikev1ESP = []iana[Enc]{
	{1, "ESP_DES_IV64", EncUnknown}, {2, "ESP_DES", EncDESCBC}, {3, "ESP_3DES", Enc3DESCBC}, {4, "ESP_RC5", EncUnknown},
	{5, "ESP_IDEA", EncUnknown}, {6, "ESP_CAST", EncCAST5CBC}, {7, "ESP_BLOWFISH", EncBlowfishCBC},
	{8, "ESP_3IDEA", EncUnknown}, {9, "ESP_DES_IV32", EncUnknown}, {10, "ESP_RC4", EncUnknown},
	{11, "ESP_NULL", EncNull}, {12, "ESP_AES-CBC", EncAESCBC}, {13, "ESP_AES-CTR", EncAESCTR},
	{14, "ESP_AES-CCM_8", EncAESCCM8}, {15, "ESP_AES-CCM_12", EncAESCCM12}, {16, "ESP_AES-CCM_16", EncAESCCM16},
	{18, "ESP_AES-GCM_8", EncAESGCM8}, {19, "ESP_AES-GCM_12", EncAESGCM12}, {20, "ESP_AES-GCM_16", EncAESGCM16},
	{21, "ESP_SEED_CBC", EncUnknown}, {22, "ESP_CAMELLIA", EncUnknown}, {23, "ESP_NULL_AUTH_AES-GMAC", EncNullAESGMAC},
}

var ikev1AH = []iana[Auth]{
	{2, "AH_MD5", AuthHMACMD5_96}, {3, "AH_SHA", AuthHMACSHA1_96}, {4, "AH_DES", AuthUnknown},
	{5, "AH_SHA2-256", AuthHMACSHA256_128}, {6, "AH_SHA2-384", AuthHMACSHA384_192}, {7, "AH_SHA2-512", AuthHMACSHA512_256},
	{8, "AH_RIPEMD", AuthUnknown}, {9, "AH_AES-XCBC-MAC", AuthAESXCBC96}, {10, "AH_RSA", AuthUnknown},
	{11, "AH_AES-128-GMAC", AuthAESGMAC128}, {12, "AH_AES-192-GMAC", AuthAESGMAC128}, {13, "AH_AES-256-GMAC", AuthAESGMAC128},
}

var ikev1AuthAlg = []iana[Auth]{
	{1, "HMAC-MD5", AuthHMACMD5_96}, {2, "HMAC-SHA", AuthHMACSHA1_96}, {3, "DES-MAC", AuthUnknown}, {4, "KPDK", AuthUnknown},
	{5, "HMAC-SHA2-256", AuthHMACSHA256_128}, {6, "HMAC-SHA2-384", AuthHMACSHA384_192}, {7, "HMAC-SHA2-512", AuthHMACSHA512_256},
	{8, "HMAC-RIPEMD", AuthUnknown}, {9, "AES-XCBC-MAC", AuthAESXCBC96}, {10, "SIG-RSA", AuthUnknown},
	{11, "AES-128-GMAC", AuthAESGMAC128}, {12, "AES-192-GMAC", AuthAESGMAC128}, {13, "AES-256-GMAC", AuthAESGMAC128},
}

var ikev1P1Enc = []iana[Enc]{
	{1, "DES-CBC", EncDESCBC}, {2, "IDEA-CBC", EncUnknown}, {3, "Blowfish-CBC", EncBlowfishCBC},
	{4, "RC5-R16-B64-CBC", EncUnknown}, {5, "3DES-CBC", Enc3DESCBC}, {6, "CAST-CBC", EncCAST5CBC},
	{7, "AES-CBC", EncAESCBC}, {8, "CAMELLIA-CBC", EncUnknown},
}

// IKEv1's PRF is the HMAC of the negotiated hash (RFC 2409 §5).
var ikev1P1Hash = []iana[PRF]{
	{1, "MD5", PRFHMACMD5}, {2, "SHA", PRFHMACSHA1}, {3, "Tiger", PRFUnknown},
	{4, "SHA2-256", PRFHMACSHA256}, {5, "SHA2-384", PRFHMACSHA384}, {6, "SHA2-512", PRFHMACSHA512},
}

// registryNames indexes the registries' names by value.
var registryNames = map[Registry]map[uint16]string{
	IKEv2Encr: namesOf(ikev2Encr), IKEv2PRF: namesOf(ikev2PRF), IKEv2Integ: namesOf(ikev2Integ),
	DHGroups: namesOf(dhGroups), IKEv1ESP: namesOf(ikev1ESP), IKEv1AH: namesOf(ikev1AH),
	IKEv1AuthAlg: namesOf(ikev1AuthAlg), IKEv1P1Enc: namesOf(ikev1P1Enc), IKEv1P1Hash: namesOf(ikev1P1Hash),
}

func namesOf[T comparable](reg []iana[T]) map[uint16]string {
	m := make(map[uint16]string, len(reg))
	for _, e := range reg {
		m[e.id] = e.name
	}
	return m
}

// IANAName is the registered name of id in r ("ENCR_AES_CBC", "MODP-2048",
// "ESP_3DES"); ok is false for a value the registry does not list.
func IANAName(r Registry, id uint16) (name string, ok bool) {
	name, ok = registryNames[r][id]
	return name, ok
}

// ianaAlg is the algorithm registered as id (the zero value when none).
func ianaAlg[T comparable](reg []iana[T], id uint16) T {
	for _, e := range reg {
		if e.id == id {
			return e.alg
		}
	}
	var zero T
	return zero
}

// ianaID is the first value registered for alg (0 when none).
func ianaID[T comparable](reg []iana[T], alg T) uint16 {
	var zero T
	for _, e := range reg {
		if e.alg == alg && alg != zero {
			return e.id
		}
	}
	return 0
}

// DHGroup is a Diffie-Hellman group (key exchange method) number.
type DHGroup uint16

// String is the group's IANA name ("MODP-2048", "NONE" for 0), or
// "UNKNOWN(n)" for a number the registry does not list.
func (g DHGroup) String() string {
	if n, ok := IANAName(DHGroups, uint16(g)); ok {
		return n
	}
	return "UNKNOWN(" + strconv.Itoa(int(g)) + ")"
}
