package metrics_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"ipsecmon/analyzer"
	"ipsecmon/internal/captest"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/metrics"
)

// promtool is Prometheus's own checker (Debian's package prometheus; CI
// installs it): the tests skip without it.
func promtool(t *testing.T) string {
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt install prometheus)")
	}
	return p
}

func repoPath(t *testing.T, elem ...string) string {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// The shipped rules load, and their unit tests (series written by hand,
// expected values worked out by hand in the test file) pass.
func TestRulesWithPromtool(t *testing.T) {
	pt := promtool(t)
	dir := repoPath(t, "contrib", "prometheus")
	for _, args := range [][]string{{"check", "rules", "ipsecmon.rules.yml"}, {"test", "rules", "ipsecmon.rules.test.yml"}} {
		cmd := exec.Command(pt, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every ipsecmon_ series a rule reads is one the exporter has: a rule on a
// misspelt name would never fire, and promtool cannot tell.
func TestRulesNameExportedSeries(t *testing.T) {
	b, err := os.ReadFile(repoPath(t, "contrib", "prometheus", "ipsecmon.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 100)
	go func() {
		metrics.NewCollector(nil, 1).Describe(ch)
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	exported := map[string]bool{}
	for d := range ch {
		exported[fq.FindStringSubmatch(d.String())[1]] = true
	}
	used := 0
	// Names in expressions only: recorded series (level:name:op) hold colons.
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.Contains(line, "summary:") {
			continue
		}
		for _, m := range regexp.MustCompile(`(^|[^:a-z_])(ipsecmon_[a-z_]+)`).FindAllStringSubmatch(line, -1) {
			used++
			if !exported[m[2]] {
				t.Errorf("the rules read %s, which the exporter does not have", m[2])
			}
		}
	}
	if used < 15 {
		t.Errorf("found %d series names in the rules; the pattern is broken", used)
	}
}

// promtool check metrics (Prometheus's linter for names, types, units and
// help) finds nothing to say about an exposition of the lab's ikev2-rekey
// recording analysed with its keys (so that the keyed figures are known
// and exported too), with the Go and process series.
func TestExpositionPassesPromtool(t *testing.T) {
	pt := promtool(t)
	an := captest.Recording(t, repoPath(t, "testdata", "pcaps", "lab", "ikev2-rekey"), analyzer.Config{})
	snap := an.Snapshot()
	reg := metrics.NewRegistry(metrics.NewCollector(func() metrics.Sample {
		return metrics.Sample{Snap: snap, Limits: snap.Limits, Interfaces: []metrics.Interface{{Name: "lab0", Received: 10}}}
	}, 10), "test")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	names := []string{}
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		names = append(names, f.GetName())
	}
	for _, want := range []string{"ipsecmon_tunnel_accepted_packets_total", "ipsecmon_confidential_bytes_total", "ipsecmon_key_additions_total", "ipsecmon_tunnel_last_rekey_timestamp_seconds"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not in the exposition: the recording did not give what this test lints", want)
		}
	}
	cmd := exec.Command(pt, "check", "metrics")
	cmd.Stdin = io.NopCloser(&text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
