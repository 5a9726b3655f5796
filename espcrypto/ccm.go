package espcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// ccm is the CCM mode of RFC 3610 over an AES block, as ESP uses it (RFC
// 4309). Neither the standard library nor golang.org/x/crypto offers CCM, so
// the mode (CTR encryption plus a CBC-MAC) is composed here; the block
// cipher is crypto/aes. Only decryption is needed. All working state lives
// in the struct so that open does not allocate.
type ccm struct {
	b      cipher.Block
	tagLen int
	x      [aes.BlockSize]byte // CBC-MAC state
	blk    [aes.BlockSize]byte // block being assembled for the MAC
	ctr    [aes.BlockSize]byte // counter block A_i
	ks     [aes.BlockSize]byte // key stream S_i
	s0     [aes.BlockSize]byte
	n      int // bytes in blk
}

func newCCM(key []byte, tagLen int) (*ccm, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &ccm{b: b, tagLen: tagLen}, nil
}

func (c *ccm) macWrite(p []byte) {
	for len(p) > 0 {
		k := copy(c.blk[c.n:], p)
		c.n += k
		p = p[k:]
		if c.n == aes.BlockSize {
			subtle.XORBytes(c.x[:], c.x[:], c.blk[:])
			c.b.Encrypt(c.x[:], c.x[:])
			c.n = 0
		}
	}
}

// macPad completes a partial block with zeros (RFC 3610 §2.2: the
// additional data and the message are each padded to a block boundary).
func (c *ccm) macPad() {
	if c.n == 0 {
		return
	}
	clear(c.blk[c.n:])
	c.n = aes.BlockSize
	subtle.XORBytes(c.x[:], c.x[:], c.blk[:])
	c.b.Encrypt(c.x[:], c.x[:])
	c.n = 0
}

// setCounter writes i into the last l bytes of the counter block (the
// nonce takes the bytes before them).
func (c *ccm) setCounter(i uint32, l int) {
	for k := aes.BlockSize - 1; k >= aes.BlockSize-l; k-- {
		c.ctr[k] = byte(i)
		i >>= 8
	}
}

// open decrypts ct into dst (len(dst) >= len(ct)) and reports whether tag
// authenticates nonce, aad and the plaintext. The nonce is 7 to 13 bytes;
// the length field takes the rest of the 15 (RFC 3610 §2). Messages longer
// than 2^32-1 bytes are not supported (ESP cannot carry them).
func (c *ccm) open(dst, nonce, ct, tag, aad []byte) bool {
	if len(tag) != c.tagLen || len(nonce) < 7 || len(nonce) > 13 {
		return false
	}
	l := 15 - len(nonce)
	// Counter blocks A_i = flags(L-1) || nonce || i (RFC 3610 §2.3).
	clear(c.ctr[:])
	c.ctr[0] = byte(l - 1)
	copy(c.ctr[1:], nonce)
	c.setCounter(0, l)
	c.b.Encrypt(c.s0[:], c.ctr[:])
	pt := dst[:len(ct)]
	for i, off := uint32(1), 0; off < len(ct); i, off = i+1, off+aes.BlockSize {
		c.setCounter(i, l)
		c.b.Encrypt(c.ks[:], c.ctr[:])
		subtle.XORBytes(pt[off:], ct[off:], c.ks[:])
	}

	// B_0 = flags || nonce || l(m) (RFC 3610 §2.2).
	clear(c.x[:])
	flags := byte((c.tagLen-2)/2)<<3 | byte(l-1)
	if len(aad) > 0 {
		flags |= 0x40
	}
	c.x[0] = flags
	copy(c.x[1:], nonce)
	m := uint64(len(ct))
	for i := aes.BlockSize - 1; i > len(nonce); i-- {
		c.x[i] = byte(m)
		m >>= 8
	}
	c.b.Encrypt(c.x[:], c.x[:])
	c.n = 0
	if len(aad) > 0 {
		var hdr [6]byte
		if len(aad) < 0xff00 {
			binary.BigEndian.PutUint16(hdr[:], uint16(len(aad)))
			c.macWrite(hdr[:2])
		} else {
			hdr[0], hdr[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(hdr[2:], uint32(len(aad)))
			c.macWrite(hdr[:6])
		}
		c.macWrite(aad)
		c.macPad()
	}
	c.macWrite(pt)
	c.macPad()
	subtle.XORBytes(c.x[:], c.x[:], c.s0[:])
	return subtle.ConstantTimeCompare(c.x[:c.tagLen], tag) == 1
}
