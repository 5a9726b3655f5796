package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/internal/benchgen"
)

// TestManyFilesConcurrent: -r files of different hosts are analysed at
// once, and every view's JSON equals the one of the same files read in
// order (--concurrent-files off: the oracle is the sequential run, which
// the rest of the suite checks against tshark, the lab's daemons and hand
// counts). Files of the same hosts fall back to the order, with the same
// figures. Whether a set really is of different hosts is read from the
// files with gopacket here, not with ipsecmon; whether the run really went
// concurrent, from --concurrent-files verbose.
func TestManyFilesConcurrent(t *testing.T) {
	dir := t.TempDir()
	lab := func(name string) string { return filepath.Join("..", "..", "testdata", "pcaps", "lab", name) }
	host := func(name string, s benchgen.Spec, keyed bool) (string, string) {
		p := filepath.Join(dir, name+".pcap")
		if !keyed {
			if _, _, err := benchgen.Write(p, s); err != nil {
				t.Fatal(err)
			}
			return p, ""
		}
		k := filepath.Join(dir, name+".keys")
		if _, _, err := benchgen.WriteKeyed(p, k, s); err != nil {
			t.Fatal(err)
		}
		return p, k
	}
	small := func(h int) benchgen.Spec { return benchgen.Spec{Packets: 2000, Pairs: 12, Host: h} }
	h1, _ := host("h1", small(1), false)
	h2, _ := host("h2", small(2), false)
	h3, _ := host("h3", small(3), false)
	k1, k1keys := host("k1", small(1), true)
	k2, k2keys := host("k2", small(2), true)
	// A day after the lab's recordings: their CHILD and IKE SAs' lifetimes
	// run out within the run, which a part that ended at its own last
	// packet would not see.
	later := small(4)
	later.Start = time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	h4later, _ := host("h4later", later, false)
	rekey := lab("ikev2-rekey")
	v1 := lab("ikev1-rekey")
	halfA, halfB := splitCapture(t, filepath.Join(rekey, "capture.pcap"), filepath.Join(dir, "rekey"))
	// Its first half ends before the Deletes (at the end of the
	// recording): its CHILD SAs are still active, their negotiated
	// lifetimes shorter than a day.
	v1Half, _ := splitCapture(t, filepath.Join(v1, "capture.pcap"), filepath.Join(dir, "v1"))
	// Lab recordings as if between other gateways: 198.51.100.0/24 moved
	// to another /24 (the keys' addresses too), and their keys.
	moved := func(name string, to [3]byte) (string, string) {
		base := filepath.Join(dir, fmt.Sprintf("%s-%d.%d.%d", name, to[0], to[1], to[2]))
		return moveHosts(t, filepath.Join(lab(name), "capture.pcap"), base+".pcap", to), moveKeys(t, filepath.Join(lab(name), "keys.txt"), base+".keys", to)
	}
	testNet2, testNet3 := [3]byte{192, 0, 2}, [3]byte{100, 64, 7}
	v1Moved, v1MovedKeys := moved("ikev1-rekey", testNet2)
	rekeyMoved, _ := moved("ikev2-rekey", testNet2)
	mainMoved, mainMovedKeys := moved("ikev1-main", testNet2)
	pendingMoved, pendingMovedKeys := moved("ikev2-pending", testNet3)
	failMoved, _ := moved("ikev2-fail-transport", testNet3)
	labKeys := func(name string) string { return filepath.Join(lab(name), "keys.txt") }
	// Only the IKE keys: every ESP key is derived, its origin names an IKE SA.
	ikeOnly := func(in string) string {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "esp ") {
				keep = append(keep, l)
			}
		}
		out := filepath.Join(dir, filepath.Base(filepath.Dir(in))+filepath.Base(in)+".ike")
		if err := os.WriteFile(out, []byte(strings.Join(keep, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out, _, _ := runCmd(t, "sas", "-o", "json", "-r", v1Half, "-k", filepath.Join(v1, "keys.txt")); strings.Count(out, `"state": "active"`) != 2 {
		t.Fatalf("the first half of ikev1-rekey alone: want its two Quick Mode pairs active:\n%s", out)
	}

	for _, c := range []struct {
		name       string
		files      []string
		keys       []string
		concurrent bool   // expected: the run goes concurrent
		why        string // else: the reason given
		// expired: rows of the sas view (pairs) expired, when not 0: their
		// negotiated lifetime ran out before the run's last packet.
		expired int
		policy  string // --policy (the filters view too)
		apart   bool   // of different hosts, yet read in order
		// derived: a key source the sas view shows (ikev1-rekey's one IKE
		// SA after ikev2-rekey's two: IKE SA 3).
		derived string
	}{
		{name: "two hosts", files: []string{h1, h2}, concurrent: true},
		{name: "four hosts", files: []string{h1, h2, h3, h4later}, concurrent: true},
		{name: "two hosts keyed", files: []string{k1, k2}, keys: []string{k1keys, k2keys}, concurrent: true},
		{name: "IKE with keys, then a host", files: []string{filepath.Join(rekey, "capture.pcap"), k1}, keys: []string{filepath.Join(rekey, "keys.txt"), k1keys}, concurrent: true, policy: labConfig(t, "ikev2-rekey", "bob")},
		{name: "a host, then IKEv1", files: []string{h2, filepath.Join(v1, "capture.pcap")}, keys: []string{filepath.Join(v1, "keys.txt")}, concurrent: true},
		{name: "IKE, then a host a day later", files: []string{filepath.Join(v1, "capture.pcap"), h4later, h1}, keys: []string{filepath.Join(v1, "keys.txt")}, concurrent: true},
		{name: "IKE cut before its Deletes, a host a day later", files: []string{v1Half, h4later}, keys: []string{filepath.Join(v1, "keys.txt")}, concurrent: true, expired: 2},
		{name: "IKE without keys, a day later", files: []string{filepath.Join(rekey, "capture.pcap"), h4later}, concurrent: true},
		{name: "one capture split in two", files: []string{halfA, halfB}, keys: []string{filepath.Join(rekey, "keys.txt")}, why: "address 198.51.100.", policy: labConfig(t, "ikev2-rekey", "bob")},
		{name: "two recordings of the same hosts", files: []string{filepath.Join(rekey, "capture.pcap"), filepath.Join(v1, "capture.pcap")}, why: "address 198.51.100."},
		{name: "same host twice", files: []string{h1, h1}, why: "address 10."},
		// Gateways that each negotiate IKE: one tracker numbers the IKE SAs,
		// negotiations and pairs across the files (mmsas, sas, policies).
		{name: "two gateways, both with IKE", files: []string{filepath.Join(rekey, "capture.pcap"), v1Moved}, keys: []string{labKeys("ikev2-rekey"), v1MovedKeys}, concurrent: true},
		{name: "two gateways, both with IKE, ESP keys derived", files: []string{filepath.Join(rekey, "capture.pcap"), v1Moved}, keys: []string{ikeOnly(labKeys("ikev2-rekey")), ikeOnly(v1MovedKeys)}, concurrent: true,
			derived: "derived from IKE SA 3 (Quick Mode)"},
		{name: "two gateways, both with IKE, keyless", files: []string{filepath.Join(rekey, "capture.pcap"), v1Moved}, concurrent: true},
		{name: "three gateways with IKE, one pending", files: []string{filepath.Join(lab("ikev2-child-delete"), "capture.pcap"), mainMoved, pendingMoved},
			keys: []string{labKeys("ikev2-child-delete"), mainMovedKeys, pendingMovedKeys}, concurrent: true},
		{name: "three gateways with IKE, keyless, one failed", files: []string{failMoved, filepath.Join(lab("ikev2-weak"), "capture.pcap"), v1Moved}, concurrent: true},
		// The same gateways' IKE SAs (SPIs) at other addresses.
		{name: "one recording at two addresses", files: []string{filepath.Join(rekey, "capture.pcap"), rekeyMoved}, apart: true, why: "IKE SPI "},
	} {
		t.Run(c.name, func(t *testing.T) {
			disjoint := disjointHosts(t, c.files)
			if disjoint != (c.concurrent || c.apart) {
				t.Fatalf("the files' addresses are disjoint: %v, the case expects different hosts: %v", disjoint, c.concurrent || c.apart)
			}
			args := []string{"--workers", "2"} // whatever the machine's cores
			for _, f := range c.files {
				args = append(args, "-r", f)
			}
			if len(c.keys) > 0 {
				k := filepath.Join(t.TempDir(), "keys")
				var all []byte
				for _, f := range c.keys {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					all = append(append(all, b...), '\n')
				}
				if err := os.WriteFile(k, all, 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-k", k)
			}
			cmds := []string{"stats", "sas", "tunnels", "mmsas", "policies", "findings"}
			if c.policy != "" {
				args = append(args, "--policy", c.policy)
				cmds = append(cmds, "filters")
			}
			for _, cmd := range cmds {
				a := append([]string{cmd, "-o", "json"}, args...)
				want, wantErr, wantCode := runCmd(t, append(a, "--concurrent-files", "off")...)
				got, gotErr, gotCode := runCmd(t, append(a, "--concurrent-files", "verbose")...)
				first, rest, _ := strings.Cut(gotErr, "\n")
				switch {
				case cmd == "findings":
					// Findings record events as they come: always in order.
					if !strings.Contains(first, "in order: events") {
						t.Errorf("%s: %q", cmd, first)
					}
				case c.concurrent && first != fmt.Sprintf("ipsecmon: %d files analysed concurrently", len(c.files)):
					t.Errorf("%s: not concurrent: %q", cmd, first)
				case !c.concurrent && !strings.Contains(first, "in order: "+c.why):
					t.Errorf("%s: want the order, because %q: %q", cmd, c.why, first)
				}
				if got != want || rest != wantErr || gotCode != wantCode {
					t.Errorf("%s: concurrent run (exit %d) differs from the sequential one (exit %d)\nstderr %q\nwant %q\n%s", cmd, gotCode, wantCode, rest, wantErr, firstDiff(got, want))
				}
				if n := strings.Count(want, `"state": "expired"`); cmd == "sas" && c.expired > 0 && n != c.expired {
					t.Errorf("sas: %d SAs expired, want %d", n, c.expired)
				}
				if cmd == "sas" && c.derived != "" && !strings.Contains(want, `"key_source": "`+c.derived+`"`) {
					t.Errorf("sas: no key source %q", c.derived)
				}
				if wantCode != exitOK {
					t.Errorf("%s: exit %d: %s", cmd, wantCode, wantErr)
				}
			}
		})
	}
}

// TestManyFilesOrderWhenAsked: what makes a run read its files in order
// whatever the files hold: standard input, -w, -c, -f, --events.
func TestManyFilesOrderWhenAsked(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for h := 1; h <= 2; h++ {
		p := filepath.Join(dir, fmt.Sprintf("h%d.pcap", h))
		if _, _, err := benchgen.Write(p, benchgen.Spec{Packets: 300, Pairs: 4, Host: h}); err != nil {
			t.Fatal(err)
		}
		files = append(files, "-r", p)
	}
	for _, c := range []struct {
		extra []string
		why   string
	}{
		{[]string{"-w", filepath.Join(dir, "out.pcap")}, "-w, -c or -f"},
		{[]string{"-c", "100"}, "-w, -c or -f"},
		{[]string{"-f", "esp"}, "-w, -c or -f"},
		{[]string{"--events", filepath.Join(dir, "ev.jsonl")}, "events are written in the order of the run"},
		{[]string{"-r", "-"}, "- is not a regular file"},
		{[]string{"--workers", "1"}, "--workers 1"},
		{[]string{"-r", dir}, dir + " is not a regular file"},
	} {
		a := append(append([]string{"stats", "-o", "json", "--concurrent-files", "verbose", "--workers", "2"}, files...), c.extra...)
		_, stderr, _ := runCmdStdin(t, strings.NewReader(""), a...)
		if first, _, _ := strings.Cut(stderr, "\n"); first != "ipsecmon: files analysed in order: "+c.why {
			t.Errorf("%v: %q", c.extra, first)
		}
	}
	if _, stderr, code := runCmd(t, "stats", "-r", files[1], "--concurrent-files", "sometimes"); code != exitUsage || !strings.Contains(stderr, "want auto, off or verbose") {
		t.Errorf("bad --concurrent-files: exit %d, %q", code, stderr)
	}
}

// runCmdStdin is runCmd with standard input from r.
func runCmdStdin(t *testing.T, r io.Reader, args ...string) (string, string, int) {
	t.Helper()
	old := os.Stdin
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, 0)
	os.Stdin = f
	defer func() { os.Stdin = old; f.Close() }()
	return runCmd(t, args...)
}

// disjointHosts reads every frame's IP addresses with gopacket and reports
// whether no address is in two of the files.
func disjointHosts(t *testing.T, files []string) bool {
	t.Helper()
	owner := map[netip.Addr]int{}
	disjoint := true
	for i, name := range files {
		r := openPcap(t, name)
		src := gopacket.NewPacketSource(r, r.LinkType())
		for p := range src.Packets() {
			nl := p.NetworkLayer()
			if nl == nil {
				continue
			}
			fl := nl.NetworkFlow()
			for _, e := range []gopacket.Endpoint{fl.Src(), fl.Dst()} {
				a, ok := netip.AddrFromSlice(e.Raw())
				if !ok {
					continue
				}
				if j, seen := owner[a]; seen && j != i {
					disjoint = false
				}
				owner[a] = i
			}
		}
	}
	return disjoint
}

// splitCapture writes the first half of a capture's frames to one file
// and the rest to another.
func splitCapture(t *testing.T, name, dir string) (string, string) {
	t.Helper()
	r := openPcap(t, name)
	type frame struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var frames []frame
	eachPcapFrame(t, r, func(ci gopacket.CaptureInfo, data []byte) {
		frames = append(frames, frame{ci, data})
	})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out [2]string
	for i, part := range [][]frame{frames[:len(frames)/2], frames[len(frames)/2:]} {
		out[i] = filepath.Join(dir, fmt.Sprintf("half%d.pcap", i))
		w, err := os.Create(out[i])
		if err != nil {
			t.Fatal(err)
		}
		pw := pcapgo.NewWriterNanos(w)
		if err := pw.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
			t.Fatal(err)
		}
		for _, fr := range part {
			if err := pw.WritePacket(fr.ci, fr.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

// firstDiff shows where two outputs part.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	if len(g) != len(w) {
		return fmt.Sprintf("%d lines, want %d", len(g), len(w))
	}
	return ""
}

// moveKeys copies a lab keys.txt with the addresses in 198.51.100.0/24
// moved to to (as moveHosts moves them).
func moveKeys(t *testing.T, in, out string, to [3]byte) string {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "198.51.100.", fmt.Sprintf("%d.%d.%d.", to[0], to[1], to[2]))
	if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// moveHosts copies a capture of Ethernet, IPv4 and UDP (the lab's:
// kernel-libipsec encapsulates all ESP) with every address in
// 198.51.100.0/24 moved to the /24 to, the IPv4 header checksum
// recomputed and the UDP checksum left out (0, RFC 768).
func moveHosts(t *testing.T, in, out string, to [3]byte) string {
	t.Helper()
	r := openPcap(t, in)
	if r.LinkType() != 1 {
		t.Fatalf("%s: link type %v, want Ethernet", in, r.LinkType())
	}
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	eachPcapFrame(t, r, func(ci gopacket.CaptureInfo, data []byte) {
		if len(data) < 34 || data[12] != 0x08 || data[13] != 0 || data[14]>>4 != 4 {
			t.Fatalf("%s: a frame that is not IPv4 on Ethernet", in)
		}
		ip := data[14:]
		hl := int(ip[0]&15) * 4
		for _, at := range []int{12, 16} {
			if ip[at] == 198 && ip[at+1] == 51 && ip[at+2] == 100 {
				ip[at], ip[at+1], ip[at+2] = to[0], to[1], to[2]
			}
		}
		ip[10], ip[11] = 0, 0
		var sum uint32
		for i := 0; i < hl; i += 2 {
			sum += uint32(ip[i])<<8 | uint32(ip[i+1])
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		ip[10], ip[11] = byte(^sum>>8), byte(^sum)
		if ip[9] == 17 && len(ip) >= hl+8 && ip[6]&0x1f == 0 && ip[7] == 0 {
			ip[hl+6], ip[hl+7] = 0, 0
		}
		if err := pw.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// eachPcapFrame calls fn on every frame r reads, failing the test on a
// read error.
func eachPcapFrame(t *testing.T, r *pcapgo.Reader, fn func(ci gopacket.CaptureInfo, data []byte)) {
	t.Helper()
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(ci, data)
	}
}

// openPcap opens a pcap file for gopacket's reader, closed at the test's end.
func openPcap(t *testing.T, name string) *pcapgo.Reader {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
