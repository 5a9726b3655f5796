package espcrypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/ipproto"
)

// Known answers from ../shared/corpus/vectors (see MANIFEST.md §9): RFC 3602
// §4 ESP packets, draft-mcgrew-gcm-test-01 §4 AES-GCM-ESP packets, the RFC
// 7634 Appendix A ESP packet and the Linux-generated ESP payloads of scapy's
// ipsec.uts. Each expected plaintext comes from the document (or, for scapy,
// from a Linux kernel's encryption), not from this package.

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

func TestKATRFC3602(t *testing.T) {
	var f struct {
		ESPCases []struct {
			Case       int
			Key        string
			ESP        string
			Payload    string
			NextHeader uint8 `json:"next_header"`
			PadLen     int   `json:"decrypted_pad_length"`
		} `json:"esp_cases"`
	}
	loadJSON(t, "rfc3602_aes_cbc_esp.json", &f)
	if len(f.ESPCases) != 4 {
		t.Fatalf("%d ESP cases, want 4 (RFC 3602 §4 cases 5-8)", len(f.ESPCases))
	}
	for _, c := range f.ESPCases {
		t.Run(strconv.Itoa(c.Case), func(t *testing.T) {
			tr, err := New(ipproto.ESP, algo.EncAESCBC, unhex(t, c.Key), algo.AuthNone, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			wantAccepted(t, tr.OpenESP(unhex(t, c.ESP), 0), unhex(t, c.Payload), c.NextHeader, c.PadLen)
		})
	}
}

type gcmCase struct {
	N          int
	Encryption string
	Keymat     string          `json:"keymat_as_configured"`
	Seq        json.RawMessage // hex string of 8 or 16 digits, or a number
	ESN        bool
	ESPPacket  string `json:"esp_packet"`
	Payload    string
	NextHeader uint8 `json:"next_header"`
	PadLen     int   `json:"pad_length"`
}

// seqHiOf is the high half of a 64-bit sequence number given as 16 hex
// digits; 8 digits or a number are a 32-bit sequence number.
func seqHiOf(t *testing.T, raw json.RawMessage) uint32 {
	var seq string
	if json.Unmarshal(raw, &seq) != nil || len(seq) != 16 {
		return 0
	}
	return binary.BigEndian.Uint32(unhex(t, seq[:8]))
}

func TestKATGCMDraftMcGrew(t *testing.T) {
	var f struct{ Cases []gcmCase }
	loadJSON(t, "draft-mcgrew-gcm-test-01_aes_gcm_esp.json", &f)
	if len(f.Cases) < 13 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(strconv.Itoa(c.N), func(t *testing.T) {
			tr, err := New(ipproto.ESP, algo.EncAESGCM16, unhex(t, c.Keymat), algo.AuthNone, nil, c.ESN)
			if err != nil {
				t.Fatal(err)
			}
			pkt := unhex(t, c.ESPPacket)
			hi := seqHiOf(t, c.Seq)
			wantAccepted(t, tr.OpenESP(pkt, hi), unhex(t, c.Payload), c.NextHeader, c.PadLen)
			if c.ESN {
				// The wrong high half changes the AAD (RFC 4106 §5).
				if r := tr.OpenESP(pkt, hi+1); r.Outcome != NotAuthenticated {
					t.Errorf("wrong ESN high bits: %v, want not authenticated", r.Outcome)
				}
			}
		})
	}
}

func TestKATRFC7634(t *testing.T) {
	var f struct{ Cases []gcmCase }
	loadJSON(t, "rfc7634_chacha20poly1305_esp.json", &f)
	if len(f.Cases) != 1 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	c := f.Cases[0]
	tr, err := New(ipproto.ESP, algo.EncChaCha20Poly1305, unhex(t, c.Keymat), algo.AuthNone, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, tr.OpenESP(unhex(t, c.ESPPacket), 0), unhex(t, c.Payload), c.NextHeader, c.PadLen)
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
