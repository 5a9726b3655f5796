package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBadKeyRowSkipped: one bad row of a key table no longer aborts the
// run (it exited 2 with no output): it is skipped with a warning naming the
// file and line, and the other rows' SAs are verified as without it. The
// figures are TestKeyedFaults' (hand-computed for keyedFaultCapture).
func TestBadKeyRowSkipped(t *testing.T) {
	path := keyedFaultCapture(t)
	rows := strings.SplitAfter(espSAKeys(), "\n")
	// A 15-byte AES key for another SA, between the first two rows.
	bad := `"IPv4","10.0.0.5","10.0.0.1","0x00004004","AES-CBC [RFC3602]","0x` + strings.Repeat("ab", 15) + `","NULL","","32-bit",""` + "\n"
	kf := writeKeys(t, "esp_sa", rows[0]+bad+strings.Join(rows[1:], ""))
	out, errOut, code := runCmd(t, "stats", "-q", "-r", path, "--me", "10.0.0.1", "-o", "json", "-k", kf)
	if code != exitOK {
		t.Fatalf("exit %d, want 0: %s", code, errOut)
	}
	if want := "ipsecmon: warning: keys: " + kf + ":2: esp_sa: aes-cbc key is 15 bytes; want 16, 24, 32; entry skipped\n"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not say %q", errOut, want)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"packets_with_replay_detection": 3.0, "packets_not_authenticated": 1.0, "packets_not_decrypted": 1.0,
		"confidential_bytes_sent": 420.0, "bytes_received_in_tunnels": 1632.0, "transport_bytes_sent": 420.0,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestShortKeyWarned: a 4-byte key for HMAC-SHA-256-128, whose keys are
// 32 bytes (RFC 4868 §2.1.1), is warned about at load; the SA's packets
// then fail integrity, as the warning says (keyedFaultCapture's 0x1001 was
// sealed with a 32-byte key: none of its 17 packets is accepted).
func TestShortKeyWarned(t *testing.T) {
	path := keyedFaultCapture(t)
	kf := writeKeys(t, "keys.txt", "esp spi=0x1001 src=10.0.0.2 dst=10.0.0.1 enc=aes-cbc enc-key="+h(k1Enc)+" auth=hmac-sha2-256-128 auth-key=0badcafe\n")
	out, errOut, code := runCmd(t, "sas", "-q", "-r", path, "--me", "10.0.0.1", "-o", "json", "--columns", "spi_in,packets_in,not_authenticated_in", "-k", kf)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "ipsecmon: warning: keys: " + kf + ":1: esp: auth-key: hmac-sha2-256-128 key is 4 bytes, shorter than the algorithm's 32"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not say %q", errOut, want)
	}
	if strings.Contains(out+errOut, "0badcafe") {
		t.Error("the key appears in the output")
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["spi_in"] == "0x00001001" && (r["packets_in"] != 0.0 || r["not_authenticated_in"] == 0.0) {
			t.Errorf("0x1001 with the short key: %v", r)
		}
	}
}

// TestEmptyKeyFileWarned: a key file with nothing in it is said to give no
// keys, and the run goes on without them.
func TestEmptyKeyFileWarned(t *testing.T) {
	path := keyedFaultCapture(t)
	kf := writeKeys(t, "keys.txt", "# to be filled in\n")
	out, errOut, code := runCmd(t, "stats", "-q", "-r", path, "--me", "10.0.0.1", "-o", "json", "-k", kf)
	if code != exitOK || out == "" {
		t.Fatalf("exit %d, output %q: %s", code, out, errOut)
	}
	if want := "ipsecmon: warning: keys: " + kf + ": the file gives no keys ipsecmon can use\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}
