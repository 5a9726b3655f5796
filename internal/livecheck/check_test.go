package livecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	ignoreName := func(p string) bool { return strings.HasSuffix(p, ".name") }
	tests := []struct {
		name string
		a, b string
		o    DiffOptions
		want []string
	}{
		{"equal", `{"a":1,"b":[1,2],"c":null}`, `{"c":null,"b":[1,2],"a":1}`, DiffOptions{}, nil},
		{"number", `{"a":18446744073709551615}`, `{"a":18446744073709551614}`, DiffOptions{}, []string{"a: 18446744073709551615 vs 18446744073709551614"}},
		{"null vs 0", `{"a":null}`, `{"a":0}`, DiffOptions{}, []string{"a: null vs 0"}},
		{"missing", `{"a":1}`, `{"a":1,"b":2}`, DiffOptions{}, []string{"b: missing vs 2"}},
		{"ignored", `{"f":[{"name":"lab0","n":1}]}`, `{"f":[{"name":"x.pcap","n":1}]}`, DiffOptions{Ignore: ignoreName}, nil},
		{"ignored key absent on one side", `{"capture":[1]}`, `{}`, DiffOptions{Ignore: func(p string) bool { return p == "capture" }}, nil},
		{"array length", `[1,2]`, `[1]`, DiffOptions{}, []string{"(document): [1,2] vs [1]"}},
		// The same kernel timestamp, from a live capture (ns) and from
		// tcpdump's pcap (µs).
		{"micros", `{"t":"2026-11-27T03:49:13.349538132Z"}`, `{"t":"2026-11-27T03:49:13.349538Z"}`, DiffOptions{Micros: true}, nil},
		{"micros differ", `{"t":"2026-11-27T03:49:13.349539132Z"}`, `{"t":"2026-11-27T03:49:13.349538Z"}`, DiffOptions{Micros: true},
			[]string{`t: "2026-11-27T03:49:13.349539132Z" vs "2026-11-27T03:49:13.349538Z"`}},
		{"no micros", `{"t":"2026-11-27T03:49:13.349538132Z"}`, `{"t":"2026-11-27T03:49:13.349538Z"}`, DiffOptions{},
			[]string{`t: "2026-11-27T03:49:13.349538132Z" vs "2026-11-27T03:49:13.349538Z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Diff([]byte(tt.a), []byte(tt.b), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := Diff([]byte(`{`), []byte(`{}`), DiffOptions{}); err == nil {
		t.Error("bad JSON: no error")
	}
}

// A live stats JSON and SA rows, written by hand in the shape of
// `stats -o json` and `sas -o json` (README), and the exposition that the
// metrics package's names (metrics/metrics.go) make of them, also by hand.
const (
	stStats = `{"active_security_associations":2,"offloaded_security_associations":null,"pending_key_operations":0,
"key_additions":null,"key_deletions":null,"rekeys":null,"active_tunnels":null,"bad_spi_packets":null,
"packets_not_decrypted":null,"packets_not_authenticated":null,"packets_with_replay_detection":1,
"confidential_bytes_sent":8388,"confidential_bytes_received":8400,"authenticated_bytes_sent":0,"authenticated_bytes_received":0,
"transport_bytes_sent":null,"transport_bytes_received":null,"bytes_sent_in_tunnels":null,"bytes_received_in_tunnels":null,
"offloaded_bytes_sent":null,"offloaded_bytes_received":null,
"analysis":{"evicted_security_associations":0,"ike_udp_encapsulated":2,"ikev1_messages":0,"ikev2_messages":4,"ipsec_packets":75,
"nat_keepalives":3,"packets":82,"security_associations_tracked":2,"truncated_ipsec_packets":0,"untracked_packets":0},
"capture":[{"interface":"lab0","received":82,"dropped_by_kernel":0,"dropped_by_interface":0}],
"limits":[{"name":"sa_table","cap":100000,"unit":"SAs","hits":0,"discarded":"packets of new SAs not analysed (--max-sas)"}],
"first_packet":"2026-12-03T20:02:20Z","last_packet":"2026-12-03T20:02:33.5Z"}`
	stSAs = `[{"me":"198.51.100.2","peer":"198.51.100.1","my_tunnel_endpoint":null,"peer_tunnel_endpoint":null,
"spi_in":"0xbef30927","spi_out":"0x0b17f0c6","ipsec_protocol":"ESP",
"packets_in":37,"packets_out":37,"bytes_in":8400,"bytes_out":8388,"replayed_in":1,"replayed_out":0}]`
	// One tunnel: the SA pair above, rekeyed once (2 child SAs); the rekey
	// at 20:02:20Z lost 2 packets in one direction, 0 in the other.
	stTunnels = `[{"local":"198.51.100.2","remote":"198.51.100.1","local_ts":null,"remote_ts":null,"child_sas":2,"rekeys":1,
"packets_in":37,"packets_out":37,"bytes_in":8400,"bytes_out":8388,"plaintext_bytes_in":null,"plaintext_bytes_out":null,
"lost_in":0,"lost_out":0,"reordered_in":0,"reordered_out":0,"duplicates_in":1,"duplicates_out":0,"late_in":0,"late_out":0,
"first_seen":"2026-12-03T20:02:10Z","last_seen":"2026-12-03T20:02:33.5Z","state":"active","protocol":"ESP",
"local_id":null,"remote_id":null,"lineage":"inferred",
"rekeys_detail":[{"time":"2026-12-03T20:02:20Z","how":"inferred","hitless":false,"directions":[{"lost_across_switch":2},{"lost_across_switch":0}]}]}]`
	// The times: date -d 2026-12-03T20:02:33.5Z +%s.%N is 1796328153.5,
	// 20:02:20Z 1796328140.
	stMetrics = `# TYPE ipsecmon_active_security_associations gauge
ipsecmon_active_security_associations 2
# TYPE ipsecmon_pending_key_operations gauge
ipsecmon_pending_key_operations 0
# TYPE ipsecmon_replay_detected_packets_total counter
ipsecmon_replay_detected_packets_total 1
# TYPE ipsecmon_confidential_bytes_total counter
ipsecmon_confidential_bytes_total{direction="sent"} 8388
ipsecmon_confidential_bytes_total{direction="received"} 8400
# TYPE ipsecmon_authenticated_bytes_total counter
ipsecmon_authenticated_bytes_total{direction="sent"} 0
ipsecmon_authenticated_bytes_total{direction="received"} 0
# TYPE ipsecmon_capture_packets_total counter
ipsecmon_capture_packets_total{interface="lab0"} 82
# TYPE ipsecmon_capture_dropped_packets_total counter
ipsecmon_capture_dropped_packets_total{by="kernel",interface="lab0"} 0
ipsecmon_capture_dropped_packets_total{by="interface",interface="lab0"} 0
# TYPE ipsecmon_tracked_security_associations gauge
ipsecmon_tracked_security_associations 2
# TYPE ipsecmon_untracked_packets_total counter
ipsecmon_untracked_packets_total 0
# TYPE ipsecmon_evicted_security_associations_total counter
ipsecmon_evicted_security_associations_total 0
# TYPE ipsecmon_ike_messages_total counter
ipsecmon_ike_messages_total{version="1"} 0
ipsecmon_ike_messages_total{version="2"} 4
# TYPE ipsecmon_nat_keepalives_total counter
ipsecmon_nat_keepalives_total 3
# TYPE ipsecmon_limit_discarded_total counter
ipsecmon_limit_discarded_total{limit="sa_table"} 0
# TYPE ipsecmon_limit_cap gauge
ipsecmon_limit_cap{limit="sa_table"} 100000
# TYPE ipsecmon_last_packet_timestamp_seconds gauge
ipsecmon_last_packet_timestamp_seconds 1.7963281535e+09
# TYPE ipsecmon_tunnel_series_cap gauge
ipsecmon_tunnel_series_cap 100
# TYPE ipsecmon_tunnel_series_omitted gauge
ipsecmon_tunnel_series_omitted 0
# TYPE ipsecmon_tunnel_accepted_packets_total counter
ipsecmon_tunnel_accepted_packets_total{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 37
ipsecmon_tunnel_accepted_packets_total{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 37
# TYPE ipsecmon_tunnel_accepted_bytes_total counter
ipsecmon_tunnel_accepted_bytes_total{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 8400
ipsecmon_tunnel_accepted_bytes_total{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 8388
# TYPE ipsecmon_tunnel_lost_packets gauge
ipsecmon_tunnel_lost_packets{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
ipsecmon_tunnel_lost_packets{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
# TYPE ipsecmon_tunnel_reordered_packets_total counter
ipsecmon_tunnel_reordered_packets_total{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
ipsecmon_tunnel_reordered_packets_total{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
# TYPE ipsecmon_tunnel_duplicate_packets_total counter
ipsecmon_tunnel_duplicate_packets_total{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 1
ipsecmon_tunnel_duplicate_packets_total{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
# TYPE ipsecmon_tunnel_late_packets_total counter
ipsecmon_tunnel_late_packets_total{direction="received",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
ipsecmon_tunnel_late_packets_total{direction="sent",local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 0
# TYPE ipsecmon_tunnel_child_sas_total counter
ipsecmon_tunnel_child_sas_total{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 2
# TYPE ipsecmon_tunnel_rekeys_total counter
ipsecmon_tunnel_rekeys_total{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 1
# TYPE ipsecmon_tunnel_rekey_lost_packets gauge
ipsecmon_tunnel_rekey_lost_packets{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 2
# TYPE ipsecmon_tunnel_active gauge
ipsecmon_tunnel_active{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 1
# TYPE ipsecmon_tunnel_last_packet_timestamp_seconds gauge
ipsecmon_tunnel_last_packet_timestamp_seconds{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 1.7963281535e+09
# TYPE ipsecmon_tunnel_last_rekey_timestamp_seconds gauge
ipsecmon_tunnel_last_rekey_timestamp_seconds{local="198.51.100.2",local_ts="",protocol="esp",remote="198.51.100.1",remote_ts=""} 1.79632814e+09
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.25
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE go_threads gauge
go_threads 7
# TYPE ipsecmon_build_info gauge
ipsecmon_build_info{goversion="go1.26.8",version="dev"} 1
`
)

func TestCheckExposition(t *testing.T) {
	tests := []struct {
		name    string
		metrics string
		stats   string
		want    string // a problem that must be reported; "" for none
	}{
		{"agree", stMetrics, stStats, ""},
		{"value differs", strings.Replace(stMetrics, `{direction="received"} 8400`, `{direction="received"} 8401`, 1), stStats,
			`ipsecmon_confidential_bytes_total{direction=received} = 8401; JSON: 8400`},
		{"null exported", stMetrics + "# TYPE ipsecmon_rekeys_total counter\nipsecmon_rekeys_total 0\n", stStats,
			"ipsecmon_rekeys_total = 0 exported, but the JSON figure is null"},
		{"known not exported", strings.Replace(stMetrics, "ipsecmon_nat_keepalives_total 3\n", "", 1), stStats,
			"ipsecmon_nat_keepalives_total missing; JSON: 3"},
		{"unexplained series", stMetrics + "# TYPE ipsecmon_mystery gauge\nipsecmon_mystery 1\n", stStats,
			"ipsecmon_mystery = 1 has no counterpart"},
		{"tunnel figure", strings.Replace(stMetrics, `remote="198.51.100.1",remote_ts=""} 2`, `remote="198.51.100.1",remote_ts=""} 3`, 1), stStats,
			"ipsecmon_tunnel_child_sas_total{local=198.51.100.2,local_ts=,protocol=esp,remote=198.51.100.1,remote_ts=} = 3; JSON: 2"},
		{"tunnel label", strings.Replace(stMetrics, `ipsecmon_tunnel_rekeys_total{local="198.51.100.2"`, `ipsecmon_tunnel_rekeys_total{local="198.51.100.9"`, 1), stStats,
			"ipsecmon_tunnel_rekeys_total{local=198.51.100.2,local_ts=,protocol=esp,remote=198.51.100.1,remote_ts=} missing"},
		{"spi label", stMetrics + "# TYPE ipsecmon_x_total counter\nipsecmon_x_total{spi=\"0x1\"} 1\n", stStats, "ipsecmon_x_total has an spi label"},
		{"timestamp", strings.Replace(stMetrics, "ipsecmon_last_packet_timestamp_seconds 1.7963281535e+09", "ipsecmon_last_packet_timestamp_seconds 1.7963281525e+09", 1), stStats,
			"ipsecmon_last_packet_timestamp_seconds = 1.7963281525e+09; JSON: 1.7963281535e+09"},
		{"no build info", strings.Replace(stMetrics, "ipsecmon_build_info{", "ipsecmon_built_info{", 1), stStats, "ipsecmon_build_info missing"},
		{"capture drops", stMetrics, strings.Replace(stStats, `"dropped_by_kernel":0`, `"dropped_by_kernel":5`, 1),
			"ipsecmon_capture_dropped_packets_total{by=kernel,interface=lab0} = 0; JSON: 5"},
		// A limit in the JSON is exported with its hits, and must be.
		{"limit exported", strings.Replace(stMetrics, `ipsecmon_limit_discarded_total{limit="sa_table"} 0`, `ipsecmon_limit_discarded_total{limit="sa_table"} 2`, 1),
			strings.Replace(stStats, `"hits":0,`, `"hits":3,`, 1),
			"ipsecmon_limit_discarded_total{limit=sa_table} = 2; JSON: 3"},
		{"limit not exported", strings.Replace(stMetrics, `ipsecmon_limit_discarded_total{limit="sa_table"} 0`+"\n", "", 1),
			strings.Replace(stStats, `"hits":0,`, `"hits":3,`, 1),
			"ipsecmon_limit_discarded_total{limit=sa_table} missing; JSON: 3"},
		{"limit cap", stMetrics, strings.Replace(stStats, `"cap":100000,`, `"cap":5000,`, 1),
			"ipsecmon_limit_cap{limit=sa_table} = 100000; JSON: 5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := CheckExposition([]byte(tt.metrics), []byte(tt.stats), []byte(stTunnels))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(res.Problems) > 0 {
					t.Errorf("problems: %q", res.Problems)
				}
				// 7 known statistics, 3 capture, 6 analysis, 2 limit, 1 last
				// packet, 2 tunnel series count, 18 of the tunnel; families:
				// 5 + 2 + 5 + 2 + 1 + 2 + 12, and 4 standard ones.
				if res.Samples != 39 || res.Families != 33 || res.Standard != 4 {
					t.Errorf("%d samples in %d families (%d standard), want 39 in 33 (4)", res.Samples, res.Families, res.Standard)
				}
				return
			}
			found := false
			for _, p := range res.Problems {
				found = found || strings.Contains(p, tt.want)
			}
			if !found {
				t.Errorf("problems %q, want one containing %q", res.Problems, tt.want)
			}
		})
	}
	if _, err := CheckExposition([]byte("ipsecmon_x{ 1\n"), []byte(stStats), []byte(stTunnels)); err == nil {
		t.Error("unparsable exposition: no error")
	}
}

// TestCheckScrapes: a scrape whose JSON changed between its first and last
// read was not taken while traffic was quiet, and says so.
func TestCheckScrapes(t *testing.T) {
	dir := t.TempDir()
	write := func(tag string, n int, what, body string) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("scrape-%s-%d-%s", tag, n, what)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []string{"quiet", "busy"} {
		write(tag, 0, "tunnels", stTunnels)
		write(tag, 1, "stats", stStats)
		write(tag, 2, "sas", stSAs)
		write(tag, 3, "metrics", stMetrics)
		write(tag, 5, "sas", stSAs)
		write(tag, 6, "tunnels", stTunnels)
	}
	write("quiet", 4, "stats", stStats)
	write("busy", 4, "stats", strings.Replace(stStats, `"nat_keepalives":3`, `"nat_keepalives":4`, 1))
	rep := &Report{}
	if err := checkScrapes(rep, dir); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("%d results", len(rep.Results))
	}
	for _, r := range rep.Results {
		busy := strings.Contains(r.Check, "busy")
		if r.OK() == busy {
			t.Errorf("%s: ok=%v problems %q", r.Check, r.OK(), r.Problems)
		}
	}
}

// replayFixture writes what live-check.sh's replay step leaves; the
// figures are chosen by hand: 1000 packets delivered, 300 dropped, 700
// analysed.
func replayFixture(t *testing.T, change func(map[string]string)) string {
	t.Helper()
	files := map[string]string{
		"replay.json":    `{"packets":1000,"retries":0,"seconds":0.01,"loops":1}`,
		"netdev.txt":     "rx_packets_before 5\nrx_packets_after 1005\n",
		"tcpdump.stderr": "1000 packets captured\n1000 packets received by filter\n0 packets dropped by kernel\n",
		"stats.json":     `{"input":{"frames":700},"analysis":{"ipsec_packets":700,"security_associations_tracked":400},"capture":[{"interface":"rx0","received":1000,"dropped_by_kernel":300,"dropped_by_interface":0}]}`,
		"stats.rc":       "0\n",
		"rss.txt":        "0 10000000\n1000 12000000\n2000 12500000\n3000 12600000\n",
	}
	if change != nil {
		change(files)
	}
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReplayCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(map[string]string)
		want   string
	}{
		{"holds", nil, ""},
		{"drops off by one", func(f map[string]string) {
			f["stats.json"] = strings.Replace(f["stats.json"], `"dropped_by_kernel":300`, `"dropped_by_kernel":299`, 1)
		}, "delivered 1000 - analysed 700 = 300"},
		{"no drops", func(f map[string]string) {
			f["stats.json"] = strings.NewReplacer(`"dropped_by_kernel":300`, `"dropped_by_kernel":0`, `"frames":700`, `"frames":1000`, `"ipsec_packets":700`, `"ipsec_packets":1000`).Replace(f["stats.json"])
		}, "no kernel drops"},
		{"packets lost before the interface", func(f map[string]string) { f["netdev.txt"] = "rx_packets_before 5\nrx_packets_after 1004\n" },
			"the receiving veth counted 999"},
		{"received", func(f map[string]string) {
			f["stats.json"] = strings.Replace(f["stats.json"], `"received":1000`, `"received":1001`, 1)
		}, "capture.received 1001"},
		{"memory grows", func(f map[string]string) { f["rss.txt"] += "4000 20000000\n" }, "RSS grew"},
		{"exit status", func(f map[string]string) { f["stats.rc"] = "1\n" }, "exit status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Replay(ReplayConfig{Dir: replayFixture(t, tt.change), Warmup: 1500 * 1e6, RSSBound: 1 << 20, MinPackets: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var probs []string
			for _, r := range rep.Results {
				probs = append(probs, r.Problems...)
			}
			if tt.want == "" {
				if rep.Failed() > 0 {
					t.Errorf("problems %q", probs)
				}
				return
			}
			if !strings.Contains(strings.Join(probs, "\n"), tt.want) {
				t.Errorf("problems %q, want one containing %q", probs, tt.want)
			}
		})
	}
}
