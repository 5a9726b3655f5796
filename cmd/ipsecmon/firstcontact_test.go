package main

// Issue 14: what a tcpdump or tshark user tries first. Each test drives
// the CLI and checks its exit status, standard output and standard error.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/internal/testcorpus"
)

// rekeyCapture is the bundled lab recording the README's demo reads.
func rekeyCapture(t *testing.T) string {
	t.Helper()
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	return filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-rekey", "capture.pcap")
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (make test installs it)", name)
	}
	return p
}

// toolLines runs a command and returns its output lines.
func toolLines(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(needTool(t, name), args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
}

func jsonObject(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, lastLines(out, 5))
	}
	return m
}

func inputFrames(t *testing.T, out string) float64 {
	t.Helper()
	return jsonObject(t, out)["input"].(map[string]any)["frames"].(float64)
}

// Item 1: '-i any' gives Linux cooked frames, on which libpcap has no
// 'vlan': the default filter must leave it out there.
func TestLiveAnyWithDefaultFilter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs as root)")
	}
	out, stderr, code := runCmd(t, "stats", "-i", "any", "--duration", "2s", "-q")
	if code != exitOK || !strings.Contains(out, "Quick Mode Statistics") || strings.Contains(stderr, "VLAN") {
		t.Fatalf("stats -i any --duration 2s: exit %d, stderr %q; want 0 and the statistics", code, stderr)
	}
}

// Item 2, -c: tcpdump's count, on capture files too, over all of them.
// The first 5 frames of the recording are IKE (tshark says which); the
// recording has 206 frames, so two copies with -c 300 read 206 + 94.
func TestOfflineCount(t *testing.T) {
	capture := rekeyCapture(t)
	out, stderr, code := runCmd(t, "stats", "-r", capture, "-c", "5", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := inputFrames(t, out); n != 5 {
		t.Errorf("-c 5 analysed %v frames", n)
	}
	ike := 0
	for _, l := range toolLines(t, "tshark", "-r", capture, "-c", "5", "-T", "fields", "-e", "isakmp.version") {
		if strings.TrimSpace(l) != "" {
			ike++
		}
	}
	an := jsonObject(t, out)["analysis"].(map[string]any)
	if got := an["ikev2_messages"].(float64); got != float64(ike) {
		t.Errorf("-c 5: %v IKEv2 messages; tshark finds %d IKE messages in the first 5 frames", got, ike)
	}
	out, _, code = runCmd(t, "stats", "-r", capture, "-r", capture, "-c", "300", "-o", "json")
	files := jsonObject(t, out)["input"].(map[string]any)["files"].([]any)
	if code != exitOK || len(files) != 2 || files[0].(map[string]any)["frames"] != 206.0 || files[1].(map[string]any)["frames"] != 94.0 {
		t.Errorf("-c 300 over two copies: exit %d, files %v; want 206 then 94 frames", code, files)
	}
}

// Item 2, -f and -w: a BPF filter on a file selects the frames tcpdump's
// same filter keeps, and -w writes exactly those: tcpdump prints the same
// lines for the written file as for the recording with the filter.
func TestOfflineFilterMatchesTcpdump(t *testing.T) {
	capture := rekeyCapture(t)
	const filter = "udp port 500 or udp port 4500"
	written := filepath.Join(t.TempDir(), "out.pcapng")
	out, stderr, code := runCmd(t, "stats", "-r", capture, "-f", filter, "-w", written, "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := toolLines(t, "tcpdump", "-nn", "-tt", "-r", capture, filter)
	if n := inputFrames(t, out); n != float64(len(want)) {
		t.Errorf("-f %q analysed %v frames; tcpdump keeps %d", filter, n, len(want))
	}
	got := toolLines(t, "tcpdump", "-nn", "-tt", "-r", written)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("-w file: tcpdump reads %d frames, not the %d its filter keeps from the recording", len(got), len(want))
	}
	// A filter that keeps a part: IKE alone (tcpdump: 18 frames).
	out, _, _ = runCmd(t, "stats", "-r", capture, "-f", "udp port 500 or (udp port 4500 and udp[8:4] = 0)", "-o", "json")
	ike := toolLines(t, "tcpdump", "-nn", "-r", capture, "udp port 500 or (udp port 4500 and udp[8:4] = 0)")
	if n := inputFrames(t, out); n != float64(len(ike)) {
		t.Errorf("IKE filter: %v frames; tcpdump keeps %d", n, len(ike))
	}
}

// Item 2: -f esp -w writes a pcapng that tshark reads with exactly the
// ESP frames. The recording's ESP is UDP-encapsulated (strongSwan's
// kernel-libipsec): BPF's 'esp' is IP protocol 50, so ESP in UDP is
// selected by its non-zero SPI after the UDP header (RFC 3948 §2.2); the
// fault capture has ESP in IP protocol 50 (and one ESP in UDP).
func TestOfflineWriteESP(t *testing.T) {
	for _, tc := range []struct{ name, capture, filter string }{
		{"bundled recording", rekeyCapture(t), "udp port 4500 and udp[8:4] != 0"},
		{"fault capture", faultCapture(t), "esp or (udp port 4500 and udp[8:4] != 0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			written := filepath.Join(t.TempDir(), "esp.pcapng")
			_, stderr, code := runCmd(t, "stats", "-r", tc.capture, "-f", tc.filter, "-w", written, "-q")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			fields := []string{"-T", "fields", "-e", "frame.time_epoch", "-e", "esp.spi", "-e", "esp.sequence"}
			want := toolLines(t, "tshark", append([]string{"-r", tc.capture, "-Y", "esp"}, fields...)...)
			all := toolLines(t, "tshark", append([]string{"-r", written}, fields...)...)
			esp := toolLines(t, "tshark", append([]string{"-r", written, "-Y", "esp"}, fields...)...)
			if len(want) < 5 || strings.Join(all, "\n") != strings.Join(want, "\n") || len(esp) != len(all) {
				t.Errorf("tshark reads %d frames (%d ESP) in the -w file; the input has %d ESP frames", len(all), len(esp), len(want))
			}
		})
	}
	// The letter of the acceptance: on the recording, -f esp keeps what
	// tshark calls IP protocol 50: nothing.
	written := filepath.Join(t.TempDir(), "esp.pcapng")
	if _, stderr, code := runCmd(t, "stats", "-r", rekeyCapture(t), "-f", "esp", "-w", written, "-q"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := toolLines(t, "tshark", "-r", rekeyCapture(t), "-Y", "ip.proto == 50"); len(n) != 1 || n[0] != "" {
		t.Fatalf("the recording has ESP in IP protocol 50: %d frames", len(n))
	}
	if got := toolLines(t, "tshark", "-r", written); len(got) != 1 || got[0] != "" {
		t.Errorf("-f esp on the recording wrote %d frames, want none", len(got))
	}
}

// Item 2: a flag that cannot apply to the input is refused (exit 2, no
// output), and a bad value of a live flag is refused before any capture.
func TestFlagsThatCannotApply(t *testing.T) {
	capture := rekeyCapture(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--duration", "5s"}, "--duration applies to live capture (-i IFACE) only"},
		{[]string{"--snaplen", "100"}, "--snaplen applies to live capture"},
		{[]string{"--buffer-size", "foo"}, "--buffer-size applies to live capture"},
		{[]string{"--immediate"}, "--immediate applies to live capture"},
		{[]string{"--no-promisc"}, "--no-promisc applies to live capture"},
		{[]string{"--metrics-listen", ":9477"}, "--metrics-listen applies to live capture"},
		{[]string{"--rotate-size", "10MB"}, "--rotate-size applies to the file -w writes: give -w FILE"},
		{[]string{"-w", "x.pcapng", "--rotate-size", "10XB"}, `--rotate-size "10XB": want a size such as 32MiB or 100MB`},
		{[]string{"-f", "this is not bpf"}, `-f: filter "this is not bpf": can't parse filter expression`},
		{[]string{"-c", "0"}, "-c 0: want 1 or more packets"},
	} {
		out, stderr, code := runCmd(t, append([]string{"stats", "-r", capture}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tc.err) {
			t.Errorf("stats -r X %q: exit %d, stdout %d bytes, stderr %q; want 2, nothing, %q", tc.args, code, len(out), stderr, tc.err)
		}
	}
	// Live: the values are checked before an interface is opened (these
	// need no root).
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--snaplen", "-1"}, "--snaplen -1: want a number of bytes, or 0 for 262144"},
		{[]string{"--buffer-size", "foo"}, `--buffer-size "foo": want a size such as 32MiB or 100MB`},
		{[]string{"--metrics-listen", "9477"}, `--metrics-listen "9477": give the port as :9477`},
		{[]string{"--duration", "-1s"}, "--duration -1s: want a positive duration"},
		{[]string{"--metrics-max-sas", "5"}, "--metrics-max-sas applies to the metrics --metrics-listen serves"},
	} {
		out, stderr, code := runCmd(t, append([]string{"stats", "-i", "lo"}, tc.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tc.err) {
			t.Errorf("stats -i lo %q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.err)
		}
	}
}

// Item 3: with no readable input there are no figures to show, in any
// format; the error names the input and what is wrong with it.
func TestNoReadableInputNoFigures(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("this is not a capture\n"), 0o600)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct{ input, err string }{
		{filepath.Join(dir, "missing.pcap"), "missing.pcap: no such file or directory"},
		{dir, dir + ": is a directory, not a capture file"},
		{text, "notes.txt: not a pcap or pcapng file (magic 74686973)"},
		{empty, "empty.pcap: empty (0 bytes), not a capture file"},
	} {
		for _, args := range [][]string{{"stats", "-o", "json"}, {"stats"}, {"sas", "-o", "csv"}, {"stats", "-q", "-o", "json"}, {"mmsas"}} {
			out, stderr, code := runCmd(t, append(args, "-r", tc.input)...)
			if code != exitUsage || out != "" || !strings.Contains(stderr, tc.err) {
				t.Errorf("%q -r %s: exit %d, stdout %q, stderr %q; want 2, nothing, %q", args, tc.input, code, lastLines(out, 3), stderr, tc.err)
			}
		}
	}
	// Empty standard input.
	r, w, _ := os.Pipe()
	w.Close()
	stdin := os.Stdin
	os.Stdin = r
	out, stderr, code := runCmd(t, "stats", "-r", "-", "-o", "json")
	os.Stdin = stdin
	r.Close()
	if code != exitUsage || out != "" || !strings.Contains(stderr, "stdin: empty (0 bytes)") {
		t.Errorf("empty stdin: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// One readable input among unreadable ones: its figures, exit 2.
	out, stderr, code = runCmd(t, "stats", "-r", text, "-r", rekeyCapture(t), "-o", "json")
	if code != exitUsage || inputFrames(t, out) != 206 || !strings.Contains(stderr, "notes.txt") {
		t.Errorf("one bad input of two: exit %d, stderr %q; want 2 and the other's 206 frames", code, stderr)
	}
}

// pcapRecords returns the offsets of a little-endian pcap file's records
// (24-byte file header, 16-byte record headers; pcap-savefile(5)).
func pcapRecords(b []byte) []int {
	var offs []int
	for off := 24; off+16 <= len(b); off += 16 + int(binary.LittleEndian.Uint32(b[off+8:])) {
		offs = append(offs, off)
	}
	return offs
}

// Item 4: a damaged input is analysed as far as it is readable, the
// figures are printed, the damage is named (file, packet, what) on stderr
// even with -q, and the run exits 2. The readable counts are worked out
// from the files' structure; tshark reads as many before it stops.
func TestDamagedInputs(t *testing.T) {
	orig, err := os.ReadFile(rekeyCapture(t))
	if err != nil {
		t.Fatal(err)
	}
	recs := pcapRecords(orig)
	if len(recs) != 206 {
		t.Fatalf("recording has %d records, want 206", len(recs))
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Cut 10 bytes into the data of record 100; record 3's captured
	// length set to 0xFFFFFFFF.
	cut := write("cut.pcap", orig[:recs[99]+16+10])
	huge := append([]byte(nil), orig...)
	binary.LittleEndian.PutUint32(huge[recs[2]+8:], 0xFFFFFFFF)
	hugePath := write("huge.pcap", huge)
	// gzip with its CRC-32 (first trailer word, RFC 1952 §2.3.1) flipped.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(orig)
	zw.Close()
	gz := z.Bytes()
	gz[len(gz)-8] ^= 0xff
	badCRC := write("badcrc.pcap.gz", gz)
	// pcapng: the recording as tshark writes it, then the 4th Enhanced
	// Packet Block's interface ID set to 7, or its length to 0xFFFFFFF0.
	ng := filepath.Join(dir, "ng.pcapng")
	toolLines(t, "tshark", "-r", rekeyCapture(t), "-F", "pcapng", "-w", ng)
	ngb, _ := os.ReadFile(ng)
	epb := pcapngEPB(t, ngb, 4)
	badIf := append([]byte(nil), ngb...)
	binary.LittleEndian.PutUint32(badIf[epb+8:], 7)
	badIfPath := write("badif.pcapng", badIf)
	badLen := append([]byte(nil), ngb...)
	binary.LittleEndian.PutUint32(badLen[epb+4:], 0xFFFFFFF0)
	badLenPath := write("badlen.pcapng", badLen)

	for _, tc := range []struct {
		path     string
		readable float64
		err      string
	}{
		{cut, 99, "cut.pcap: packet 100: file ends in the middle of a packet record (truncated capture)"},
		{hugePath, 2, "huge.pcap: packet 3: damaged record: capture length exceeds snap length: 4294967295 > 262144"},
		{badCRC, 206, "badcrc.pcap.gz: the gzip checksum, checked after the data, does not match: all 206 packets were read and analysed"},
		{badIfPath, 3, "badif.pcapng: packet 4: damaged block: Interface id 7 not present"},
		{badLenPath, 3, "badlen.pcapng: packet 4: a block runs past the end of the file"},
	} {
		for _, quiet := range []bool{false, true} {
			args := []string{"stats", "-r", tc.path, "-o", "json"}
			if quiet {
				args = append(args, "-q")
			}
			out, stderr, code := runCmd(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.err) {
				t.Errorf("%q: exit %d, stderr %q; want 2 and %q", args, code, stderr, tc.err)
				continue
			}
			if n := inputFrames(t, out); n != tc.readable {
				t.Errorf("%q: %v frames analysed, want %v", args, n, tc.readable)
			}
		}
	}
	// tshark reads as far: 99 frames of the cut file, 3 of the pcapngs.
	for path, n := range map[string]int{cut: 99, badIfPath: 3, badLenPath: 3} {
		out, _ := exec.Command(needTool(t, "tshark"), "-r", path).Output()
		if got := strings.Count(string(out), "\n"); got != n {
			t.Errorf("tshark reads %d frames of %s, want %d", got, filepath.Base(path), n)
		}
	}
}

// pcapngEPB returns the offset of the n-th Enhanced Packet Block (type 6).
func pcapngEPB(t *testing.T, b []byte, n int) int {
	for off := 0; off+8 <= len(b); off += int(binary.LittleEndian.Uint32(b[off+4:])) {
		if binary.LittleEndian.Uint32(b[off:]) == 6 {
			if n--; n == 0 {
				return off
			}
		}
	}
	t.Fatal("no such enhanced packet block")
	return 0
}

// Item 9: events are JSON lines: -o table or csv is refused, and a view on
// standard output does not share it with --events -.
func TestEventsOutputs(t *testing.T) {
	capture := rekeyCapture(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"events", "-o", "csv"}, "-o csv: events are JSON lines only"},
		{[]string{"events", "-o", "table"}, "-o table: events are JSON lines only"},
		{[]string{"stats", "--events", "-", "-o", "json"}, "--events -: standard output carries the stats view; give --events FILE"},
		{[]string{"sas", "--events", "-"}, "--events -: standard output carries the sas view"},
	} {
		out, stderr, code := runCmd(t, append(tc.args, "-r", capture)...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tc.err) {
			t.Errorf("%q: exit %d, stdout %d bytes, stderr %q; want 2, nothing, %q", tc.args, code, len(out), stderr, tc.err)
		}
	}
	out, _, code := runCmd(t, "events", "-r", capture, "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("events -o json: not a JSON line: %q", l)
		}
	}
	if code != exitOK || len(lines) < 18 {
		t.Errorf("events -o json: exit %d, %d lines; want 0 and at least the recording's 18 IKE messages", code, len(lines))
	}
}

// --expect compares a stored -o json of stats, sas, mmsas or policies:
// those commands take it (a stored file of the same run has no
// differences, a changed field is one: exit 1); commands whose output it
// cannot compare refuse it, and their --help does not offer it.
func TestExpectWhereItApplies(t *testing.T) {
	capture := rekeyCapture(t)
	keyFile := filepath.Join(filepath.Dir(capture), "keys.txt")
	for _, cmd := range []string{"events", "check", "tunnels", "findings"} {
		help, _, _ := runCmd(t, cmd, "--help")
		if strings.Contains(help, "--expect") {
			t.Errorf("%s --help offers --expect", cmd)
		}
		args := []string{cmd, "-r", capture, "--expect", "x.json"}
		if cmd == "check" {
			args = append(args, "--host", "x")
		}
		out, stderr, code := runCmd(t, args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, "--expect applies to stats, sas, mmsas and policies") {
			t.Errorf("%s --expect: exit %d, stderr %q", cmd, code, stderr)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct{ cmd, field, changed string }{
		{"mmsas", `"encryption": "AES-CBC-256"`, `"encryption": "3DES-192"`},
		{"policies", `"AES-GCM-128"`, `"AES-GCM-256"`},
	} {
		stored, stderr, code := runCmd(t, tc.cmd, "-r", capture, "-k", keyFile, "-o", "json", "-q")
		if code != exitOK {
			t.Fatalf("%s -o json: exit %d: %s", tc.cmd, code, stderr)
		}
		same := filepath.Join(dir, tc.cmd+".json")
		os.WriteFile(same, []byte(stored), 0o600)
		_, stderr, code = runCmd(t, tc.cmd, "-r", capture, "-k", keyFile, "-q", "--expect", same)
		if code != exitOK || !strings.Contains(stderr, "no differences") {
			t.Errorf("%s --expect its own output: exit %d, %q", tc.cmd, code, stderr)
		}
		if !strings.Contains(stored, tc.field) {
			t.Logf("%s -o json:\n%s", tc.cmd, stored)
			t.Errorf("%s -o json has no %s", tc.cmd, tc.field)
			continue
		}
		changed := filepath.Join(dir, tc.cmd+"-changed.json")
		os.WriteFile(changed, []byte(strings.Replace(stored, tc.field, tc.changed, 1)), 0o600)
		_, stderr, code = runCmd(t, tc.cmd, "-r", capture, "-k", keyFile, "-q", "--expect", changed)
		if code != exitMismatch || !strings.Contains(stderr, "1 difference(s)") {
			t.Errorf("%s --expect a changed file: exit %d, %q; want 1 and one difference", tc.cmd, code, stderr)
		}
	}
	out, stderr, code := runCmd(t, "stats", "-r", capture, "--expect", filepath.Join(t.TempDir(), "missing.json"))
	if code != exitUsage || out != "" || !strings.Contains(stderr, "missing.json: no such file or directory") {
		t.Errorf("a missing --expect file: exit %d, stdout %d bytes, stderr %q; want 2 before any analysis", code, len(out), stderr)
	}
}

// Item 10: messages say what was wanted, not what a parser said; help
// offers what works; tcpdump's -n is accepted.
func TestMessagesAndHelp(t *testing.T) {
	capture := rekeyCapture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stats", "-r", capture, "--me", "garbage"}, `--me "garbage": not an IP address (want e.g. 192.0.2.1 or 2001:db8::1)`},
		{[]string{"stats", "-r", capture, "--me", "10.0.0.0/33"}, `--me "10.0.0.0/33": not an address prefix`},
		{[]string{"stats", "-r", capture, "--replay-memory", ""}, `--replay-memory "": want a size such as 32MiB or 100MB`},
		{[]string{"stats", "-i", "lo", "--metrics-listen", "9477"}, `give the port as :9477`},
		{[]string{"stat", "-r", capture}, `unknown command "stat"; did you mean "stats"?`},
		{[]string{"sa", "-r", capture}, `unknown command "sa"; did you mean "sas"?`},
		{[]string{"watch", "-r", capture}, "watch needs an interface (-i IFACE) and reads no files"},
	} {
		out, stderr, code := runCmd(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "strconv") || strings.Contains(stderr, "ParseAddr") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	help, _, _ := runCmd(t, "watch", "--help")
	if strings.Contains(help, "--read") || strings.Contains(help, "--expect") {
		t.Errorf("watch --help offers -r or --expect, which watch refuses")
	}
	// -n: accepted, the output is what it is without it.
	plain, _, _ := runCmd(t, "sas", "-r", capture)
	withN, stderr, code := runCmd(t, "sas", "-n", "-r", capture)
	if code != exitOK || withN != plain {
		t.Errorf("sas -n: exit %d (%s); output differs from sas's", code, stderr)
	}
}

// Item 10: filters with neither --generic nor --specific shows both.
func TestFiltersShowsBothViews(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	pol := filepath.Join(root, "policy", "testdata", "native", "server.policy")
	both, stderr, code := runCmd(t, "filters", "--policy", pol, "--me", "192.0.2.1")
	generic, _, _ := runCmd(t, "filters", "--generic", "--policy", pol, "--me", "192.0.2.1")
	specific, _, _ := runCmd(t, "filters", "--specific", "--policy", pol, "--me", "192.0.2.1")
	if code != exitOK || both != "Generic Filters\n\n"+generic+"\nSpecific Filters\n\n"+specific {
		t.Errorf("filters: exit %d (%s); want the Generic then the Specific Filters view", code, stderr)
	}
	out, _, code := runCmd(t, "filters", "--policy", pol, "--me", "192.0.2.1", "-o", "json")
	var views map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &views); err != nil || code != exitOK || len(views["generic_filters"]) != 9 || len(views["specific_filters"]) == 0 {
		t.Errorf("filters -o json: exit %d, %v: want one object with both views (9 generic filters in server.policy)", code, err)
	}
	if _, stderr, code := runCmd(t, "filters", "--policy", pol, "-o", "csv"); code != exitUsage || !strings.Contains(stderr, "-o csv writes one view") {
		t.Errorf("filters -o csv without a view: exit %d, %q", code, stderr)
	}
}

// Item 5 and the --me pairing bug, on the lab's ikev2-tunnel recording:
// one tunnel-mode CHILD SA (2 SAs) between alice 198.51.100.1 (inner
// 10.1.0.1) and bob 198.51.100.2 (facts.json).
func TestMeMistakes(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-tunnel")
	capture, keyFile := filepath.Join(dir, "capture.pcap"), filepath.Join(dir, "keys.txt")
	note := func(out, stat string) string {
		n, _ := jsonObject(t, out)["notes"].(map[string]any)[stat].(string)
		return n
	}
	// The inner address the SA view's Me column shows, given as --me.
	out, stderr, code := runCmd(t, "stats", "-r", capture, "-k", keyFile, "--me", "10.1.0.1", "-o", "json", "-q")
	if code != exitOK || !strings.Contains(stderr, "--me 10.1.0.1 is not an endpoint of any SA") || !strings.Contains(stderr, "The SAs' endpoints: 198.51.100.1 (2 SAs), 198.51.100.2 (2 SAs)") {
		t.Errorf("--me 10.1.0.1: exit %d, stderr %q; want a warning naming the endpoints", code, stderr)
	}
	if n := note(out, "transport_bytes_sent"); !strings.HasPrefix(n, "no SA has an endpoint in --me") {
		t.Errorf("--me 10.1.0.1: transport_bytes_sent note %q; want the real reason (no SA is mine), keys were given", n)
	}
	// A prefix over both gateways: still one row with both SPIs, and a
	// warning that --me is ambiguous there.
	var rows []map[string]any
	out, stderr, code = runCmd(t, "sas", "-r", capture, "-k", keyFile, "--me", "198.51.100.0/24", "-o", "json", "-q")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != exitOK || len(rows) != 1 || rows[0]["spi_in"] == nil || rows[0]["spi_out"] == nil {
		t.Errorf("--me over both ends: exit %d, rows %v; want one row with spi_in and spi_out", code, rows)
	}
	if !strings.Contains(stderr, "--me 198.51.100.0/24 covers both endpoints of 2 SAs") {
		t.Errorf("--me over both ends: stderr %q; want the ambiguity named", stderr)
	}
	// ESP keys alone (no IKE line, which would give the mode from the
	// negotiation): wrong key bytes, then keys for other SPIs. The mode
	// notes say which, not "without keys".
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var espLines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "esp ") {
			espLines = append(espLines, l)
		}
	}
	if len(espLines) != 2 {
		t.Fatalf("%d esp lines in keys.txt, want 2", len(espLines))
	}
	// Wrong keys: the same lengths, "ff" in front and the last byte
	// dropped; mode= left out (a key entry's mode gives the SA's mode).
	// Other SAs: SPIs 1 and 2.
	wrong := filepath.Join(t.TempDir(), "wrong.txt")
	other := filepath.Join(t.TempDir(), "other.txt")
	var w, o []string
	for i, l := range espLines {
		var wf, of []string
		for _, fld := range strings.Fields(l) {
			k, v, _ := strings.Cut(fld, "=")
			switch k {
			case "mode":
				continue
			case "enc-key", "auth-key":
				wf = append(wf, k+"=0xff"+v[2:len(v)-2])
				of = append(of, fld)
				continue
			case "spi":
				of = append(of, fmt.Sprintf("spi=0x%08x", i+1))
				wf = append(wf, fld)
				continue
			}
			wf, of = append(wf, fld), append(of, fld)
		}
		w, o = append(w, strings.Join(wf, " ")), append(o, strings.Join(of, " "))
	}
	os.WriteFile(wrong, []byte(strings.Join(w, "\n")+"\n"), 0o600)
	os.WriteFile(other, []byte(strings.Join(o, "\n")+"\n"), 0o600)
	out, _, _ = runCmd(t, "stats", "-r", capture, "-k", wrong, "--me", "198.51.100.2", "-o", "json", "-q")
	if n := note(out, "bytes_sent_in_tunnels"); !strings.Contains(n, "the keys given for 2 of them decrypted none of their packets") {
		t.Errorf("wrong ESP keys: note %q", n)
	}
	out, _, _ = runCmd(t, "stats", "-r", capture, "-k", other, "--me", "198.51.100.2", "-o", "json", "-q")
	if n := note(out, "bytes_sent_in_tunnels"); !strings.Contains(n, "no usable key given is for them") {
		t.Errorf("keys for other SPIs: note %q", n)
	}
	out, _, _ = runCmd(t, "stats", "-r", capture, "--me", "198.51.100.2", "-o", "json", "-q")
	if n := note(out, "bytes_sent_in_tunnels"); n != "the mode of ESP SAs is not visible without keys" {
		t.Errorf("no keys: note %q", n)
	}
}

// Item 8: one vocabulary. The lab's ikev2-rekey daemons negotiated IKE
// aes-cbc/256, hmac-sha2-512-256, prf hmac-sha2-512, modp2048 and the
// first CHILD SA aes-gcm-16/128 (facts.json); each view and format names
// them with algo's display names (the SA view's vocabulary), the version
// as IKEv2, unknown as an empty CSV cell, times in RFC 3339.
func TestOneVocabulary(t *testing.T) {
	capture := rekeyCapture(t)
	dir := filepath.Dir(capture)
	keyFile := filepath.Join(dir, "keys.txt")
	var facts struct {
		IKESAs []struct {
			SPII  string `json:"spi_i"`
			Suite struct {
				Enc        string `json:"enc"`
				EncKeyBits int    `json:"enc_key_bits"`
				Integ      string `json:"integ"`
				PRF        string `json:"prf"`
			} `json:"suite"`
		} `json:"ike_sas"`
		ChildSAs []struct {
			SPIs  map[string]struct{ In string } `json:"spis"`
			Suite struct {
				Enc        string `json:"enc"`
				EncKeyBits int    `json:"enc_key_bits"`
			} `json:"suite"`
		} `json:"child_sas"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "facts.json"))
	if err != nil || json.Unmarshal(b, &facts) != nil || len(facts.IKESAs) == 0 || len(facts.ChildSAs) == 0 {
		t.Fatalf("facts.json: %v", err)
	}
	ikeFact, childFact := facts.IKESAs[0], facts.ChildSAs[0]
	enc, _ := algo.ParseEnc(ikeFact.Suite.Enc)
	integ, _ := algo.ParseAuth(ikeFact.Suite.Integ)
	prf, _ := algo.ParsePRF(ikeFact.Suite.PRF)
	wantIKE := map[string]any{"version": "IKEv2", "encryption": enc.DisplayKey(ikeFact.Suite.EncKeyBits),
		"integrity": integ.Display(), "prf": prf.Display(), "dh_group": "MODP-2048"}
	childEnc, _ := algo.ParseEnc(childFact.Suite.Enc)
	wantChild := childEnc.DisplayKey(childFact.Suite.EncKeyBits)
	if wantIKE["encryption"] != "AES-CBC-256" || wantChild != "AES-GCM-128" {
		t.Fatalf("the facts no longer name the suites this test was written for: %v, %s", wantIKE, wantChild)
	}

	out, _, _ := runCmd(t, "mmsas", "-r", capture, "-k", keyFile, "-q", "-o", "json")
	var ike []map[string]any
	json.Unmarshal([]byte(out), &ike)
	var row map[string]any
	for _, r := range ike {
		if r["ispi"] == ikeFact.SPII {
			row = r
		}
	}
	for k, v := range wantIKE {
		if row == nil || row[k] != v {
			t.Errorf("mmsas JSON %s = %v, want %v", k, row[k], v)
		}
	}
	out, _, _ = runCmd(t, "mmsas", "-r", capture, "-k", keyFile, "-q", "-o", "csv")
	rows := csvLines(t, out)
	head, first := rows[0], rows[1]
	cell := func(k string) string {
		for i, h := range head {
			if h == k {
				return first[i]
			}
		}
		t.Fatalf("mmsas CSV has no %s column", k)
		return ""
	}
	for k, v := range wantIKE {
		if cell(k) != v {
			t.Errorf("mmsas CSV %s = %q, want %q", k, cell(k), v)
		}
	}
	if cell("lifetime") != "" {
		t.Errorf("mmsas CSV: unknown lifetime %q, want an empty cell", cell("lifetime"))
	}
	if _, err := time.Parse(time.RFC3339Nano, cell("established")); err != nil || !strings.HasSuffix(cell("established"), "Z") {
		t.Errorf("mmsas CSV established %q: want RFC 3339 with its zone", cell("established"))
	}

	// The CHILD SA's cipher in the SA view and the Negotiation Policies view.
	var sas []map[string]any
	out, _, _ = runCmd(t, "sas", "-r", capture, "-k", keyFile, "--me", "198.51.100.2", "-q", "-o", "json")
	json.Unmarshal([]byte(out), &sas)
	found := false
	for _, r := range sas {
		if r["spi_in"] == childFact.SPIs["bob"].In {
			found = true
			if r["esp_confidentiality"] != wantChild || r["esp_integrity"] != wantChild || r["ipsec_protocol"] != "ESP" {
				t.Errorf("SA view: %v %v %v; want %s (AEAD: integrity too), ESP", r["esp_confidentiality"], r["esp_integrity"], r["ipsec_protocol"], wantChild)
			}
		}
	}
	if !found {
		t.Errorf("no SA row with spi_in %s", childFact.SPIs["bob"].In)
	}
	// The facts' CHILD suite has integ none: AES-GCM is its own integrity,
	// which policies names as the SA view does.
	var pols []struct {
		Chosen []struct {
			Encryption []string `json:"encryption"`
			Integrity  []string `json:"integrity"`
		} `json:"chosen"`
	}
	out, _, _ = runCmd(t, "policies", "-r", capture, "-k", keyFile, "-q", "-o", "json")
	if json.Unmarshal([]byte(out), &pols) != nil || len(pols) == 0 || len(pols[0].Chosen) == 0 ||
		!slices.Equal(pols[0].Chosen[0].Encryption, []string{wantChild}) || !slices.Equal(pols[0].Chosen[0].Integrity, []string{wantChild}) {
		t.Errorf("policies: chosen %+v, want encryption and integrity %s", pols, wantChild)
	}
	// A configured policy that does not offer it (ikev2-tunnel's offers
	// AES-CBC-128/SHA-256 only) names what was negotiated outside it in
	// the same words, the cipher once.
	var conf []struct {
		NotOffered []string `json:"negotiated_not_offered"`
	}
	out, _, _ = runCmd(t, "policies", "-r", capture, "-k", keyFile, "-q", "-o", "json", "--me", "198.51.100.2",
		"--policy", labConfig(t, "ikev2-tunnel", "bob"))
	if json.Unmarshal([]byte(out), &conf) != nil || len(conf) != 1 || !slices.Equal(conf[0].NotOffered, []string{"ESP " + wantChild, "ESP " + wantChild + " PFS ECP-256"}) {
		t.Errorf("policies --policy ikev2-tunnel: %+v; want ESP %s, and with PFS ECP-256 (the facts' rekeys)", conf, wantChild)
	}
}

// Item 8: --policy names reach the SA view. bob.conf of the lab's
// ikev2-tunnel names its connection ike and its child net, with
// esp_proposals aes128-sha256: the pair's Negotiation Policy is ike/net,
// and the configured offer is written as the offers seen are.
func TestPolicyNamesInTheSAView(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-tunnel")
	args := []string{"-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--me", "198.51.100.2",
		"--policy", labConfig(t, "ikev2-tunnel", "bob"), "-q", "-o", "json"}
	var sas []map[string]any
	out, stderr, code := runCmd(t, append([]string{"sas"}, args...)...)
	if json.Unmarshal([]byte(out), &sas) != nil || code != exitOK || len(sas) != 1 || sas[0]["negotiation_policy"] != "ike/net" {
		t.Errorf("sas --policy: exit %d (%s), rows %v; want one with negotiation_policy ike/net", code, stderr, sas)
	}
	var pols []struct {
		Name   string   `json:"name"`
		Offers []string `json:"offers"`
	}
	out, _, _ = runCmd(t, append([]string{"policies"}, args...)...)
	if json.Unmarshal([]byte(out), &pols) != nil || len(pols) != 1 || pols[0].Name != "ike/net" || len(pols[0].Offers) != 1 || !strings.HasPrefix(pols[0].Offers[0], "ESP AES-CBC-128 SHA-256") {
		t.Errorf("policies --policy: %+v; want ike/net offering ESP AES-CBC-128 SHA-256", pols)
	}
}

func csvLines(t *testing.T, out string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("CSV: %v\n%s", err, out)
	}
	return rows
}

// Acceptance: the README's flag table says which flags apply to files,
// live or both, and what it says is what the CLI does. Every flag of
// `stats --help` (every analysing command has these) must be in the table;
// a flag the table calls live is refused on a file (exit 2, naming live
// capture), and as root accepted on lo; a flag it calls both or files is
// accepted on the bundled recording (exit 0).
func TestReadmeFlagTable(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	applies := readmeFlagTable(t, string(readme))
	help, _, code := runCmd(t, "stats", "--help")
	if code != exitOK {
		t.Fatalf("stats --help: exit %d", code)
	}
	helpFlags := helpFlagNames(help)
	if len(helpFlags) < 30 {
		t.Fatalf("stats --help lists %d flags: %v", len(helpFlags), helpFlags)
	}
	for _, f := range helpFlags {
		if applies[f] == "" {
			t.Errorf("README's flag table does not say where --%s applies", f)
		}
	}
	capture := rekeyCapture(t)
	dir := t.TempDir()
	expected := filepath.Join(dir, "expected.json")
	if err := os.WriteFile(expected, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys.txt")
	k, err := os.ReadFile(filepath.Join(filepath.Dir(capture), "keys.txt"))
	if err != nil || os.WriteFile(keys, k, 0o600) != nil {
		t.Fatal("cannot copy the recording's keys", err)
	}
	// An example value per flag that takes one (a bool flag takes none).
	value := map[string][]string{
		"read": {capture}, "interface": {"lo"}, "me": {"198.51.100.2"}, "replay-window": {"128"},
		"replay-memory": {"1MiB"}, "output": {"json"}, "expect": {expected},
		"events": {filepath.Join(dir, "events.jsonl")}, "keys": {keys}, "rekeyed-delete-delay": {"1s"},
		"workers": {"1"}, "policy": {filepath.Join(root, "policy", "testdata", "native", "server.policy")},
		"dns": {"192.0.2.53"}, "dhcp": {"192.0.2.67"}, "wins": {"192.0.2.137"}, "gateway": {"192.0.2.254"},
		"weight": {"vista"}, "filter": {"udp port 500 or udp port 4500"}, "snaplen": {"96"},
		"buffer-size": {"4MiB"}, "count": {"5"}, "duration": {"1s"}, "metrics-listen": {"127.0.0.1:0"},
		"metrics-max-tunnels": {"5", "--metrics-listen", "127.0.0.1:0"},
		"events-rotate-size":  {"10MB", "--events", filepath.Join(dir, "rotated.jsonl")},
		"events-keep":         {"2", "--events", filepath.Join(dir, "kept.jsonl")}, "write": {filepath.Join(dir, "w.pcapng")},
		"rotate-size": {"10MB", "-w", filepath.Join(dir, "r.pcapng")}, "max-sas": {"10"}, "max-ike-sas": {"10"},
		"sa-idle-timeout": {"1m"}, "evict-ended": {"1m"},
	}
	arg := func(f string) []string {
		if strings.Contains(help, "--"+f+"[=true|false]") {
			return []string{"--" + f}
		}
		v, ok := value[f]
		if !ok {
			t.Fatalf("no example value for --%s: add one", f)
		}
		return append([]string{"--" + f}, v...)
	}
	var liveArgs []string
	for _, f := range helpFlags {
		switch applies[f] {
		case "both":
			args := append([]string{"stats", "-r", capture, "-q"}, arg(f)...)
			if _, stderr, code := runCmd(t, args...); code != exitOK {
				t.Errorf("README: %s applies to files; %q: exit %d, %s", f, args[1:], code, stderr)
			}
		case "files":
			if _, stderr, code := runCmd(t, append([]string{"stats", "-i", "lo"}, arg(f)...)...); code != exitUsage || !strings.Contains(stderr, "not both") {
				t.Errorf("README: --%s applies to files only; with -i lo: exit %d, %s", f, code, stderr)
			}
		case "live":
			if f == "interface" {
				continue
			}
			if f != "duration" {
				liveArgs = append(liveArgs, arg(f)...)
			}
			args := append([]string{"stats", "-r", capture}, arg(f)...)
			if _, stderr, code := runCmd(t, args...); code != exitUsage || !strings.Contains(stderr, "applies to live capture") && !strings.Contains(stderr, "applies to the metrics") {
				t.Errorf("README: --%s applies to live capture only; on a file: exit %d, %s", f, code, stderr)
			}
		default:
			t.Errorf("README: --%s applies to %q; want files, live or both", f, applies[f])
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	// --duration always: whatever the table says, the run must end.
	args := append([]string{"stats", "-i", "lo", "-q", "--duration", "1s"}, liveArgs...)
	if _, stderr, code := runCmd(t, args...); code != exitOK {
		t.Errorf("%q: exit %d, %s", args, code, stderr)
	}
}

// readmeFlagTable reads the README's table of where flags apply: each
// long flag named in a row's first cell, to the row's second cell.
func readmeFlagTable(t *testing.T, readme string) map[string]string {
	t.Helper()
	_, table, ok := strings.Cut(readme, "| flag | applies to | on files | live |\n")
	if !ok {
		t.Fatal("README has no flag table (| flag | applies to | on files | live |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	applies := map[string]string{}
	for _, row := range strings.Split(table, "\n")[1:] {
		cells := strings.Split(row, "|")
		if len(cells) < 4 {
			t.Fatalf("README flag table: row %q", row)
		}
		for _, name := range strings.Split(cells[1], "`") {
			if strings.HasPrefix(name, "--") {
				applies[strings.TrimPrefix(name, "--")] = strings.TrimSpace(cells[2])
			}
		}
	}
	return applies
}

// helpFlagNames are the long flags a --help text lists (pflag's layout:
// "  -r, --read stringArray   ..." or "      --me stringArray   ...").
func helpFlagNames(help string) []string {
	var names []string
	for _, l := range strings.Split(help, "\n") {
		l = strings.TrimSpace(l)
		if len(l) > 4 && l[0] == '-' && l[1] != '-' {
			_, l, _ = strings.Cut(l, ", ")
		}
		if !strings.HasPrefix(l, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(l, "--"), " ")
		name, _, _ = strings.Cut(name, "[")
		names = append(names, name)
	}
	return names
}
