// Package testcorpus finds the shared corpus of public captures
// (../shared/corpus beside the repository) for tests, and skips a test
// cleanly when it is not there: the corpus is never committed.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Required is the environment variable that turns a missing corpus from a
// skip into a failure: CI has the corpus, and a test that silently skipped
// there would pass having checked nothing.
const Required = "IPSECMON_REQUIRE_CORPUS"

// absent skips t, or fails it when the corpus is required.
func absent(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(Required) != "" {
		t.Fatalf(format+" (%s is set: the corpus must be there)", append(args, Required)...)
	}
	t.Skipf(format, args...)
}

// Dir returns the corpus directory, or skips t when there is none.
// IPSECMON_CORPUS overrides the location.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("IPSECMON_CORPUS"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		absent(t, "IPSECMON_CORPUS=%s is not a directory", d)
	}
	root, err := RepoRoot()
	if err != nil {
		absent(t, "corpus: %v", err)
	}
	d := filepath.Join(root, "..", "shared", "corpus")
	if st, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err != nil || st.IsDir() {
		absent(t, "corpus not present at %s", d)
	}
	return d
}

// Path joins elements below the corpus directory, skipping t if that file is absent.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		absent(t, "corpus file missing: %v", err)
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

// ESPKeyProfiles maps ORACLE.json's keys_profile to the corpus key file
// tshark was given for it (ORACLE.md, "Key profiles").
var ESPKeyProfiles = map[string]string{
	"wiki_esp1":       "wireshark-wiki/ipsec_esp_capture_1/esp_sa",
	"wiki_esp2":       "wireshark-wiki/ipsec_esp_capture_2/esp_sa",
	"wiki_esp3":       "wireshark-wiki/ipsec_esp_capture_3/esp_sa",
	"wiki_esp5":       "wireshark-wiki/ipsec_esp_capture_5/esp_sa",
	"wiki_ikev2":      "wireshark-wiki/ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc/esp_sa",
	"tcpdump_esp1":    "tcpdump/esp_sa.esp1-cmdline.wireshark-derived",
	"tcpdump_secrets": "tcpdump/esp_sa.esp-secrets.wireshark-derived",
	"wstests":         "wireshark-tests/esp_sa",
}

// LabRecordings returns the directories of the lab's recordings
// ($IPSECMON_LAB_DIR, or testdata/pcaps/lab in the repository), each
// with its facts.json, or skips t when there are none.
func LabRecordings(t testing.TB) []string {
	t.Helper()
	dir := os.Getenv("IPSECMON_LAB_DIR")
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Skip("no repository root")
		}
		dir = filepath.Join(root, "testdata", "pcaps", "lab")
	}
	facts, _ := filepath.Glob(filepath.Join(dir, "*", "facts.json"))
	if len(facts) == 0 {
		t.Skipf("no lab recordings in %s", dir)
	}
	var out []string
	for _, f := range facts {
		out = append(out, filepath.Dir(f))
	}
	return out
}
