package main

import (
	"os"
	"path/filepath"
	"testing"

	"ipsecmon/internal/badkeys"
)

// TestMalformedKeyFilesNeverEchoed: every malformed key file of
// internal/badkeys given to stats, sas, decrypt and keys on a capture with ESP:
// nothing the program writes (stdout and stderr, text and JSON, and the
// packet comments of decrypt's file) shows a piece of the keys (issue 12:
// key bytes reached journald through error messages).
func TestMalformedKeyFilesNeverEchoed(t *testing.T) {
	capture := keyedFaultCapture(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.pcapng")
	for name, text := range badkeys.Files() {
		path := filepath.Join(dir, "bad.keys")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"stats", "-r", capture, "-k", path, "--me", "10.0.0.1"},
			{"sas", "-r", capture, "-k", path, "--me", "10.0.0.1", "-o", "json"},
			{"decrypt", "-r", capture, "-k", path, "--me", "10.0.0.1", "-w", plain, "--keep-undecrypted", "--all"},
			{"decrypt", "-r", capture, "-k", path, "-w", plain, "-o", "json"},
			// keys prints keys into its file, by request; never on stderr.
			{"keys", "-r", capture, "-k", path, "--format", "native", "-w", filepath.Join(dir, "out.keys")},
			{"keys", "-r", capture, "-k", path, "--format", "tcpdump", "-w", filepath.Join(dir, "out.keys")},
		} {
			os.Remove(plain)
			stdout, stderr, _ := runCmd(t, args...)
			outs := []string{stdout, stderr}
			if _, err := os.Stat(plain); err == nil {
				for _, p := range readPcapng(t, plain) {
					outs = append(outs, p.comment)
				}
			}
			for _, out := range outs {
				if w := badkeys.Leak(out); w != "" {
					t.Errorf("%s: %s shows key material %q:\n%s", name, args[0], w, out)
				}
			}
		}
	}
}
