package ikecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"ipsecmon/aesmac"
	"ipsecmon/algo"
	"ipsecmon/keys"
)

// Integrity is the outcome of an ICV or AEAD tag check.
type Integrity uint8

const (
	IntegrityNotChecked Integrity = iota
	IntegrityOK
	IntegrityBad
)

var integrityNames = [...]string{"not-checked", "ok", "bad"}

func (i Integrity) String() string {
	if int(i) < len(integrityNames) {
		return integrityNames[i]
	}
	return "unknown"
}

func (i Integrity) MarshalJSON() ([]byte, error) { return json.Marshal(i.String()) }

// SKKeys are one direction's IKEv2 SA keys.
type SKKeys struct {
	Enc      algo.Enc
	EncKey   []byte // includes the salt for AEAD and CTR (RFC 5282, RFC 5930)
	Integ    algo.Auth
	IntegKey []byte
}

// Direction picks the keys that protect messages sent by the original
// initiator of the IKE SA (SK_ei/SK_ai) or by the responder (SK_er/SK_ar).
func Direction(sa *keys.IKEv2SA, fromInitiator bool) SKKeys {
	if fromInitiator {
		return SKKeys{sa.Enc, sa.SKei, sa.Integ, sa.SKai}
	}
	return SKKeys{sa.Enc, sa.SKer, sa.Integ, sa.SKar}
}

// OpenSK verifies and decrypts an SK or SKF payload. msg is the IKE message
// from its header up to the end of the encrypted payload, off the offset of
// the payload's generic header in msg and hdrLen that header's length (4 for
// SK, 8 for SKF, whose fragment number and total are authenticated too,
// RFC 7383 §2.5). It returns the inner payload chain without padding.
//
// A non-AEAD payload is decrypted even when its ICV is wrong, with
// IntegrityBad; an AEAD payload that fails its tag yields ErrAuth and no
// plaintext.
func OpenSK(k SKKeys, msg []byte, off, hdrLen int) ([]byte, Integrity, error) {
	if off < 0 || hdrLen < 4 || off+hdrLen > len(msg) {
		return nil, IntegrityNotChecked, fmt.Errorf("SK payload at %d+%d outside a %d-byte message", off, hdrLen, len(msg))
	}
	aad := msg[:off+hdrLen]
	body := msg[off+hdrLen:]
	if k.Enc.AEAD() {
		pt, err := openAEAD(k, aad, body)
		if err != nil {
			if err == ErrAuth {
				return nil, IntegrityBad, err
			}
			return nil, IntegrityNotChecked, err
		}
		pt, err = stripPadding(pt)
		return pt, IntegrityOK, err
	}
	icvLen := k.Integ.ICVLen()
	if len(body) < icvLen {
		return nil, IntegrityNotChecked, fmt.Errorf("SK: %d bytes, shorter than the %d-byte ICV: %w", len(body), icvLen, ErrCiphertext)
	}
	integ := IntegrityNotChecked
	if k.Integ.Checked() {
		want, err := mac(k.Integ, k.IntegKey, msg[:len(msg)-icvLen])
		if err != nil {
			return nil, IntegrityNotChecked, err
		}
		integ = IntegrityBad
		if subtle.ConstantTimeCompare(want[:icvLen], body[len(body)-icvLen:]) == 1 {
			integ = IntegrityOK
		}
	}
	pt, err := decryptPlain(k, body[:len(body)-icvLen])
	if err != nil {
		return nil, integ, err
	}
	pt, err = stripPadding(pt)
	return pt, integ, err
}

// stripPadding removes the padding and the Pad Length byte (RFC 7296 §3.14).
func stripPadding(pt []byte) ([]byte, error) {
	if len(pt) == 0 {
		return nil, fmt.Errorf("SK: empty plaintext: %w", ErrCiphertext)
	}
	pad := int(pt[len(pt)-1])
	if pad+1 > len(pt) {
		return nil, fmt.Errorf("SK: pad length %d in %d bytes of plaintext: %w", pad, len(pt), ErrCiphertext)
	}
	return pt[:len(pt)-1-pad], nil
}

func decryptPlain(k SKKeys, data []byte) ([]byte, error) {
	switch k.Enc {
	case algo.EncNull:
		return append([]byte(nil), data...), nil
	case algo.EncAESCTR:
		if len(k.EncKey) < 4+16 {
			return nil, fmt.Errorf("AES-CTR: %d bytes of key material: %w", len(k.EncKey), ErrUnsupported)
		}
		key, nonce := k.EncKey[:len(k.EncKey)-4], k.EncKey[len(k.EncKey)-4:]
		if len(data) < 8 {
			return nil, fmt.Errorf("AES-CTR: %d bytes, need an 8-byte IV: %w", len(data), ErrCiphertext)
		}
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("AES-CTR: %d-byte key: %w", len(key), err)
		}
		// Counter block: nonce | IV | 1 (RFC 5930 §2, RFC 3686 §4).
		ctr := make([]byte, 16)
		copy(ctr, nonce)
		copy(ctr[4:], data[:8])
		ctr[15] = 1
		out := make([]byte, len(data)-8)
		cipher.NewCTR(b, ctr).XORKeyStream(out, data[8:])
		return out, nil
	}
	b, err := NewBlock(k.Enc, k.EncKey)
	if err != nil {
		return nil, err
	}
	bs := b.BlockSize()
	if len(data) < bs {
		return nil, fmt.Errorf("%v: %d bytes, need a %d-byte IV: %w", k.Enc, len(data), bs, ErrCiphertext)
	}
	pt, _, err := DecryptCBC(b, data[:bs], data[bs:])
	return pt, err
}

func openAEAD(k SKKeys, aad, body []byte) ([]byte, error) {
	salt := k.Enc.SaltLen()
	icv := k.Enc.ICVLen()
	if len(k.EncKey) <= salt {
		return nil, fmt.Errorf("%v: %d bytes of key material: %w", k.Enc, len(k.EncKey), ErrUnsupported)
	}
	if len(body) < 8+icv {
		return nil, fmt.Errorf("%v: %d bytes, need IV and %d-byte ICV: %w", k.Enc, len(body), icv, ErrCiphertext)
	}
	key, s := k.EncKey[:len(k.EncKey)-salt], k.EncKey[len(k.EncKey)-salt:]
	nonce := append(append([]byte(nil), s...), body[:8]...)
	ct := body[8 : len(body)-icv]
	tag := body[len(body)-icv:]
	switch k.Enc {
	case algo.EncChaCha20Poly1305:
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("ChaCha20-Poly1305: %d-byte key: %w", len(key), err)
		}
		pt, err := a.Open(nil, nonce, body[8:], aad)
		if err != nil {
			return nil, ErrAuth
		}
		return pt, nil
	case algo.EncAESGCM8, algo.EncAESGCM12, algo.EncAESGCM16:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("AES-GCM: %d-byte key: %w", len(key), err)
		}
		return gcmOpen(b, nonce, ct, tag, aad)
	case algo.EncAESCCM8, algo.EncAESCCM12, algo.EncAESCCM16:
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("AES-CCM: %d-byte key: %w", len(key), err)
		}
		return ccmOpen(b, nonce, ct, tag, aad)
	}
	return nil, fmt.Errorf("AEAD %v: %w", k.Enc, ErrUnsupported)
}

// gcmOpen opens AES-GCM with a 16-, 12- or 8-byte tag. Go's GCM refuses tags
// shorter than 12 bytes, so an 8-byte tag is checked by decrypting in CTR mode
// (GCM's keystream starts at counter 2, NIST SP 800-38D §7.2) and comparing
// the prefix of the full tag recomputed over the plaintext.
func gcmOpen(b cipher.Block, nonce, ct, tag, aad []byte) ([]byte, error) {
	if len(tag) >= 12 {
		g, err := cipher.NewGCMWithTagSize(b, len(tag))
		if err != nil {
			return nil, err
		}
		pt, err := g.Open(nil, nonce, append(append([]byte(nil), ct...), tag...), aad)
		if err != nil {
			return nil, ErrAuth
		}
		return pt, nil
	}
	ctr := make([]byte, 16)
	copy(ctr, nonce)
	ctr[15] = 2
	pt := make([]byte, len(ct))
	cipher.NewCTR(b, ctr).XORKeyStream(pt, ct)
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	sealed := g.Seal(nil, nonce, pt, aad)
	full := sealed[len(sealed)-16:]
	if subtle.ConstantTimeCompare(full[:len(tag)], tag) != 1 {
		return nil, ErrAuth
	}
	return pt, nil
}

// mac computes the untruncated integrity checksum of an IKE or ESP
// integrity algorithm; callers truncate to ICVLen.
func mac(a algo.Auth, key, data []byte) ([]byte, error) {
	h := a.Hash()
	switch {
	case a == algo.AuthAESXCBC96:
		return aesmac.MACXCBC(key, data)
	case h == nil:
		return nil, fmt.Errorf("integrity %v: %w", a, ErrUnsupported)
	}
	m := hmac.New(h, key)
	m.Write(data)
	return m.Sum(nil), nil
}

// ChildKeys are the keys of a CHILD SA pair, named by the direction of the
// traffic they protect: I for initiator→responder (the SA whose SPI the
// responder chose), R for responder→initiator.
type ChildKeys struct {
	EncI, IntegI, EncR, IntegR []byte
}

// KeymatV2 derives a CHILD SA pair's keys: KEYMAT = prf+(SK_d, [g^ir (new) |]
// Ni | Nr), taken in the order encryption then integrity, initiator→responder
// first (RFC 7296 §2.17). encLen includes any salt; gir is nil without PFS.
func KeymatV2(p algo.PRF, skd, gir, ni, nr []byte, encLen, integLen int) (ChildKeys, error) {
	km, err := PRFPlus(p, skd, concat(gir, ni, nr), 2*(encLen+integLen))
	if err != nil {
		return ChildKeys{}, err
	}
	var c ChildKeys
	c.EncI, km = km[:encLen:encLen], km[encLen:]
	c.IntegI, km = km[:integLen:integLen], km[integLen:]
	c.EncR, km = km[:encLen:encLen], km[encLen:]
	c.IntegR = km[:integLen:integLen]
	return c, nil
}
