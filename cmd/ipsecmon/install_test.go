package main

// Issue 14 item 11: what make install writes, the version it stamps, and
// what make demo shows, each checked against something other than the
// code that writes it: git for the version, groff for the man page, bash
// and zsh for the completions, the daemons' facts for the demo.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ipsecmon/internal/testcorpus"
)

// TestMakeInstall runs make install into a temporary DESTDIR (the deps
// target left out: go test installs no packages).
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ipsecmon with make")
	}
	needTool(t, "make")
	gitPath := needTool(t, "git")
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dest := t.TempDir()
	bin := filepath.Join(dest, "build", "ipsecmon")
	mk := exec.Command("make", "-o", "deps-build", "install", "DESTDIR="+dest, "PREFIX=/usr", "BIN="+bin)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	installed := func(p string) string {
		p = filepath.Join(dest, "usr", p)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("make install did not write %s", p)
		}
		return p
	}

	// The version is the commit git describes, as make built it.
	desc := exec.Command(gitPath, "describe", "--tags", "--always", "--dirty")
	desc.Dir = root
	want, err := desc.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(installed("bin/ipsecmon"), "--version").Output()
	if err != nil || string(got) != "ipsecmon "+string(want) {
		t.Errorf("--version: %q (%v); git describe: %q", got, err, want)
	}

	// Every command's flags, as its --help lists them.
	top, _, _ := runCmd(t, "--help")
	flags := map[string][]string{}
	for _, c := range commands {
		if !strings.Contains(top, "\n  "+c.name+" ") {
			t.Fatalf("--help does not list %s", c.name)
		}
		help, _, _ := runCmd(t, c.name, "--help")
		flags[c.name] = helpFlagNames(help)
	}

	// The man page: groff finds nothing wrong with it, and its text has
	// every command and every flag.
	man := installed("share/man/man1/ipsecmon.1")
	if groff, err := exec.LookPath("groff"); err == nil {
		// -P-cbou: plain text (no overstriking), long lines: no breaks.
		g := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=1000n")
		g.Stdin, _ = os.Open(man)
		var stderr strings.Builder
		g.Stderr = &stderr
		text, err := g.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("groff -man -ww on the man page: %v\n%s", err, stderr.String())
		}
		for c, fs := range flags {
			if !strings.Contains(string(text), "ipsecmon "+c+" [flags]") {
				t.Errorf("man page: no section for %s", c)
			}
			for _, f := range fs {
				if !strings.Contains(string(text), "--"+f) {
					t.Errorf("man page: %s --%s missing", c, f)
				}
			}
		}
	} else {
		t.Log("groff not installed: the man page is not rendered")
	}

	// bash offers the commands, each command's flags, interfaces after -i.
	bash := installed("share/bash-completion/completions/ipsecmon")
	complete := func(words ...string) []string {
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ipsecmon; printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command("bash", append([]string{"-c", script, "bash", bash}, words...)...).Output()
		if err != nil {
			t.Fatalf("bash completion of %q: %v", words, err)
		}
		return strings.Fields(string(out))
	}
	if got := complete("ipsecmon", "st"); !slices.Equal(got, []string{"stats"}) {
		t.Errorf("ipsecmon st<TAB>: %q", got)
	}
	for c, fs := range flags {
		got := complete("ipsecmon", c, "--")
		for _, f := range fs {
			if !slices.Contains(got, "--"+f) {
				t.Errorf("ipsecmon %s --<TAB> lacks --%s", c, f)
			}
		}
	}
	if got := complete("ipsecmon", "sas", "-o", ""); !slices.Equal(got, []string{"table", "json", "csv"}) {
		t.Errorf("ipsecmon sas -o <TAB>: %q", got)
	}
	if got := complete("ipsecmon", "stats", "-i", "l"); !slices.Contains(got, "lo") {
		t.Errorf("ipsecmon stats -i l<TAB>: %q", got)
	}

	// zsh reads its completion without a syntax error.
	zsh := installed("share/zsh/site-functions/_ipsecmon")
	if z, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command(z, "-n", zsh).CombinedOutput(); err != nil {
			t.Errorf("zsh -n %s: %v\n%s", zsh, err, out)
		}
	} else {
		t.Log("zsh not installed: its completion is not checked")
	}
}

// TestDemoKeys: make demo reads the ikev2-rekey recording with the ikev2
// lines of its keys.txt alone, and the README says what that shows. From
// the daemons' facts: child-1 came with IKE_AUTH (which has no PFS, RFC
// 7296 §1.2), so its keys derive from the IKE keys and every byte charon
// counted is decrypted; child-2 and child-3 used PFS, whose Diffie-Hellman
// secret is never on the wire, so no keys, and the view must say that.
func TestDemoKeys(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-rekey")
	all, err := os.ReadFile(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var ike []string
	for _, l := range strings.Split(string(all), "\n") {
		if !strings.HasPrefix(l, "esp ") {
			ike = append(ike, l)
		}
	}
	keys := filepath.Join(t.TempDir(), "ike-keys.txt")
	if err := os.WriteFile(keys, []byte(strings.Join(ike, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	var facts struct {
		ChildSAs []struct {
			ID, Exchange string
			Suite        struct {
				PFS string `json:"pfs_group"`
			}
			SPIs map[string]struct{ In, Out string } `json:"spis"`
		} `json:"child_sas"`
		SPIs []struct {
			SPI  string
			Sent struct{ Bytes int64 }
		} `json:"spis"`
	}
	f, err := os.ReadFile(filepath.Join(dir, "facts.json"))
	if err != nil || json.Unmarshal(f, &facts) != nil || len(facts.ChildSAs) != 3 {
		t.Fatalf("facts.json: %v, %d CHILD SAs", err, len(facts.ChildSAs))
	}
	sent := map[string]int64{}
	for _, s := range facts.SPIs {
		sent[s.SPI] = s.Sent.Bytes
	}
	out, stderr, code := runCmd(t, "sas", "-r", filepath.Join(dir, "capture.pcap"), "-k", keys, "--me", "198.51.100.2", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, c := range facts.ChildSAs {
		bob := c.SPIs["bob"] // --me 198.51.100.2 is bob
		var row map[string]any
		for _, r := range rows {
			if r["spi_in"] == bob.In && r["spi_out"] == bob.Out {
				row = r
			}
		}
		if row == nil {
			t.Errorf("%s: no row with SPIs in %s, out %s", c.ID, bob.In, bob.Out)
			continue
		}
		if c.Suite.PFS == "" {
			if src, _ := row["key_source"].(string); !strings.HasPrefix(src, "derived from IKE SA") || row["keys_missing"] != nil {
				t.Errorf("%s (%s, no PFS): key_source %v, keys_missing %v; want derived keys", c.ID, c.Exchange, row["key_source"], row["keys_missing"])
			}
			if row["plaintext_bytes_in"] != float64(sent[bob.In]) || row["plaintext_bytes_out"] != float64(sent[bob.Out]) {
				t.Errorf("%s: plaintext %v in, %v out; charon counted %d, %d", c.ID, row["plaintext_bytes_in"], row["plaintext_bytes_out"], sent[bob.In], sent[bob.Out])
			}
			continue
		}
		if m, _ := row["keys_missing"].(string); !strings.Contains(m, "PFS") || row["not_decrypted_in"] != nil {
			t.Errorf("%s (PFS %s): keys_missing %v, not_decrypted_in %v; want the PFS reason and no count", c.ID, c.Suite.PFS, row["keys_missing"], row["not_decrypted_in"])
		}
	}
}
