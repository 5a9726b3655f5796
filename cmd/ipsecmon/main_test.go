package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/internal/stress"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func ip(x byte) [4]byte { return pb.IPv4Addr(x) }

// faultCapture is a capture whose every count is worked out by hand below.
// Me is 10.0.0.1.
//
//	A  ESP 0x100  .2 -> .1  100-byte ESP, seq 1..10, then 5 and 3 again  → 10 accepted, 2 replayed, 1000 B in
//	B  ESP 0x200  .1 -> .2  200-byte ESP, seq 1..5                        → 1000 B out
//	C  AH  0x300  .1 -> .3  80-byte AH span, next header 4 (tunnel), 1..3 → 240 B out, tunnel
//	D  AH  0x301  .5 -> .1  60-byte AH span, next header 1 (ICMP), 1..2   → 120 B in, transport
//	E  ESP 0x400  .1 -> .4  in UDP 4500, 120-byte ESP, seq 1..3           → 360 B out
//	2 NAT keepalives, 2 IKEv2 messages (UDP 500; UDP 4500 after a non-ESP marker),
//	1 packet whose ESP header is cut to 4 bytes (skipped as malformed).
func faultCapture(t *testing.T) string {
	var fr []pb.Frame
	add := func(b []byte) { fr = append(fr, pb.Frame{Data: b}) }
	for s := uint32(1); s <= 10; s++ {
		add(pb.ESPPacket(ip(2), ip(1), 0x100, s, 100))
	}
	add(pb.ESPPacket(ip(2), ip(1), 0x100, 5, 100))
	add(pb.ESPPacket(ip(2), ip(1), 0x100, 3, 100))
	for s := uint32(1); s <= 5; s++ {
		add(pb.ESPPacket(ip(1), ip(2), 0x200, s, 200))
	}
	for s := uint32(1); s <= 3; s++ {
		add(pb.AHPacket(ip(1), ip(3), 0x300, s, 4, 80))
	}
	for s := uint32(1); s <= 2; s++ {
		add(pb.AHPacket(ip(5), ip(1), 0x301, s, 1, 60))
	}
	for s := uint32(1); s <= 3; s++ {
		add(pb.ESPinUDPPacket(ip(1), ip(4), 0x400, s, 120))
	}
	keepalive := pb.Cat(pb.IPv4(17, ip(1), ip(4), 9, 0), pb.UDP(4500, 4500, 1), []byte{0xff})
	add(keepalive)
	add(keepalive)
	add(pb.Cat(pb.IPv4(17, ip(1), ip(4), 8+28, 0), pb.UDP(500, 500, 28), pb.IKEHeader(0x20, 34, 8, 0, 28)))
	add(pb.Cat(pb.IPv4(17, ip(1), ip(4), 8+32, 0), pb.UDP(4500, 4500, 32), pb.U32(0), pb.IKEHeader(0x20, 35, 8, 1, 28)))
	add(pb.Cat(pb.IPv4(50, ip(2), ip(1), 4, 0), pb.U32(0x100)))
	path := filepath.Join(t.TempDir(), "faults.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestStatsOnFaultCapture(t *testing.T) {
	path := faultCapture(t)
	out, stderr, code := runCmd(t, "stats", "-r", path, "--me", "10.0.0.1", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "packet 30: ESP header: 4 of 8 bytes") {
		t.Errorf("stderr does not name the malformed packet: %q", stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// Hand-computed from faultCapture's table; nil = the input cannot tell.
	want := map[string]any{
		"active_security_associations":    5.0,
		"offloaded_security_associations": nil,
		// The two IKE messages are bare headers with no payloads: no phase 2
		// negotiation is in them, completed or pending.
		"pending_key_operations":        0.0,
		"key_additions":                 0.0,
		"key_deletions":                 0.0,
		"rekeys":                        0.0,
		"active_tunnels":                1.0, // C; (A,B) and E have unknown mode
		"bad_spi_packets":               nil,
		"packets_not_decrypted":         nil,
		"packets_not_authenticated":     nil,
		"packets_with_replay_detection": 2.0,
		"confidential_bytes_sent":       1360.0, // B 1000 + E 360
		"confidential_bytes_received":   1000.0, // A
		"authenticated_bytes_sent":      240.0,  // C
		"authenticated_bytes_received":  120.0,  // D
		"transport_bytes_sent":          0.0,
		"transport_bytes_received":      120.0, // D
		"bytes_sent_in_tunnels":         240.0, // C
		"bytes_received_in_tunnels":     0.0,
		"offloaded_bytes_sent":          nil,
		"offloaded_bytes_received":      nil,
	}
	keys := orderedKeys(t, out)
	for i, k := range keys[:21] {
		if _, ok := want[k]; !ok {
			t.Errorf("key %d is %q, not one of the 21 statistics", i, k)
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	an := got["analysis"].(map[string]any)
	for k, v := range map[string]float64{"packets": 29, "ipsec_packets": 25, "ikev2_messages": 2, "ike_udp_encapsulated": 1, "nat_keepalives": 2} {
		if an[k] != v {
			t.Errorf("analysis.%s = %v, want %v", k, an[k], v)
		}
	}
	in := got["input"].(map[string]any)
	if in["frames"] != 30.0 || in["skipped"].(map[string]any)["malformed ESP"] != 1.0 {
		t.Errorf("input = %v, want 30 frames (25 ESP/AH + 2 keepalives + 2 IKE + 1 malformed) and 1 malformed ESP skipped", in)
	}
	notes := got["notes"].(map[string]any)
	if !strings.Contains(notes["active_tunnels"].(string), "2 SA pairs of unknown mode") {
		t.Errorf("active_tunnels note = %q", notes["active_tunnels"])
	}
}

// orderedKeys returns the top-level keys of a JSON object in document order.
func orderedKeys(t *testing.T, s string) []string {
	d := json.NewDecoder(strings.NewReader(s))
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestSAsOnFaultCapture(t *testing.T) {
	path := faultCapture(t)
	out, stderr, code := runCmd(t, "sas", "-r", path, "--me", "10.0.0.1", "-o", "json", "-q")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"me": "10.0.0.1", "peer": "10.0.0.2", "spi_in": "0x00000100", "spi_out": "0x00000200", "packets_in": 10.0, "packets_out": 5.0,
			"bytes_in": 1000.0, "bytes_out": 1000.0, "replayed_in": 2.0, "replayed_out": 0.0, "wire_packets_in": 12.0, "pairing": "inferred",
			"mode": nil, "ah_integrity": "None", "esp_confidentiality": nil, "encapsulation": "none", "protocol": nil, "state": "active"},
		{"me": "10.0.0.1", "peer": "10.0.0.3", "spi_in": nil, "spi_out": "0x00000300", "packets_out": 3.0, "bytes_out": 240.0, "mode": "tunnel",
			"my_tunnel_endpoint": "10.0.0.1", "peer_tunnel_endpoint": "10.0.0.3", "esp_confidentiality": "None", "ah_integrity": nil, "ipsec_protocol": "AH", "pairing": "lone"},
		{"me": "10.0.0.1", "peer": "10.0.0.5", "spi_in": "0x00000301", "spi_out": nil, "packets_in": 2.0, "bytes_in": 120.0, "mode": "transport",
			"protocol": "ICMP", "my_port": nil, "my_tunnel_endpoint": "None", "packets_out": nil},
		{"me": "10.0.0.1", "peer": "10.0.0.4", "spi_out": "0x00000400", "packets_out": 3.0, "bytes_out": 360.0, "encapsulation": "UDP 4500-4500"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, w := range want {
		for k, v := range w {
			if g, ok := rows[i][k]; !ok || g != v {
				t.Errorf("row %d: %s = %v, want %v", i+1, k, rows[i][k], v)
			}
		}
	}
	// JSON carries every column.
	if len(rows[0]) < 25 {
		t.Errorf("JSON rows have %d keys, want every column", len(rows[0]))
	}
}

func TestReplayWindowFlag(t *testing.T) {
	// Window 4: after 10 the window is 7..10, so 6 and 5 are too old; 7 is accepted.
	var fr []pb.Frame
	for _, s := range []uint32{1, 2, 3, 10, 6, 7, 5} {
		fr = append(fr, pb.Frame{Data: pb.ESPPacket(ip(6), ip(1), 0x500, s, 50)})
	}
	path := filepath.Join(t.TempDir(), "w.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCmd(t, "sas", "-r", path, "--me", "10.0.0.1", "--replay-window", "4", "-o", "csv", "--columns", "spi_in,packets_in,replayed_in,gaps_in,bytes_in")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	// Accepted 1,2,3,10,7: 5 packets, 250 bytes; never accepted in 1..10: 4,5,6,8,9.
	want := "spi_in,packets_in,replayed_in,gaps_in,bytes_in\n0x00000500,5,2,5,250\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// A replay budget that holds two windows of 1000 packets ((16 + 1) × 16 =
// 272 bytes each, see analyzer.ReplayWindowBytes): the third SA's 4
// packets are untracked, and the views say which limit refused them.
func TestReplayMemoryLimitShown(t *testing.T) {
	var fr []pb.Frame
	for spi := uint32(0x501); spi <= 0x503; spi++ {
		for s := uint32(1); s <= 4; s++ {
			fr = append(fr, pb.Frame{Data: pb.ESPPacket(ip(6), ip(1), spi, s, 50)})
		}
	}
	path := filepath.Join(t.TempDir(), "w.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	args := []string{"stats", "-r", path, "--me", "10.0.0.1", "--replay-window", "1000", "--replay-memory", "600"}
	out, stderr, code := runCmd(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "Limit reached: replay_window_memory (600 bytes): 4 packets of new SAs not analysed (--replay-memory)"; !strings.Contains(out, want) {
		t.Errorf("stats does not say %q:\n%s", want, out)
	}
	out, _, _ = runCmd(t, append(args, "-o", "json")...)
	var st struct {
		Analysis struct {
			Untracked uint64 `json:"untracked_packets"`
		} `json:"analysis"`
		Limits []struct {
			Name string `json:"name"`
			Cap  int64  `json:"cap"`
			Hits uint64 `json:"hits"`
		} `json:"limits"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range st.Limits {
		if l.Name == "replay_window_memory" {
			found = l.Cap == 600 && l.Hits == 4
		}
	}
	if !found || st.Analysis.Untracked != 4 {
		t.Errorf("JSON: untracked %d, limits %+v; want 4 and replay_window_memory cap 600 with 4 hits", st.Analysis.Untracked, st.Limits)
	}
}

// Views without the input summary (mmsas here) still name a limit that
// bit, on stderr: 40 IKE_SA_INIT requests each start an IKE SA, 10 are
// kept, 30 forgotten (all half-open).
func TestLimitNamedByEveryView(t *testing.T) {
	s, _ := stress.Find("ike-init")
	path := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Gen(f, 40, ""); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, stderr, code := runCmd(t, "mmsas", "-r", path, "--max-ike-sas", "10")
	if want := "ipsecmon: limit reached: ike_sas (10 IKE SAs): 30 IKE SAs forgotten (30 never established"; code != exitOK || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want it to say %q", code, stderr, want)
	}
}

func TestColumnsAndSort(t *testing.T) {
	path := faultCapture(t)
	out, _, code := runCmd(t, "sas", "-r", path, "--me", "10.0.0.1", "-q", "-o", "csv", "--columns", "peer,bytes_out", "--columns", "+Packets Out", "--sort", "-bytes_out")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	// Sorted by bytes out descending; the row without an outbound SA (D, peer .5) last.
	want := "peer,bytes_out,packets_out\n10.0.0.2,1000,5\n10.0.0.4,360,3\n10.0.0.3,240,3\n10.0.0.5,,\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, _, _ = runCmd(t, "sas", "-r", path, "--me", "10.0.0.1", "-q", "-o", "csv", "--columns", "-negotiation_policy,-ah_integrity,-esp_confidentiality,-esp_integrity,-my_tunnel_endpoint,-peer_tunnel_endpoint,-my_port,-peer_port")
	if first := strings.SplitN(out, "\n", 2)[0]; first != "me,peer,protocol" {
		t.Errorf("removing columns from the defaults left %q", first)
	}
}

func TestExitStatusAndErrors(t *testing.T) {
	path := faultCapture(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	os.WriteFile(garbage, []byte("not a capture at all"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"help", []string{"--help"}, exitOK, "Examples:", ""},
		{"command help", []string{"sas", "--help"}, exitOK, "Examples:", ""},
		{"no command", nil, exitUsage, "", "Commands:"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"stats", "--frob"}, exitUsage, "", "unknown flag: --frob"},
		{"no input", []string{"stats"}, exitUsage, "", "no input"},
		{"bad --me", []string{"stats", "-r", path, "--me", "10.0.0.300"}, exitUsage, "", "--me"},
		{"bad format", []string{"stats", "-r", path, "-o", "xml"}, exitUsage, "", "unknown output format"},
		{"bad column", []string{"sas", "-r", path, "--columns", "+nope"}, exitUsage, "", `unknown column "nope"`},
		{"missing file still analyses the others", []string{"stats", "-r", filepath.Join(dir, "absent.pcap"), "-r", path, "--me", "10.0.0.1"}, exitUsage, "Active Security Associations", "absent.pcap: no such file or directory"},
		{"not a capture", []string{"stats", "-r", garbage}, exitUsage, "", "not a pcap or pcapng file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stdout %q..., stderr %q; want exit %d, stdout containing %q, stderr containing %q",
					code, firstLine(out), errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func TestExpect(t *testing.T) {
	path := faultCapture(t)
	dir := t.TempDir()
	statsOut, _, _ := runCmd(t, "stats", "-r", path, "--me", "10.0.0.1", "-o", "json")
	sasOut, _, _ := runCmd(t, "sas", "-r", path, "--me", "10.0.0.1", "-o", "json")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	same := write("stats.json", statsOut)
	sameSAs := write("sas.json", sasOut)
	if _, errOut, code := runCmd(t, "stats", "-r", path, "--me", "10.0.0.1", "--expect", same, "--expect", sameSAs); code != exitOK {
		t.Fatalf("identical expectations: exit %d: %s", code, errOut)
	}
	// Pin different figures: one counter, one SA's packet count, and an SA that is not there.
	edited := strings.Replace(statsOut, `"packets_with_replay_detection": 2`, `"packets_with_replay_detection": 3`, 1)
	var rows []map[string]any
	json.Unmarshal([]byte(sasOut), &rows)
	rows[0]["packets_in"] = 11
	rows = append(rows, map[string]any{"spi_in": "0xdeadbeef", "spi_out": nil})
	b, _ := json.Marshal(rows)
	_, errOut, code := runCmd(t, "stats", "-r", path, "--me", "10.0.0.1", "-q", "--expect", write("s2.json", edited), "--expect", write("r2.json", string(b)))
	if code != exitMismatch {
		t.Fatalf("exit %d, want %d", code, exitMismatch)
	}
	for _, w := range []string{
		"stats: packets_with_replay_detection: expected 3, got 2",
		"sa in 0x00000100 out 0x00000200: packets_in: expected 11, got 10",
		"sa in 0xdeadbeef out -: expected, not in the result",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}
