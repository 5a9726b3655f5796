package metrics_test

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"ipsecmon/analyzer"
	"ipsecmon/ipproto"
	"ipsecmon/metrics"
)

// hand builds a tunnel from 192.0.2.1 to peer.
func hand(peer string, bytes uint64, state string, inferred bool) *analyzer.Tunnel {
	me, p := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr(peer)
	return &analyzer.Tunnel{Key: analyzer.TunnelKey{A: me, B: p, Proto: ipproto.ESP}, Local: me, Remote: p,
		In: analyzer.TunnelTraffic{Bytes: bytes}, State: state, Inferred: inferred}
}

// remotes lists the remote label of every tunnel exported.
func remotes(fams map[string]*dto.MetricFamily) string {
	var out []string
	if f := fams["ipsecmon_tunnel_rekeys_total"]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "remote" {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	return strings.Join(out, ",")
}

// Which tunnels keep their series when there are more than the cap, in
// the order the collector documents: active first, then those already
// exported, then negotiated ones, then the busiest. Each case's expected
// set is worked out from that rule by hand.
func TestTunnelSeriesChoice(t *testing.T) {
	snap := &analyzer.Snapshot{}
	c := metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 2)
	steps := []struct {
		name    string
		tunnels []*analyzer.Tunnel
		want    string // remotes exported, in label order
		omitted float64
	}{
		{"the busiest two", []*analyzer.Tunnel{hand("192.0.2.2", 10, "active", true), hand("192.0.2.3", 30, "active", true), hand("192.0.2.4", 20, "active", true)},
			"192.0.2.3,192.0.2.4", 1},
		// .5 and .6 are busier, but .3 and .4 had series: they keep them.
		{"exported ones stay", []*analyzer.Tunnel{hand("192.0.2.2", 10, "active", true), hand("192.0.2.3", 30, "active", true), hand("192.0.2.4", 20, "active", true),
			hand("192.0.2.5", 1e6, "active", true), hand("192.0.2.6", 1e6, "active", true)},
			"192.0.2.3,192.0.2.4", 3},
		// .3 ended: an active tunnel takes its place, the negotiated .7
		// before the busier inferred .5 and .6.
		{"ended ones give way, negotiated first", []*analyzer.Tunnel{hand("192.0.2.3", 30, "deleted", false), hand("192.0.2.4", 20, "active", true),
			hand("192.0.2.5", 1e6, "active", true), hand("192.0.2.6", 1e6, "active", true), hand("192.0.2.7", 5, "active", false)},
			"192.0.2.4,192.0.2.7", 3},
	}
	for _, st := range steps {
		snap.Tunnels = st.tunnels
		fams := scrape(t, c)
		if got := remotes(fams); got != st.want {
			t.Errorf("%s: exported %s, want %s", st.name, got, st.want)
		}
		if got, _ := find(fams, "ipsecmon_tunnel_series_omitted", nil); got != st.omitted {
			t.Errorf("%s: omitted %v, want %v", st.name, got, st.omitted)
		}
	}
}

// Two tunnels whose labels come out equal (here: same peers, no
// selectors, one keyed by a selector text that the label does not show)
// would make the scrape fail; the second is omitted instead.
func TestTunnelSeriesEqualLabels(t *testing.T) {
	a, b := hand("192.0.2.2", 10, "active", true), hand("192.0.2.2", 5, "active", true)
	b.Key.SelA = "something"
	snap := &analyzer.Snapshot{Tunnels: []*analyzer.Tunnel{a, b}}
	fams := scrape(t, metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 10))
	if got := remotes(fams); got != "192.0.2.2" {
		t.Errorf("exported %q, want one tunnel to 192.0.2.2", got)
	}
	if got, _ := find(fams, "ipsecmon_tunnel_series_omitted", nil); got != 1 {
		t.Errorf("omitted %v, want 1", got)
	}
}

// Times are Unix seconds of the capture clock; a tunnel's state is a 0/1
// gauge. 2026-11-27T10:00:00.5Z is 1795773600.5 (date -d ... +%s gives
// 1795773600), the rekey 30 s earlier.
func TestTunnelTimestamps(t *testing.T) {
	last := time.Date(2026, 11, 27, 10, 0, 0, 5e8, time.UTC)
	tn := hand("192.0.2.2", 10, "active", false)
	tn.Last = last
	tn.Rekeys = 2
	tn.RekeyDetails = []*analyzer.Rekey{{Time: last.Add(-40 * time.Second)}, {Time: last.Add(-30 * time.Second)}}
	ended := hand("192.0.2.3", 10, "expired", false)
	snap := &analyzer.Snapshot{Tunnels: []*analyzer.Tunnel{tn, ended}}
	fams := scrape(t, metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 10))
	for _, c := range []struct {
		name, remote string
		want         float64
		present      bool
	}{
		{"ipsecmon_tunnel_last_packet_timestamp_seconds", "192.0.2.2", 1795773600.5, true},
		{"ipsecmon_tunnel_last_rekey_timestamp_seconds", "192.0.2.2", 1795773570.5, true},
		{"ipsecmon_tunnel_active", "192.0.2.2", 1, true},
		{"ipsecmon_tunnel_active", "192.0.2.3", 0, true},
		// No packet and no rekey: no time rather than 1970.
		{"ipsecmon_tunnel_last_packet_timestamp_seconds", "192.0.2.3", 0, false},
		{"ipsecmon_tunnel_last_rekey_timestamp_seconds", "192.0.2.3", 0, false},
	} {
		got, ok := find(fams, c.name, map[string]string{"remote": c.remote})
		if ok != c.present || got != c.want {
			t.Errorf("%s{remote=%s} = %v (present %v), want %v (present %v)", c.name, c.remote, got, ok, c.want, c.present)
		}
	}
}

// What every exporter serves (process_*, go_*, a build_info), and the
// label conventions over everything: no spi label, one direction
// vocabulary.
func TestStandardSeries(t *testing.T) {
	a := analyzer.New(analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for seq := uint32(1); seq <= 3; seq++ {
		a.Packet(ts, packet("10.0.0.2", "10.0.0.1", ipproto.ESP, 0x100, seq, 100, 0), analyzer.Ref{})
		a.Packet(ts, packet("10.0.0.1", "10.0.0.2", ipproto.ESP, 0x200, seq, 100, 0), analyzer.Ref{})
	}
	snap := a.Snapshot()
	reg := metrics.NewRegistry(metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 10), "v9.8.7-test")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_alloc_bytes", "ipsecmon_build_info"} {
		if byName[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if f := byName["ipsecmon_build_info"]; f != nil {
		labels := map[string]string{}
		for _, l := range f.Metric[0].Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v9.8.7-test" || !strings.HasPrefix(labels["goversion"], "go") || f.Metric[0].GetGauge().GetValue() != 1 {
			t.Errorf("build_info %v = %v, want version v9.8.7-test, a goversion, value 1", labels, f.Metric[0].GetGauge().GetValue())
		}
	}
	for _, f := range fams {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				switch {
				case l.GetName() == "spi":
					t.Errorf("%s has an spi label", f.GetName())
				case l.GetName() == "direction" && l.GetValue() != "sent" && l.GetValue() != "received":
					t.Errorf("%s has direction %q", f.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestLandingPage(t *testing.T) {
	srv := httptest.NewServer(metrics.LandingPage("v1.2.3", []metrics.Link{{Path: "/metrics", Text: "Prometheus metrics"}}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<a href="/metrics">`) || !strings.Contains(string(body), "v1.2.3") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("/: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = srv.Client().Get(srv.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/nothing: %d, want 404", resp.StatusCode)
	}
}
