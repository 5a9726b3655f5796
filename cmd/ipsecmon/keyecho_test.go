package main

import (
	"os"
	"path/filepath"
	"testing"

	"ipsecmon/internal/badkeys"
)

// TestMalformedKeyFilesNeverEchoed: every malformed key file of
// internal/badkeys given to stats and sas on a capture with ESP: nothing
// the program writes (stdout and stderr, text and JSON) shows a piece of
// the keys (issue 12: key bytes reached journald through error messages).
func TestMalformedKeyFilesNeverEchoed(t *testing.T) {
	capture := keyedFaultCapture(t)
	dir := t.TempDir()
	for name, text := range badkeys.Files() {
		path := filepath.Join(dir, "bad.keys")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"stats", "-r", capture, "-k", path, "--me", "10.0.0.1"},
			{"sas", "-r", capture, "-k", path, "--me", "10.0.0.1", "-o", "json"},
		} {
			stdout, stderr, _ := runCmd(t, args...)
			for _, out := range []string{stdout, stderr} {
				if w := badkeys.Leak(out); w != "" {
					t.Errorf("%s: %s shows key material %q:\n%s", name, args[0], w, out)
				}
			}
		}
	}
}
