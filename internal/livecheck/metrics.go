package livecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"ipsecmon/metrics"
)

// series names one exported sample: metric name and its labels.
type series struct {
	name   string
	labels string // "k=v,k=v" sorted
}

func (s series) String() string {
	if s.labels == "" {
		return s.name
	}
	return s.name + "{" + s.labels + "}"
}

func labelsOf(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+kv[i+1])
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// statSeries maps each statistic of `stats -o json` (the IP Security
// Monitor's 21 counters) to the series README's metrics section and the
// metrics package's help texts name: counters end in _total, a direction
// pair shares one metric with a direction label.
var statSeries = map[string]series{
	"active_security_associations":    {"ipsecmon_active_security_associations", ""},
	"offloaded_security_associations": {"ipsecmon_offloaded_security_associations", ""},
	"pending_key_operations":          {"ipsecmon_pending_key_operations", ""},
	"key_additions":                   {"ipsecmon_key_additions_total", ""},
	"key_deletions":                   {"ipsecmon_key_deletions_total", ""},
	"rekeys":                          {"ipsecmon_rekeys_total", ""},
	"active_tunnels":                  {"ipsecmon_active_tunnels", ""},
	"bad_spi_packets":                 {"ipsecmon_bad_spi_packets_total", ""},
	"packets_not_decrypted":           {"ipsecmon_packets_not_decrypted_total", ""},
	"packets_not_authenticated":       {"ipsecmon_packets_not_authenticated_total", ""},
	"packets_with_replay_detection":   {"ipsecmon_replay_detected_packets_total", ""},
	"confidential_bytes_sent":         {"ipsecmon_confidential_bytes_total", "direction=sent"},
	"confidential_bytes_received":     {"ipsecmon_confidential_bytes_total", "direction=received"},
	"authenticated_bytes_sent":        {"ipsecmon_authenticated_bytes_total", "direction=sent"},
	"authenticated_bytes_received":    {"ipsecmon_authenticated_bytes_total", "direction=received"},
	"transport_bytes_sent":            {"ipsecmon_transport_bytes_total", "direction=sent"},
	"transport_bytes_received":        {"ipsecmon_transport_bytes_total", "direction=received"},
	"bytes_sent_in_tunnels":           {"ipsecmon_tunnel_bytes_total", "direction=sent"},
	"bytes_received_in_tunnels":       {"ipsecmon_tunnel_bytes_total", "direction=received"},
	"offloaded_bytes_sent":            {"ipsecmon_offloaded_bytes_total", "direction=sent"},
	"offloaded_bytes_received":        {"ipsecmon_offloaded_bytes_total", "direction=received"},
}

// analysisSeries maps the stats JSON's "analysis" figures that are exported.
var analysisSeries = map[string]series{
	"security_associations_tracked": {"ipsecmon_tracked_security_associations", ""},
	"untracked_packets":             {"ipsecmon_untracked_packets_total", ""},
	"evicted_security_associations": {"ipsecmon_evicted_security_associations_total", ""},
	"ikev1_messages":                {"ipsecmon_ike_messages_total", "version=1"},
	"ikev2_messages":                {"ipsecmon_ike_messages_total", "version=2"},
	"nat_keepalives":                {"ipsecmon_nat_keepalives_total", ""},
}

// ExpositionResult is what CheckExposition compared.
type ExpositionResult struct {
	Families int // metric families parsed
	Samples  int // samples, each compared with a JSON figure
	Standard int // families every exporter serves (go_*, process_*, ipsecmon_build_info), not compared
	Problems []string
}

// standardFamily tells the families client_golang's collectors serve
// (README: Monitoring many gateways), which no JSON document has.
func standardFamily(name string) bool {
	return strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || name == "ipsecmon_build_info"
}

// CheckExposition parses a /metrics body with the Prometheus client
// library's text parser and checks that every sample equals the figure of
// the stats JSON (/stats.json) or the tunnels (/tunnels.json) taken at the
// same moment, that every known statistic is exported and every unknown one
// is not (Prometheus has no null), that no sample is left unexplained, that
// the standard series are there (process_cpu_seconds_total, go_goroutines,
// ipsecmon_build_info) and that no series is labelled by SPI.
func CheckExposition(exposition, stats, tunnels []byte) (ExpositionResult, error) {
	var res ExpositionResult
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		return res, fmt.Errorf("metrics: %w", err)
	}
	res.Families = len(fams)
	got := map[series]float64{}
	for name, f := range fams {
		if standardFamily(name) {
			res.Standard++
			continue
		}
		for _, m := range f.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName(), l.GetValue())
				if l.GetName() == "spi" {
					res.Problems = append(res.Problems, fmt.Sprintf("%s has an spi label: every rekey would start new series", name))
				}
			}
			s := series{name, labelsOf(kv...)}
			if _, dup := got[s]; dup {
				res.Problems = append(res.Problems, fmt.Sprintf("%s exported twice", s))
			}
			got[s] = sampleValue(f.GetType(), m)
		}
	}
	for _, name := range []string{"process_cpu_seconds_total", "go_goroutines", "ipsecmon_build_info"} {
		if fams[name] == nil {
			res.Problems = append(res.Problems, name+" missing")
		}
	}
	want, err := expectedSeries(stats, tunnels)
	if err != nil {
		return res, err
	}
	checked := map[series]bool{}
	names := make([]series, 0, len(want))
	for s := range want {
		names = append(names, s)
	}
	sort.Slice(names, func(i, j int) bool { return names[i].String() < names[j].String() })
	for _, s := range names {
		w := want[s]
		v, ok := got[s]
		switch {
		case w == nil && ok:
			res.Problems = append(res.Problems, fmt.Sprintf("%s = %v exported, but the JSON figure is null", s, v))
		case w == nil:
		case !ok:
			res.Problems = append(res.Problems, fmt.Sprintf("%s missing; JSON: %v", s, *w))
		// Counts are whole numbers (exact up to 2^53); times differ by
		// less than a microsecond only in the last bit of their float.
		case math.IsNaN(*w) || math.Abs(v-*w) > 1e-6:
			res.Problems = append(res.Problems, fmt.Sprintf("%s = %v; JSON: %v", s, v, *w))
		}
		if ok {
			checked[s] = true
			res.Samples++
		}
	}
	for s, v := range got {
		if !checked[s] {
			res.Problems = append(res.Problems, fmt.Sprintf("%s = %v has no counterpart in /stats.json or /tunnels.json", s, v))
		}
	}
	sort.Strings(res.Problems)
	return res, nil
}

func sampleValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

// expectedSeries lists every series the JSON documents imply, with its
// value, or nil where the JSON says null (the series must then be absent).
func expectedSeries(stats, tunnels []byte) (map[series]*float64, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(stats, &st); err != nil {
		return nil, fmt.Errorf("stats JSON: %w", err)
	}
	want := map[series]*float64{}
	for key, s := range statSeries {
		raw, ok := st[key]
		if !ok {
			return nil, fmt.Errorf("stats JSON: no %q", key)
		}
		v, err := optSample(raw)
		if err != nil {
			return nil, fmt.Errorf("stats JSON: %s: %w", key, err)
		}
		want[s] = v
	}
	var analysis map[string]json.RawMessage
	if err := json.Unmarshal(st["analysis"], &analysis); err != nil {
		return nil, fmt.Errorf("stats JSON: analysis: %w", err)
	}
	for key, s := range analysisSeries {
		v, err := optSample(analysis[key])
		if err != nil || v == nil {
			return nil, fmt.Errorf("stats JSON: analysis.%s: want a number (%v)", key, err)
		}
		want[s] = v
	}
	var last *time.Time
	if raw, ok := st["last_packet"]; ok {
		if err := json.Unmarshal(raw, &last); err != nil {
			return nil, fmt.Errorf("stats JSON: last_packet: %w", err)
		}
	}
	if last != nil {
		want[series{"ipsecmon_last_packet_timestamp_seconds", ""}] = unixSeconds(*last)
	}
	var capture []struct {
		Interface string `json:"interface"`
		Received  uint64 `json:"received"`
		DroppedK  uint64 `json:"dropped_by_kernel"`
		DroppedI  uint64 `json:"dropped_by_interface"`
	}
	if raw, ok := st["capture"]; ok {
		if err := json.Unmarshal(raw, &capture); err != nil {
			return nil, fmt.Errorf("stats JSON: capture: %w", err)
		}
	}
	for _, c := range capture {
		want[series{"ipsecmon_capture_packets_total", labelsOf("interface", c.Interface)}] = ptr(c.Received)
		want[series{"ipsecmon_capture_dropped_packets_total", labelsOf("interface", c.Interface, "by", "kernel")}] = ptr(c.DroppedK)
		want[series{"ipsecmon_capture_dropped_packets_total", labelsOf("interface", c.Interface, "by", "interface")}] = ptr(c.DroppedI)
	}
	// Every memory bound in force is listed under "limits" with its cap and
	// what it discarded (README: Memory bounds), and exported per limit (a
	// cap of 0, a bound switched off, has no cap series).
	var limits []struct {
		Name string `json:"name"`
		Cap  int64  `json:"cap"`
		Hits uint64 `json:"hits"`
	}
	if raw, ok := st["limits"]; ok {
		if err := json.Unmarshal(raw, &limits); err != nil {
			return nil, fmt.Errorf("stats JSON: limits: %w", err)
		}
	}
	for _, l := range limits {
		want[series{"ipsecmon_limit_discarded_total", labelsOf("limit", l.Name)}] = ptr(l.Hits)
		if l.Cap > 0 {
			want[series{"ipsecmon_limit_cap", labelsOf("limit", l.Name)}] = ptr(uint64(l.Cap))
		}
	}
	ts, err := tunnelRows(tunnels)
	if err != nil {
		return nil, err
	}
	// The lab runs with the default cap and fewer tunnels: none omitted,
	// each has its series.
	want[series{"ipsecmon_tunnel_series_cap", ""}] = ptr(metrics.DefaultMaxTunnelSeries)
	want[series{"ipsecmon_tunnel_series_omitted", ""}] = ptr(0)
	for _, t := range ts {
		for k, v := range t {
			want[k] = v
		}
	}
	return want, nil
}

// tunnelRow is a row of /tunnels.json (`tunnels -o json`).
type tunnelRow struct {
	Local, Remote, Protocol, State string
	LocalTS, RemoteTS              *string
	ChildSAs                       uint64 `json:"child_sas"`
	Rekeys                         uint64
	LastSeen                       *time.Time `json:"last_seen"`
	RekeysDetail                   []struct {
		Time       time.Time
		Directions []struct {
			Lost *uint64 `json:"lost_across_switch"`
		}
	} `json:"rekeys_detail"`
}

// tunnelRows reads /tunnels.json and returns each tunnel's series. The
// series are labelled by the tunnel's identity (README: Tunnels): local,
// remote, selectors (as listed, "" when unknown: the lab's are short, never
// cut), protocol in lower case; the JSON's _in figures are direction
// "received", its _out ones "sent".
func tunnelRows(b []byte) ([]map[series]*float64, error) {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, fmt.Errorf("tunnels JSON: %w", err)
	}
	var out []map[series]*float64
	for i, raw := range raws {
		var t tunnelRow
		rb, _ := json.Marshal(raw)
		if err := json.Unmarshal(rb, &t); err != nil {
			return nil, fmt.Errorf("tunnels JSON: row %d: %w", i, err)
		}
		str := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		id := []string{"local", t.Local, "remote", t.Remote, "local_ts", str(t.LocalTS), "remote_ts", str(t.RemoteTS), "protocol", strings.ToLower(t.Protocol)}
		with := func(kv ...string) string { return labelsOf(append(slices.Clone(id), kv...)...) }
		m := map[series]*float64{}
		for _, d := range []struct{ dir, suffix string }{{"received", "_in"}, {"sent", "_out"}} {
			for name, field := range map[string]string{
				"ipsecmon_tunnel_accepted_packets_total":  "packets",
				"ipsecmon_tunnel_accepted_bytes_total":    "bytes",
				"ipsecmon_tunnel_lost_packets":            "lost",
				"ipsecmon_tunnel_reordered_packets_total": "reordered",
				"ipsecmon_tunnel_duplicate_packets_total": "duplicates",
				"ipsecmon_tunnel_late_packets_total":      "late",
			} {
				v, err := optSample(raw[field+d.suffix])
				if err != nil || v == nil {
					return nil, fmt.Errorf("tunnels JSON: row %d: %s%s: want a number (%v)", i, field, d.suffix, err)
				}
				m[series{name, with("direction", d.dir)}] = v
			}
		}
		m[series{"ipsecmon_tunnel_child_sas_total", with()}] = ptr(t.ChildSAs)
		m[series{"ipsecmon_tunnel_rekeys_total", with()}] = ptr(t.Rekeys)
		var lost uint64
		var lastRekey time.Time
		for _, k := range t.RekeysDetail {
			for _, d := range k.Directions {
				if d.Lost != nil {
					lost += *d.Lost
				}
			}
			if k.Time.After(lastRekey) {
				lastRekey = k.Time
			}
		}
		m[series{"ipsecmon_tunnel_rekey_lost_packets", with()}] = ptr(lost)
		active := uint64(0)
		if t.State == "active" {
			active = 1
		}
		m[series{"ipsecmon_tunnel_active", with()}] = ptr(active)
		if t.LastSeen != nil {
			m[series{"ipsecmon_tunnel_last_packet_timestamp_seconds", with()}] = unixSeconds(*t.LastSeen)
		}
		if !lastRekey.IsZero() {
			m[series{"ipsecmon_tunnel_last_rekey_timestamp_seconds", with()}] = unixSeconds(lastRekey)
		}
		out = append(out, m)
	}
	return out, nil
}

func unixSeconds(t time.Time) *float64 {
	v := float64(t.UnixNano()) / 1e9
	return &v
}

func optUint(raw json.RawMessage) (*uint64, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("missing")
	}
	if string(raw) == "null" {
		return nil, nil
	}
	v, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// optSample is a JSON figure as a sample value (nil for null).
func optSample(raw json.RawMessage) (*float64, error) {
	v, err := optUint(raw)
	if v == nil {
		return nil, err
	}
	return ptr(*v), nil
}

// ptr is v as a sample value; beyond 2^53 a float64 cannot hold it, and a
// sample cannot be compared exactly.
func ptr(v uint64) *float64 {
	f := float64(v)
	if v > 1<<53 {
		f = math.NaN()
	}
	return &f
}
