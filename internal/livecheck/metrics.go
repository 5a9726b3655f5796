package livecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	Problems []string
}

// CheckExposition parses a /metrics body with the Prometheus client
// library's text parser and checks that every sample equals the figure of
// the stats JSON (/stats.json) or the SA rows (/sas.json) taken at the same
// moment, that every known statistic is exported and every unknown one is
// not (Prometheus has no null), and that no sample is left unexplained.
func CheckExposition(metrics, stats, sas []byte) (ExpositionResult, error) {
	var res ExpositionResult
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(metrics))
	if err != nil {
		return res, fmt.Errorf("metrics: %w", err)
	}
	res.Families = len(fams)
	got := map[series]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName(), l.GetValue())
			}
			s := series{name, labelsOf(kv...)}
			if _, dup := got[s]; dup {
				res.Problems = append(res.Problems, fmt.Sprintf("%s exported twice", s))
			}
			got[s] = sampleValue(f.GetType(), m)
		}
	}
	want, err := expectedSeries(stats, sas)
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
			res.Problems = append(res.Problems, fmt.Sprintf("%s missing; JSON: %d", s, *w))
		case v != float64(*w) || *w > 1<<53:
			res.Problems = append(res.Problems, fmt.Sprintf("%s = %v; JSON: %d", s, v, *w))
		}
		if ok {
			checked[s] = true
			res.Samples++
		}
	}
	for s, v := range got {
		if !checked[s] {
			res.Problems = append(res.Problems, fmt.Sprintf("%s = %v has no counterpart in /stats.json or /sas.json", s, v))
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
func expectedSeries(stats, sas []byte) (map[series]*uint64, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(stats, &st); err != nil {
		return nil, fmt.Errorf("stats JSON: %w", err)
	}
	want := map[series]*uint64{}
	for key, s := range statSeries {
		raw, ok := st[key]
		if !ok {
			return nil, fmt.Errorf("stats JSON: no %q", key)
		}
		v, err := optUint(raw)
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
		v, err := optUint(analysis[key])
		if err != nil || v == nil {
			return nil, fmt.Errorf("stats JSON: analysis.%s: want a number (%v)", key, err)
		}
		want[s] = v
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
	// Every memory bound in force is listed under "limits" with what it
	// discarded (README: Memory bounds), and exported per limit.
	var limits []struct {
		Name string `json:"name"`
		Hits uint64 `json:"hits"`
	}
	if raw, ok := st["limits"]; ok {
		if err := json.Unmarshal(raw, &limits); err != nil {
			return nil, fmt.Errorf("stats JSON: limits: %w", err)
		}
	}
	for _, l := range limits {
		want[series{"ipsecmon_limit_discarded_total", labelsOf("limit", l.Name)}] = ptr(l.Hits)
	}
	rows, err := saRows(sas)
	if err != nil {
		return nil, err
	}
	// Fewer SAs than the series cap: none omitted, each has its series.
	want[series{"ipsecmon_sa_series_omitted", ""}] = ptr(0)
	for _, r := range rows {
		for _, d := range []struct{ dir, spi, pk, by, rp string }{
			{"in", r.SPIIn, "packets_in", "bytes_in", "replayed_in"},
			{"out", r.SPIOut, "packets_out", "bytes_out", "replayed_out"},
		} {
			if d.spi == "" {
				continue
			}
			src, dst := r.Peer, r.Me // inbound: from the peer's tunnel endpoint to mine
			if d.dir == "out" {
				src, dst = r.Me, r.Peer
			}
			l := labelsOf("spi", d.spi, "protocol", strings.ToLower(r.Proto), "direction", d.dir, "src", src, "dst", dst)
			for name, field := range map[string]string{"ipsecmon_sa_packets_total": d.pk, "ipsecmon_sa_bytes_total": d.by, "ipsecmon_sa_replay_detected_packets_total": d.rp} {
				v, err := optUint(r.raw[field])
				if err != nil || v == nil {
					return nil, fmt.Errorf("sas JSON: SA %s: %s: want a number (%v)", d.spi, field, err)
				}
				want[series{name, l}] = v
			}
		}
	}
	return want, nil
}

type saRow struct {
	SPIIn, SPIOut string
	Proto         string
	Me, Peer      string // outer addresses
	raw           map[string]json.RawMessage
}

// saRows reads /sas.json rows. The per-SA series are labelled with the
// SA's outer source and destination: a row's tunnel endpoints when it has
// them (tunnel mode), else its Me and Peer, which are then the outer
// addresses (README "Security Associations view").
func saRows(b []byte) ([]saRow, error) {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, fmt.Errorf("sas JSON: %w", err)
	}
	var out []saRow
	for i, raw := range raws {
		var r saRow
		r.raw = raw
		str := func(k string) string {
			var s string
			_ = json.Unmarshal(raw[k], &s)
			return s
		}
		r.SPIIn, r.SPIOut, r.Proto = str("spi_in"), str("spi_out"), str("ipsec_protocol")
		r.Me, r.Peer = str("me"), str("peer")
		if me, peer := str("my_tunnel_endpoint"), str("peer_tunnel_endpoint"); isAddr(me) && isAddr(peer) {
			r.Me, r.Peer = me, peer
		}
		if r.Proto == "" {
			return nil, fmt.Errorf("sas JSON: row %d: no ipsec_protocol", i)
		}
		out = append(out, r)
	}
	return out, nil
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
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

func ptr(v uint64) *uint64 { return &v }
