package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"4MiB", 4 << 20, false}, {"512KiB", 512 << 10, false}, {"1GiB", 1 << 30, false}, {"1000", 1000, false},
		{"4MB", 0, true}, {"MiB", 0, true}, {"-1KiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%q: %d, %v", tt.in, got, err)
		}
	}
}

// TestWriteSecret: key files are replaced whole and stay private.
func TestWriteSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.txt")
	for _, body := range []string{"# none yet\n", "esp spi=0x1 dst=10.0.0.1 enc=null auth=none\n"} {
		if err := writeSecret(p, []byte(body)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != body {
			t.Errorf("content %q, %v", b, err)
		}
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, %v", st.Mode(), err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".keys-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
