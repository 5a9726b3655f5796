// Package ikecrypt holds the cryptography ipsecmon needs to read IKE: IKEv1
// phase 1 and phase 2 IVs and CBC decryption (RFC 2409 Appendix B), IKEv2
// SK/SKF payload verification and decryption (RFC 7296 §3.14, RFC 5282,
// RFC 5930, RFC 7634, RFC 7383), and the KEYMAT of Quick Mode and CHILD
// SAs (RFC 2409 §5.5, RFC 7296 §2.17). It keeps no state. Key bytes never
// appear in its errors.
package ikecrypt

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"hash"

	"ipsecmon/aesmac"
	"ipsecmon/algo"
)

// ErrUnsupported is returned for an algorithm this package does not implement.
var ErrUnsupported = errors.New("unsupported algorithm")

func hashFunc(p algo.PRF) (func() hash.Hash, error) {
	if h := p.Hash(); h != nil {
		return h, nil
	}
	return nil, fmt.Errorf("hash for PRF %v: %w", p, ErrUnsupported)
}

// Hash is the plain hash behind an HMAC PRF, which IKEv1 uses for its IVs
// (RFC 2409 Appendix B: "the hash algorithm negotiated").
func Hash(p algo.PRF, parts ...[]byte) ([]byte, error) {
	h, err := hashFunc(p)
	if err != nil {
		return nil, err
	}
	d := h()
	for _, b := range parts {
		d.Write(b)
	}
	return d.Sum(nil), nil
}

// PRF computes prf(key, data...) for an IKE PRF: HMAC (RFC 2104),
// AES-XCBC-PRF-128 (RFC 4434) or AES-CMAC-PRF-128 (RFC 4615).
func PRF(p algo.PRF, key []byte, data ...[]byte) ([]byte, error) {
	switch p {
	case algo.PRFAESXCBC, algo.PRFAESCMAC:
		mac := aesmac.MACXCBC
		if p == algo.PRFAESCMAC {
			mac = aesmac.MACCMAC
		}
		k := key
		// RFC 4434 §2 / RFC 4615 §3: shorter keys are zero-padded, longer keys
		// are first reduced with the PRF under an all-zero key.
		switch {
		case len(k) < 16:
			k = append(append([]byte{}, k...), make([]byte, 16-len(k))...)
		case len(k) > 16:
			var err error
			if k, err = mac(make([]byte, 16), k); err != nil {
				return nil, err
			}
		}
		return mac(k, concat(data...))
	}
	h, err := hashFunc(p)
	if err != nil {
		return nil, err
	}
	m := hmac.New(h, key)
	for _, b := range data {
		m.Write(b)
	}
	return m.Sum(nil), nil
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// PRFPlus is IKEv2's prf+ (RFC 7296 §2.13): T1 | T2 | ... with
// Tn = prf(K, Tn-1 | S | n), cut to n bytes.
func PRFPlus(p algo.PRF, key, seed []byte, n int) ([]byte, error) {
	if n < 0 || n > 255*64 {
		return nil, fmt.Errorf("prf+: %d bytes requested: out of range", n)
	}
	out := make([]byte, 0, n+64)
	var t []byte
	for i := byte(1); len(out) < n; i++ {
		var err error
		t, err = PRF(p, key, t, seed, []byte{i})
		if err != nil {
			return nil, err
		}
		out = append(out, t...)
	}
	return out[:n:n], nil
}

func xorInto(dst, src []byte) {
	for i := range src {
		dst[i] ^= src[i]
	}
}
