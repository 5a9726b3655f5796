package algo

// Linux kernel crypto API template names, as the kernel's XFRM reports them
// over netlink and `ip xfrm state` prints them (kernel net/xfrm/xfrm_algo.c;
// the names strongSwan's kernel_netlink_ipsec.c and Libreswan's
// kernel_xfrm.c install).

var linuxEnc = map[string]Enc{
	"cbc(aes)":          EncAESCBC,
	"rfc3686(ctr(aes))": EncAESCTR,
	"cbc(des3_ede)":     Enc3DESCBC,
	"cbc(des)":          EncDESCBC,
	"cbc(blowfish)":     EncBlowfishCBC,
	"cbc(twofish)":      EncTwofishCBC,
	"cbc(cast5)":        EncCAST5CBC,
	"ecb(cipher_null)":  EncNull,
	"cipher_null":       EncNull,
}

// linuxAEAD: an AEAD template and its ICV length in bits.
var linuxAEAD = map[string]map[int]Enc{
	"rfc4106(gcm(aes))":             {64: EncAESGCM8, 96: EncAESGCM12, 128: EncAESGCM16},
	"rfc4309(ccm(aes))":             {64: EncAESCCM8, 96: EncAESCCM12, 128: EncAESCCM16},
	"rfc4543(gcm(aes))":             {128: EncNullAESGMAC},
	"rfc7539esp(chacha20,poly1305)": {128: EncChaCha20Poly1305},
}

// linuxAuth: an integrity algorithm, the truncation the kernel uses when
// none is given (xfrm_algo.c icv_truncbits; for hmac(sha256) the
// pre-RFC 4868 96 bits), and the algorithm for each truncation.
var linuxAuth = map[string]struct {
	dflt int
	by   map[int]Auth
}{
	"hmac(md5)":    {96, map[int]Auth{96: AuthHMACMD5_96}},
	"hmac(sha1)":   {96, map[int]Auth{96: AuthHMACSHA1_96}},
	"hmac(sha256)": {96, map[int]Auth{128: AuthHMACSHA256_128}},
	"hmac(sha384)": {192, map[int]Auth{192: AuthHMACSHA384_192}},
	"hmac(sha512)": {256, map[int]Auth{256: AuthHMACSHA512_256}},
	"xcbc(aes)":    {96, map[int]Auth{96: AuthAESXCBC96}},
	"digest_null":  {0, map[int]Auth{0: AuthNone}},
}

// EncFromLinux maps the name of an XFRM "enc" algorithm; EncUnknown when
// ipsecmon has no such cipher.
func EncFromLinux(name string) Enc {
	if e, ok := linuxEnc[name]; ok {
		return e
	}
	return EncUnknown
}

// AEADFromLinux maps the name of an XFRM "aead" algorithm and its ICV
// length in bits; EncUnknown when ipsecmon has no such combination.
func AEADFromLinux(name string, icvBits int) Enc {
	if e, ok := linuxAEAD[name][icvBits]; ok {
		return e
	}
	return EncUnknown
}

// AuthFromLinux maps the name of an XFRM integrity algorithm and its
// truncation in bits; truncBits 0 (a plain "auth" line, netlink's
// XFRMA_ALG_AUTH) stands for the kernel's default truncation for the name.
// It returns the truncation that applies, AuthUnknown when ipsecmon has no
// such combination, and known false when the name is not one the table
// has (so that a caller can keep an SA of a known name with an unusual
// truncation as an unchecked ICV of that length).
func AuthFromLinux(name string, truncBits int) (a Auth, bits int, known bool) {
	t, ok := linuxAuth[name]
	if !ok {
		return AuthUnknown, truncBits, false
	}
	if truncBits <= 0 {
		truncBits = t.dflt
	}
	if a, ok := t.by[truncBits]; ok {
		return a, truncBits, true
	}
	return AuthUnknown, truncBits, true
}

// UncheckedICV is the placeholder for an ICV of the given length in bits
// whose algorithm ipsecmon cannot check (Wireshark's "ANY n bit
// authentication [no checking]"); AuthUnknown for other lengths.
func UncheckedICV(bits int) Auth {
	for a := AuthUnchecked64; a <= AuthUnchecked256; a++ {
		if 8*a.ICVLen() == bits {
			return a
		}
	}
	return AuthUnknown
}

// LinuxName is the XFRM name `ip xfrm state` prints for e, and whether it
// is an "aead" (with its ICV length in bits) rather than an "enc" line.
func (e Enc) LinuxName() (name string, aead bool, icvBits int, ok bool) {
	for n, by := range linuxAEAD {
		for bits, a := range by {
			if a == e {
				return n, true, bits, true
			}
		}
	}
	if e == EncNull {
		return "ecb(cipher_null)", false, 0, true // the name the kernel prints; cipher_null is its alias
	}
	for n, a := range linuxEnc {
		if a == e {
			return n, false, 0, true
		}
	}
	return "", false, 0, false
}

// LinuxName is the XFRM name of a and its truncation in bits, as an
// "auth-trunc" line carries them.
func (a Auth) LinuxName() (name string, truncBits int, ok bool) {
	for n, t := range linuxAuth {
		for bits, x := range t.by {
			if x == a && a != AuthNone {
				return n, bits, true
			}
		}
	}
	return "", 0, false
}
