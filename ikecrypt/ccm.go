package ikecrypt

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// ErrAuth is returned when an ICV or AEAD tag does not verify.
var ErrAuth = errors.New("integrity check failed")

// ccmOpen decrypts and verifies AES-CCM (RFC 3610) with an M-byte tag and a
// nonce of 15-L bytes. IKEv2 uses L = 4 with an 11-byte nonce (RFC 5282 §4;
// the ESP layout of RFC 4309).
func ccmOpen(b cipher.Block, nonce, ct, tag, aad []byte) ([]byte, error) {
	m := len(tag)
	l := 15 - len(nonce)
	if m < 4 || m > 16 || m%2 != 0 || l < 2 || l > 8 {
		return nil, errors.New("CCM: bad tag or nonce size")
	}
	if l < 8 && uint64(len(ct)) >= 1<<(8*l) {
		return nil, errors.New("CCM: message too long for the nonce size")
	}
	// Counter blocks A_i = flags | nonce | i (RFC 3610 §2.3).
	ctr := make([]byte, 16)
	ctr[0] = byte(l - 1)
	copy(ctr[1:], nonce)
	s0 := make([]byte, 16)
	b.Encrypt(s0, ctr)
	plain := make([]byte, len(ct))
	ks := make([]byte, 16)
	for i := 0; i*16 < len(ct); i++ {
		putCounter(ctr[16-l:], uint64(i+1))
		b.Encrypt(ks, ctr)
		end := min(len(ct), (i+1)*16)
		for j := i * 16; j < end; j++ {
			plain[j] = ct[j] ^ ks[j-i*16]
		}
	}
	// CBC-MAC over B0, the encoded associated data and the message (§2.2).
	x := make([]byte, 16)
	x[0] = byte((m-2)/2)<<3 | byte(l-1)
	if len(aad) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	putCounter(x[16-l:], uint64(len(plain)))
	b.Encrypt(x, x)
	if len(aad) > 0 {
		var enc []byte
		if len(aad) < 0xff00 {
			enc = binary.BigEndian.AppendUint16(nil, uint16(len(aad)))
		} else {
			enc = binary.BigEndian.AppendUint32([]byte{0xff, 0xfe}, uint32(len(aad)))
		}
		enc = append(enc, aad...)
		macBlocks(b, x, enc)
	}
	macBlocks(b, x, plain)
	want := make([]byte, m)
	for i := range want {
		want[i] = x[i] ^ s0[i]
	}
	if subtle.ConstantTimeCompare(want, tag) != 1 {
		return nil, ErrAuth
	}
	return plain, nil
}

// macBlocks continues a CBC-MAC over data, zero-padded to whole blocks.
func macBlocks(b cipher.Block, x, data []byte) {
	for len(data) > 0 {
		n := min(16, len(data))
		xorInto(x[:n], data[:n])
		b.Encrypt(x, x)
		data = data[n:]
	}
}

func putCounter(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte(v)
		v >>= 8
	}
}
