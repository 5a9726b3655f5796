package espcrypto

import (
	"bufio"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// Known answers from the RFCs, committed under testdata (see its README):
// RFC 3602 §4 ESP packets, draft-mcgrew-gcm-test-01 §4 AES-GCM ESP
// packets, RFC 7634 Appendix A and RFC 3686 §6. Every expected value is the
// document's; what the test works out (the ESP packet's layout, the
// trailer's pad length) follows RFC 4303 §2.

// vector is one test case of a testdata file: its fields by name, hex
// decoded (next-header stays text).
type vector struct {
	n      int
	fields map[string]string
}

func (v vector) hex(t *testing.T, name string) []byte {
	t.Helper()
	s, ok := v.fields[name]
	if !ok {
		t.Fatalf("case %d: no %s", v.n, name)
	}
	return unhex(t, s)
}

// readVectors reads a testdata file: "case N" starts a case, "name value"
// lines give its fields, indented lines continue the previous value, '#'
// lines are comments. Spaces inside a value are dropped (the RFCs print hex
// in groups).
func readVectors(t *testing.T, name string) []vector {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	var last string
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
			continue
		case line[0] == ' ' || line[0] == '\t':
			if len(out) == 0 || last == "" {
				t.Fatalf("%s:%d: continuation outside a field", name, ln)
			}
			out[len(out)-1].fields[last] += strings.ReplaceAll(strings.TrimSpace(line), " ", "")
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if key == "case" {
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatalf("%s:%d: %v", name, ln, err)
			}
			out = append(out, vector{n: n, fields: map[string]string{}})
			last = ""
			continue
		}
		if len(out) == 0 {
			t.Fatalf("%s:%d: field before the first case", name, ln)
		}
		out[len(out)-1].fields[key] = strings.ReplaceAll(val, " ", "")
		last = key
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRFC3602(t *testing.T) {
	vs := readVectors(t, "rfc3602-aes-cbc-esp.txt")
	if len(vs) != 4 {
		t.Fatalf("%d cases, want 4 (RFC 3602 §4 cases 5-8)", len(vs))
	}
	for _, v := range vs {
		t.Run(strconv.Itoa(v.n), func(t *testing.T) {
			tr, err := New(ipproto.ESP, algo.EncAESCBC, v.hex(t, "key"), algo.AuthNone, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			esp, payload := v.hex(t, "esp"), v.hex(t, "payload")
			nh, err := strconv.Atoi(v.fields["next-header"])
			if err != nil {
				t.Fatal(err)
			}
			// After SPI, sequence number and a 16-byte IV: payload, padding,
			// pad length, next header (RFC 4303 §2, RFC 3602 §3).
			pad := len(esp) - 8 - 16 - len(payload) - 2
			wantAccepted(t, tr.OpenESP(esp, 0), payload, uint8(nh), pad)
		})
	}
}

// aeadVectors checks ESP packets under an AEAD: the packet is SPI, the
// sequence number's low half, IV, ciphertext and ICV (RFC 4106 §3, RFC
// 7634 §2); a 12-byte AAD is SPI || ESN high || low (RFC 4106 §5).
func aeadVectors(t *testing.T, file string, enc algo.Enc, want int) {
	vs := readVectors(t, file)
	if len(vs) != want {
		t.Fatalf("%d cases, want %d", len(vs), want)
	}
	for _, v := range vs {
		t.Run(strconv.Itoa(v.n), func(t *testing.T) {
			aad, pt := v.hex(t, "aad"), v.hex(t, "plaintext")
			esn := len(aad) == 12
			var hi uint32
			if esn {
				hi = binary.BigEndian.Uint32(aad[4:8])
			}
			tr, err := New(ipproto.ESP, enc, append(v.hex(t, "key"), v.hex(t, "salt")...), algo.AuthNone, nil, esn)
			if err != nil {
				t.Fatal(err)
			}
			pkt := append(append(append(append(append([]byte(nil), aad[:4]...), aad[len(aad)-4:]...), v.hex(t, "iv")...), v.hex(t, "ciphertext")...), v.hex(t, "icv")...)
			// The plaintext ends with pad length and next header (RFC 4303 §2.4).
			padLen, nh := int(pt[len(pt)-2]), pt[len(pt)-1]
			wantAccepted(t, tr.OpenESP(pkt, hi), pt[:len(pt)-2-padLen], nh, padLen)
			pkt[len(pkt)-1] ^= 1
			if r := tr.OpenESP(pkt, hi); r.Outcome != NotAuthenticated {
				t.Errorf("flipped ICV bit: %v, want not authenticated", r.Outcome)
			}
			if esn {
				// The wrong high half changes the AAD (RFC 4106 §5).
				pkt[len(pkt)-1] ^= 1
				if r := tr.OpenESP(pkt, hi+1); r.Outcome != NotAuthenticated {
					t.Errorf("wrong ESN high bits: %v, want not authenticated", r.Outcome)
				}
			}
		})
	}
}

func TestGCMDraftMcGrew(t *testing.T) {
	aeadVectors(t, "draft-mcgrew-gcm-test-01.txt", algo.EncAESGCM16, 14)
}

func TestRFC7634(t *testing.T) {
	aeadVectors(t, "rfc7634-chacha20-poly1305-esp.txt", algo.EncChaCha20Poly1305, 1)
}

// RFC 3686 gives the counter mode itself (no ESP trailer): the transform's
// keystream from counter block nonce || IV || 1, as OpenESP sets it up.
func TestRFC3686(t *testing.T) {
	vs := readVectors(t, "rfc3686-aes-ctr.txt")
	if len(vs) != 3 {
		t.Fatalf("%d cases, want 3", len(vs))
	}
	for _, v := range vs {
		t.Run(strconv.Itoa(v.n), func(t *testing.T) {
			tr, err := New(ipproto.ESP, algo.EncAESCTR, append(v.hex(t, "key"), v.hex(t, "nonce")...), algo.AuthNone, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			ct, pt := v.hex(t, "ciphertext"), v.hex(t, "plaintext")
			copy(tr.ctr[:4], tr.salt[:])
			copy(tr.ctr[4:12], v.hex(t, "iv"))
			got := make([]byte, len(ct))
			tr.ctrXOR(got, ct, 1)
			if string(got) != string(pt) {
				t.Errorf("decrypted %x, want %x", got, pt)
			}
		})
	}
}
