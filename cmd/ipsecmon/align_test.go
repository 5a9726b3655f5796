package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ipsecmon/internal/testcorpus"
)

// The lab lists both daemons' SAs (swanctl --list-sas --raw) before the
// traffic, after every round of it and before the teardown, while the
// capture goes on: snapshots taken mid-capture. facts.json has when each
// CHILD SA was created and deleted (charon's log, ms), never from ipsecmon.

// alive: the SPIs (in, out) at peer of the CHILD SAs the daemons had at t,
// and how many rekeys they had made by then.
func (f labFacts) alive(peer string, t time.Time) (spis []string, rekeys int) {
	for _, c := range f.ChildSAs {
		if c.Created.After(t) {
			continue
		}
		if c.Replaces != "" {
			rekeys++
		}
		if c.Deleted == nil || c.Deleted.Time.After(t) {
			spis = append(spis, c.SPIs[peer]["in"], c.SPIs[peer]["out"])
		}
	}
	sort.Strings(spis)
	return spis, rekeys
}

var installedChild = regexp.MustCompile(`state=(INSTALLED|REKEYED) [^}]*?spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})`)

// installedSPIs reads the SPIs of the CHILD SAs a raw listing shows in the
// SA database: INSTALLED, or REKEYED and waiting for its lifetime's end
// (IKEv1) or its Delete (IKEv2).
func installedSPIs(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range installedChild.FindAllStringSubmatch(string(b), -1) {
		out = append(out, "0x"+m[2], "0x"+m[3])
	}
	sort.Strings(out)
	return out
}

type checkMoment struct {
	How     string    `json:"how"`
	At      time.Time `json:"at"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Fits    int       `json:"fits"`
	Of      int       `json:"of"`
	Closest []struct {
		RuledOut []string `json:"ruled_out"`
	} `json:"closest"`
}

type checkRow struct {
	SA       string       `json:"sa"`
	Figure   string       `json:"figure"`
	Analyzer *uint64      `json:"analyzer"`
	HostVal  *uint64      `json:"host_value"`
	Verdict  string       `json:"verdict"`
	Reason   string       `json:"reason"`
	Moment   *checkMoment `json:"moment"`
}

func runCheck2(t *testing.T, args ...string) ([]checkRow, *checkMoment, int) {
	t.Helper()
	out, errOut, code := runCmd(t, append([]string{"check", "-q", "-o", "json", "--strongswan-backend", "kernel-libipsec"}, args...)...)
	var rows []checkRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("exit %d: %v %s", code, err, errOut)
	}
	var m *checkMoment
	for _, r := range rows {
		if r.Figure == "capture_moment" {
			m = r.Moment
		}
	}
	return rows, m, code
}

// TestLabCheckMidCapture: every listing the lab took (before the traffic,
// after each round, before the teardown), at both peers, is compared at the
// moment of the capture its packet counters fit: every figure agrees, and at
// that moment the daemons' own log has exactly the CHILD SAs the listing
// shows as installed. With a strongSwan counters source, the rekeys the
// daemons had made by then (facts) agree too.
func TestLabCheckMidCapture(t *testing.T) {
	root, scenarios := labScenarios(t)
	n := 0
	for _, sc := range scenarios {
		dir := filepath.Join(root, sc)
		f := readFacts(t, dir)
		if f.CountsSplitByTiming {
			// Readings of SAs that carried traffic until closed lag the
			// capture, so no moment fits them (testdata/pcaps/lab/README.md).
			continue
		}
		listings, _ := filepath.Glob(filepath.Join(dir, "*-list-sas-*-raw.txt"))
		for _, l := range listings {
			name := filepath.Base(l)
			peer, _, _ := strings.Cut(name, "-")
			t.Run(sc+"/"+name, func(t *testing.T) {
				n++
				args := []string{"-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--host", l}
				rows, m, code := runCheck2(t, args...)
				for _, r := range rows {
					if r.Verdict == "differs" {
						t.Errorf("%s %s differs: ipsecmon %v, host %v; %s", r.SA, r.Figure, r.Analyzer, r.HostVal, r.Reason)
					}
				}
				if code != exitOK || m == nil || m.How != "aligned" || m.Fits != m.Of {
					t.Fatalf("exit %d, moment %+v", code, m)
				}
				from, to := m.From, m.To
				if from.IsZero() {
					from = f.Capture.Start
				}
				if to.IsZero() {
					to = f.Capture.End
				}
				if !from.Before(to) {
					t.Fatalf("moments from %v to %v", from, to)
				}
				mid := from.Add(to.Sub(from) / 2)
				spis, rekeys := f.alive(peer, mid)
				if got := installedSPIs(t, l); strings.Join(got, " ") != strings.Join(spis, " ") {
					t.Errorf("at %v the daemons' log has SAs %v; the listing shows %v installed", mid, spis, got)
				}
				var active *checkRow
				for i := range rows {
					if rows[i].Figure == "active_security_associations" {
						active = &rows[i]
					}
				}
				if active == nil || active.Verdict != "agree" || active.Analyzer == nil || *active.Analyzer != uint64(len(spis)) {
					t.Errorf("active SAs row %+v, want %d agreeing", active, len(spis))
				}
				// The daemon's rekeys by then, from the facts, as swanctl
				// --counters would print them.
				counters := writeKeys(t, "counters.txt", fmt.Sprintf("global:\n  ike-rekey-init        : 0\n  ike-rekey-resp        : 0\n  child-rekey           : %d\n", rekeys))
				args[len(args)-1] = l + "," + counters
				rows, _, code = runCheck2(t, args...)
				found := false
				for _, r := range rows {
					if r.Figure == "rekeys" {
						found = true
						if r.Verdict != "agree" {
							t.Errorf("rekeys: ipsecmon %v, daemons %d by %v: %s", r.Analyzer, rekeys, mid, r.Reason)
						}
					}
				}
				if !found || code != exitOK {
					t.Errorf("exit %d, rekeys compared: %v", code, found)
				}
			})
		}
	}
	if n < 40 {
		t.Errorf("%d listings checked; the lab has more", n)
	}
}

// TestCheckAlignmentFindsDoctoredCounter: bob's listing before the teardown
// of ikev2-rekey with one counter lowered (child-3's packets in, by 8) fits no
// moment of the capture; the SAs that rule out the closest moments are
// named, and check exits 1. --host-at overrides the alignment: 5 ms before
// the teardown (facts: the IKE SA, and with it CHILD SA child-3, deleted
// then) the true listing agrees; at the capture's end it does not.
func TestCheckAlignmentFindsDoctoredCounter(t *testing.T) {
	dir := bundledRekey(t)
	f := readFacts(t, dir)
	listing := filepath.Join(dir, "bob-list-sas-after-raw.txt")
	b, err := os.ReadFile(listing)
	if err != nil {
		t.Fatal(err)
	}
	// child-3's inbound SPI at bob, and its count in the listing, lowered by 8.
	var spiIn string
	for _, c := range f.ChildSAs {
		if c.ID == "child-3" {
			spiIn = strings.TrimPrefix(c.SPIs["bob"]["in"], "0x")
		}
	}
	m0 := regexp.MustCompile(`spi-in=` + spiIn + ` [^}]*?packets-in=(\d+) `).FindStringSubmatchIndex(string(b))
	if spiIn == "" || m0 == nil {
		t.Fatalf("no packets-in for child-3's SPI %q in the listing", spiIn)
	}
	in, _ := strconv.Atoi(string(b[m0[2]:m0[3]]))
	if in < 8 {
		t.Fatalf("child-3 carried %d packets in", in)
	}
	doctored := writeKeys(t, "doctored.txt", string(b[:m0[2]])+strconv.Itoa(in-8)+string(b[m0[3]:]))
	capture, keys := filepath.Join(dir, "capture.pcap"), filepath.Join(dir, "keys.txt")

	_, m, code := runCheck2(t, "-r", capture, "-k", keys, "--host", doctored)
	if code != exitMismatch || m == nil || m.How != "capture end" || len(m.Closest) == 0 {
		t.Fatalf("exit %d, moment %+v; want 1 and no moment", code, m)
	}
	named := false
	for _, c := range m.Closest {
		for _, r := range c.RuledOut {
			named = named || strings.HasPrefix(r, "esp 0x"+spiIn+" in:")
		}
	}
	if !named {
		t.Errorf("the doctored SA is not among those ruling out the closest moments: %+v", m.Closest)
	}

	var teardown time.Time
	for _, c := range f.ChildSAs {
		if c.ID == "child-3" && c.Deleted != nil {
			teardown = c.Deleted.Time
		}
	}
	if teardown.IsZero() {
		t.Fatal("facts: no deletion of child-3")
	}
	rows, m, code := runCheck2(t, "-r", capture, "-k", keys, "--host", listing, "--host-at", teardown.Add(-5*time.Millisecond).Format(time.RFC3339Nano))
	if code != exitOK || m == nil || m.How != "given" || m.Fits != m.Of {
		t.Errorf("--host-at before the teardown: exit %d, moment %+v", code, m)
	}
	for _, r := range rows {
		if r.Verdict == "differs" {
			t.Errorf("%s %s differs: %v vs %v", r.SA, r.Figure, r.Analyzer, r.HostVal)
		}
	}
	rows, m, code = runCheck2(t, "-r", capture, "-k", keys, "--host", listing, "--host-at", f.Capture.End.Format(time.RFC3339Nano))
	if code != exitMismatch || m == nil || m.Fits == m.Of {
		t.Errorf("--host-at the capture's end: exit %d, moment %+v; want 1", code, m)
	}
	for _, r := range rows {
		if r.Figure == "active_security_associations" && (r.Verdict != "differs" || *r.Analyzer != 0) {
			t.Errorf("active SAs at the capture's end: %+v, want 0 (torn down) vs 2", r)
		}
	}
}

// TestReadmeCheckExample: the README's check example on the bundled
// ikev2-rekey recording, whose "after" listing bob took before the teardown
// the capture goes on to show: every figure agrees at the moment found, and
// the moment is shown.
func TestReadmeCheckExample(t *testing.T) {
	dir := bundledRekey(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	out, _, code := runCmd(t, "check", "-q", "-r", p("capture.pcap"), "-k", p("keys.txt"), "--host", p("bob-list-sas-after-raw.txt"),
		"--host-before", p("bob-list-sas-before-raw.txt"), "--strongswan-backend", "kernel-libipsec")
	if code != exitOK || !strings.Contains(out, "capture_moment") || !strings.Contains(out, "the host's counters (6 SAs) fit the capture from ") || strings.Contains(out, " differs ") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// bundledRekey is the committed ikev2-rekey recording (the README's), not
// one IPSECMON_LAB_DIR names: these tests quote its listings.
func bundledRekey(t *testing.T) string {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-rekey")
	if _, err := os.Stat(filepath.Join(dir, "capture.pcap")); err != nil {
		t.Skip(err)
	}
	return dir
}
