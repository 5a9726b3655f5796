package ikecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"

	//lint:ignore SA1019 reading captured legacy IKEv1 traffic needs Blowfish
	"golang.org/x/crypto/blowfish"
	//lint:ignore SA1019 reading captured legacy IKEv1 traffic needs CAST-128
	"golang.org/x/crypto/cast5"

	"ipsecmon/algo"
)

// ErrCiphertext reports ciphertext that cannot be the output of the cipher
// (empty, or not a whole number of blocks).
var ErrCiphertext = errors.New("bad ciphertext length")

// NewBlock makes the block cipher behind a CBC algorithm. The key is the
// cipher key alone (IKEv1 phase 1 keys are already cut to length).
func NewBlock(enc algo.Enc, key []byte) (cipher.Block, error) {
	var (
		b   cipher.Block
		err error
	)
	switch enc {
	case algo.EncAESCBC:
		b, err = aes.NewCipher(key)
	case algo.Enc3DESCBC:
		b, err = des.NewTripleDESCipher(key)
	case algo.EncDESCBC:
		b, err = des.NewCipher(key)
	case algo.EncBlowfishCBC:
		b, err = blowfish.NewCipher(key)
	case algo.EncCAST5CBC:
		b, err = cast5.NewCipher(key)
	default:
		return nil, fmt.Errorf("CBC cipher %v: %w", enc, ErrUnsupported)
	}
	if err != nil {
		// The library errors name only the key size, never the key.
		return nil, fmt.Errorf("%v: %d-byte key: %w", enc, len(key), err)
	}
	return b, nil
}

// Phase1IV is the IV of the first encrypted phase 1 message: the negotiated
// hash of g^xi | g^xr, cut to the cipher's block size (RFC 2409 Appendix B).
func Phase1IV(p algo.PRF, gxi, gxr []byte, blockSize int) ([]byte, error) {
	h, err := Hash(p, gxi, gxr)
	if err != nil {
		return nil, err
	}
	if blockSize <= 0 || blockSize > len(h) {
		return nil, fmt.Errorf("phase 1 IV: block size %d with a %d-byte hash", blockSize, len(h))
	}
	return h[:blockSize:blockSize], nil
}

// Phase2IV is the IV of the first message of a Quick Mode or Informational
// exchange: the hash of the last phase 1 CBC output block and the message
// ID, cut to the block size (RFC 2409 Appendix B).
func Phase2IV(p algo.PRF, lastPhase1Block []byte, msgID uint32) ([]byte, error) {
	var mid [4]byte
	binary.BigEndian.PutUint32(mid[:], msgID)
	h, err := Hash(p, lastPhase1Block, mid[:])
	if err != nil {
		return nil, err
	}
	n := len(lastPhase1Block)
	if n == 0 || n > len(h) {
		return nil, fmt.Errorf("phase 2 IV: block size %d with a %d-byte hash", n, len(h))
	}
	return h[:n:n], nil
}

// DecryptCBC decrypts an IKEv1 message body (everything after the header)
// with iv. It returns the plaintext (in a new slice; padding included, as
// RFC 2408 §3.1 leaves it to the payload lengths) and the last ciphertext
// block, which is the IV of the exchange's next message.
func DecryptCBC(b cipher.Block, iv, ct []byte) (plain, next []byte, err error) {
	bs := b.BlockSize()
	if len(iv) != bs {
		return nil, nil, fmt.Errorf("IV of %d bytes for a %d-byte block cipher", len(iv), bs)
	}
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, nil, fmt.Errorf("%d bytes is not a whole number of %d-byte blocks: %w", len(ct), bs, ErrCiphertext)
	}
	plain = make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(plain, ct)
	next = append([]byte(nil), ct[len(ct)-bs:]...)
	return plain, next, nil
}

// KeymatV1 derives n bytes of Quick Mode keying material for one direction
// (RFC 2409 §5.5): K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b |
// Nr_b), Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
// spi is the SPI of the SA being keyed (the one its receiver chose); gqm is
// the PFS shared secret, nil without PFS.
func KeymatV1(p algo.PRF, skeyidD, gqm []byte, protocol uint8, spi uint32, ni, nr []byte, n int) ([]byte, error) {
	if n < 0 || n > 4096 {
		return nil, fmt.Errorf("KEYMAT: %d bytes requested: out of range", n)
	}
	var s [5]byte
	s[0] = protocol
	binary.BigEndian.PutUint32(s[1:], spi)
	out := make([]byte, 0, n+64)
	var k []byte
	for len(out) < n {
		var err error
		k, err = PRF(p, skeyidD, k, gqm, s[:], ni, nr)
		if err != nil {
			return nil, err
		}
		out = append(out, k...)
	}
	return out[:n:n], nil
}
