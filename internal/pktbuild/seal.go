package pktbuild

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Sealer builds ESP packets the way a sending IPsec stack does (RFC 4303
// §3.3), with the standard library's ciphers, so that tests can feed
// ipsecmon real ciphertext and inject faults at known places.
type Sealer struct {
	SPI uint32
	// CBC + HMAC when Key and AuthKey are set and GCM is false; AES-GCM-16
	// (RFC 4106) when GCM is true (Key then includes the 4-byte salt).
	Key, AuthKey []byte
	GCM          bool
	SHA1         bool // HMAC-SHA1-96 instead of HMAC-SHA2-256-128
	ESN          bool
	// TripleDES encrypts with 3DES-CBC (RFC 2451; Key is 24 bytes), Null
	// with NULL encryption (RFC 2410: no IV, 4-byte alignment; Key unused),
	// both with the HMAC above.
	TripleDES, Null bool
}

// Fault selects an error to inject.
type Fault int

const (
	NoFault       Fault = iota
	FlipICV             // one bit of the ICV flipped: integrity fails
	BadPadding          // padding bytes not 1, 2, 3, ... but the ICV is valid: decryption fails
	BadNextHeader       // next header 200 with a valid ICV
)

func (s *Sealer) icv(data []byte, seqHi uint32) []byte {
	var h func() hash.Hash = sha256.New
	n := 16
	if s.SHA1 {
		h, n = sha1.New, 12
	}
	m := hmac.New(h, s.AuthKey)
	m.Write(data)
	if s.ESN {
		// RFC 4303 §2.2.1: the high half is appended for the ICV only.
		m.Write(binary.BigEndian.AppendUint32(nil, seqHi))
	}
	return m.Sum(nil)[:n]
}

// Seal returns the ESP packet (SPI to ICV) carrying payload with next header nh.
func (s *Sealer) Seal(seq uint64, payload []byte, nh uint8, fault Fault) []byte {
	align := 16
	switch {
	case s.GCM, s.Null:
		align = 4
	case s.TripleDES:
		align = 8
	}
	// RFC 4303 §2.4: pad so that payload+2 aligns; padding is 1, 2, 3, ...
	padLen := (align - (len(payload)+2)%align) % align
	if fault == BadPadding && padLen == 0 {
		padLen = align
	}
	pt := append([]byte(nil), payload...)
	for i := 1; i <= padLen; i++ {
		pt = append(pt, byte(i))
	}
	if fault == BadPadding {
		pt[len(payload)] = 0xee
	}
	if fault == BadNextHeader {
		nh = 200
	}
	pt = append(pt, byte(padLen), nh)
	hdr := Cat(U32(s.SPI), U32(uint32(seq)))
	seqHi := uint32(seq >> 32)
	var out []byte
	if s.GCM {
		blk, _ := aes.NewCipher(s.Key[:len(s.Key)-4])
		aead, _ := cipher.NewGCM(blk)
		iv := binary.BigEndian.AppendUint64(nil, seq*7+1)
		nonce := Cat(s.Key[len(s.Key)-4:], iv)
		aad := hdr
		if s.ESN {
			aad = Cat(U32(s.SPI), U32(seqHi), U32(uint32(seq)))
		}
		out = Cat(hdr, iv, aead.Seal(nil, nonce, pt, aad))
		if fault == FlipICV {
			out[len(out)-1] ^= 1
		}
		return out
	}
	if s.Null {
		out = Cat(hdr, pt)
	} else {
		var blk cipher.Block
		if s.TripleDES {
			blk, _ = des.NewTripleDESCipher(s.Key)
		} else {
			blk, _ = aes.NewCipher(s.Key)
		}
		iv := make([]byte, blk.BlockSize())
		binary.BigEndian.PutUint64(iv[len(iv)-8:], seq*13+5)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(ct, pt)
		out = Cat(hdr, iv, ct)
	}
	icv := s.icv(out, seqHi)
	if fault == FlipICV {
		icv[0] ^= 0x80
	}
	return Cat(out, icv)
}

// InnerICMP is an inner IPv4 packet carrying an ICMP echo request of n bytes of data.
func InnerICMP(src, dst [4]byte, n int) []byte {
	return Cat(IPv4(1, src, dst, 8+n, 0), []byte{8, 0, 0, 0, 0, 1, 0, 1}, make([]byte, n))
}
