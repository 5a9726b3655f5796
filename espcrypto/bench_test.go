package espcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"ipsecmon/aesmac"
	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// benchSA is one SA of the benchmarks and fuzz targets, with a packet that
// it accepts. The packets are built here with the standard library's
// encrypting modes (the package under test only decrypts); their validity
// is asserted in TestBenchPacketsAccepted before any timing matters.
type benchSA struct {
	name  string
	enc   algo.Enc
	auth  algo.Auth
	esn   bool
	proto uint8
}

var benchSAs = []benchSA{
	{"null-hmac-sha256", algo.EncNull, algo.AuthHMACSHA256_128, false, ipproto.ESP},
	{"aes-cbc-hmac-sha1", algo.EncAESCBC, algo.AuthHMACSHA1_96, false, ipproto.ESP},
	{"aes-cbc-hmac-sha256", algo.EncAESCBC, algo.AuthHMACSHA256_128, false, ipproto.ESP},
	{"aes-cbc-hmac-sha512-esn", algo.EncAESCBC, algo.AuthHMACSHA512_256, true, ipproto.ESP},
	{"aes-cbc-xcbc", algo.EncAESCBC, algo.AuthAESXCBC96, false, ipproto.ESP},
	{"aes-ctr-hmac-sha256", algo.EncAESCTR, algo.AuthHMACSHA256_128, false, ipproto.ESP},
	{"3des-cbc-hmac-md5", algo.Enc3DESCBC, algo.AuthHMACMD5_96, false, ipproto.ESP},
	{"aes-gcm-16", algo.EncAESGCM16, algo.AuthNone, false, ipproto.ESP},
	{"aes-gcm-16-esn", algo.EncAESGCM16, algo.AuthNone, true, ipproto.ESP},
	{"aes-gcm-12", algo.EncAESGCM12, algo.AuthNone, false, ipproto.ESP},
	{"aes-gcm-8", algo.EncAESGCM8, algo.AuthNone, false, ipproto.ESP},
	{"aes-gmac", algo.EncNullAESGMAC, algo.AuthNone, false, ipproto.ESP},
	{"aes-ccm-16", algo.EncAESCCM16, algo.AuthNone, false, ipproto.ESP},
	{"chacha20-poly1305", algo.EncChaCha20Poly1305, algo.AuthNone, false, ipproto.ESP},
	{"ah-hmac-sha256", algo.EncNull, algo.AuthHMACSHA256_128, false, ipproto.AH},
}

func benchKeys(sa benchSA) (encKey, authKey []byte) {
	n := 0
	for l := 1; l <= 64; l++ {
		if sa.enc.ValidKeyLen(l) {
			n = l
			break
		}
	}
	if sa.enc == algo.EncAESCBC || sa.enc == algo.EncAESCTR || sa.enc.AEAD() {
		n = 16 + sa.enc.SaltLen()
		if sa.enc == algo.EncChaCha20Poly1305 {
			n = 36
		}
	}
	encKey = make([]byte, n)
	for i := range encKey {
		encKey[i] = byte(0x11 * (i + 1))
	}
	if l := sa.auth.KeyLen(); l > 0 {
		authKey = make([]byte, l)
		for i := range authKey {
			authKey[i] = byte(0x5a ^ i)
		}
	}
	return
}

const benchSeqHi = 3

// benchPacket builds an ESP packet (or, for AH, an IPv6 packet with AH)
// carrying an inner payload of size bytes.
func benchPacket(tb testing.TB, sa benchSA, size int) []byte {
	encKey, authKey := benchKeys(sa)
	inner := make([]byte, size)
	for i := range inner {
		inner[i] = byte(i)
	}
	hi := binary.BigEndian.AppendUint32(nil, benchSeqHi)
	macOf := func(data ...[]byte) []byte {
		var m mac
		switch sa.auth {
		case algo.AuthHMACMD5_96:
			m = hmac.New(md5.New, authKey)
		case algo.AuthHMACSHA1_96:
			m = hmac.New(sha1.New, authKey)
		case algo.AuthHMACSHA256_128:
			m = hmac.New(sha256.New, authKey)
		case algo.AuthHMACSHA512_256:
			m = hmac.New(sha512.New, authKey)
		case algo.AuthAESXCBC96:
			x, err := aesmac.NewXCBC(authKey) // checked against RFC 3566 in TestICVKnownAnswers
			if err != nil {
				tb.Fatal(err)
			}
			m = x
		default:
			tb.Fatalf("no MAC for %v", sa.auth)
		}
		for _, d := range data {
			m.Write(d)
		}
		return m.Sum(nil)[:sa.auth.ICVLen()]
	}
	if sa.proto == ipproto.AH {
		// 32-byte AH: 12 fixed, 16 ICV, 4 padding to 8-byte alignment.
		pkt := make([]byte, 40+32+size)
		pkt[0] = 0x60
		binary.BigEndian.PutUint16(pkt[4:], uint16(32+size))
		pkt[6], pkt[7] = ipproto.AH, 64
		pkt[8], pkt[24] = 0xfe, 0xfe
		pkt[40], pkt[41] = 59, 6
		binary.BigEndian.PutUint32(pkt[44:], 0x100)
		binary.BigEndian.PutUint32(pkt[48:], 1)
		copy(pkt[72:], inner)
		z := append([]byte(nil), pkt...)
		z[7] = 0
		copy(pkt[52:], macOf(z))
		return pkt
	}
	align := sa.enc.PadAlign()
	padLen := (align - (size+2)%align) % align
	pt := append([]byte(nil), inner...)
	for i := 1; i <= padLen; i++ {
		pt = append(pt, byte(i))
	}
	pt = append(pt, byte(padLen), 4)
	esp := binary.BigEndian.AppendUint32(nil, 0xc0ffee)
	esp = binary.BigEndian.AppendUint32(esp, 1)
	iv := make([]byte, sa.enc.IVLen())
	for i := range iv {
		iv[i] = byte(0xa0 + i)
	}
	esp = append(esp, iv...)
	salt := encKey[len(encKey)-sa.enc.SaltLen():]
	k := encKey[:len(encKey)-sa.enc.SaltLen()]
	nonce := append(append([]byte(nil), salt...), iv...)
	aad := esp[:8]
	if sa.esn {
		aad = append(append(append([]byte(nil), esp[:4]...), hi...), esp[4:8]...)
	}
	switch sa.enc {
	case algo.EncNull:
		esp = append(esp, pt...)
	case algo.EncAESCBC:
		b, _ := aes.NewCipher(k)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)
		esp = append(esp, ct...)
	case algo.EncAESCTR:
		b, _ := aes.NewCipher(k)
		ctr := append(append([]byte(nil), nonce...), 0, 0, 0, 1)
		ct := make([]byte, len(pt))
		cipher.NewCTR(b, ctr).XORKeyStream(ct, pt)
		esp = append(esp, ct...)
	case algo.Enc3DESCBC:
		tr, _ := New(ipproto.ESP, sa.enc, encKey, algo.AuthNone, nil, false)
		ct := make([]byte, len(pt))
		cipher.NewCBCEncrypter(tr.block, iv).CryptBlocks(ct, pt)
		esp = append(esp, ct...)
	case algo.EncAESGCM16, algo.EncAESGCM12, algo.EncAESGCM8:
		b, _ := aes.NewCipher(k)
		g, _ := cipher.NewGCM(b)
		sealed := g.Seal(nil, nonce, pt, aad)
		return append(esp, sealed[:len(pt)+sa.enc.ICVLen()]...)
	case algo.EncNullAESGMAC:
		b, _ := aes.NewCipher(k)
		g, _ := cipher.NewGCM(b)
		esp = append(esp, pt...)
		return append(esp, g.Seal(nil, nonce, nil, esp)...)
	case algo.EncAESCCM16:
		return append(esp, sealCCM(tb, k, nonce, pt, aad, 16)...)
	case algo.EncChaCha20Poly1305:
		a, _ := chacha20poly1305.New(k)
		return append(esp, a.Seal(nil, nonce, pt, aad)...)
	}
	if sa.esn {
		return append(esp, macOf(esp, hi)...)
	}
	return append(esp, macOf(esp)...)
}

// sealCCM encrypts with the package's CCM decryptor (checked against RFC
// 3610 in TestCCMKnownAnswers), which the standard library cannot do: CTR
// is its own inverse, so opening the plaintext yields the ciphertext;
// opening that ciphertext then computes the MAC of the plaintext, which
// open leaves, masked, in c.x: the tag.
func sealCCM(tb testing.TB, key, nonce, pt, aad []byte, tagLen int) []byte {
	c, err := newCCM(key, tagLen)
	if err != nil {
		tb.Fatal(err)
	}
	ct := make([]byte, len(pt))
	c.open(ct, nonce, pt, make([]byte, tagLen), aad)
	back := make([]byte, len(pt))
	c.open(back, nonce, ct, make([]byte, tagLen), aad)
	return append(ct, c.x[:tagLen]...)
}

func TestBenchPacketsAccepted(t *testing.T) {
	for _, sa := range benchSAs {
		t.Run(sa.name, func(t *testing.T) {
			tr := benchTransform(t, sa)
			for _, size := range []int{0, 1, 64, 1400} {
				pkt := benchPacket(t, sa, size)
				if r := open(tr, sa, pkt); r.Outcome != Accepted || len(r.Payload) != size {
					t.Fatalf("size %d: %v (%v), payload %d", size, r.Outcome, r.Reason, len(r.Payload))
				}
			}
		})
	}
}

func benchTransform(tb testing.TB, sa benchSA) *Transform {
	encKey, authKey := benchKeys(sa)
	enc := sa.enc
	if sa.proto == ipproto.AH {
		enc, encKey = algo.EncNull, nil
	}
	tr, err := New(sa.proto, enc, encKey, sa.auth, authKey, sa.esn)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

func open(tr *Transform, sa benchSA, pkt []byte) Result {
	if sa.proto == ipproto.AH {
		return tr.VerifyAH(pkt, 40, benchSeqHi)
	}
	return tr.OpenESP(pkt, benchSeqHi)
}

// TestNoAllocs checks the steady-state promise for every algorithm and
// for rejected packets too.
func TestNoAllocs(t *testing.T) {
	for _, sa := range benchSAs {
		t.Run(sa.name, func(t *testing.T) {
			tr := benchTransform(t, sa)
			good := benchPacket(t, sa, 1400)
			bad := append([]byte(nil), good...)
			bad[len(bad)-1] ^= 1
			open(tr, sa, good) // warm up: buffers grow once
			if n := testing.AllocsPerRun(50, func() {
				open(tr, sa, good)
				open(tr, sa, bad)
			}); n != 0 {
				t.Errorf("%v allocations per packet pair", n)
			}
		})
	}
}

func BenchmarkOpenESP(b *testing.B) {
	for _, sa := range benchSAs {
		if sa.proto != ipproto.ESP {
			continue
		}
		b.Run(sa.name, func(b *testing.B) { benchOpen(b, sa) })
	}
}

func BenchmarkVerifyAH(b *testing.B) {
	for _, sa := range benchSAs {
		if sa.proto != ipproto.AH {
			continue
		}
		b.Run(sa.name, func(b *testing.B) { benchOpen(b, sa) })
	}
}

func benchOpen(b *testing.B, sa benchSA) {
	const size = 1400
	tr := benchTransform(b, sa)
	pkt := benchPacket(b, sa, size)
	if r := open(tr, sa, pkt); r.Outcome != Accepted {
		b.Fatalf("%v (%v)", r.Outcome, r.Reason)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		open(tr, sa, pkt)
	}
}
