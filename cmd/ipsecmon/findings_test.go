package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ipsecmon/internal/testcorpus"
)

// bundled is a committed lab recording.
func bundled(t *testing.T, scenario string) string {
	t.Helper()
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", scenario)
	if _, err := os.Stat(filepath.Join(dir, "capture.pcap")); err != nil {
		t.Skip(err)
	}
	return dir
}

// TestFindingsCommand: the JSON keys the issue names, and --fail-on's exit
// status on ikev2-weak, whose daemons negotiated PFS with MODP-768 for
// CHILD SA net2 (RFC 8247 §2.4: group 1 MUST NOT: high) and nothing a
// policy would make critical.
func TestFindingsCommand(t *testing.T) {
	dir := bundled(t, "ikev2-weak")
	args := []string{"findings", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt")}
	out, stderr, code := runCmd(t, append(args, "-o", "json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no findings")
	}
	want := []string{"detail", "finding", "ike_sa", "local", "remote", "severity", "spi_in", "spi_out", "time", "until"}
	for _, r := range rows {
		var ks []string
		for k := range r {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		if !slices.Equal(ks, want) {
			t.Fatalf("keys %v, want %v", ks, want)
		}
	}
	if rows[0]["finding"] != "weak_crypto_dh" || rows[0]["severity"] != "high" || rows[0]["spi_in"] == nil {
		t.Errorf("first finding %v, want the high weak_crypto_dh of net2", rows[0])
	}
	for _, c := range []struct {
		failOn string
		code   int
	}{{"high", exitMismatch}, {"medium", exitMismatch}, {"critical", exitOK}, {"bogus", exitUsage}} {
		if _, stderr, code := runCmd(t, append(args, "--fail-on", c.failOn)...); code != c.code {
			t.Errorf("--fail-on %s: exit %d, want %d (%s)", c.failOn, code, c.code, stderr)
		}
	}
	table, _, _ := runCmd(t, args...)
	if !strings.Contains(table, "1. [high] weak_crypto_dh\n") || !strings.Contains(table, "RFC 8247 §2.4") {
		t.Errorf("table does not list the details:\n%s", table)
	}
}

// TestFindingsPolicyViolation: ikev2-cleartext sent 5 UDP datagrams from
// 10.1.0.1 to 10.2.0.1:9999 around the tunnel (CLEARTEXT_PACKETS in its
// scenario, counted by tshark in TestLabViolations); with bob's
// configuration as the policy they are one critical policy_violation of 5
// packets, and --fail-on critical exits 1.
func TestFindingsPolicyViolation(t *testing.T) {
	dir := bundled(t, "ikev2-cleartext")
	f := readFacts(t, dir)
	args := []string{"findings", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"),
		"--policy", labConfig(t, "ikev2-cleartext", "bob"), "--me", f.link("bob"), "-o", "json"}
	var rows []map[string]any
	jsonOut(t, &rows, args...)
	var got []map[string]any
	for _, r := range rows {
		if r["finding"] == "policy_violation" {
			got = append(got, r)
		}
	}
	if len(got) != 1 || got[0]["severity"] != "critical" || got[0]["remote"] != "10.2.0.1" && got[0]["local"] != "10.2.0.1" ||
		!strings.HasPrefix(got[0]["detail"].(string), "5 cleartext UDP packets 10.1.0.1 → 10.2.0.1:9999 ") {
		t.Errorf("policy violations %v; want one critical, 5 UDP packets from 10.1.0.1", got)
	}
	if _, _, code := runCmd(t, append(args, "--fail-on", "critical")...); code != exitMismatch {
		t.Errorf("--fail-on critical: exit %d", code)
	}
}

// TestFindingsRekeyLoss edits the ikev2-rekey recording (3 CHILD SAs of one
// tunnel, each SA's packets numbered 1..n without a gap: checked by
// TestTunnelsOnEditedRecording) as that test does: without the first
// packet of the second SA toward bob, the rekey to it lost number 1 across
// the switch. The unedited recording has no rekey_loss; the edited one
// exactly one, naming that SA and 1 number lost.
func TestFindingsRekeyLoss(t *testing.T) {
	dir := bundledRekey(t)
	f := readFacts(t, dir)
	bob := f.link("bob")
	recs, lt := readRecords(t, filepath.Join(dir, "capture.pcap"))
	var toBob []uint32
	for _, r := range recs {
		if r.esp && r.dst == bob && !slices.Contains(toBob, r.spi) {
			toBob = append(toBob, r.spi)
		}
	}
	if len(toBob) != 3 {
		t.Fatalf("%d SPIs toward bob, the recording has 3 CHILD SAs", len(toBob))
	}
	var edited []espRecord
	for _, r := range recs {
		if !(r.esp && r.spi == toBob[1] && r.seq == 1) {
			edited = append(edited, r)
		}
	}
	for _, c := range []struct {
		name, pcap string
		want       []string
	}{
		{"as recorded", filepath.Join(dir, "capture.pcap"), nil},
		{"first packet of a new SA removed", writeRecords(t, edited, lt), []string{fmt.Sprintf("0x%08x→0x%08x: 1 lost across the switch", toBob[0], toBob[1])}},
	} {
		var rows []map[string]any
		jsonOut(t, &rows, "findings", "-q", "-r", c.pcap, "-k", filepath.Join(dir, "keys.txt"), "--me", bob, "-o", "json")
		var got []string
		for _, r := range rows {
			if r["finding"] == "rekey_loss" {
				got = append(got, r["detail"].(string))
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: rekey_loss %q, want %d", c.name, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) || !strings.HasPrefix(got[i], "1 of the tunnel's 2 rekeys lost traffic") {
				t.Errorf("%s: %q, want %q", c.name, got[i], w)
			}
		}
	}
}
