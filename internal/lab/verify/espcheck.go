package verify

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// ESPKey is one row of Wireshark's esp_sa table.
type ESPKey struct {
	Src, Dst   string
	SPI        uint32
	Enc        string // Wireshark's name
	EncKey     []byte
	Auth       string
	AuthKey    []byte
	SourceLine int
}

// ReadESPSA reads an esp_sa UAT file: eight quoted columns per line, '#'
// comments.
func ReadESPSA(r io.Reader, name string) ([]ESPKey, error) {
	var out []ESPKey
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if len(rec) != 8 {
			return nil, fmt.Errorf("%s:%d: %d columns, want 8", name, n, len(rec))
		}
		spi, err := strconv.ParseUint(strings.TrimPrefix(rec[3], "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: SPI %q", name, n, rec[3])
		}
		ek, err1 := hexKey(rec[5])
		ak, err2 := hexKey(rec[7])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: key is not hex", name, n)
		}
		out = append(out, ESPKey{Src: rec[1], Dst: rec[2], SPI: uint32(spi), Enc: rec[4], EncKey: ek, Auth: rec[6], AuthKey: ak, SourceLine: n})
	}
	return out, sc.Err()
}

func hexKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return hex.DecodeString(strings.TrimPrefix(s, "0x"))
}

// CheckESP verifies one ESP packet (SPI to end, UDP header excluded) with
// Go's own crypto: the ICV (RFC 4303 §3.4.4; RFC 4106 §5 for AES-GCM), and
// a plausible trailer -- pad bytes 1, 2, 3, ... (RFC 4303 §2.4), next
// header 4 (IPv4 in tunnel mode) and an inner IPv4 total length that fills
// the payload. It is the check for packets tshark 4.0 leaves unmarked.
func CheckESP(k ESPKey, pkt []byte) error {
	if len(pkt) < 8 {
		return errors.New("shorter than the ESP header")
	}
	var plain []byte
	switch k.Enc {
	case "AES-GCM with 16 octet ICV [RFC4106]", "AES-GCM with 12 octet ICV [RFC4106]", "AES-GCM with 8 octet ICV [RFC4106]":
		icv := 16
		if strings.Contains(k.Enc, " 12 ") {
			icv = 12
		} else if strings.Contains(k.Enc, " 8 ") {
			icv = 8
		}
		if len(k.EncKey) < 20 || len(pkt) < 16+icv {
			return errors.New("short key or packet")
		}
		block, err := aes.NewCipher(k.EncKey[:len(k.EncKey)-4])
		if err != nil {
			return err
		}
		aead, err := cipher.NewGCMWithTagSize(block, icv)
		if err != nil {
			return err
		}
		nonce := append(append([]byte(nil), k.EncKey[len(k.EncKey)-4:]...), pkt[8:16]...)
		plain, err = aead.Open(nil, nonce, pkt[16:], pkt[:8])
		if err != nil {
			return fmt.Errorf("AES-GCM ICV: %w", err)
		}
	default:
		body := pkt
		if k.Auth != "NULL" {
			mac, icvLen, err := hmacFor(k.Auth, k.AuthKey)
			if err != nil {
				return err
			}
			if len(pkt) < 8+icvLen {
				return errors.New("shorter than the ICV")
			}
			var icv []byte
			body, icv = pkt[:len(pkt)-icvLen], pkt[len(pkt)-icvLen:]
			mac.Write(body)
			if !hmac.Equal(mac.Sum(nil)[:icvLen], icv) {
				return errors.New("ICV does not match")
			}
		}
		payload := body[8:]
		var err error
		switch k.Enc {
		case "NULL":
			plain = payload
		case "AES-CBC [RFC3602]", "TripleDES-CBC [RFC2451]":
			var block cipher.Block
			if k.Enc == "AES-CBC [RFC3602]" {
				block, err = aes.NewCipher(k.EncKey)
			} else {
				block, err = des.NewTripleDESCipher(k.EncKey)
			}
			if err != nil {
				return err
			}
			bs := block.BlockSize()
			if len(payload) < 2*bs || len(payload)%bs != 0 {
				return errors.New("ciphertext is not whole blocks")
			}
			plain = make([]byte, len(payload)-bs)
			cipher.NewCBCDecrypter(block, payload[:bs]).CryptBlocks(plain, payload[bs:])
		default:
			return fmt.Errorf("no independent check for %q", k.Enc)
		}
	}
	if len(plain) < 2 {
		return errors.New("no ESP trailer")
	}
	padLen, nh := int(plain[len(plain)-2]), plain[len(plain)-1]
	if nh != 4 {
		return fmt.Errorf("next header %d, want 4 (IPv4, tunnel mode)", nh)
	}
	if padLen+2 > len(plain) {
		return errors.New("pad length longer than the payload")
	}
	for i := 0; i < padLen; i++ {
		if plain[len(plain)-2-padLen+i] != byte(i+1) {
			return errors.New("padding bytes are not the sequence 1, 2, 3")
		}
	}
	inner := plain[:len(plain)-2-padLen]
	if len(inner) < 20 || inner[0]>>4 != 4 || int(binary.BigEndian.Uint16(inner[2:])) != len(inner) {
		return errors.New("inner packet is not an IPv4 packet filling the payload")
	}
	return nil
}

func hmacFor(name string, key []byte) (hash.Hash, int, error) {
	switch name {
	case "HMAC-MD5-96 [RFC2403]":
		return hmac.New(md5.New, key), 12, nil
	case "HMAC-SHA-1-96 [RFC2404]":
		return hmac.New(sha1.New, key), 12, nil
	case "HMAC-SHA-256-128 [RFC4868]":
		return hmac.New(sha256.New, key), 16, nil
	case "HMAC-SHA-384-192 [RFC4868]":
		return hmac.New(sha512.New384, key), 24, nil
	case "HMAC-SHA-512-256 [RFC4868]":
		return hmac.New(sha512.New, key), 32, nil
	}
	return nil, 0, fmt.Errorf("no independent check for authentication %q", name)
}

// String describes the row without its key bytes.
func (k ESPKey) String() string {
	return fmt.Sprintf("esp_sa line %d: SPI 0x%08x %s -> %s, %s (%d-byte key), %s (%d-byte key)",
		k.SourceLine, k.SPI, k.Src, k.Dst, k.Enc, len(k.EncKey), k.Auth, len(k.AuthKey))
}
