package algo

import "strings"

// strongSwan's algorithm names, as swanctl, `ipsec statusall` and VICI
// print them (libstrongswan: encryption_algorithm_names in
// crypto/crypters/crypter.c, integrity_algorithm_names in
// crypto/signers/signer.c, pseudo_random_function_names in
// crypto/prfs/prf.c).

var swanEnc = map[string]Enc{
	"NULL": EncNull, "AES_CBC": EncAESCBC, "AES_CTR": EncAESCTR,
	"AES_GCM_8": EncAESGCM8, "AES_GCM_12": EncAESGCM12, "AES_GCM_16": EncAESGCM16,
	"AES_CCM_8": EncAESCCM8, "AES_CCM_12": EncAESCCM12, "AES_CCM_16": EncAESCCM16,
	"NULL_AES_GMAC": EncNullAESGMAC, "CHACHA20_POLY1305": EncChaCha20Poly1305,
	"3DES_CBC": Enc3DESCBC, "DES_CBC": EncDESCBC, "BLOWFISH_CBC": EncBlowfishCBC,
	"TWOFISH_CBC": EncTwofishCBC, "CAST_CBC": EncCAST5CBC,
}

var swanAuth = map[string]Auth{
	"HMAC_MD5_96": AuthHMACMD5_96, "HMAC_SHA1_96": AuthHMACSHA1_96,
	"HMAC_SHA2_256_128": AuthHMACSHA256_128, "HMAC_SHA2_384_192": AuthHMACSHA384_192,
	"HMAC_SHA2_512_256": AuthHMACSHA512_256, "AES_XCBC_96": AuthAESXCBC96,
	// One ipsecmon algorithm for the three key lengths: the key tells them apart.
	"AES_128_GMAC": AuthAESGMAC128, "AES_192_GMAC": AuthAESGMAC128, "AES_256_GMAC": AuthAESGMAC128,
}

var swanPRF = map[string]PRF{
	"PRF_HMAC_MD5": PRFHMACMD5, "PRF_HMAC_SHA1": PRFHMACSHA1, "PRF_HMAC_SHA2_256": PRFHMACSHA256,
	"PRF_HMAC_SHA2_384": PRFHMACSHA384, "PRF_HMAC_SHA2_512": PRFHMACSHA512,
	"PRF_AES128_XCBC": PRFAESXCBC, "PRF_AES128_CMAC": PRFAESCMAC,
}

// EncFromStrongSwan maps strongSwan's name of an encryption algorithm
// ("AES_CBC", "AES_GCM_16"; any case); EncUnknown for others.
func EncFromStrongSwan(name string) Enc {
	if e, ok := swanEnc[strings.ToUpper(name)]; ok {
		return e
	}
	return EncUnknown
}

// AuthFromStrongSwan maps strongSwan's name of an integrity algorithm
// ("HMAC_SHA2_256_128"; any case); AuthUnknown for others.
func AuthFromStrongSwan(name string) Auth {
	if a, ok := swanAuth[strings.ToUpper(name)]; ok {
		return a
	}
	return AuthUnknown
}

// PRFFromStrongSwan maps strongSwan's name of a PRF ("PRF_HMAC_SHA2_256";
// any case); PRFUnknown for others.
func PRFFromStrongSwan(name string) PRF {
	if p, ok := swanPRF[strings.ToUpper(name)]; ok {
		return p
	}
	return PRFUnknown
}
