// Package aesmac holds the two AES-based MACs IPsec uses that neither the
// standard library nor golang.org/x/crypto provide: AES-XCBC-MAC (RFC 3566;
// ESP/AH integrity and, per RFC 4434, an IKE PRF) and AES-CMAC (RFC 4493;
// the IKE PRF of RFC 4615). Both are composed from crypto/aes, whose block
// cipher does the cryptography.
package aesmac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// XCBC is AES-XCBC-MAC (RFC 3566 §4), a hash.Hash that does not allocate.
type XCBC struct {
	k1     cipher.Block
	k2, k3 [aes.BlockSize]byte
	e      [aes.BlockSize]byte // CBC state E[i-1]
	buf    [aes.BlockSize]byte // last, not yet processed block
	tmp    [aes.BlockSize]byte
	n      int // bytes in buf
}

// NewXCBC keys AES-XCBC-MAC with a 16-byte key.
func NewXCBC(key []byte) (*XCBC, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	x := new(XCBC)
	// RFC 3566 §4 step 1: K1 = E(K, 0x01..01), K2 = E(K, 0x02..02), K3 = E(K, 0x03..03).
	var k1 [aes.BlockSize]byte
	for i := range k1 {
		k1[i], x.k2[i], x.k3[i] = 1, 2, 3
	}
	c.Encrypt(k1[:], k1[:])
	c.Encrypt(x.k2[:], x.k2[:])
	c.Encrypt(x.k3[:], x.k3[:])
	if x.k1, err = aes.NewCipher(k1[:]); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *XCBC) Reset() {
	clear(x.e[:])
	x.n = 0
}

// Write keeps the final block back: RFC 3566 treats the last block
// differently, and a full buffer is only known not to be last when more data
// arrives.
func (x *XCBC) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if x.n == aes.BlockSize {
			subtle.XORBytes(x.e[:], x.e[:], x.buf[:])
			x.k1.Encrypt(x.e[:], x.e[:])
			x.n = 0
		}
		c := copy(x.buf[x.n:], p)
		x.n += c
		p = p[c:]
	}
	return total, nil
}

// Sum appends the 128-bit MAC (RFC 3566 §4 steps 3 and 4) to b.
func (x *XCBC) Sum(b []byte) []byte {
	x.tmp = x.buf
	if x.n == aes.BlockSize {
		subtle.XORBytes(x.tmp[:], x.tmp[:], x.k2[:])
	} else {
		x.tmp[x.n] = 0x80
		clear(x.tmp[x.n+1:])
		subtle.XORBytes(x.tmp[:], x.tmp[:], x.k3[:])
	}
	subtle.XORBytes(x.tmp[:], x.tmp[:], x.e[:])
	x.k1.Encrypt(x.tmp[:], x.tmp[:])
	return append(b, x.tmp[:]...)
}

// Size and BlockSize complete hash.Hash.
func (x *XCBC) Size() int      { return aes.BlockSize }
func (x *XCBC) BlockSize() int { return aes.BlockSize }

// MACXCBC is AES-XCBC-MAC of msg in one call.
func MACXCBC(key, msg []byte) ([]byte, error) {
	x, err := NewXCBC(key)
	if err != nil {
		return nil, err
	}
	x.Write(msg)
	return x.Sum(nil), nil
}
