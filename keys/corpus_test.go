package keys

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/internal/testcorpus"
)

// The key files shipped with the corpus (../shared/corpus, MANIFEST.md),
// parsed as they are. Counts and algorithms are the ones MANIFEST.md and
// the files' own projects state; where the corpus gives the same keys in
// two formats (tcpdump's and a Wireshark table derived from it), both
// readings must agree. That the keys are right is shown by espcrypto's
// corpus test, which decrypts the captures with them and matches tshark.
func TestCorpusKeyFiles(t *testing.T) {
	dir := testcorpus.Dir(t)
	load := func(t *testing.T, rel string) *Set {
		t.Helper()
		s, err := Load(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("wiki capture 1: 24 SAs, 16 SPI values", func(t *testing.T) {
		s := load(t, "wireshark-wiki/ipsec_esp_capture_1/esp_sa")
		spis := map[uint32]bool{}
		for _, sa := range s.SAs {
			spis[sa.SPI] = true
		}
		if len(s.SAs) != 24 || len(spis) != 16 {
			t.Errorf("%d SAs, %d SPIs", len(s.SAs), len(spis))
		}
	})
	t.Run("wiki capture 5: odd-length key", func(t *testing.T) {
		s := load(t, "wireshark-wiki/ipsec_esp_capture_5/esp_sa")
		// "0xecafecacafecafebbccbbccdadaffff" has 31 digits; Wireshark makes
		// the first digit a byte of its own.
		want := []byte{0x0e, 0xca, 0xfe, 0xca, 0xca, 0xfe, 0xca, 0xfe, 0xbb, 0xcc, 0xbb, 0xcc, 0xda, 0xda, 0xff, 0xff}
		if len(s.SAs) != 2 || !bytes.Equal(s.SAs[1].EncKey, want) || s.SAs[1].Enc != algo.EncBlowfishCBC {
			t.Errorf("%v %x", s.SAs, s.SAs[1].EncKey)
		}
	})
	t.Run("wiki IKEv2 capture: GCM, CTR, CBC", func(t *testing.T) {
		for _, f := range []string{"esp_sa", "esp_sa.no_icv"} {
			s := load(t, "wireshark-wiki/ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc/"+f)
			want := []algo.Enc{algo.EncAESGCM16, algo.EncAESGCM16, algo.EncAESCTR, algo.EncAESCTR, algo.EncAESCBC, algo.EncAESCBC}
			if len(s.SAs) != len(want) {
				t.Fatalf("%s: %d SAs", f, len(s.SAs))
			}
			for i, e := range want {
				if s.SAs[i].Enc != e {
					t.Errorf("%s: SA %d is %v, want %v", f, i, s.SAs[i].Enc, e)
				}
			}
		}
		s := load(t, "wireshark-wiki/ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc/ikev2_decryption_table")
		if len(s.IKEv2) != 3 || s.IKEv2[0].Enc != algo.EncAESGCM16 || s.IKEv2[1].Enc != algo.EncAESCTR || s.IKEv2[2].Integ != algo.AuthHMACSHA256_128 {
			t.Errorf("%v", s.IKEv2)
		}
	})
	t.Run("Wireshark's test tables", func(t *testing.T) {
		if s := load(t, "wireshark-tests/esp_sa"); len(s.SAs) != 2 {
			t.Errorf("%v", s.SAs)
		}
		if s := load(t, "wireshark-tests/ikev1_decryption_table"); len(s.IKEv1) != 3 {
			t.Errorf("%v", s.IKEv1)
		}
		// 9 rows; HMAC_SHA1_160 (RFC 4595) has no algo.Auth and is skipped.
		s := load(t, "wireshark-tests/ikev2_decryption_table")
		skipped := 0
		for _, w := range s.Warnings {
			if strings.Contains(w, `"HMAC_SHA1_160 [RFC4595]" is not supported`) {
				skipped++
			}
		}
		if len(s.IKEv2) != 8 || skipped != 1 {
			t.Errorf("%d IKE SAs, warnings %q", len(s.IKEv2), s.Warnings)
		}
	})
	t.Run("tcpdump secrets agree with their Wireshark form", func(t *testing.T) {
		td := load(t, "tcpdump/esp-secrets.txt")
		ws := load(t, "tcpdump/esp_sa.esp-secrets.wireshark-derived")
		if len(td.SAs) != 3 || len(ws.SAs) != 3 {
			t.Fatalf("%d and %d SAs", len(td.SAs), len(ws.SAs))
		}
		for i := range td.SAs {
			a, b := td.SAs[i], ws.SAs[i]
			if a.SPI != b.SPI || a.Dst != b.Dst || a.Enc != b.Enc || a.Auth != b.Auth || !bytes.Equal(a.EncKey, b.EncKey) {
				t.Errorf("SA %d: %v vs %v", i, a, b)
			}
		}
	})
	t.Run("IKEv2 secrets agree with their Wireshark form", func(t *testing.T) {
		for _, pair := range [][2]string{
			{"tcpdump/ikev2pI2-secrets.txt", "tcpdump/ikev2_decryption_table.ikev2pI2.wireshark-derived"},
			{"openswan/lp12-parentR2/ikev2-secrets.tcpdump.txt", "openswan/lp12-parentR2/ikev2_decryption_table.wireshark-derived"},
			{"openswan/lp13-parentI3/ikev2-secrets.tcpdump.txt", "openswan/lp13-parentI3/ikev2_decryption_table.wireshark-derived"},
			{"openswan/lp64-nattR2/ikev2-secrets.tcpdump.txt", "openswan/lp64-nattR2/ikev2_decryption_table.wireshark-derived"},
		} {
			a, b := load(t, pair[0]), load(t, pair[1])
			if len(a.IKEv2) != 1 || len(b.IKEv2) != 1 {
				t.Fatalf("%s: %d and %d IKE SAs", pair[0], len(a.IKEv2), len(b.IKEv2))
			}
			x, y := a.IKEv2[0], b.IKEv2[0]
			if x.SPIi != y.SPIi || x.SPIr != y.SPIr || x.Enc != y.Enc || x.Integ != y.Integ ||
				!bytes.Equal(x.SKei, y.SKei) || !bytes.Equal(x.SKer, y.SKer) || !bytes.Equal(x.SKai, y.SKai) || !bytes.Equal(x.SKar, y.SKar) {
				t.Errorf("%s: %v vs %v", pair[0], x, y)
			}
		}
	})
}
