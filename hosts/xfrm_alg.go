package hosts

import (
	"strings"

	"ipsecmon/algo"
)

// xfrmEnc maps a Linux crypto API template name as `ip xfrm state` prints
// it (the names strongSwan's kernel_netlink_ipsec.c and Libreswan's
// kernel_xfrm.c install) to an algorithm. icvBits is the AEAD ICV length
// for "aead" lines (0 otherwise). saltBits is how many bits of the printed
// key length are salt or nonce rather than key (RFC 4106 §8.1, RFC 3686
// §5.1, RFC 4309 §7.1, RFC 7634 §2).
func xfrmEnc(name string, icvBits int) (e algo.Enc, saltBits int) {
	switch name {
	case "cbc(aes)":
		return algo.EncAESCBC, 0
	case "rfc3686(ctr(aes))":
		return algo.EncAESCTR, 32
	case "rfc4106(gcm(aes))":
		switch icvBits {
		case 64:
			return algo.EncAESGCM8, 32
		case 96:
			return algo.EncAESGCM12, 32
		}
		return algo.EncAESGCM16, 32
	case "rfc4309(ccm(aes))":
		switch icvBits {
		case 64:
			return algo.EncAESCCM8, 24
		case 96:
			return algo.EncAESCCM12, 24
		}
		return algo.EncAESCCM16, 24
	case "rfc4543(gcm(aes))":
		return algo.EncNullAESGMAC, 32
	case "rfc7539esp(chacha20,poly1305)":
		return algo.EncChaCha20Poly1305, 32
	case "cbc(des3_ede)":
		return algo.Enc3DESCBC, 0
	case "cbc(des)":
		return algo.EncDESCBC, 0
	case "cbc(blowfish)":
		return algo.EncBlowfishCBC, 0
	case "cbc(twofish)":
		return algo.EncTwofishCBC, 0
	case "cbc(cast5)":
		return algo.EncCAST5CBC, 0
	case "ecb(cipher_null)", "cipher_null":
		return algo.EncNull, 0
	}
	return algo.EncUnknown, 0
}

// xfrmAuth maps an XFRM integrity algorithm and its truncation length in bits.
func xfrmAuth(name string, truncBits int) algo.Auth {
	type key struct {
		name  string
		trunc int
	}
	switch (key{name, truncBits}) {
	case key{"hmac(md5)", 96}:
		return algo.AuthHMACMD5_96
	case key{"hmac(sha1)", 96}:
		return algo.AuthHMACSHA1_96
	case key{"hmac(sha256)", 128}:
		return algo.AuthHMACSHA256_128
	case key{"hmac(sha384)", 192}:
		return algo.AuthHMACSHA384_192
	case key{"hmac(sha512)", 256}:
		return algo.AuthHMACSHA512_256
	case key{"xcbc(aes)", 96}:
		return algo.AuthAESXCBC96
	}
	if name == "digest_null" {
		return algo.AuthNone
	}
	// An "auth" line without truncation is the RFC 2404 / RFC 2403 default of 96 bits.
	if truncBits == 0 {
		return xfrmAuth(name, 96)
	}
	return algo.AuthUnknown
}

// swanEnc maps strongSwan's encryption algorithm names (encryption_algorithm_names
// in src/libstrongswan/crypto/crypters/crypter.c) to algo.Enc.
func swanEnc(name string) algo.Enc {
	switch strings.ToUpper(name) {
	case "AES_CBC":
		return algo.EncAESCBC
	case "AES_CTR":
		return algo.EncAESCTR
	case "AES_GCM_8":
		return algo.EncAESGCM8
	case "AES_GCM_12":
		return algo.EncAESGCM12
	case "AES_GCM_16":
		return algo.EncAESGCM16
	case "AES_CCM_8":
		return algo.EncAESCCM8
	case "AES_CCM_12":
		return algo.EncAESCCM12
	case "AES_CCM_16":
		return algo.EncAESCCM16
	case "NULL_AES_GMAC":
		return algo.EncNullAESGMAC
	case "CHACHA20_POLY1305":
		return algo.EncChaCha20Poly1305
	case "3DES_CBC":
		return algo.Enc3DESCBC
	case "DES_CBC":
		return algo.EncDESCBC
	case "BLOWFISH_CBC":
		return algo.EncBlowfishCBC
	case "TWOFISH_CBC":
		return algo.EncTwofishCBC
	case "CAST_CBC":
		return algo.EncCAST5CBC
	case "NULL":
		return algo.EncNull
	}
	return algo.EncUnknown
}

// swanAuth maps strongSwan's integrity algorithm names (integrity_algorithm_names
// in src/libstrongswan/crypto/signers/signer.c).
func swanAuth(name string) algo.Auth {
	switch strings.ToUpper(name) {
	case "HMAC_MD5_96":
		return algo.AuthHMACMD5_96
	case "HMAC_SHA1_96":
		return algo.AuthHMACSHA1_96
	case "HMAC_SHA2_256_128":
		return algo.AuthHMACSHA256_128
	case "HMAC_SHA2_384_192":
		return algo.AuthHMACSHA384_192
	case "HMAC_SHA2_512_256":
		return algo.AuthHMACSHA512_256
	case "AES_XCBC_96":
		return algo.AuthAESXCBC96
	case "AES_128_GMAC", "AES_192_GMAC", "AES_256_GMAC":
		return algo.AuthAESGMAC128
	}
	return algo.AuthUnknown
}

// swanSuite reads a strongSwan proposal as swanctl prints it after "ESP:"
// ("AES_CBC-128/HMAC_SHA2_256_128/MODP_2048", "AES_GCM_16-256") or as
// statusall prints it ("AES_CBC_128/HMAC_SHA1_96", "AES_GCM_16_256").
func swanSuite(s string) (e algo.Enc, keyBits int, a algo.Auth) {
	parts := strings.Split(s, "/")
	if len(parts) == 0 {
		return
	}
	enc := parts[0]
	if i := strings.LastIndexAny(enc, "-_"); i > 0 {
		if n, ok := atoi(enc[i+1:]); ok && swanEnc(enc[:i]) != algo.EncUnknown {
			e, keyBits = swanEnc(enc[:i]), n
		}
	}
	if e == algo.EncUnknown {
		e = swanEnc(enc)
	}
	for _, p := range parts[1:] {
		if x := swanAuth(p); x != algo.AuthUnknown {
			a = x
		}
	}
	if a == algo.AuthUnknown && e.AEAD() {
		a = algo.AuthNone
	}
	return
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
