package metrics_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/metrics"
)

// A tunnel rekeyed without IKE (0x100 then 0x300 toward 10.0.0.1, 0x200
// then 0x400 away): its series carry the tunnel's identity, not an SPI, and
// add up both SAs of each direction: 3 + 2 packets in, 3 + 2 out, 1 rekey
// (worked out from the packets fed).
func TestTunnelSeries(t *testing.T) {
	a := analyzer.New(analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for seq := uint32(1); seq <= 3; seq++ {
		a.Packet(ts, packet("10.0.0.2", "10.0.0.1", ipproto.ESP, 0x100, seq, 100, 0), analyzer.Ref{})
		a.Packet(ts, packet("10.0.0.1", "10.0.0.2", ipproto.ESP, 0x200, seq, 100, 0), analyzer.Ref{})
	}
	ts = ts.Add(10 * time.Second)
	for seq := uint32(1); seq <= 2; seq++ {
		a.Packet(ts, packet("10.0.0.2", "10.0.0.1", ipproto.ESP, 0x300, seq, 100, 0), analyzer.Ref{})
		a.Packet(ts, packet("10.0.0.1", "10.0.0.2", ipproto.ESP, 0x400, seq, 100, 0), analyzer.Ref{})
	}
	snap := a.Snapshot()
	fams := scrape(t, metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 10))
	id := map[string]string{"local": "10.0.0.1", "remote": "10.0.0.2", "local_ts": "", "remote_ts": "", "protocol": "esp"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range id {
			m[a] = b
		}
		return m
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ipsecmon_tunnel_accepted_packets_total", with("direction", "received"), 5},
		{"ipsecmon_tunnel_accepted_packets_total", with("direction", "sent"), 5},
		{"ipsecmon_tunnel_accepted_bytes_total", with("direction", "received"), 500},
		{"ipsecmon_tunnel_child_sas_total", id, 2},
		{"ipsecmon_tunnel_rekeys_total", id, 1},
		{"ipsecmon_tunnel_lost_packets", with("direction", "received"), 0},
		{"ipsecmon_tunnel_series_omitted", nil, 0},
	} {
		if got, ok := find(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (%v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for name, f := range fams {
		if !strings.HasPrefix(name, "ipsecmon_tunnel_") {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "spi" {
					t.Errorf("%s has an spi label", name)
				}
			}
		}
		want := 1 // one tunnel
		for _, l := range f.Metric[0].Label {
			if l.GetName() == "direction" {
				want = 2 // ... each way
			}
		}
		if name != "ipsecmon_tunnel_series_omitted" && len(f.Metric) != want {
			t.Errorf("%s: %d series, want %d", name, len(f.Metric), want)
		}
	}
}

// The series cap holds for tunnels (the busiest by bytes are kept), and a
// long selector list is cut in its label: 20 selectors of 13 to 14 bytes
// do not fit in 128.
func TestTunnelSeriesBounded(t *testing.T) {
	var sel []ikestate.Selector
	for i := 0; i < 20; i++ {
		sel = append(sel, ikestate.Selector{Text: fmt.Sprintf("10.%d.0.0/16", i), Prefix: netip.MustParsePrefix(fmt.Sprintf("10.%d.0.0/16", i))})
	}
	me := netip.MustParseAddr("192.0.2.1")
	tunnel := func(peer string, bytes uint64) *analyzer.Tunnel {
		p := netip.MustParseAddr(peer)
		return &analyzer.Tunnel{Key: analyzer.TunnelKey{A: me, B: p, Proto: ipproto.ESP}, Local: me, Remote: p, LocalTS: sel, In: analyzer.TunnelTraffic{Bytes: bytes}}
	}
	snap := &analyzer.Snapshot{Tunnels: []*analyzer.Tunnel{tunnel("192.0.2.2", 10), tunnel("192.0.2.3", 1000)}}
	fams := scrape(t, metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, 1))
	if got, _ := find(fams, "ipsecmon_tunnel_series_omitted", nil); got != 1 {
		t.Errorf("omitted %v, want 1", got)
	}
	f := fams["ipsecmon_tunnel_rekeys_total"]
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("rekeys series %v, want the busiest tunnel's only", f)
	}
	for _, l := range f.Metric[0].Label {
		switch l.GetName() {
		case "remote":
			if l.GetValue() != "192.0.2.3" {
				t.Errorf("kept the tunnel to %s, want the busiest (192.0.2.3)", l.GetValue())
			}
		case "local_ts":
			// 10.0.0.0/16 to 10.9.0.0/16 take 11 + 9×12 = 119 bytes (each
			// after the first with its comma); 10.10.0.0/16 with its comma
			// would make 132 > 128: 10 fit, 10 are left out.
			v := l.GetValue()
			if !strings.HasSuffix(v, ",+10 more") || len(v) > 128+len(",+10 more") {
				t.Errorf("local_ts label %q (%d bytes), want at most 128 bytes of selectors and ',+10 more'", v, len(v))
			}
		}
	}
}
