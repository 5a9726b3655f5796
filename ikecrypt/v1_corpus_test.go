package ikecrypt

import (
	"bytes"
	"encoding/hex"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/decode/ike/iketest"
	"ipsecmon/internal/testcorpus"
)

// TestIKEv1CertsDecrypt follows RFC 2409 Appendix B by hand through
// ikev1-certs.pcap with the key from Wireshark's ikev1_decryption_table.
// Expected values (ORACLE.md, tshark 4.0 with the same table): frame 5 holds
// the initiator's certificate with the printable string "OpenSwan", frame 6
// the responder's with "srx210-3"; the Quick Mode HASH payloads of frames
// 7, 9 and 10 are 5a32e8a5…, 69791a19…, 0b4f60a7…. Frame 8 is a byte-identical
// retransmission of frame 7 (MANIFEST.md §11) that tshark cannot decrypt; it
// must decrypt with frame 7's IV to frame 7's HASH.
func TestIKEv1CertsDecrypt(t *testing.T) {
	msgs, _, err := iketest.Read(testcorpus.Path(t, "zeek-spicy-ipsec/traces/ikev1-certs.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := iketest.IKEv1Table(testcorpus.Path(t, "wireshark-tests/ikev1_decryption_table"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 10 {
		t.Fatalf("%d messages, want 10", len(msgs))
	}
	var key []byte
	var gxi, gxr []byte
	var p1 ike.Phase1
	var iv []byte
	qmIV := map[uint32][]byte{}
	seen := map[string][]byte{} // ciphertext -> plaintext: retransmissions reuse the first result
	plain := map[int][]byte{}
	for _, m := range msgs {
		h, err := ike.ParseHeader(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range table {
			if r.ICookie == h.ISPI {
				key = r.EncKey
			}
		}
		if !h.Encrypted() {
			it := ike.Payloads(h, m.Data)
			for {
				p, ok := it.Next()
				if !ok {
					break
				}
				switch p.Type {
				case ike.PayloadSA:
					sa, err := ike.ParseSAv1(p.Body)
					if err != nil {
						t.Fatal(err)
					}
					p1 = sa.Proposals[0].Transforms[0].Phase1()
				case ike.PayloadKE:
					if gxi == nil {
						gxi = p.Body
					} else {
						gxr = p.Body
					}
				}
			}
			continue
		}
		b, err := NewBlock(p1.Cipher(), key)
		if err != nil {
			t.Fatal(err)
		}
		body := h.Body(m.Data)
		if pt, ok := seen[string(body)]; ok {
			plain[m.Frame] = pt
			continue
		}
		var cur []byte
		switch h.Exchange {
		case ike.ExchangeMain:
			if iv == nil {
				if iv, err = Phase1IV(p1.PRFAlg(), gxi, gxr, b.BlockSize()); err != nil {
					t.Fatal(err)
				}
			}
			cur = iv
		default:
			cur = qmIV[h.MessageID]
			if cur == nil {
				if cur, err = Phase2IV(p1.PRFAlg(), iv, h.MessageID); err != nil {
					t.Fatal(err)
				}
			}
		}
		pt, next, err := DecryptCBC(b, cur, body)
		if err != nil {
			t.Fatalf("frame %d: %v", m.Frame, err)
		}
		if h.Exchange == ike.ExchangeMain {
			iv = next
		} else {
			qmIV[h.MessageID] = next
		}
		seen[string(body)] = pt
		plain[m.Frame] = pt
		// Every decrypted message must be a well-formed payload chain.
		if _, err := ike.ParsePayloads(h.NextPayload, pt); err != nil {
			t.Errorf("frame %d: decrypted chain: %v", m.Frame, err)
		}
	}
	if p1.Cipher() != algo.Enc3DESCBC || p1.PRFAlg() != algo.PRFHMACMD5 {
		t.Errorf("phase 1 %v/%v, want 3DES/MD5 (zeek ipsec.log: Encryption Algorithm=5, Hash Algorithm=1)", p1.Cipher(), p1.PRFAlg())
	}
	for frame, s := range map[int]string{5: "OpenSwan", 6: "srx210-3"} {
		if !bytes.Contains(plain[frame], []byte(s)) {
			t.Errorf("frame %d: %q not in the decrypted certificate", frame, s)
		}
	}
	for frame, want := range map[int]string{
		7: "5a32e8a56d40768d60f16a0521da6cbc", 8: "5a32e8a56d40768d60f16a0521da6cbc",
		9: "69791a1955c654b3be0ae8e349af1d5f", 10: "0b4f60a7a6e2878b515d1e30554be720",
	} {
		ps, err := ike.ParsePayloads(ike.PayloadHash, plain[frame])
		if err != nil || len(ps) == 0 || ps[0].Type != ike.PayloadHash {
			t.Errorf("frame %d: no HASH payload first (%v)", frame, err)
			continue
		}
		if got := hex.EncodeToString(ps[0].Body); got != want {
			t.Errorf("frame %d: HASH %s, want %s", frame, got, want)
		}
	}
}
