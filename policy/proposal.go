package policy

import (
	"fmt"
	"strconv"
	"strings"

	"ipsecmon/algo"
)

// strongSwan ESP/AH proposal keywords ("Algorithm Proposals (Cipher
// Suites)", docs.strongswan.org) mapped to ipsecmon's algorithms.

type encKW struct {
	enc  algo.Enc
	bits int
}

var swEnc = map[string]encKW{
	"null": {algo.EncNull, 0}, "3des": {algo.Enc3DESCBC, 0}, "des": {algo.EncDESCBC, 0},
	"cast128": {algo.EncCAST5CBC, 0}, "chacha20poly1305": {algo.EncChaCha20Poly1305, 0},
	"aes": {algo.EncAESCBC, 128}, "blowfish": {algo.EncBlowfishCBC, 128}, "twofish": {algo.EncTwofishCBC, 128},
}

func init() {
	for _, b := range []int{128, 192, 256} {
		n := strconv.Itoa(b)
		swEnc["aes"+n] = encKW{algo.EncAESCBC, b}
		swEnc["aes"+n+"ctr"] = encKW{algo.EncAESCTR, b}
		swEnc["blowfish"+n] = encKW{algo.EncBlowfishCBC, b}
		swEnc["twofish"+n] = encKW{algo.EncTwofishCBC, b}
		swEnc["aes"+n+"gmac"] = encKW{algo.EncNullAESGMAC, b}
		// ICV length in bytes (8, 12, 16) or bits (64, 96, 128); no suffix is 16.
		for icv, e := range map[string]algo.Enc{"8": algo.EncAESGCM8, "64": algo.EncAESGCM8, "12": algo.EncAESGCM12,
			"96": algo.EncAESGCM12, "16": algo.EncAESGCM16, "128": algo.EncAESGCM16, "": algo.EncAESGCM16} {
			swEnc["aes"+n+"gcm"+icv] = encKW{e, b}
		}
		for icv, e := range map[string]algo.Enc{"8": algo.EncAESCCM8, "64": algo.EncAESCCM8, "12": algo.EncAESCCM12,
			"96": algo.EncAESCCM12, "16": algo.EncAESCCM16, "128": algo.EncAESCCM16, "": algo.EncAESCCM16} {
			swEnc["aes"+n+"ccm"+icv] = encKW{e, b}
		}
	}
	for k := range swEnc {
		if strings.HasPrefix(k, "aes128") {
			swEnc["aes"+k[6:]] = swEnc[k] // "aesgcm16", "aesctr" = 128-bit
		}
	}
	swEnc["aes"] = encKW{algo.EncAESCBC, 128}
}

var swInteg = map[string]algo.Auth{
	"md5": algo.AuthHMACMD5_96, "sha1": algo.AuthHMACSHA1_96, "sha": algo.AuthHMACSHA1_96,
	"sha256": algo.AuthHMACSHA256_128, "sha2_256": algo.AuthHMACSHA256_128,
	"sha384": algo.AuthHMACSHA384_192, "sha2_384": algo.AuthHMACSHA384_192,
	"sha512": algo.AuthHMACSHA512_256, "sha2_512": algo.AuthHMACSHA512_256,
	"aesxcbc":    algo.AuthAESXCBC96,
	"aes128gmac": algo.AuthAESGMAC128, "aes192gmac": algo.AuthAESGMAC128, "aes256gmac": algo.AuthAESGMAC128,
}

// Integrity keywords strongSwan knows that ipsecmon's vocabulary lacks.
var swIntegUnknown = map[string]bool{"md5_128": true, "sha1_160": true, "sha256_96": true, "aescmac": true, "camellia192xcbc": true}

// DH group keywords (IANA "Transform Type 4" numbers).
var swDH = map[string]uint16{
	"modp768": 1, "modp1024": 2, "modp1536": 5, "modp2048": 14, "modp3072": 15, "modp4096": 16,
	"modp6144": 17, "modp8192": 18, "ecp256": 19, "ecp384": 20, "ecp521": 21, "modp1024s160": 22,
	"modp2048s224": 23, "modp2048s256": 24, "ecp192": 25, "ecp224": 26, "ecp224bp": 27,
	"ecp256bp": 28, "ecp384bp": 29, "ecp512bp": 30, "curve25519": 31, "x25519": 31,
	"curve448": 32, "x448": 32,
}

// strongSwan 5.9.8's expansion of the `default` keyword in esp_proposals, as
// charon logs it at cfg level 2 (testdata/swanctl/gateway.charon-cfg.log,
// child l2tp): classic algorithms first, then AEAD.
const swDefaultESP = "aes128-aes192-aes256-sha256-sha384-sha512-sha1-aesxcbc, aes128gcm16-aes192gcm16-aes256gcm16"

// ... and of an unset esp_proposals (child bypass-lan in
// testdata/swanctl/shunts.charon-cfg.log): AEAD first.
const swUnsetESP = "aes128gcm16-aes192gcm16-aes256gcm16, aes128-aes192-aes256-sha256-sha384-sha512-sha1-aesxcbc"

// The default AH proposal of strongSwan's proposal_create_default(PROTO_AH).
const swDefaultAH = "sha256-sha384-sha512-sha1"

// parseProposals turns a comma-separated strongSwan proposal list into
// security methods. Each proposal is expanded to every combination of its
// algorithms in the order written (encryption, then integrity, then DH
// group); IKEv1 keeps only the first algorithm of each kind, as strongSwan
// does ("IKEv1 only supports one algorithm of each kind per proposal").
// Unknown keywords become warnings and the proposal is kept with what is known.
func parseProposals(list string, proto uint8, ikev1 bool, warn func(string)) ([]SecurityMethod, error) {
	var out []SecurityMethod
	for _, prop := range strings.Split(list, ",") {
		prop = strings.ToLower(strings.TrimSpace(prop))
		if prop == "" {
			continue
		}
		if prop == "default" {
			def := swDefaultESP
			if proto == 51 {
				def = swDefaultAH
			}
			ms, err := parseProposals(def, proto, ikev1, warn)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
			continue
		}
		var encs []encKW
		var integs []algo.Auth
		var dhs []uint16
		esn := false
		for _, kw := range strings.Split(prop, "-") {
			switch {
			case kw == "esn":
				esn = true
			case kw == "noesn":
			case strings.HasPrefix(kw, "prf"):
				// PRFs belong to IKE proposals; strongSwan ignores them here.
			case proto == 50 && hasEnc(kw):
				encs = append(encs, swEnc[kw])
			case hasInteg(kw):
				integs = append(integs, swInteg[kw])
			case swIntegUnknown[kw]:
				warn(fmt.Sprintf("integrity algorithm %q is not in ipsecmon's vocabulary", kw))
				integs = append(integs, algo.AuthUnknown)
			case swDH[kw] != 0:
				dhs = append(dhs, swDH[kw])
			case kw == "none" || kw == "modpnone":
				dhs = append(dhs, 0)
			case isKnownEncName(kw):
				warn(fmt.Sprintf("encryption algorithm %q is not in ipsecmon's vocabulary", kw))
				encs = append(encs, encKW{algo.EncUnknown, 0})
			default:
				return nil, fmt.Errorf("unknown algorithm keyword %q in proposal %q", kw, prop)
			}
		}
		if proto == 50 && len(encs) == 0 {
			return nil, fmt.Errorf("proposal %q has no encryption algorithm", prop)
		}
		if proto == 51 && len(integs) == 0 {
			return nil, fmt.Errorf("proposal %q has no integrity algorithm", prop)
		}
		if ikev1 {
			encs, integs, dhs = first(encs), first(integs), first(dhs)
		}
		if len(encs) == 0 {
			encs = []encKW{{}}
		}
		if len(dhs) == 0 {
			dhs = []uint16{0}
		}
		for _, e := range encs {
			ints := integs
			if e.enc.AEAD() || len(ints) == 0 {
				// AEAD carries its own integrity (RFC 4106); a classic cipher
				// without integrity is offered as "none".
				ints = []algo.Auth{algo.AuthNone}
			}
			for _, a := range ints {
				for _, g := range dhs {
					out = append(out, SecurityMethod{Proto: proto, Enc: e.enc, EncKeyBits: e.bits, Auth: a, PFSGroup: g, ESN: esn})
				}
			}
		}
	}
	return out, nil
}

func hasEnc(kw string) bool   { _, ok := swEnc[kw]; return ok }
func hasInteg(kw string) bool { _, ok := swInteg[kw]; return ok }
func first[T any](s []T) []T {
	if len(s) > 1 {
		return s[:1]
	}
	return s
}

// Encryption keywords strongSwan knows that ipsecmon's vocabulary lacks.
func isKnownEncName(kw string) bool {
	for _, p := range []string{"camellia", "serpent", "idea", "rc5", "3idea", "sm4", "chacha20"} {
		if strings.HasPrefix(kw, p) {
			return true
		}
	}
	return false
}
