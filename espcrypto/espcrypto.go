// Package espcrypto verifies and decrypts ESP and AH packets the way the
// receiving IPsec stack would (RFC 4303 §3.4, RFC 4302 §3.4): integrity
// check first, then decryption and the padding and next-header checks.
//
// A Transform holds one SA's keys. It keeps no replay window and infers no
// extended sequence numbers: the caller owns the window, decides the ESN
// high bits (RFC 4303 Appendix A) and passes them in. A Transform reuses
// internal buffers, so it must be used by one goroutine at a time, and the
// Payload of a Result is valid only until the next call. In steady state
// OpenESP and VerifyAH do not allocate.
package espcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"errors"
	"fmt"
	"hash"

	//lint:ignore SA1019 legacy SAs in real captures (Wireshark's 2006 samples) still use it; only decryption
	"golang.org/x/crypto/blowfish"
	//lint:ignore SA1019 legacy ESP algorithm (RFC 2451) found in captures; only decryption
	"golang.org/x/crypto/cast5"
	"golang.org/x/crypto/chacha20poly1305"

	//lint:ignore SA1019 legacy SAs in real captures (Wireshark's 2006 samples) still use it; only decryption
	"golang.org/x/crypto/twofish"

	"ipsecmon/aesmac"
	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// Outcome is what the receiver does with a packet.
type Outcome uint8

const (
	// OutcomeNone is the zero value; no call returns it.
	OutcomeNone Outcome = iota
	// Accepted: the integrity check passed (or the SA has none) and the
	// plaintext is well formed.
	Accepted
	// NotAuthenticated: the ICV or AEAD tag does not match.
	NotAuthenticated
	// NotDecrypted: integrity is fine or absent, but the plaintext cannot be
	// valid (length, padding, pad length or next header).
	NotDecrypted
	// Malformed: the packet is too short for the SA's header, IV and ICV, or
	// (AH) its IP header cannot be put into the form the ICV covers. No
	// check could be made. How to count it is the caller's decision.
	Malformed
)

func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case NotAuthenticated:
		return "not authenticated"
	case NotDecrypted:
		return "not decrypted"
	case Malformed:
		return "malformed"
	}
	return "none"
}

// Reason says why an Outcome was reached.
type Reason uint8

const (
	ReasonNone Reason = iota
	// ReasonDummy: accepted, but next header 59 marks a dummy packet that
	// the receiver discards (RFC 4303 §2.6).
	ReasonDummy
	// ReasonICVMismatch: the ICV or AEAD tag is wrong.
	ReasonICVMismatch
	// ReasonBadLength: the ciphertext is not a multiple of the cipher block
	// size and of 4 bytes (RFC 4303 §2.4).
	ReasonBadLength
	// ReasonBadPadLen: the pad length is longer than the plaintext.
	ReasonBadPadLen
	// ReasonBadPadding: the padding is not 1, 2, 3, … (RFC 4303 §2.4).
	ReasonBadPadding
	// ReasonBadNextHeader: the next header cannot follow ESP.
	ReasonBadNextHeader
	// ReasonTruncated: shorter than header + IV + ICV + trailer, or than the
	// length its IP header states.
	ReasonTruncated
	// ReasonFragment: AH on an IP fragment; the ICV covers the reassembled
	// packet.
	ReasonFragment
	// ReasonBadHeader: the IP or AH header is inconsistent (AH not where
	// the header chain says, ICV field shorter than the algorithm's ICV).
	ReasonBadHeader
	// ReasonUnsupported: an IPv6 routing header type whose final form cannot
	// be predicted, or a jumbogram.
	ReasonUnsupported
)

var reasonNames = [...]string{
	ReasonNone:          "",
	ReasonDummy:         "dummy packet (next header 59)",
	ReasonICVMismatch:   "ICV mismatch",
	ReasonBadLength:     "ciphertext length not a multiple of the block size",
	ReasonBadPadLen:     "pad length exceeds payload",
	ReasonBadPadding:    "padding bytes are not 1, 2, 3, ...",
	ReasonBadNextHeader: "impossible next header",
	ReasonTruncated:     "truncated",
	ReasonFragment:      "AH on an IP fragment",
	ReasonBadHeader:     "inconsistent IP or AH header",
	ReasonUnsupported:   "unsupported IPv6 header",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Result is the verdict on one packet.
type Result struct {
	Outcome Outcome
	Reason  Reason
	// NextHeader is the ESP trailer's next header (when the trailer could be
	// read) or the AH next header.
	NextHeader uint8
	// PadLen is the ESP pad length (when the trailer could be read).
	PadLen int
	// Payload is the ESP plaintext without IV, padding and trailer, or the
	// data after the AH header. It may alias the input or the Transform's
	// buffer and is valid until the next call on the Transform.
	Payload []byte
	// Skipped is how many bytes of the payload follow Payload, left
	// encrypted (OpenESPHead only).
	Skipped int
}

// ErrUnsupported is wrapped by New for combinations it cannot check.
var ErrUnsupported = errors.New("unsupported")

type mac interface {
	Reset()
	Write(p []byte) (int, error)
	Sum(b []byte) []byte
}

type ivSetter interface{ SetIV([]byte) }

type decryptMode uint8

const (
	modeNull decryptMode = iota
	modeCBC
	modeCTR
	modeGCM    // cipher.AEAD with the wire tag size
	modeGCM8   // CTR decryption, then a 16-byte tag truncated to 8
	modeGMAC   // RFC 4543 ENCR_NULL_AUTH_AES_GMAC
	modeCCM    // RFC 4309
	modeChaCha // RFC 7634
)

// Transform verifies and decrypts the packets of one SA.
type Transform struct {
	proto  uint8
	enc    algo.Enc
	auth   algo.Auth
	esn    bool
	mode   decryptMode
	ivLen  int
	icvLen int
	align  int
	check  bool // an ICV is verified

	block cipher.Block
	cbc   cipher.BlockMode
	cbcIV ivSetter
	aead  cipher.AEAD
	ccm   *ccm
	mac   mac
	salt  [4]byte

	// Scratch space; fields rather than locals because slices of them are
	// passed through interfaces, which would make locals escape.
	nonce [12]byte
	ctr   [16]byte
	ks    [16]byte
	sum   [64]byte
	hi    [4]byte
	aad   [12]byte
	buf   []byte // plaintext
	buf2  []byte // GCM-8 re-encryption, GMAC/ESN AAD, AH scratch copy
}

// New builds the transform of an SA. proto is ipproto.ESP or ipproto.AH; for AH,
// enc must be EncNull or EncUnknown. encKey includes the salt or nonce for
// CTR, GCM, CCM, GMAC and ChaCha20-Poly1305 (as IKE derives it). esn selects
// 64-bit extended sequence numbers. Errors never contain key bytes.
func New(proto uint8, enc algo.Enc, encKey []byte, auth algo.Auth, authKey []byte, esn bool) (*Transform, error) {
	t := &Transform{proto: proto, enc: enc, auth: auth, esn: esn}
	switch proto {
	case ipproto.ESP:
		if err := t.initEnc(encKey); err != nil {
			return nil, err
		}
		if enc.AEAD() {
			if auth != algo.AuthNone && auth != algo.AuthUnknown {
				return nil, fmt.Errorf("espcrypto: %s is a combined mode and takes no integrity algorithm (got %s)", enc, auth)
			}
			t.icvLen = enc.ICVLen()
			t.check = true
			return t, nil
		}
	case ipproto.AH:
		if enc != algo.EncNull && enc != algo.EncUnknown {
			return nil, fmt.Errorf("espcrypto: AH does not encrypt (got %s)", enc)
		}
		if auth == algo.AuthNone {
			return nil, errors.New("espcrypto: AH needs an integrity algorithm")
		}
	default:
		return nil, fmt.Errorf("espcrypto: protocol %d is neither ESP (50) nor AH (51)", proto)
	}
	if err := t.initAuth(authKey); err != nil {
		return nil, err
	}
	return t, nil
}

// NewFromKeys builds the transform of an SA read from a key file.
func NewFromKeys(sa *keys.SA) (*Transform, error) {
	if sa.NoKeys {
		return nil, fmt.Errorf("espcrypto: SA 0x%08x (%s) has no key material", sa.SPI, sa.Origin)
	}
	t, err := New(sa.Proto, sa.Enc, sa.EncKey, sa.Auth, sa.AuthKey, sa.ESN)
	if err != nil {
		return nil, fmt.Errorf("%w (SA 0x%08x, %s)", err, sa.SPI, sa.Origin)
	}
	return t, nil
}

// Unusable tries the keys of every keyed ESP and AH SA of set and returns
// a message for each entry that parses but cannot be used (an algorithm or
// combination this package does not implement, a key length it refuses),
// naming the SA and its file and line, never the key. The analyzer leaves
// such SAs unverified and says why in their keys_missing.
func Unusable(set *keys.Set) []string {
	var out []string
	for i := range set.SAs {
		k := &set.SAs[i]
		if k.NoKeys {
			continue
		}
		if _, err := NewFromKeys(k); err != nil {
			out = append(out, "key cannot be used: "+err.Error())
		}
	}
	return out
}

func keyLenError(what fmt.Stringer, got int, want ...int) error {
	return fmt.Errorf("espcrypto: %s key is %d bytes; want %v", what, got, want)
}

func (t *Transform) initEnc(key []byte) error {
	e := t.enc
	if e == algo.EncUnknown {
		return errors.New("espcrypto: ESP needs an encryption algorithm (null for none)")
	}
	if !e.ValidKeyLen(len(key)) {
		return fmt.Errorf("espcrypto: %s key (with salt) is %d bytes, which the algorithm does not allow", e, len(key))
	}
	t.ivLen = e.IVLen()
	t.align = e.PadAlign()
	k := key[:len(key)-e.SaltLen()]
	copy(t.salt[:], key[len(k):])
	var err error
	switch e {
	case algo.EncNull:
		t.mode = modeNull
		return nil
	case algo.EncAESCBC, algo.EncAESCTR, algo.EncAESGCM8, algo.EncAESGCM12, algo.EncAESGCM16, algo.EncNullAESGMAC:
		t.block, err = aes.NewCipher(k)
	case algo.Enc3DESCBC:
		t.block, err = des.NewTripleDESCipher(k)
	case algo.EncDESCBC:
		t.block, err = des.NewCipher(k)
	case algo.EncBlowfishCBC:
		t.block, err = blowfish.NewCipher(k)
	case algo.EncTwofishCBC:
		t.block, err = twofish.NewCipher(k)
	case algo.EncCAST5CBC:
		t.block, err = cast5.NewCipher(k)
	case algo.EncAESCCM8, algo.EncAESCCM12, algo.EncAESCCM16:
		t.mode = modeCCM
		t.ccm, err = newCCM(k, e.ICVLen())
		return wrapKeyErr(e, err)
	case algo.EncChaCha20Poly1305:
		t.mode = modeChaCha
		t.aead, err = chacha20poly1305.New(k)
		return wrapKeyErr(e, err)
	default:
		return fmt.Errorf("espcrypto: encryption %s: %w", e, ErrUnsupported)
	}
	if err != nil {
		return wrapKeyErr(e, err)
	}
	switch e {
	case algo.EncAESCTR:
		t.mode = modeCTR
	case algo.EncAESGCM8:
		// The standard GCM refuses tags shorter than 12 bytes; an 8-byte
		// ICV is the leftmost 8 bytes of the full tag (RFC 4106 §6), so
		// the full tag is recomputed and cut.
		t.mode = modeGCM8
		t.aead, err = cipher.NewGCM(t.block)
	case algo.EncAESGCM12, algo.EncAESGCM16:
		t.mode = modeGCM
		t.aead, err = cipher.NewGCMWithTagSize(t.block, e.ICVLen())
	case algo.EncNullAESGMAC:
		t.mode = modeGMAC
		t.aead, err = cipher.NewGCM(t.block)
	default:
		t.mode = modeCBC
		t.cbc = cipher.NewCBCDecrypter(t.block, make([]byte, t.block.BlockSize()))
		var ok bool
		if t.cbcIV, ok = t.cbc.(ivSetter); !ok {
			return fmt.Errorf("espcrypto: CBC mode of %s cannot be re-keyed with an IV: %w", e, ErrUnsupported)
		}
	}
	return wrapKeyErr(e, err)
}

// wrapKeyErr drops the library's message, which for some ciphers quotes the
// key length only, but keeps the algorithm name.
func wrapKeyErr(e algo.Enc, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("espcrypto: %s: key rejected: %w", e, err)
}

func (t *Transform) initAuth(key []byte) error {
	a := t.auth
	t.icvLen = a.ICVLen()
	var h func() hash.Hash
	switch a {
	case algo.AuthNone:
		return nil
	case algo.AuthUnchecked64, algo.AuthUnchecked96, algo.AuthUnchecked128, algo.AuthUnchecked192, algo.AuthUnchecked256:
		return nil
	case algo.AuthHMACMD5_96, algo.AuthHMACSHA1_96, algo.AuthHMACSHA256_128, algo.AuthHMACSHA384_192, algo.AuthHMACSHA512_256:
		h = a.Hash()
	case algo.AuthAESXCBC96:
		if len(key) != 16 {
			return keyLenError(a, len(key), 16)
		}
		x, err := aesmac.NewXCBC(key)
		if err != nil {
			return fmt.Errorf("espcrypto: %s: key rejected: %w", a, err)
		}
		t.mac, t.check = x, true
		return nil
	case algo.AuthAESGMAC128:
		// RFC 4543 §4 (AH with AES-GMAC): no implementation or published
		// vector was available to check an implementation against.
		return fmt.Errorf("espcrypto: integrity %s: %w", a, ErrUnsupported)
	default:
		return fmt.Errorf("espcrypto: integrity algorithm %s: %w", a, ErrUnsupported)
	}
	// HMAC accepts any key length (RFC 2104 §3); Linux and Wireshark do
	// too, and the 2006 Wireshark captures rely on it.
	if len(key) == 0 {
		return fmt.Errorf("espcrypto: %s needs a key", a)
	}
	t.mac, t.check = hmac.New(h, key), true
	return nil
}

// ICVLen is the length of the ICV (or AEAD tag) each packet carries.
func (t *Transform) ICVLen() int { return t.icvLen }

// IVLen is the length of the explicit IV each ESP packet carries.
func (t *Transform) IVLen() int { return t.ivLen }

// Checked reports whether integrity is verified: false for SAs without
// integrity and for the "unchecked" ICV placeholders.
func (t *Transform) Checked() bool { return t.check }

// ESN reports whether the SA uses extended sequence numbers.
func (t *Transform) ESN() bool { return t.esn }

// Proto is ipproto.ESP or ipproto.AH.
func (t *Transform) Proto() uint8 { return t.proto }

// Enc and Auth are the SA's algorithms (EncNull for AH; AuthNone for the
// combined modes).
func (t *Transform) Enc() algo.Enc   { return t.enc }
func (t *Transform) Auth() algo.Auth { return t.auth }

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/4)
	}
	return b[:n]
}
