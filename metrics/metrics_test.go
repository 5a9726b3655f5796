package metrics_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"ipsecmon/analyzer"
	"ipsecmon/decode"
	"ipsecmon/metrics"
	"ipsecmon/report"
)

func packet(src, dst string, proto uint8, spi, seq uint32, n int, next uint8) *decode.Packet {
	p := &decode.Packet{Kind: decode.KindIPsec, IPVersion: 4, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), NIPsec: 1}
	p.IPsec[0] = decode.IPsecHeader{Proto: proto, SPI: spi, Seq: seq, WireLen: n, NextHeader: next}
	return p
}

func scrape(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The client library's own parser: the exposition must be valid text format.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("invalid exposition: %v", err)
	}
	return fams
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func find(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for _, lp := range m.Label {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		return value(m), true
	}
	return 0, false
}

// The metrics must say what the stats JSON says, for the same snapshot.
func TestMetricsEqualStatsJSON(t *testing.T) {
	a := analyzer.New(analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for seq := uint32(1); seq <= 4; seq++ {
		a.Packet(ts, packet("10.0.0.2", "10.0.0.1", 50, 0x100, seq, 100, 0), analyzer.Ref{})
		a.Packet(ts, packet("10.0.0.1", "10.0.0.2", 50, 0x200, seq, 150, 0), analyzer.Ref{})
		a.Packet(ts, packet("10.0.0.1", "10.0.0.3", 51, 0x300, seq, 80, 4), analyzer.Ref{})
	}
	a.Packet(ts, packet("10.0.0.2", "10.0.0.1", 50, 0x100, 2, 100, 0), analyzer.Ref{}) // a replay
	snap := a.Snapshot()
	raw, err := report.StatsJSON(report.Run{Snap: snap})
	if err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	json.Unmarshal(raw, &js)

	c := metrics.NewCollector(func() metrics.Sample {
		return metrics.Sample{Snap: snap, Interfaces: []metrics.Interface{{Name: "eth0", Received: 13, Dropped: 2, IfDropped: 1}}}
	}, metrics.DefaultMaxTunnelSeries)
	fams := scrape(t, c)

	checks := []struct {
		jsonKey string
		metric  string
		labels  map[string]string
	}{
		{"active_security_associations", "ipsecmon_active_security_associations", nil},
		{"packets_with_replay_detection", "ipsecmon_replay_detected_packets_total", nil},
		{"confidential_bytes_sent", "ipsecmon_confidential_bytes_total", map[string]string{"direction": "sent"}},
		{"confidential_bytes_received", "ipsecmon_confidential_bytes_total", map[string]string{"direction": "received"}},
		{"authenticated_bytes_sent", "ipsecmon_authenticated_bytes_total", map[string]string{"direction": "sent"}},
		{"bytes_sent_in_tunnels", "ipsecmon_tunnel_bytes_total", map[string]string{"direction": "sent"}},
		{"active_tunnels", "ipsecmon_active_tunnels", nil},
	}
	for _, c := range checks {
		want := js[c.jsonKey]
		got, ok := find(fams, c.metric, c.labels)
		if want == nil {
			if ok {
				t.Errorf("%s is null in JSON but exported as %v", c.jsonKey, got)
			}
			continue
		}
		if !ok || got != want.(float64) {
			t.Errorf("%s%v = %v (present %v), JSON %s = %v", c.metric, c.labels, got, ok, c.jsonKey, want)
		}
	}
	// Unknown figures are absent, not 0.
	for _, name := range []string{"ipsecmon_bad_spi_packets_total", "ipsecmon_offloaded_bytes_total", "ipsecmon_key_additions_total"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s exported although the input cannot tell it", name)
		}
	}
	if v, _ := find(fams, "ipsecmon_capture_dropped_packets_total", map[string]string{"interface": "eth0", "by": "kernel"}); v != 2 {
		t.Errorf("kernel drops %v, want 2", v)
	}
	// The replay of 0x100 (toward me, 10.0.0.1) is in its tunnel's
	// duplicates received: sequence number 2 was accepted before.
	if v, _ := find(fams, "ipsecmon_tunnel_duplicate_packets_total", map[string]string{"remote": "10.0.0.2", "direction": "received"}); v != 1 {
		t.Errorf("tunnel duplicates received %v, want 1", v)
	}
	// The packets' capture time, 2026-11-27T00:00:00Z, is Unix 1795737600
	// (date -d 2026-11-27T00:00:00Z +%s).
	if v, _ := find(fams, "ipsecmon_last_packet_timestamp_seconds", nil); v != 1795737600 {
		t.Errorf("last packet timestamp %v, want 1795737600", v)
	}
}
