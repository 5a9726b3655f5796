package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "ipsecmon/internal/pktbuild"
)

// Keys of the keyed fault capture (test values).
var (
	k1Enc  = bytes.Repeat([]byte{0x11}, 16)
	k1Auth = bytes.Repeat([]byte{0x12}, 32)
	k2GCM  = append(bytes.Repeat([]byte{0x21}, 16), 0xa, 0xb, 0xc, 0xd) // key + salt
	k3Enc  = bytes.Repeat([]byte{0x31}, 16)
	k3Auth = bytes.Repeat([]byte{0x32}, 20)
)

// keyedFaultCapture: me is 10.0.0.1. Every outcome below is worked out by hand.
//
//	SA1 ESP 0x1001 .2 -> .1, tunnel, AES-CBC-128 + HMAC-SHA2-256-128. The inner packet is
//	    an 84-byte IPv4 ICMP echo; padded to 96, ESP = 8 + 16 (IV) + 96 + 16 (ICV) = 136 bytes.
//	    seq 1..10 ok; 3 again (replay); 100 ok; 20 (left of 37..100: replay); 101 with a
//	    flipped ICV bit (not authenticated, window stays); 101 ok; 102 with bad padding and a
//	    valid ICV (not decrypted, window moves); 102 ok (now a replay).
//	    → 12 accepted (1632 B, 1008 B plaintext), 3 replayed, 1 not authenticated, 1 not decrypted.
//	SA2 ESP 0x2002 .1 -> .4, transport, AES-GCM-16-128, UDP of 48 bytes; padded to 52,
//	    ESP = 8 + 8 + 52 + 16 = 84 bytes; seq 1..5 → 420 B sent.
//	SA3 ESP 0x3003 .3 -> .1, transport, ESN, AES-CBC-128 + HMAC-SHA1-96, ICMP of 28 bytes;
//	    padded to 32, ESP = 8 + 16 + 32 + 12 = 68 bytes; 64-bit seq 2^32-2, 2^32-1, 2^32, 2^32+1
//	    (the last two carry low halves 0 and 1) → 4 accepted, 272 B.
//	0x9999 .2 -> .1, 3 packets of 60 random-looking ESP bytes: no SA has this SPI.
func keyedFaultCapture(t *testing.T) string {
	me, p2, p3, p4 := ip(1), ip(2), ip(3), ip(4)
	s1 := pb.Sealer{SPI: 0x1001, Key: k1Enc, AuthKey: k1Auth}
	s2 := pb.Sealer{SPI: 0x2002, Key: k2GCM, GCM: true}
	s3 := pb.Sealer{SPI: 0x3003, Key: k3Enc, AuthKey: k3Auth, SHA1: true, ESN: true}
	inner := pb.InnerICMP([4]byte{192, 168, 2, 7}, [4]byte{192, 168, 1, 5}, 56)
	var fr []pb.Frame
	esp := func(src, dst [4]byte, b []byte) {
		fr = append(fr, pb.Frame{Data: pb.Cat(pb.IPv4(50, src, dst, len(b), 0), b)})
	}
	one := func(seq uint64, f pb.Fault) { esp(p2, me, s1.Seal(seq, inner, 4, f)) }
	for s := uint64(1); s <= 10; s++ {
		one(s, pb.NoFault)
	}
	one(3, pb.NoFault)
	one(100, pb.NoFault)
	one(20, pb.NoFault)
	one(101, pb.FlipICV)
	one(101, pb.NoFault)
	one(102, pb.BadPadding)
	one(102, pb.NoFault)
	udp := pb.Cat(pb.UDP(5000, 53, 40), make([]byte, 40))
	for s := uint64(1); s <= 5; s++ {
		esp(me, p4, s2.Seal(s, udp, 17, pb.NoFault))
	}
	icmp := pb.Cat([]byte{8, 0, 0, 0, 0, 1, 0, 1}, make([]byte, 20))
	for _, s := range []uint64{1<<32 - 2, 1<<32 - 1, 1 << 32, 1<<32 + 1} {
		esp(p3, me, s3.Seal(s, icmp, 1, pb.NoFault))
	}
	for i := uint32(0); i < 3; i++ {
		esp(p2, me, pb.ESP(0x9999, i+1, 52))
	}
	path := filepath.Join(t.TempDir(), "keyed.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeKeys(t *testing.T, name, text string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func h(b []byte) string { return hex.EncodeToString(b) }

// As `ip xfrm state` prints them (see keys/testdata for verbatim dumps).
func xfrmKeys() string {
	return fmt.Sprintf(`src 10.0.0.2 dst 10.0.0.1
	proto esp spi 0x00001001 reqid 1 mode tunnel
	replay-window 64 
	auth-trunc hmac(sha256) 0x%s 128
	enc cbc(aes) 0x%s
	sel src 0.0.0.0/0 dst 0.0.0.0/0 
src 10.0.0.1 dst 10.0.0.4
	proto esp spi 0x00002002 reqid 2 mode transport
	replay-window 0 
	aead rfc4106(gcm(aes)) 0x%s 128
	sel src 10.0.0.1/32 dst 10.0.0.4/32 
src 10.0.0.3 dst 10.0.0.1
	proto esp spi 0x00003003 reqid 3 mode transport
	replay-window 64 flag esn
	auth-trunc hmac(sha1) 0x%s 96
	enc cbc(aes) 0x%s
	anti-replay esn context:
	 seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0
	 replay_window 64, bitmap-length 2
	 00000000 00000000
	sel src 10.0.0.3/32 dst 10.0.0.1/32 
`, h(k1Auth), h(k1Enc), h(k2GCM), h(k3Auth), h(k3Enc))
}

// As Wireshark 4.2+ writes its esp_sa table (10 columns, with ESN).
func espSAKeys() string {
	return fmt.Sprintf(`"IPv4","10.0.0.2","10.0.0.1","0x00001001","AES-CBC [RFC3602]","0x%s","HMAC-SHA-256-128 [RFC4868]","0x%s","32-bit",""
"IPv4","10.0.0.1","10.0.0.4","0x00002002","AES-GCM with 16 octet ICV [RFC4106]","0x%s","NULL","","32-bit",""
"IPv4","10.0.0.3","10.0.0.1","0x00003003","AES-CBC [RFC3602]","0x%s","HMAC-SHA-1-96 [RFC2404]","0x%s","64-bit","0x0"
`, h(k1Enc), h(k1Auth), h(k2GCM), h(k3Enc), h(k3Auth))
}

func TestKeyedFaults(t *testing.T) {
	path := keyedFaultCapture(t)
	xfrm := writeKeys(t, "xfrm.txt", xfrmKeys())
	espSA := writeKeys(t, "esp_sa", espSAKeys())
	common := map[string]any{
		"packets_with_replay_detection": 3.0,
		"packets_not_authenticated":     1.0,
		"packets_not_decrypted":         1.0,
		"confidential_bytes_sent":       420.0,
		"bytes_received_in_tunnels":     1632.0,
		"transport_bytes_sent":          420.0,
		"bytes_sent_in_tunnels":         0.0,
	}
	tests := []struct {
		name string
		args []string
		want map[string]any
	}{
		{"ip xfrm state: authoritative, unknown SPI is Bad SPI", []string{"-k", xfrm}, map[string]any{
			"bad_spi_packets": 3.0, "active_security_associations": 3.0, "confidential_bytes_received": 1904.0,
			"transport_bytes_received": 272.0, "active_tunnels": 1.0}},
		{"esp_sa: unknown SPI learned from traffic", []string{"-k", espSA}, map[string]any{
			// The learned SA's 3 × 60 bytes are received too, and its mode is unknown.
			"bad_spi_packets": nil, "active_security_associations": 4.0, "confidential_bytes_received": 2084.0,
			"transport_bytes_received": 272.0, "active_tunnels": 1.0}},
		{"esp_sa declared complete", []string{"-k", espSA, "--complete-keys"}, map[string]any{
			"bad_spi_packets": 3.0, "active_security_associations": 3.0, "confidential_bytes_received": 1904.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"stats", "-q", "-r", path, "--me", "10.0.0.1", "-o", "json"}, tt.args...)
			out, errOut, code := runCmd(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got map[string]any
			json.Unmarshal([]byte(out), &got)
			for _, w := range []map[string]any{common, tt.want} {
				for k, v := range w {
					if got[k] != v {
						t.Errorf("%s = %v, want %v", k, got[k], v)
					}
				}
			}
		})
	}

	out, _, _ := runCmd(t, "sas", "-q", "-r", path, "--me", "10.0.0.1", "-k", xfrm, "-o", "json")
	var rows []map[string]any
	json.Unmarshal([]byte(out), &rows)
	want := map[string]map[string]any{
		"0x00001001": {"packets_in": 12.0, "bytes_in": 1632.0, "plaintext_bytes_in": 1008.0, "replayed_in": 3.0,
			"not_authenticated_in": 1.0, "not_decrypted_in": 1.0, "mode": "tunnel", "esp_confidentiality": "AES-CBC-128",
			"esp_integrity": "SHA-256", "me": "192.168.1.5", "peer": "192.168.2.7", "my_tunnel_endpoint": "10.0.0.1", "protocol": "ICMP"},
		"0x00003003": {"packets_in": 4.0, "bytes_in": 272.0, "esn": "on", "mode": "transport", "esp_integrity": "SHA1", "replayed_in": 0.0},
	}
	found := 0
	for _, r := range rows {
		if w, ok := want[fmt.Sprint(r["spi_in"])]; ok {
			found++
			for k, v := range w {
				if r[k] != v {
					t.Errorf("SA %v: %s = %v, want %v", r["spi_in"], k, r[k], v)
				}
			}
		}
		if r["spi_out"] == "0x00002002" {
			found++
			if r["packets_out"] != 5.0 || r["plaintext_bytes_out"] != 240.0 || r["esp_confidentiality"] != "AES-GCM-128" || r["protocol"] != "UDP" || r["peer_port"] != 53.0 {
				t.Errorf("SA 0x2002: %v", r)
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of the 3 keyed SAs in %s", found, out)
	}
}

// TestUnusableKey: a key that parses but cannot be used (AH with AES-GMAC,
// which espcrypto does not implement) is reported at once, naming its file
// and line, and the SA view says why its packets stay unverified; the key
// itself is never shown.
func TestUnusableKey(t *testing.T) {
	var fr []pb.Frame
	for s := uint32(1); s <= 3; s++ {
		fr = append(fr, pb.Frame{Data: pb.AHPacket(ip(2), ip(1), 0x100, s, 6, 60)})
	}
	path := filepath.Join(t.TempDir(), "ah.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	const secret = "00112233445566778899aabbccddeeff01020304"
	kf := writeKeys(t, "keys.txt", "# AH with AES-GMAC (RFC 4543 §4)\nah spi=0x100 dst=10.0.0.1 auth=aes-gmac auth-key=0x"+secret+"\n")
	out, errOut, code := runCmd(t, "sas", "-q", "-r", path, "-k", kf, "--me", "10.0.0.1", "-o", "json", "--columns", "spi_in,packets_in,unverified_in,keys_missing")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "warning: key cannot be used: espcrypto: integrity aes-gmac: unsupported (SA 0x00000100, " + kf + ":2)"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not say %q", errOut, want)
	}
	if strings.Contains(out+errOut, secret) || strings.Contains(out+errOut, strings.ToUpper(secret)) {
		t.Error("the key appears in the output")
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	r := rows[0]
	if r["packets_in"] != 3.0 || r["unverified_in"] != 3.0 || !strings.HasPrefix(fmt.Sprint(r["keys_missing"]), "key unusable: espcrypto: integrity aes-gmac: unsupported") {
		t.Errorf("row %v", r)
	}
}

// TestKeyFileReplayWindow: an SA's own window from the key file (issue
// 12: it was read and never used). 0x1001 of keyedFaultCapture with a
// 128-packet window: after seq 100 the window reaches back to -27, so the
// late seq 20 is new, not a replay (hand-computed: 13 accepted, 2 replays,
// 3 and the second 102); with 64 (the default, and the dump's) 12 and 3.
// --replay-window 128 on a key file without windows gives the same 13/2.
func TestKeyFileReplayWindow(t *testing.T) {
	path := keyedFaultCapture(t)
	native := func(window string) string {
		return fmt.Sprintf("esp spi=0x1001 src=10.0.0.2 dst=10.0.0.1 enc=aes-cbc enc-key=%s auth=hmac-sha2-256-128 auth-key=%s%s\n", h(k1Enc), h(k1Auth), window)
	}
	dump128 := strings.Replace(xfrmKeys(), "replay-window 64 \n\tauth-trunc hmac(sha256)", "replay-window 128 \n\tauth-trunc hmac(sha256)", 1)
	if dump128 == xfrmKeys() {
		t.Fatal("the dump's 0x1001 block changed")
	}
	for _, tc := range []struct {
		name, keys        string
		args              []string
		accepted, replays float64
	}{
		{"dump, 64", xfrmKeys(), nil, 12, 3},
		{"dump, 128", dump128, nil, 13, 2},
		{"dump, 128 beats --replay-window", dump128, []string{"--replay-window", "32"}, 13, 2},
		{"native, none", native(""), nil, 12, 3},
		{"native, 128", native(" replay-window=128"), nil, 13, 2},
		{"native, none, --replay-window 128", native(""), []string{"--replay-window", "128"}, 13, 2},
	} {
		kf := writeKeys(t, "keys.txt", tc.keys)
		var rows []map[string]any
		jsonOut(t, &rows, append([]string{"sas", "-q", "-r", path, "-k", kf, "--me", "10.0.0.1", "-o", "json", "--columns", "spi_in,packets_in,replayed_in"}, tc.args...)...)
		found := false
		for _, r := range rows {
			if r["spi_in"] == "0x00001001" {
				found = true
				if r["packets_in"] != tc.accepted || r["replayed_in"] != tc.replays {
					t.Errorf("%s: %v accepted, %v replays; want %v, %v", tc.name, r["packets_in"], r["replayed_in"], tc.accepted, tc.replays)
				}
			}
		}
		if !found {
			t.Errorf("%s: no row for 0x1001: %v", tc.name, rows)
		}
	}
}
