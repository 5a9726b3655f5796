package aesmac

import (
	"crypto/aes"
	"crypto/subtle"
	"fmt"
)

// MACCMAC is AES-CMAC (RFC 4493) of msg in one call.
func MACCMAC(key, msg []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("AES-CMAC: %w", err)
	}
	l := make([]byte, 16)
	b.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	e := make([]byte, 16)
	for len(msg) > 16 {
		subtle.XORBytes(e, e, msg[:16])
		b.Encrypt(e, e)
		msg = msg[16:]
	}
	last := make([]byte, 16)
	copy(last, msg)
	if len(msg) == 16 {
		subtle.XORBytes(last, last, k1)
	} else {
		last[len(msg)] = 0x80
		subtle.XORBytes(last, last, k2)
	}
	subtle.XORBytes(e, e, last)
	b.Encrypt(e, e)
	return e, nil
}

// dbl doubles in GF(2^128) (RFC 4493 §2.3).
func dbl(in []byte) []byte {
	out := make([]byte, 16)
	var carry byte
	for i := 15; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry != 0 {
		out[15] ^= 0x87
	}
	return out
}
