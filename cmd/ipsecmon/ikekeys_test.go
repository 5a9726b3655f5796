package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// IKE keys that do not belong to the IKE SA they name (issue 14 item 6):
// the lab's ikev2-tunnel recording with its own IKEv2 key line, once as
// charon logged it and once with one bit of SK_ai changed. With the
// changed key every encrypted message the initiator sent fails its
// integrity check and the responder's (SK_ar, untouched) pass, so the
// entry is not a mismatch; with SK_ai and SK_ar both changed it fails on
// every message and ipsecmon says so: a warning, the mmsas state, its
// JSON, and an ike_keys_mismatch event.
func TestIKEKeysMismatch(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pcaps", "lab", "ikev2-tunnel")
	capture := filepath.Join(dir, "capture.pcap")
	b, err := os.ReadFile(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "ikev2 ") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("no ikev2 line in the recording's keys")
	}
	// flip changes the first hex digit of a key field (0 ↔ 1, else → 0).
	flip := func(l, field string) string {
		i := strings.Index(l, field+"=0x")
		if i < 0 {
			t.Fatalf("no %s in %q", field, l)
		}
		j := i + len(field) + 3
		d := byte('0')
		if l[j] == '0' {
			d = '1'
		}
		return l[:j] + string(d) + l[j+1:]
	}
	write := func(name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name     string
		keys     string
		mismatch bool
	}{
		{"as logged", line, false},
		{"SK_ai changed: the responder's messages still verify", flip(line, "sk-ai"), false},
		{"SK_ai and SK_ar changed", flip(flip(line, "sk-ai"), "sk-ar"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := write("keys.txt", tt.keys)
			out, errs, code := runCmd(t, "mmsas", "-r", capture, "-k", k, "-o", "json", "-q")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var sas []struct {
				ID           int  `json:"id"`
				KeysMismatch bool `json:"keys_mismatch"`
			}
			if err := json.Unmarshal([]byte(out), &sas); err != nil || len(sas) == 0 {
				t.Fatalf("mmsas JSON %q: %v", out, err)
			}
			if sas[0].KeysMismatch != tt.mismatch {
				t.Errorf("keys_mismatch %v, want %v", sas[0].KeysMismatch, tt.mismatch)
			}
			if warned := strings.Contains(errs, "do not match that IKE SA"); warned != tt.mismatch {
				t.Errorf("warning %v, want %v: %q", warned, tt.mismatch, errs)
			}
			table, _, _ := runCmd(t, "mmsas", "-r", capture, "-k", k, "-q")
			if shown := strings.Contains(table, "(keys do not match)"); shown != tt.mismatch {
				t.Errorf("table says keys do not match: %v, want %v:\n%s", shown, tt.mismatch, table)
			}
			events, _, _ := runCmd(t, "events", "-r", capture, "-k", k, "-q")
			if ev := strings.Contains(events, `"action":"ike_keys_mismatch"`); ev != tt.mismatch {
				t.Errorf("ike_keys_mismatch event %v, want %v", ev, tt.mismatch)
			}
		})
	}
}
