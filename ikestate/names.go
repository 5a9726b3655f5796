package ikestate

import (
	"fmt"

	"ipsecmon/algo"
)

// The IKE SA and Negotiation Policies views name algorithms as every other
// view does (algo's display vocabulary: "AES-CBC-256", "SHA-256",
// "MODP-2048"); a transform ipsecmon has no algorithm for keeps its IANA
// registry name, the only name it has.

// encName names a cipher with its key length in bits (0: not known).
func encName(e algo.Enc, bits int, registry string) string {
	if e == algo.EncUnknown {
		if bits > 0 {
			return fmt.Sprintf("%s-%d", registry, bits)
		}
		return registry
	}
	return e.DisplayKey(bits)
}

// authName names an integrity algorithm.
func authName(a algo.Auth, registry string) string {
	if a == algo.AuthUnknown {
		return registry
	}
	return a.Display()
}

// prfName names a PRF.
func prfName(p algo.PRF, registry string) string {
	if p == algo.PRFUnknown {
		return registry
	}
	return p.Display()
}
