package hosts

import (
	"strings"

	"ipsecmon/algo"
)

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
		if n, ok := atoi(enc[i+1:]); ok && algo.EncFromStrongSwan(enc[:i]) != algo.EncUnknown {
			e, keyBits = algo.EncFromStrongSwan(enc[:i]), n
		}
	}
	if e == algo.EncUnknown {
		e = algo.EncFromStrongSwan(enc)
	}
	for _, p := range parts[1:] {
		if x := algo.AuthFromStrongSwan(p); x != algo.AuthUnknown {
			a = x
		}
	}
	return e, keyBits, swanIntegrity(e, a)
}

// swanIntegrity is the integrity of a strongSwan SA: strongSwan names none
// for an AEAD cipher, which is its own (RFC 4106), so none besides it.
func swanIntegrity(e algo.Enc, a algo.Auth) algo.Auth {
	if a == algo.AuthUnknown && e.AEAD() {
		return algo.AuthNone
	}
	return a
}
