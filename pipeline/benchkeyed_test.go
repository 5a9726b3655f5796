package pipeline_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/internal/benchgen"
	"ipsecmon/keys"
)

var (
	keyedOnce            sync.Once
	keyedPath, keyedKeys string
	keyedFrames          int
	keyedErr             error
)

func keyedCapture(b *testing.B) (string, string, int, int64) {
	keyedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipsecmon-bench-keyed")
		if err != nil {
			keyedErr = err
			return
		}
		keyedPath, keyedKeys = filepath.Join(dir, "keyed.pcap"), filepath.Join(dir, "keys.txt")
		keyedFrames, _, keyedErr = benchgen.WriteKeyed(keyedPath, keyedKeys, benchgen.Default)
	})
	if keyedErr != nil {
		b.Fatal(keyedErr)
	}
	st, err := os.Stat(keyedPath)
	if err != nil {
		b.Fatal(err)
	}
	return keyedPath, keyedKeys, keyedFrames, st.Size()
}

// baseSA is the least a receiver needs per SA, built with the standard
// library only.
type baseSA struct {
	aead cipher.AEAD
	salt [4]byte
	cbc  cipher.BlockMode
	mac  hash.Hash
}

// BenchmarkKeyedBaseline reads the keyed capture and does the same
// standard-library verify and decrypt calls per packet as ipsecmon,
// single-threaded, with nothing else: the floor for a keyed run.
func BenchmarkKeyedBaseline(b *testing.B) {
	path, keyFile, frames, size := keyedCapture(b)
	ks, err := keys.Load(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	sas := map[uint32]*baseSA{}
	for _, k := range ks.SAs {
		s := &baseSA{}
		if k.Enc == algo.EncAESGCM16 {
			blk, _ := aes.NewCipher(k.EncKey[:16])
			s.aead, _ = cipher.NewGCM(blk)
			copy(s.salt[:], k.EncKey[16:])
		} else {
			blk, _ := aes.NewCipher(k.EncKey)
			s.cbc = cipher.NewCBCDecrypter(blk, make([]byte, 16))
			s.mac = hmac.New(sha256.New, k.AuthKey)
		}
		sas[k.SPI] = s
	}
	type ivSetter interface{ SetIV([]byte) }
	out := make([]byte, 2048)
	var sum []byte
	var nonce [12]byte
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ok := eachFrame(b, path, func(data []byte) bool {
			ip := data[14:]
			esp := ip[int(ip[0]&0xf)*4:]
			if ip[9] == 17 {
				esp = esp[8:]
			}
			s := sas[binary.BigEndian.Uint32(esp)]
			var pt []byte
			if s.aead != nil {
				copy(nonce[:4], s.salt[:])
				copy(nonce[4:], esp[8:16])
				var err error
				pt, err = s.aead.Open(out[:0], nonce[:], esp[16:], esp[:8])
				if err != nil {
					return false
				}
			} else {
				n := len(esp) - 16
				s.mac.Reset()
				s.mac.Write(esp[:n])
				sum = s.mac.Sum(sum[:0])
				if !hmac.Equal(sum[:16], esp[n:]) {
					return false
				}
				s.cbc.(ivSetter).SetIV(esp[8:24])
				pt = out[:n-24]
				s.cbc.CryptBlocks(pt, esp[24:n])
			}
			pad := int(pt[len(pt)-2])
			return pad+2 <= len(pt)
		})
		if ok != frames {
			b.Fatalf("%d of %d packets verified", ok, frames)
		}
	}
	report1(b, frames)
}

func benchKeyed(b *testing.B, workers int) {
	path, keyFile, frames, size := keyedCapture(b)
	ks, err := keys.Load(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		an := analyzer.New(analyzer.Config{Keys: ks, Workers: workers})
		statsOnce(b, an, path)
		var verified uint64
		for _, sa := range an.SAs() {
			verified += sa.Accepted - sa.Unverified
		}
		if verified != uint64(frames) {
			b.Fatalf("%d of %d packets verified", verified, frames)
		}
	}
	report1(b, frames)
}

// BenchmarkStatsKeyed is `ipsecmon stats --keys --workers 1` on the keyed capture.
func BenchmarkStatsKeyed(b *testing.B) { benchKeyed(b, 1) }

// BenchmarkStatsKeyedParallel is the same with every core verifying.
func BenchmarkStatsKeyedParallel(b *testing.B) { benchKeyed(b, runtime.NumCPU()) }
