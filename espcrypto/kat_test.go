package espcrypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/ipproto"
)

// Known answers from ../shared/corpus/vectors (see MANIFEST.md §9): the
// Linux-generated ESP payloads of scapy's ipsec.uts, whose expected
// plaintexts come from a Linux kernel's encryption, not from this package.
// The RFC vectors are committed under testdata (rfc_test.go).

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test data: %v", err)
	}
	return b
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(testcorpus.Path(t, "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func wantAccepted(t *testing.T, r Result, payload []byte, nh uint8, padLen int) {
	t.Helper()
	if r.Outcome != Accepted {
		t.Fatalf("outcome %v (%v), want accepted", r.Outcome, r.Reason)
	}
	if r.NextHeader != nh || r.PadLen != padLen {
		t.Errorf("next header %d pad %d, want %d pad %d", r.NextHeader, r.PadLen, nh, padLen)
	}
	if !bytes.Equal(r.Payload, payload) {
		t.Errorf("payload\n got %x\nwant %x", r.Payload, payload)
	}
}

// scapyEnc maps scapy's algorithm names, and the ICV length the recorded
// `ip xfrm state` command gives, to algo.Enc.
var scapyEnc = map[string]algo.Enc{
	"DES":           algo.EncDESCBC,
	"3DES":          algo.Enc3DESCBC,
	"AES-CBC":       algo.EncAESCBC,
	"AES-CTR":       algo.EncAESCTR,
	"Blowfish":      algo.EncBlowfishCBC,
	"CAST":          algo.EncCAST5CBC,
	"AES-GCM":       algo.EncAESGCM16, // "aead 'rfc4106(gcm(aes))' ... 128"
	"AES-NULL-GMAC": algo.EncNullAESGMAC,
	"AES-CCM":       algo.EncAESCCM8, // "aead 'rfc4309(ccm(aes))' ... 64"
}

func TestKATScapyLinux(t *testing.T) {
	var f struct {
		Vectors []struct {
			Title string
			SA    struct {
				SPI       uint32
				CryptAlgo string               `json:"crypt_algo"`
				CryptKey  struct{ Hex string } `json:"crypt_key"`
				AuthAlgo  string               `json:"auth_algo"`
				ESNEn     bool                 `json:"esn_en"`
				ESN       uint32
			}
			RefSeq     uint32 `json:"ref_seq"`
			RefPayload string `json:"ref_payload_hex"`
			Inner      string `json:"decrypted_inner_packet_hex"`
			Trailer    struct {
				PadLen     int   `json:"pad_length"`
				NextHeader uint8 `json:"next_header"`
			} `json:"decrypted_trailer"`
		}
	}
	loadJSON(t, "scapy_ipsec_kat.json", &f)
	if len(f.Vectors) != 11 {
		t.Fatalf("%d vectors, want 11", len(f.Vectors))
	}
	for _, v := range f.Vectors {
		t.Run(v.Title, func(t *testing.T) {
			enc, ok := scapyEnc[v.SA.CryptAlgo]
			if !ok || v.SA.AuthAlgo != "NULL" {
				t.Fatalf("unexpected SA %s/%s", v.SA.CryptAlgo, v.SA.AuthAlgo)
			}
			tr, err := New(ipproto.ESP, enc, unhex(t, v.SA.CryptKey.Hex), algo.AuthNone, nil, v.SA.ESNEn)
			if err != nil {
				t.Fatal(err)
			}
			esp := binary.BigEndian.AppendUint32(nil, v.SA.SPI)
			esp = binary.BigEndian.AppendUint32(esp, v.RefSeq)
			esp = append(esp, unhex(t, v.RefPayload)...)
			wantAccepted(t, tr.OpenESP(esp, v.SA.ESN), unhex(t, v.Inner), v.Trailer.NextHeader, v.Trailer.PadLen)
			if tr.Checked() {
				esp[len(esp)-1] ^= 1
				if r := tr.OpenESP(esp, v.SA.ESN); r.Outcome != NotAuthenticated {
					t.Errorf("flipped tag bit: %v, want not authenticated", r.Outcome)
				}
			}
		})
	}
}
