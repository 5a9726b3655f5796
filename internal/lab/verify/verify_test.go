package verify

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/internal/testcorpus"
)

func sample(t testing.TB) ([][]byte, []byte) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sample.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := ReadPcap(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(filepath.Join("testdata", "sample.pdml.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	zr, err := gzip.NewReader(g)
	if err != nil {
		t.Fatal(err)
	}
	pdml, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw, pdml
}

// testdata/sample.pcap is frames 1-7 and 13 of a lab IKEv1 Main Mode
// recording; sample.pdml.gz is tshark 4.0.17's PDML of it with that
// recording's key tables. Expectations follow `tshark -r sample.pcap`:
// six Main Mode messages (the last two encrypted, on port 4500 after NAT-T
// floated), a Quick Mode message and an ESP packet with SPI 0x5491de69.
func TestParsePDMLSample(t *testing.T) {
	raw, pdml := sample(t)
	frames, err := parsePDML(bytes.NewReader(pdml), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 8 {
		t.Fatalf("%d frames", len(frames))
	}
	tests := []struct {
		num          int
		sport, dport int
		exchange     int
		encrypted    bool
		decrypted    bool
		esp          bool
		spi          uint32
	}{
		{1, 500, 500, 2, false, false, false, 0},
		{4, 500, 500, 2, false, false, false, 0},
		{5, 4500, 4500, 2, true, true, false, 0},
		{6, 4500, 4500, 2, true, true, false, 0},
		{7, 4500, 4500, 32, true, true, false, 0},
		{8, 4500, 4500, 0, false, false, true, 0x5491de69},
	}
	for _, tt := range tests {
		fr := frames[tt.num-1]
		if fr.Num != tt.num || fr.SrcPort != tt.sport || fr.DstPort != tt.dport {
			t.Errorf("frame %d: %+v", tt.num, fr)
		}
		if tt.esp {
			e := fr.ESP
			if e == nil || e.SPI != tt.spi || !e.Decrypted || !e.ICVGood || e.NextHeader != 4 || e.InnerLen != 84 || len(e.Raw) == 0 {
				t.Errorf("frame %d ESP: %+v", tt.num, e)
			}
			continue
		}
		k := fr.IKE
		if k == nil || k.Version != 1 || k.Exchange != tt.exchange || k.Encrypted != tt.encrypted || k.Decrypted != tt.decrypted || k.ISPI != "635c207c4a88ecf0" {
			t.Errorf("frame %d IKE: %+v", tt.num, k)
		}
	}
	// The ESP bytes start with the SPI (the UDP header is not part of them).
	if e := frames[7].ESP; binary.BigEndian.Uint32(e.Raw) != 0x5491de69 {
		t.Errorf("ESP raw bytes start %x", e.Raw[:4])
	}
}

func TestParsePDMLFrameCountMismatch(t *testing.T) {
	raw, pdml := sample(t)
	if _, err := parsePDML(bytes.NewReader(pdml), raw[:3]); err == nil {
		t.Error("more PDML packets than frames: no error")
	}
	if _, err := parsePDML(bytes.NewReader(pdml), append(raw, raw[0])); err == nil || !strings.Contains(err.Error(), "tshark read 8 frames, the capture has 9") {
		t.Errorf("fewer PDML packets than frames: %v", err)
	}
}

// TestCheckESPScapyVectors checks the independent ESP checker on the
// Linux-generated tunnel-mode packets scapy's IPsec tests use (corpus
// vectors/scapy_ipsec_kat.json): AES-CBC and 3DES with no integrity, and
// AES-GCM whose 16-byte ICV must verify.
func TestCheckESPScapyVectors(t *testing.T) {
	b, err := os.ReadFile(testcorpus.Path(t, "vectors", "scapy_ipsec_kat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kat struct {
		Vectors []struct {
			Title string
			SA    struct {
				SPI       uint32 `json:"spi"`
				CryptAlgo string `json:"crypt_algo"`
				CryptKey  struct {
					Hex string `json:"hex"`
				} `json:"crypt_key"`
				AuthAlgo string `json:"auth_algo"`
			} `json:"sa"`
			Seq     uint32 `json:"ref_seq"`
			Payload string `json:"ref_payload_hex"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &kat); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"AES-CBC": "AES-CBC [RFC3602]", "3DES": "TripleDES-CBC [RFC2451]", "AES-GCM": "AES-GCM with 16 octet ICV [RFC4106]"}
	checked := 0
	for _, v := range kat.Vectors {
		enc, ok := names[v.SA.CryptAlgo]
		if !ok || v.SA.AuthAlgo != "NULL" || strings.Contains(v.Title, "ESN") {
			continue
		}
		key, _ := hex.DecodeString(v.SA.CryptKey.Hex)
		payload, _ := hex.DecodeString(v.Payload)
		pkt := binary.BigEndian.AppendUint32(nil, v.SA.SPI)
		pkt = binary.BigEndian.AppendUint32(pkt, v.Seq)
		pkt = append(pkt, payload...)
		k := ESPKey{SPI: v.SA.SPI, Enc: enc, EncKey: key, Auth: "NULL"}
		if err := CheckESP(k, pkt); err != nil {
			t.Errorf("%s: %v", v.Title, err)
		}
		if v.SA.CryptAlgo == "AES-GCM" {
			bad := append([]byte(nil), pkt...)
			bad[len(bad)-1] ^= 1
			if err := CheckESP(k, bad); err == nil {
				t.Errorf("%s: a corrupted ICV passed", v.Title)
			}
		}
		checked++
	}
	if checked != 3 {
		t.Errorf("checked %d vectors, want 3 (AES-CBC, 3DES, AES-GCM)", checked)
	}
}

// TestCheckESPAgreesWithTShark runs the independent checker on every ESP
// packet of the recordings whose ICV tshark reported good: both must
// accept it, and both must reject it with one ICV bit flipped. This covers
// the suites the lab uses (HMAC-SHA1/SHA2-256/384/512, AES-CBC, 3DES, NULL,
// AES-GCM), so that the checker can be trusted where tshark stays silent.
func TestCheckESPAgreesWithTShark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	for _, dir := range scenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			frames, err := Dissect(context.Background(), tshark, filepath.Join(dir, "capture.pcap"), dir, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, "esp_sa"))
			if err != nil {
				t.Fatal(err)
			}
			keys, err := ReadESPSA(f, "esp_sa")
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			byspi := map[uint32]ESPKey{}
			for _, k := range keys {
				byspi[k.SPI] = k
			}
			n := 0
			for _, fr := range frames {
				if fr.ESP == nil || !fr.ESP.ICVGood {
					continue
				}
				k := byspi[fr.ESP.SPI]
				if err := CheckESP(k, fr.ESP.Raw); err != nil {
					t.Errorf("frame %d: tshark: ICV good; checker: %v", fr.Num, err)
				}
				bad := append([]byte(nil), fr.ESP.Raw...)
				bad[len(bad)-1] ^= 0x80
				if err := CheckESP(k, bad); err == nil {
					t.Errorf("frame %d: the checker accepted a flipped ICV bit", fr.Num)
				}
				n++
			}
			if n == 0 {
				t.Error("no ESP packet with a good ICV")
			}
		})
	}
}

func TestReadESPSA(t *testing.T) {
	in := "# comment\n\"IPv4\",\"198.51.100.1\",\"198.51.100.2\",\"0x6f03193f\",\"AES-CBC [RFC3602]\",\"0x00112233445566778899aabbccddeeff\",\"HMAC-SHA-1-96 [RFC2404]\",\"0x0102\"\n" +
		"\"IPv4\",\"*\",\"*\",\"0x00000001\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0xaa\",\"NULL\",\"\"\n"
	keys, err := ReadESPSA(strings.NewReader(in), "esp_sa")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].SPI != 0x6f03193f || keys[0].Src != "198.51.100.1" || len(keys[0].EncKey) != 16 || !bytes.Equal(keys[0].AuthKey, []byte{1, 2}) ||
		keys[1].Auth != "NULL" || keys[1].AuthKey != nil || keys[0].SourceLine != 2 {
		t.Errorf("%v", keys)
	}
	for _, bad := range []string{"\"IPv4\",\"a\"\n", "\"IPv4\",\"a\",\"b\",\"zz\",\"NULL\",\"\",\"NULL\",\"\"\n", "\"IPv4\",\"a\",\"b\",\"0x1\",\"NULL\",\"0xZZ\",\"NULL\",\"\"\n"} {
		if _, err := ReadESPSA(strings.NewReader(bad), "esp_sa"); err == nil || !strings.HasPrefix(err.Error(), "esp_sa:1:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestReadPcapErrors(t *testing.T) {
	good, _ := os.ReadFile(filepath.Join("testdata", "sample.pcap"))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "pcap file header"},
		{"magic", append([]byte{1, 2, 3, 4}, good[4:]...), "bad magic"},
		{"cut record", good[:len(good)-3], "record 8 data"},
		{"cut header", good[:24+8], "record 1 header"},
	}
	for _, tt := range tests {
		if _, err := ReadPcap(bytes.NewReader(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	frames, err := ReadPcap(bytes.NewReader(good))
	if err != nil || len(frames) != 8 {
		t.Errorf("sample: %d frames, %v", len(frames), err)
	}
}

func FuzzReadPcap(f *testing.F) {
	good, _ := os.ReadFile(filepath.Join("testdata", "sample.pcap"))
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadPcap(bytes.NewReader(data))
	})
}

func FuzzReadESPSA(f *testing.F) {
	f.Add([]byte("\"IPv4\",\"198.51.100.1\",\"198.51.100.2\",\"0x6f03193f\",\"AES-CBC [RFC3602]\",\"0x0011\",\"HMAC-SHA-1-96 [RFC2404]\",\"0x0102\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ReadESPSA(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, k := range keys {
			_ = CheckESP(k, data) // must not panic on any key/packet
		}
	})
}

func FuzzParsePDML(f *testing.F) {
	raw, pdml := sample(f)
	f.Add(pdml)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parsePDML(bytes.NewReader(data), raw)
	})
}

func FuzzCheckESP(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1}, []byte("0123456789abcdef"), []byte("0123456789abcdef0123"))
	f.Fuzz(func(t *testing.T, pkt, encKey, authKey []byte) {
		for _, enc := range []string{"NULL", "AES-CBC [RFC3602]", "TripleDES-CBC [RFC2451]", "AES-GCM with 16 octet ICV [RFC4106]", "AES-GCM with 8 octet ICV [RFC4106]"} {
			for _, auth := range []string{"NULL", "HMAC-SHA-1-96 [RFC2404]", "HMAC-SHA-512-256 [RFC4868]"} {
				_ = CheckESP(ESPKey{Enc: enc, EncKey: encKey, Auth: auth, AuthKey: authKey}, pkt)
			}
		}
	})
}
