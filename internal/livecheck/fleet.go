package livecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"ipsecmon/internal/lab/facts"
)

// FleetConfig names what live-check.sh's fleet step left: the hooks'
// output (testdata/lab/fleet-hooks.sh), the scenario's recording, and the
// Prometheus server that scraped both gateways' exporters (still running).
type FleetConfig struct {
	Dir        string // fleet-hooks.sh's output
	Recording  string // the scenario's recording: facts.json, capture.pcap
	Prometheus string // its base URL
	Ipsecmon   string // binary, for the offline event logs
	Promtool   string
	Rules      string   // the rules file Prometheus loaded
	Peers      []string // the gateways, as the gateway label names them
}

// Fleet checks issue 19's fleet on one lab run: fleet-wide sums in
// Prometheus equal the sums of the exporters' /stats.json, a tunnel's
// series go on across the lab's rekeys, the shipped rules load and
// evaluate, scrapes taken during traffic pass promtool check metrics, and
// the event logs, moved away and reopened on SIGHUP, hold every event.
func Fleet(ctx context.Context, c FleetConfig) (*Report, error) {
	rep := &Report{}
	cl, err := api.NewClient(api.Config{Address: c.Prometheus})
	if err != nil {
		return nil, err
	}
	prom := promv1.NewAPI(cl)
	f, err := facts.Read(filepath.Join(c.Recording, "facts.json"))
	if err != nil {
		return nil, err
	}
	for _, p := range c.Peers {
		rc, err := os.ReadFile(filepath.Join(c.Dir, p+".rc"))
		if err != nil {
			return nil, err
		}
		var probs []string
		if s := strings.TrimSpace(string(rc)); s != "0" {
			probs = append(probs, "exit status "+s)
		}
		rep.addf("19", "exporter in "+p+"'s namespace ended on SIGINT", probs, "exit %s", strings.TrimSpace(string(rc)))
	}
	landing, err := os.ReadFile(filepath.Join(c.Dir, "landing.html"))
	if err != nil {
		return nil, err
	}
	var probs []string
	if !bytes.Contains(landing, []byte(`href="/metrics"`)) {
		probs = append(probs, "no link to /metrics")
	}
	rep.addf("19", "the exporter's / is a page linking /metrics", probs, "%d bytes", len(landing))

	if err := checkFleetSums(ctx, rep, prom, c); err != nil {
		return nil, err
	}
	start, end, err := readTimes(filepath.Join(c.Dir, "capture.times"))
	if err != nil {
		return nil, err
	}
	if err := checkContinuity(ctx, rep, prom, c, f, start, end); err != nil {
		return nil, err
	}
	if err := checkRules(ctx, rep, prom, c, start); err != nil {
		return nil, err
	}
	if err := checkBusyScrapes(ctx, rep, c); err != nil {
		return nil, err
	}
	if err := checkEventLogs(ctx, rep, c, f); err != nil {
		return nil, err
	}
	return rep, nil
}

// readTimes reads "a b" Unix times with fractions.
func readTimes(path string) (time.Time, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	fs := strings.Fields(string(b))
	if len(fs) != 2 {
		return time.Time{}, time.Time{}, fmt.Errorf("%s: want two times, got %q", path, b)
	}
	var ts [2]time.Time
	for i, s := range fs {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%s: %w", path, err)
		}
		ts[i] = time.Unix(0, int64(v*1e9))
	}
	return ts[0], ts[1], nil
}

// instant runs a PromQL query at t and returns its vector.
func instant(ctx context.Context, prom promv1.API, q string, t time.Time) (model.Vector, error) {
	v, _, _, err := prom.Query(ctx, q, t)
	if err != nil {
		return nil, fmt.Errorf("PromQL %s at %s: %w", q, t.Format(time.RFC3339Nano), err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("PromQL %s: %s, not a vector", q, v.Type())
	}
	return vec, nil
}

// selector turns a series' "k=v,k=v" labels into a PromQL selector.
func selector(s series) string {
	if s.labels == "" {
		return s.name
	}
	var kv []string
	for _, p := range strings.Split(s.labels, ",") {
		k, v, _ := strings.Cut(p, "=")
		kv = append(kv, fmt.Sprintf("%s=%q", k, v))
	}
	return s.name + "{" + strings.Join(kv, ",") + "}"
}

// checkFleetSums: at each quiet moment (both exporters' /stats.json equal
// at t1 and t2, and Prometheus scraped each after t1), sum(...) over the
// fleet equals the sum of the exporters' figures, for every statistic, the
// analysis figures and the tunnels' traffic; a figure both exporters call
// unknown has no series at all. The recording rule
// job:ipsecmon_tunnels_active:sum, evaluated on samples scraped after t1,
// equals each gateway's active tunnels (the rule sums over instances; the
// gateway label the scrape config adds keeps the two apart).
//
// A round's moment at which an exporter's figures changed between t1 and
// t2 is not quiet: the lab's rekey timers do not wait for the hooks, and on
// a loaded machine a round's hook can run into the next rekey. Such a
// moment is listed and skipped, but the one at the end, after the
// teardown, cannot be disturbed and must be compared.
func checkFleetSums(ctx context.Context, rep *Report, prom promv1.API, c FleetConfig) error {
	tags, _ := filepath.Glob(filepath.Join(c.Dir, "quiet-*.times"))
	sort.Strings(tags)
	sawEnd := false
	for _, tp := range tags {
		tag := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(tp), "quiet-"), ".times")
		t1, t2, err := readTimes(tp)
		if err != nil {
			return err
		}
		title := "fleet at " + tag + ": PromQL sums over both exporters = the sums of their /stats.json and /tunnels.json"
		var probs, moved []string
		want := map[string]float64{} // PromQL -> expected sum
		known := map[string]bool{}
		active := map[string]float64{} // gateway -> its active tunnels
		for _, p := range c.Peers {
			read := func(what string) ([]byte, error) {
				return os.ReadFile(filepath.Join(c.Dir, fmt.Sprintf("quiet-%s-%s-%s.json", tag, p, what)))
			}
			a, err := read("stats-a")
			if err != nil {
				return err
			}
			b, err := read("stats-b")
			if err != nil {
				return err
			}
			tun, err := read("tunnels")
			if err != nil {
				return err
			}
			d, err := Diff(a, b, DiffOptions{})
			if err != nil {
				return err
			}
			for _, x := range d {
				moved = append(moved, p+": "+x)
			}
			// Prometheus's sample of this exporter comes from after t1.
			vec, err := instant(ctx, prom, fmt.Sprintf(`timestamp(up{gateway=%q})`, p), t2)
			if err != nil {
				return err
			}
			if len(vec) != 1 || float64(vec[0].Value) <= float64(t1.UnixNano())/1e9 {
				probs = append(probs, fmt.Sprintf("%s: no scrape between t1 and t2 (%v)", p, vec))
			}
			exp, err := expectedSeries(a, tun)
			if err != nil {
				return fmt.Errorf("%s %s: %w", tag, p, err)
			}
			for s, v := range exp {
				if s.name == "ipsecmon_tunnel_active" && v != nil {
					active[p] += *v
				}
				if (s.name == "ipsecmon_tunnel_accepted_packets_total" || s.name == "ipsecmon_tunnel_accepted_bytes_total") && v != nil {
					// The tunnels' traffic, per direction, over the
					// exporter's tunnels.
					dir := "received"
					if strings.Contains(s.labels, "direction=sent") {
						dir = "sent"
					}
					q := fmt.Sprintf(`sum(%s{direction=%q})`, s.name, dir)
					want[q] += *v
					known[q] = true
				}
				if !strings.HasPrefix(s.name, "ipsecmon_") || strings.HasPrefix(s.name, "ipsecmon_tunnel_") ||
					strings.HasPrefix(s.name, "ipsecmon_limit_") || strings.HasSuffix(s.name, "_timestamp_seconds") {
					continue // per tunnel or per bound; times do not add up
				}
				q := "sum(" + selector(s) + ")"
				if _, ok := want[q]; !ok {
					want[q] = 0
				}
				if v != nil {
					want[q] += *v
					known[q] = true
				}
			}
		}
		if len(moved) > 0 {
			if tag == "end" {
				probs = append(probs, "figures changed after the teardown:")
				probs = append(probs, moved...)
				rep.addf("19", title, probs, "not quiet")
			} else {
				rep.addf("19", title, nil, "skipped, not quiet (the lab's timers): %s", strings.Join(moved[:min(3, len(moved))], "; "))
			}
			continue
		}
		sawEnd = sawEnd || tag == "end"
		compared := 0
		for _, q := range slices.Sorted(maps.Keys(want)) {
			vec, err := instant(ctx, prom, q, t2)
			if err != nil {
				return err
			}
			switch {
			case !known[q] && len(vec) > 0:
				probs = append(probs, fmt.Sprintf("%s = %v, but every exporter's JSON figure is null", q, vec[0].Value))
			case !known[q]:
			case len(vec) != 1:
				probs = append(probs, fmt.Sprintf("%s: %d samples, want 1 (= %v)", q, len(vec), want[q]))
			case math.Abs(float64(vec[0].Value)-want[q]) > 1e-6:
				probs = append(probs, fmt.Sprintf("%s = %v; the exporters' JSON adds up to %v", q, vec[0].Value, want[q]))
			default:
				compared++
			}
		}
		const rule = "job:ipsecmon_tunnels_active:sum"
		vals, err := instant(ctx, prom, rule, t2)
		if err != nil {
			return err
		}
		times, err := instant(ctx, prom, "timestamp("+rule+")", t2)
		if err != nil {
			return err
		}
		for _, p := range c.Peers {
			var v, ts []float64
			for _, x := range vals {
				if string(x.Metric["gateway"]) == p {
					v = append(v, float64(x.Value))
				}
			}
			for _, x := range times {
				if string(x.Metric["gateway"]) == p {
					ts = append(ts, float64(x.Value))
				}
			}
			switch {
			case len(v) != 1 || len(ts) != 1:
				probs = append(probs, fmt.Sprintf("%s{gateway=%q}: %v, want one series", rule, p, v))
			case v[0] != active[p]:
				probs = append(probs, fmt.Sprintf("%s{gateway=%q} = %v; its /tunnels.json has %v active", rule, p, v[0], active[p]))
			case ts[0] < float64(t1.UnixNano())/1e9+1:
				// Evaluated a second after t1 at the earliest, it read a
				// sample scraped after t1.
				probs = append(probs, fmt.Sprintf("%s{gateway=%q}: evaluated at %v, not on samples after t1", rule, p, ts[0]))
			default:
				compared++
			}
		}
		rep.addf("19", title, probs, "%d sums compared at %s", compared, t2.UTC().Format("15:04:05.000"))
	}
	if !sawEnd {
		rep.add("19", "fleet sums compared at the end of the capture", "", "no quiet moment at the end in "+c.Dir)
	}
	return nil
}

// identity is a tunnel series' labels without the metric name, direction
// and the target's own labels.
func identity(ls model.LabelSet) string {
	var kv []string
	for k, v := range ls {
		switch k {
		case model.MetricNameLabel, "direction", "instance", "job", "gateway":
			continue
		}
		kv = append(kv, string(k)+"="+string(v))
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// checkContinuity: over the whole capture each gateway has one tunnel (the
// lab's), whose series keep their labels across the daemons' CHILD SA
// rekeys (facts.json: the pairs that replaced another): one series per
// direction, scraped every second without a gap, never going back, still
// counting after each rekey; its rekeys and child SAs are the daemons'. No
// series of the run has an spi label.
func checkContinuity(ctx context.Context, rep *Report, prom promv1.API, c FleetConfig, f *facts.Facts, start, end time.Time) error {
	// The exporters have no keys: a CHILD SA is theirs to see only by its
	// traffic (CREATE_CHILD_SA is encrypted). On a loaded machine alice's
	// 10 s timer can rekey once more just before the teardown, and that
	// SA carries nothing: the daemons' own inbound counters say which
	// child SAs carried traffic.
	carried := map[string]bool{}
	for _, sp := range f.SPIs {
		for _, ctr := range sp.Counters {
			if ctr.Side == "in" && ctr.Packets > 0 {
				carried[sp.Child] = true
			}
		}
	}
	var rekeys []time.Time
	children := 0
	for _, ch := range f.ChildSAs {
		if !carried[ch.ID] {
			continue
		}
		children++
		if ch.Replaces != "" {
			rekeys = append(rekeys, ch.Created)
		}
	}
	if len(rekeys) == 0 {
		rep.add("19", "tunnel series across rekeys", "", "the recording has no CHILD SA rekey")
		return nil
	}
	names, _, _, err := prom.LabelNames(ctx, nil, start, end)
	if err != nil {
		return err
	}
	var probs []string
	for _, n := range names {
		if n == "spi" {
			probs = append(probs, "a series has an spi label")
		}
	}
	rep.addf("19", "no series of the run has an spi label (label names over the capture)", probs, "%d label names", len(names))

	span := int(math.Ceil(end.Sub(start).Seconds())) + 5
	for _, p := range c.Peers {
		var probs []string
		sets, _, _, err := prom.Series(ctx, []string{fmt.Sprintf(`{__name__=~"ipsecmon_tunnel_.+",gateway=%q}`, p)}, start, end)
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, s := range sets {
			if s["local"] != "" {
				ids[identity(s)] = true
			}
		}
		if len(ids) != 1 {
			probs = append(probs, fmt.Sprintf("%d tunnel identities over the capture, want the lab's one: %v", len(ids), slices.Sorted(func(y func(string) bool) {
				for k := range ids {
					if !y(k) {
						return
					}
				}
			})))
		}
		var detail []string
		for _, dir := range []string{"sent", "received"} {
			q := fmt.Sprintf(`ipsecmon_tunnel_accepted_packets_total{gateway=%q,direction=%q}[%ds]`, p, dir, span)
			v, _, _, err := prom.Query(ctx, q, end.Add(time.Second))
			if err != nil {
				return err
			}
			m, ok := v.(model.Matrix)
			if !ok || len(m) != 1 {
				probs = append(probs, fmt.Sprintf("%s: %v, want one series", q, v))
				continue
			}
			ps := m[0].Values
			maxGap := time.Duration(0)
			for i := 1; i < len(ps); i++ {
				gap := ps[i].Timestamp.Sub(ps[i-1].Timestamp)
				maxGap = max(maxGap, gap)
				if ps[i].Value < ps[i-1].Value {
					probs = append(probs, fmt.Sprintf("%s went back from %v to %v at %s", dir, ps[i-1].Value, ps[i].Value, ps[i].Timestamp.Time().UTC().Format("15:04:05.000")))
				}
			}
			if maxGap > 3*time.Second {
				probs = append(probs, fmt.Sprintf("%s: a gap of %v between samples (scrapes every 1 s)", dir, maxGap))
			}
			last := ps[len(ps)-1]
			for _, r := range rekeys {
				// The sample before the rekey and the series' last one:
				// the same series counted traffic after it.
				var before *model.SamplePair
				for i := range ps {
					if ps[i].Timestamp.Time().Before(r) {
						before = &ps[i]
					}
				}
				switch {
				case before == nil:
					probs = append(probs, fmt.Sprintf("%s: no sample before the rekey at %s", dir, r.UTC().Format("15:04:05.000")))
				case r.Sub(before.Timestamp.Time()) > 3*time.Second || last.Timestamp.Time().Before(r.Add(3*time.Second)):
					probs = append(probs, fmt.Sprintf("%s: the series does not span the rekey at %s", dir, r.UTC().Format("15:04:05.000")))
				case last.Value <= before.Value:
					probs = append(probs, fmt.Sprintf("%s: %v before the rekey at %s, %v at the end: no traffic counted after it", dir, before.Value, r.UTC().Format("15:04:05.000"), last.Value))
				}
			}
			detail = append(detail, fmt.Sprintf("%s %d samples (largest gap %v) %v -> %v", dir, len(ps), maxGap, ps[0].Value, last.Value))
		}
		for name, want := range map[string]int{"ipsecmon_tunnel_rekeys_total": len(rekeys), "ipsecmon_tunnel_child_sas_total": children} {
			vec, err := instant(ctx, prom, fmt.Sprintf(`last_over_time(%s{gateway=%q}[%ds])`, name, p, span), end.Add(time.Second))
			if err != nil {
				return err
			}
			if len(vec) != 1 || int(vec[0].Value) != want {
				probs = append(probs, fmt.Sprintf("%s = %v, the daemons made %d that carried traffic", name, vec, want))
			}
		}
		rep.addf("19", p+": the tunnel's series go on across the daemons' rekeys (one identity, no gap, never back, counting after each)", probs,
			"%d rekeys; %s", len(rekeys), strings.Join(detail, "; "))
	}
	return nil
}

// checkRules: Prometheus loaded every rule of the shipped file (as many
// recording and alerting rules as the file has), and evaluated each
// during the capture without error.
func checkRules(ctx context.Context, rep *Report, prom promv1.API, c FleetConfig, start time.Time) error {
	b, err := os.ReadFile(c.Rules)
	if err != nil {
		return err
	}
	wantRec := len(regexp.MustCompile(`(?m)^\s*- record:`).FindAll(b, -1))
	wantAlert := len(regexp.MustCompile(`(?m)^\s*- alert:`).FindAll(b, -1))
	rr, err := prom.Rules(ctx, nil)
	if err != nil {
		return err
	}
	var probs []string
	rec, alert := 0, 0
	check := func(name string, health promv1.RuleHealth, lastErr string, last time.Time) {
		if health != promv1.RuleHealthGood || lastErr != "" {
			probs = append(probs, fmt.Sprintf("%s: health %s %s", name, health, lastErr))
		}
		if last.Before(start) {
			probs = append(probs, fmt.Sprintf("%s: not evaluated during the capture (last %s)", name, last.UTC().Format(time.RFC3339)))
		}
	}
	for _, g := range rr.Groups {
		for _, r := range g.Rules {
			switch r := r.(type) {
			case promv1.RecordingRule:
				rec++
				check(r.Name, r.Health, r.LastError, r.LastEvaluation)
			case promv1.AlertingRule:
				alert++
				check(r.Name, r.Health, r.LastError, r.LastEvaluation)
			}
		}
	}
	if rec != wantRec || alert != wantAlert {
		probs = append(probs, fmt.Sprintf("%d recording and %d alerting rules loaded; %s has %d and %d", rec, alert, c.Rules, wantRec, wantAlert))
	}
	rep.addf("19", "the shipped rules load into Prometheus and evaluate without error", probs, "%d recording, %d alerting rules", rec, alert)
	return nil
}

// frames is a stats JSON's input.frames.
func frames(stats []byte) (uint64, error) {
	st, err := parseCapture(stats)
	return st.Input.Frames, err
}

// checkBusyScrapes: /metrics scraped while the lab's traffic flowed (the
// frame count moved around the scrape) passes promtool check metrics, and
// has the standard series.
func checkBusyScrapes(ctx context.Context, rep *Report, c FleetConfig) error {
	ms, _ := filepath.Glob(filepath.Join(c.Dir, "busy-*-metrics"))
	sort.Strings(ms)
	var probs []string
	moving, tunnels := map[string]int{}, map[string]int{}
	for _, m := range ms {
		base := strings.TrimSuffix(m, "-metrics")
		peer := base[strings.LastIndex(base, "-")+1:]
		a, errA := os.ReadFile(base + "-stats-a.json")
		b, errB := os.ReadFile(base + "-stats-b.json")
		if errA != nil || errB != nil {
			probs = append(probs, filepath.Base(base)+": a /stats.json around the scrape is missing")
			continue
		}
		fa, err := frames(a)
		if err != nil {
			return err
		}
		fb, err := frames(b)
		if err != nil {
			return err
		}
		if fb > fa {
			moving[peer]++
		}
		body, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, c.Promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			probs = append(probs, fmt.Sprintf("%s: promtool check metrics: %v %s", filepath.Base(m), err, bytes.TrimSpace(out)))
		}
		for _, name := range []string{"process_cpu_seconds_total", "go_goroutines", "ipsecmon_build_info"} {
			if !bytes.Contains(body, []byte("\n"+name)) {
				probs = append(probs, fmt.Sprintf("%s: no %s", filepath.Base(m), name))
			}
		}
		// A scrape before the first ESP packet has no tunnel yet.
		if bytes.Contains(body, []byte("\nipsecmon_tunnel_accepted_packets_total")) {
			tunnels[peer]++
		}
	}
	for _, p := range c.Peers {
		if moving[p] == 0 {
			probs = append(probs, p+": no scrape was taken while its frame count moved (traffic flowing)")
		}
		if tunnels[p] == 0 {
			probs = append(probs, p+": no scrape has tunnel series")
		}
	}
	rep.addf("19", "promtool check metrics is clean on scrapes taken during the lab's traffic", probs,
		"%d scrapes, %v during moving traffic", len(ms), moving)
	return nil
}

// eventKey is what an event log line is compared on: its kind and SA.
func eventKeys(b []byte, what string) ([]string, []string, error) {
	var keys, probs []string
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r struct {
			Version int `json:"schema_version"`
			Event   struct {
				Action string `json:"action"`
			} `json:"event"`
			IPsec struct {
				SPI string `json:"spi"`
			} `json:"ipsec"`
			Source struct {
				IP string `json:"ip"`
			} `json:"source"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			probs = append(probs, fmt.Sprintf("%s line %d: %v", what, i+1, err))
			continue
		}
		if r.Version != 1 || r.Event.Action == "" {
			probs = append(probs, fmt.Sprintf("%s line %d: schema_version %d, action %q", what, i+1, r.Version, r.Event.Action))
		}
		keys = append(keys, r.Event.Action+" "+r.IPsec.SPI+" "+r.Source.IP)
	}
	return keys, probs, nil
}

// checkEventLogs: each exporter's event log was moved away during the
// run and the exporter reopened it on SIGHUP; the moved file and the new
// one hold whole lines of schema version 1, both have events, and
// together they are the events an offline run over tcpdump's recording
// of the same link writes (compared on kind, SPI and source).
func checkEventLogs(ctx context.Context, rep *Report, c FleetConfig, f *facts.Facts) error {
	link := map[string]string{}
	for _, p := range f.Peers {
		link[p.Name] = p.LinkAddress
	}
	for _, p := range c.Peers {
		var probs []string
		var live []string
		var sizes []int
		for _, name := range []string{p + "-events.jsonl.1", p + "-events.jsonl"} {
			b, err := os.ReadFile(filepath.Join(c.Dir, name))
			if err != nil {
				return err
			}
			if len(b) > 0 && b[len(b)-1] != '\n' {
				probs = append(probs, name+" ends in half a line")
			}
			k, pr, err := eventKeys(b, name)
			if err != nil {
				return err
			}
			probs = append(probs, pr...)
			if len(k) == 0 {
				probs = append(probs, name+" has no event")
			}
			live = append(live, k...)
			sizes = append(sizes, len(k))
		}
		tmp, err := os.CreateTemp("", "fleet-events-*.jsonl")
		if err != nil {
			return err
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if _, err := run(ctx, c.Ipsecmon, "stats", "-q", "-o", "json", "--me", link[p], "-r", filepath.Join(c.Recording, "capture.pcap"), "--events", tmp.Name()); err != nil {
			return err
		}
		b, err := os.ReadFile(tmp.Name())
		if err != nil {
			return err
		}
		off, pr, err := eventKeys(b, "offline")
		if err != nil {
			return err
		}
		probs = append(probs, pr...)
		slices.Sort(live)
		slices.Sort(off)
		if !slices.Equal(live, off) {
			probs = append(probs, fmt.Sprintf("live events %q; offline %q", live, off))
		}
		rep.addf("19", p+": the event log moved away and reopened on SIGHUP holds every event, once, whole (= offline stats --events over the recording)", probs,
			"%d events before the SIGHUP, %d after", sizes[0], sizes[1])
	}
	return nil
}
