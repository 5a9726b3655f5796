package ikecrypt

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"testing"

	"ipsecmon/algo"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// RFC 3566 §4.6 test cases 1–2 and RFC 4434 §3 (AES-XCBC-PRF-128 with 16-,
// 10- and 18-byte keys over the 20-byte message 00..13); RFC 4493 §4
// examples 1–3 for AES-CMAC. Each value was also recomputed with an
// independent Python implementation (cryptography's AES-ECB and CMAC).
func TestMACVectors(t *testing.T) {
	tests := []struct {
		name     string
		prf      algo.PRF
		key, msg []byte
		want     string
		plainMAC bool
	}{
		{"xcbc empty", algo.PRFAESXCBC, seq(16), nil, "75f0251d528ac01c4573dfd584d79f29", true},
		{"xcbc 3 bytes", algo.PRFAESXCBC, seq(16), seq(3), "5b376580ae2f19afe7219ceef172756f", true},
		{"xcbc 16 bytes", algo.PRFAESXCBC, seq(16), seq(16), "d2a246fa349b68a79998a4394ff7a263", true},
		{"xcbc 34 bytes", algo.PRFAESXCBC, seq(16), seq(34), "becbb3bccdb518a30677d5481fb6b4d8", true},
		{"xcbc-prf 16-byte key", algo.PRFAESXCBC, seq(16), seq(20), "47f51b4564966215b8985c63055ed308", false},
		{"xcbc-prf 10-byte key", algo.PRFAESXCBC, seq(10), seq(20), "0fa087af7d866e7653434e602fdde835", false},
		{"xcbc-prf 18-byte key", algo.PRFAESXCBC, append(seq(16), 0xed, 0xcb), seq(20), "8cd3c93ae598a9803006ffb67c40e9e4", false},
		{"cmac empty", algo.PRFAESCMAC, unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"), nil, "bb1d6929e95937287fa37d129b756746", true},
		{"cmac 16 bytes", algo.PRFAESCMAC, unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"), unhex(t, "6bc1bee22e409f96e93d7e117393172a"), "070a16b46b4d4144f79bdd9dd04a287c", true},
		{"cmac 40 bytes", algo.PRFAESCMAC, unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"), unhex(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"), "dfa66747de9ae63030ca32611497c827", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PRF(tt.prf, tt.key, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("PRF = %x, want %s", got, tt.want)
			}
		})
	}
}

// RFC 3610 §8 packet vector #1 (8-byte tag, 13-byte nonce, 8 bytes of
// associated data).
func TestCCMVector(t *testing.T) {
	b, err := aes.NewCipher(unhex(t, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := unhex(t, "00000003020100a0a1a2a3a4a5")
	aad := unhex(t, "0001020304050607")
	ct := unhex(t, "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384")
	tag := unhex(t, "17e8d12cfdf926e0")
	pt, err := ccmOpen(b, nonce, ct, tag, aad)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e"); !bytes.Equal(pt, want) {
		t.Errorf("plaintext %x, want %x", pt, want)
	}
	tag[0] ^= 1
	if _, err := ccmOpen(b, nonce, ct, tag, aad); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered tag: err %v, want ErrAuth", err)
	}
}

// The SK messages below were built with Python's cryptography package
// (AESGCM, AESCCM, ChaCha20Poly1305, AES-CBC/CTR, TripleDES, hmac): an
// INFORMATIONAL request from the initiator, SPIs 1111…/2222…, message ID 5,
// whose SK payload holds one Delete payload for ESP SPI c0ffee01. The GCM-8
// and GCM-12 tags are the truncated 16-byte tags (RFC 5282 §4).
const innerDelete = "0000000c03040001c0ffee01"

func TestOpenSKVectors(t *testing.T) {
	tests := []struct {
		name           string
		enc            algo.Enc
		integ          algo.Auth
		encKey, intKey string
		msg            string
	}{
		{"AES-GCM-16 256", algo.EncAESGCM16, algo.AuthNone, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa1a2a3a4", "", "111111111111111122222222222222222e20250800000005000000452a0000290102030405060708669289bc24ad18715a7a2d263bbe2eb347063e5209cf0e0ff3651cab6d"},
		{"AES-GCM-12 128", algo.EncAESGCM12, algo.AuthNone, "000102030405060708090a0b0c0d0e0fa1a2a3a4", "", "111111111111111122222222222222222e20250800000005000000412a00002501020304050607081cc51babd7abfc1e14b75f7ad216b17f2db736c43cdab2eecf"},
		{"AES-GCM-8 128", algo.EncAESGCM8, algo.AuthNone, "000102030405060708090a0b0c0d0e0fa1a2a3a4", "", "111111111111111122222222222222222e202508000000050000003d2a00002101020304050607081cc51babd7abfc1e14b75f7ad24ea70bdeb177333e"},
		{"AES-CCM-16 128", algo.EncAESCCM16, algo.AuthNone, "000102030405060708090a0b0c0d0e0fb1b2b3", "", "111111111111111122222222222222222e20250800000005000000452a0000290102030405060708f13995c2b62e2ac348d8c200909b43a0c0bff0952e1ef9ed632b9177a0"},
		{"AES-CCM-12 256", algo.EncAESCCM12, algo.AuthNone, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fb1b2b3", "", "111111111111111122222222222222222e20250800000005000000412a0000250102030405060708b3bcd61e778ebfbb11b926a0585a206eeb0aaf90f0c560dd21"},
		{"AES-CCM-8 128", algo.EncAESCCM8, algo.AuthNone, "000102030405060708090a0b0c0d0e0fb1b2b3", "", "111111111111111122222222222222222e202508000000050000003d2a0000210102030405060708f13995c2b62e2ac348d8c200902b1abba504d04010"},
		{"ChaCha20-Poly1305", algo.EncChaCha20Poly1305, algo.AuthNone, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fc1c2c3c4", "", "111111111111111122222222222222222e20250800000005000000452a0000290102030405060708e2800fcaa8ba0f19b164dc6d729de1bd2309d6de53d491ded2079ea05f"},
		{"AES-CBC-128 HMAC-SHA2-256-128", algo.EncAESCBC, algo.AuthHMACSHA256_128, "000102030405060708090a0b0c0d0e0f", "6465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283", "111111111111111122222222222222222e20250800000005000000502a000034f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff79d2055b82ea2aa58a49c415a2cd8711a3a96b4252aa5d298f4c0a506d61c6aa"},
		{"3DES HMAC-MD5-96", algo.Enc3DESCBC, algo.AuthHMACMD5_96, "000102030405060708090a0b0c0d0e0f1011121314151617", "000102030405060708090a0b0c0d0e0f", "111111111111111122222222222222222e20250800000005000000442a000028f0f1f2f3f4f5f6f7ef4421c40821fce865c0ca539e503fc0137a36be4849761800186dee"},
		{"AES-CBC-256 HMAC-SHA2-512-256", algo.EncAESCBC, algo.AuthHMACSHA512_256, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "111111111111111122222222222222222e20250800000005000000602a000044f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff9fc0bc90a36ec0e486aa25684bd38d95d16769e3a8eca3901fe7f4396c160be9b72da5ef5fb781e66aa3eb429074df45"},
		{"AES-CTR-128 HMAC-SHA1-96", algo.EncAESCTR, algo.AuthHMACSHA1_96, "000102030405060708090a0b0c0d0e0fd1d2d3d4", "000102030405060708090a0b0c0d0e0f10111213", "111111111111111122222222222222222e20250800000005000000412a000025111213141516171838d97b1994195535d4032194f5306b1efee4c9d1ff6fcc1e6a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := SKKeys{Enc: tt.enc, EncKey: unhex(t, tt.encKey), Integ: tt.integ, IntegKey: unhex(t, tt.intKey)}
			msg := unhex(t, tt.msg)
			pt, integ, err := OpenSK(k, msg, 28, 4)
			if err != nil {
				t.Fatal(err)
			}
			if integ != IntegrityOK {
				t.Errorf("integrity %v, want ok", integ)
			}
			if hex.EncodeToString(pt) != innerDelete {
				t.Errorf("plaintext %x, want %s", pt, innerDelete)
			}
			// One flipped bit in the authenticated header must be caught.
			msg[20] ^= 0x01
			pt, integ, err = OpenSK(k, msg, 28, 4)
			if integ != IntegrityBad {
				t.Errorf("tampered header: integrity %v (err %v), want bad", integ, err)
			}
			if tt.enc.AEAD() && (pt != nil || !errors.Is(err, ErrAuth)) {
				t.Errorf("tampered AEAD message: plaintext %x, err %v; want none and ErrAuth", pt, err)
			}
		})
	}
}

// prf+ and the KEYMAT expansions against an independent Python computation:
//
//	prfplus(h,k,s,n): t=b''; out=b''; i=1; while len(out)<n: t=hmac(k,t+s+bytes([i]),h); out+=t; i+=1
//	km1(h,k,proto,spi,ni,nr,n): k1=b''; while …: k1=hmac(k, k1+bytes([proto])+spi(4)+ni+nr, h); out+=k1
//
// with SK_d = 00..1f, Ni = a0..af, Nr = b0..bf.
func TestKeymat(t *testing.T) {
	skd := seq(32)
	ni := unhex(t, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
	nr := unhex(t, "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	const plus = "9dd590e54ceb1bafffcf5b84ee3cde0755f34d81a3f392a158bc3a75062372a2792b79e2d3f7b2d035e2c022f23264a3a7ce93e0208b11e89c15cc0e0312b021505f88ffe7b4b6a1c214a5faa8f09624c7e39c8edade32e48736e95b38215382"
	got, err := PRFPlus(algo.PRFHMACSHA256, skd, append(append([]byte{}, ni...), nr...), 96)
	if err != nil || hex.EncodeToString(got) != plus {
		t.Errorf("prf+ = %x (%v), want %s", got, err, plus)
	}
	// AES-128-CBC + HMAC-SHA2-256: 16+32 bytes per direction, in the order
	// enc i→r, integ i→r, enc r→i, integ r→i (RFC 7296 §2.17).
	ck, err := KeymatV2(algo.PRFHMACSHA256, skd, nil, ni, nr, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	all := hex.EncodeToString(ck.EncI) + hex.EncodeToString(ck.IntegI) + hex.EncodeToString(ck.EncR) + hex.EncodeToString(ck.IntegR)
	if all != plus || len(ck.EncI) != 16 || len(ck.IntegR) != 32 {
		t.Errorf("child keys split wrongly: %d/%d/%d/%d bytes", len(ck.EncI), len(ck.IntegI), len(ck.EncR), len(ck.IntegR))
	}
	// IKEv1, HMAC-SHA1, ESP (3), SPI c0ffee01, 52 bytes: three PRF blocks.
	km, err := KeymatV1(algo.PRFHMACSHA1, skd[:20], nil, 3, 0xc0ffee01, ni, nr, 52)
	const want1 = "39152c15efbf7e45563c9ba5cc99f24965154a94c747ac515761d7cf3e9ed4e16647d711f5e57f142169d5f301f16c0c02020598"
	if err != nil || hex.EncodeToString(km) != want1 {
		t.Errorf("KEYMAT v1 = %x (%v), want %s", km, err, want1)
	}
}

func TestFragments(t *testing.T) {
	var f Fragments
	if done, _ := f.Add(2, 3, 0, []byte("bb")); done {
		t.Fatal("complete after 1 of 3")
	}
	f.Add(1, 3, 35, []byte("aa"))
	f.Add(1, 3, 35, []byte("xx")) // a retransmitted fragment changes nothing
	done, err := f.Add(3, 3, 0, []byte("cc"))
	if !done || err != nil {
		t.Fatalf("not complete after 3 of 3: %v", err)
	}
	first, msg, err := f.Message()
	if err != nil || first != 35 || string(msg) != "aabbcc" {
		t.Errorf("Message() = %d %q %v, want 35 \"aabbcc\"", first, msg, err)
	}
	if _, err := f.Add(4, 3, 0, nil); err == nil {
		t.Error("fragment 4 of 3 accepted")
	}
}

func FuzzOpenSK(f *testing.F) {
	f.Add(uint8(0), []byte{}, 28)
	f.Add(uint8(1), make([]byte, 80), 28)
	encs := []algo.Enc{algo.EncAESGCM16, algo.EncAESGCM8, algo.EncAESCCM12, algo.EncChaCha20Poly1305, algo.EncAESCBC, algo.EncAESCTR, algo.Enc3DESCBC, algo.EncNull}
	f.Fuzz(func(t *testing.T, sel uint8, msg []byte, off int) {
		enc := encs[int(sel)%len(encs)]
		k := SKKeys{Enc: enc, EncKey: seq(16 + enc.SaltLen()), Integ: algo.AuthHMACSHA1_96, IntegKey: seq(20)}
		if enc == algo.Enc3DESCBC {
			k.EncKey = seq(24)
		}
		if enc == algo.EncChaCha20Poly1305 {
			k.EncKey = seq(36)
		}
		if enc.AEAD() {
			k.Integ = algo.AuthNone
		}
		OpenSK(k, msg, off, 4)
		OpenSK(k, msg, off, 8)
	})
}
