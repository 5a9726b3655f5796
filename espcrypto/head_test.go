package espcrypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// sealCBC encrypts plain (whole blocks) in CBC with block and adds an
// HMAC-SHA1-96 ICV over SPI, sequence number, IV and ciphertext: the
// sender's side of RFC 4303 §3.3 with the standard library.
func sealCBC(block cipher.Block, authKey, iv, plain []byte) []byte {
	pkt := binary.BigEndian.AppendUint32(nil, 0x1234)
	pkt = binary.BigEndian.AppendUint32(pkt, 7)
	pkt = append(pkt, iv...)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	pkt = append(pkt, ct...)
	m := hmac.New(sha1.New, authKey)
	m.Write(pkt)
	return append(pkt, m.Sum(nil)[:12]...)
}

// OpenESPHead over AES-CBC and 3DES-CBC packets of every length from one
// block to 40, with well-formed and broken padding (a pad byte wrong near
// its start, where it lies in a block the head leaves out, and a pad
// length past the payload), for heads of 0 to 80 bytes. The expected
// verdict, payload and lengths follow from how each plaintext was built
// (RFC 4303 §2.4: payload, padding 1, 2, 3, ..., pad length, next header),
// and the same transform then gives them for the whole packet (OpenESP).
func TestOpenESPHead(t *testing.T) {
	authKey := unhex(t, ahKey)
	aesKey := unhex(t, "000102030405060708090a0b0c0d0e0f")
	desKey := unhex(t, "000102030405060708090a0b0c0d0e0f1011121314151617")
	desBlock, err := des.NewTripleDESCipher(desKey)
	if err != nil {
		t.Fatal(err)
	}
	aesTr, err := New(ipproto.ESP, algo.EncAESCBC, aesKey, algo.AuthHMACSHA1_96, authKey, false)
	if err != nil {
		t.Fatal(err)
	}
	desTr, err := New(ipproto.ESP, algo.Enc3DESCBC, desKey, algo.AuthHMACSHA1_96, authKey, false)
	if err != nil {
		t.Fatal(err)
	}
	aesBlock := aesTr.block
	for _, c := range []struct {
		name  string
		tr    *Transform
		block cipher.Block
	}{{"aes-cbc", aesTr, aesBlock}, {"3des-cbc", desTr, desBlock}} {
		bs := c.block.BlockSize()
		iv := bytes.Repeat([]byte{0xa5}, bs)
		for blocks := 1; blocks <= 40; blocks++ {
			l := blocks * bs
			for _, padLen := range []int{0, 1, 7, 15, 16, 17, 40, 200, 255} {
				for _, fault := range []string{"", "pad byte", "pad length"} {
					if padLen+2 > l || (fault == "pad byte" && padLen == 0) {
						continue
					}
					plain := make([]byte, l)
					body := l - 2 - padLen
					for i := range body {
						plain[i] = byte(i*7 + 3)
					}
					for i := range padLen {
						plain[body+i] = byte(i + 1)
					}
					plain[l-2], plain[l-1] = byte(padLen), 17
					want, wantReason := Accepted, ReasonNone
					switch fault {
					case "pad byte":
						plain[body] = 9 // the first pad byte should be 1
						want, wantReason = NotDecrypted, ReasonBadPadding
					case "pad length":
						plain[l-2] = byte(l - 1)
						if l-1 > 255 {
							continue
						}
						want, wantReason = NotDecrypted, ReasonBadPadLen
					}
					pkt := sealCBC(c.block, authKey, iv, plain)
					for _, head := range []int{0, 1, 16, 20, 64, 80} {
						name := fmt.Sprintf("%s/%d bytes/pad %d%s/head %d", c.name, l, padLen, fault, head)
						r := c.tr.OpenESPHead(pkt, 0, head)
						if r.Outcome != want || r.Reason != wantReason {
							t.Fatalf("%s: %v (%v), want %v (%v)", name, r.Outcome, r.Reason, want, wantReason)
						}
						if want != Accepted {
							continue
						}
						n := min(head, body)
						if r.NextHeader != 17 || r.PadLen != padLen || !bytes.Equal(r.Payload, plain[:n]) || r.Skipped != body-n {
							t.Fatalf("%s: nh %d pad %d payload %d bytes (%x) skipped %d, want 17 %d %d (%x) %d",
								name, r.NextHeader, r.PadLen, len(r.Payload), r.Payload, r.Skipped, padLen, n, plain[:n], body-n)
						}
					}
					full := c.tr.OpenESP(pkt, 0)
					if full.Outcome != want || full.Reason != wantReason || (want == Accepted && (!bytes.Equal(full.Payload, plain[:body]) || full.Skipped != 0)) {
						t.Fatalf("%s/%d bytes/pad %d%s: OpenESP %v (%v), %d bytes", c.name, l, padLen, fault, full.Outcome, full.Reason, len(full.Payload))
					}
				}
			}
		}
	}
}

// OpenESPHead decrypts everything in modes other than CBC: an AEAD's tag
// covers the whole ciphertext. draft-mcgrew-gcm-test-01 §4 case 2.
func TestOpenESPHeadAEADWhole(t *testing.T) {
	tr, err := New(ipproto.ESP, algo.EncAESGCM16, unhex(t, gcmKeymat), algo.AuthNone, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pkt := unhex(t, gcmESP16)
	full := tr.OpenESP(pkt, 0)
	want := append([]byte(nil), full.Payload...)
	r := tr.OpenESPHead(pkt, 0, 4)
	if full.Outcome != Accepted || r.Outcome != Accepted || !bytes.Equal(r.Payload, want) || r.Skipped != 0 {
		t.Fatalf("%v/%v: %x skipped %d, want %x", full.Outcome, r.Outcome, r.Payload, r.Skipped, want)
	}
}
