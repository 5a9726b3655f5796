// Package testcorpus finds the shared corpus of public captures
// (../shared/corpus beside the repository) for tests, and skips a test
// cleanly when it is not there: the corpus is never committed.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus directory, or skips t when there is none.
// IPSECMON_CORPUS overrides the location.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("IPSECMON_CORPUS"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		t.Skipf("IPSECMON_CORPUS=%s is not a directory", d)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Skipf("corpus: %v", err)
	}
	d := filepath.Join(root, "..", "shared", "corpus")
	if st, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err != nil || st.IsDir() {
		t.Skipf("corpus not present at %s", d)
	}
	return d
}

// Path joins elements below the corpus directory, skipping t if that file is absent.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus file missing: %v", err)
	}
	return p
}

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", os.ErrNotExist
		}
		d = parent
	}
}
