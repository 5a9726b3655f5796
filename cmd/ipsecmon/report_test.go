package main

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ipsecmon/decode/ike"
	"ipsecmon/internal/lab/facts"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/internal/testcorpus"
)

// chromium runs Debian's headless Chromium with the flags that work in a
// container without a display or network (a fresh profile each time), and
// returns its standard output. The test is skipped where Chromium is not
// installed (.ci/run installs it).
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	// Chromium's helper processes inherit its stdout: one still alive after
	// the browser exits (or is killed at the deadline) would keep Run
	// copying forever. Kill the whole process group at the deadline, and
	// stop waiting for the pipe shortly after the browser is gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out strings.Builder
	cmd.Stdout = &out
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers it left behind, if any
	}
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out.String()
}

// TestReportInChromium renders the report of the bundled rekey recordings
// (IKEv2 CREATE_CHILD_SA rekeys with an IKE SA rekey; IKEv1 Quick Mode
// rekeys with an expiry), with their keys, as a person would see it:
// headless Chromium loads the page from disk, its DOM is checked against
// the daemons' facts, and a screenshot of the first is taken (kept in
// $IPSECMON_REPORT_SCREENSHOT when set).
//
// From facts.json: the tunnel's rekeys (tunnels[0].rekeys), each at the
// time the daemons created the replacing CHILD SA (child_sas[].created
// where replaces is set; the page's time is the first packet's, within
// half a second of the daemon's log), the IKE SA rekeys
// (negotiations.ike_rekeyed), the pairs deleted and expired
// (negotiations.child_deleted by reason) and each pair's SPIs. The page:
// the tunnel's timeline has a rule for each rekey, inside the chart and
// spanning its lanes, at that time; a diamond on the IKE lane per IKE SA
// rekey; a Delete cross per deleted pair and a circle per expired one; a
// lane per pair named by its SPIs as bob has them; its throughput chart
// has both directions; the 21 statistics are there; and the file fetches
// nothing.
func TestReportInChromium(t *testing.T) {
	rekey := bundledRekey(t)
	for i, dir := range []string{rekey, filepath.Join(filepath.Dir(rekey), "ikev1-rekey")} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "capture.pcap")); err != nil {
				t.Skip(err)
			}
			checkReportInChromium(t, dir, i == 0)
		})
	}
}

func checkReportInChromium(t *testing.T, dir string, screenshot bool) {
	f, err := facts.Read(filepath.Join(dir, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if _, stderr, code := runCmd(t, "report", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--html", page); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Self-contained: no script, nothing a browser would fetch.
	for _, bad := range []string{"<script", "src=", "href=\"http", "href='http", "url(", "@import", "<link", "<iframe", "<img"} {
		if strings.Contains(string(src), bad) {
			t.Errorf("the page contains %q: it must open with nothing fetched and no script", bad)
		}
	}

	dom := chromium(t, "--dump-dom", "file://"+page)
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(dom, -1)) }
	if n := count(`<svg class="timeline tunnel"`); n != len(f.Tunnels) {
		t.Fatalf("%d tunnel timelines, the daemons made %d tunnels", n, len(f.Tunnels))
	}
	i := strings.Index(dom, `<svg class="timeline tunnel"`)
	timeline := dom[i : i+strings.Index(dom[i:], "</svg>")]
	marks := func(re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(timeline, -1)) }
	deleted := 0
	for _, n := range f.Negotiations.ChildDeleted {
		deleted += n
	}
	expired := f.Negotiations.ChildDeleted["expiry"]
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"rekey rules", marks(`<g class="rekey( lossy)?">`), f.Tunnels[0].Rekeys},
		{"IKE SA rekey marks", marks(`<g class="mark ike-rekey">`), f.Negotiations.IKERekeyed},
		{"Delete marks", marks(`<g class="mark delete">`), deleted - expired},
		{"expiry marks", marks(`<g class="mark expire">`), expired},
		{"SA pair lanes", marks(`<g class="lane">`), len(f.Tunnels[0].ChildSAs)},
		{"throughput charts", count(`<svg class="area throughput"`), len(f.Tunnels)},
		{"throughput series", count(`<g class="series (in|out)">`), 2 * len(f.Tunnels)},
		{"statistics", count(`<div class="stat[ "]`), 21},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d on the page, want %d", c.what, c.got, c.want)
		}
	}
	// Every rekey is visible: its rule lies inside the chart (viewBox 0..1000
	// wide), spans the lanes, and is at the time a replacing CHILD SA was
	// created.
	var created []time.Time
	for _, c := range f.ChildSAs {
		if c.Replaces != "" {
			created = append(created, c.Created)
		}
	}
	day := f.ChildSAs[0].Created.UTC().Truncate(24 * time.Hour)
	rule := regexp.MustCompile(`<g class="rekey(?: lossy)?"><title>rekey at (\d\d:\d\d:\d\d\.\d+):[^<]*</title><line class="rule" x1="([\d.]+)" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"`)
	found := rule.FindAllStringSubmatch(timeline, -1)
	if len(found) != len(created) {
		t.Fatalf("%d rekey rules with a time, the facts have %d replacing CHILD SAs", len(found), len(created))
	}
	for _, m := range found {
		clock, err := time.Parse("15:04:05.000", m[1])
		if err != nil {
			t.Fatal(err)
		}
		at := day.Add(clock.Sub(clock.Truncate(24 * time.Hour)))
		x, _ := strconv.ParseFloat(m[2], 64)
		y1, _ := strconv.ParseFloat(m[3], 64)
		y2, _ := strconv.ParseFloat(m[4], 64)
		if x <= 0 || x >= 1000 || y2-y1 < 40 {
			t.Errorf("rekey at %s: rule at x=%g from y=%g to %g: not inside the chart across its lanes", m[1], x, y1, y2)
		}
		if !slices.ContainsFunc(created, func(c time.Time) bool { d := at.Sub(c); return d > -500*time.Millisecond && d < 500*time.Millisecond }) {
			t.Errorf("rekey at %s: no CHILD SA was created then (facts: %v)", m[1], created)
		}
	}
	// Each pair's lane is labelled with its SPIs as bob (this host) has them.
	for _, id := range f.Tunnels[0].ChildSAs {
		for _, c := range f.ChildSAs {
			if c.ID != id {
				continue
			}
			label := strings.TrimPrefix(c.SPIs["bob"].In, "0x") + " / " + strings.TrimPrefix(c.SPIs["bob"].Out, "0x")
			if !strings.Contains(timeline, ">"+label) {
				t.Errorf("%s: no lane labelled %q", id, label)
			}
		}
	}
	// Each pair is a row of the SA table with bob's SPIs in its SPI In and
	// SPI Out cells.
	i = strings.Index(dom, `<table class="sas">`)
	if i < 0 {
		t.Fatal("no SA table")
	}
	table := dom[i : i+strings.Index(dom[i:], "</table>")]
	cell := regexp.MustCompile(`<t[hd][^>]*>([^<]*)</t[hd]>`)
	var rows [][]string
	for _, tr := range strings.Split(table, "<tr>")[1:] {
		var cells []string
		for _, m := range cell.FindAllStringSubmatch(tr, -1) {
			cells = append(cells, m[1])
		}
		rows = append(rows, cells)
	}
	in, out := slices.Index(rows[0], "SPI In"), slices.Index(rows[0], "SPI Out")
	if in < 0 || out < 0 {
		t.Fatalf("SA table header %q: no SPI In / SPI Out", rows[0])
	}
	for _, id := range f.Tunnels[0].ChildSAs {
		for _, c := range f.ChildSAs {
			if c.ID == id && !slices.ContainsFunc(rows[1:], func(r []string) bool {
				return len(r) > max(in, out) && r[in] == c.SPIs["bob"].In && r[out] == c.SPIs["bob"].Out
			}) {
				t.Errorf("%s: no SA table row with SPI In %s and SPI Out %s", id, c.SPIs["bob"].In, c.SPIs["bob"].Out)
			}
		}
	}
	if !screenshot {
		return
	}

	shot := os.Getenv("IPSECMON_REPORT_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "report.png")
	}
	chromium(t, "--screenshot="+shot, "--window-size=1400,2400", "file://"+page)
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 2400 {
		t.Errorf("screenshot %v, want 1400x2400", b)
	}
	// Something was drawn: the page is not one colour.
	colours := map[[3]uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	if len(colours) < 50 {
		t.Errorf("the screenshot has %d colours: nothing rendered?", len(colours))
	}
}

// TestReportEveryLabRecording: the report of every lab recording (with
// its keys) is a whole page, and a finding of a tunnel is listed under
// that tunnel's charts as well as in the findings table. A template that
// fails part-way leaves no half page: it was how a tunnel with findings
// used to end the page right after its charts (exit 2, no SA table).
//
// From facts.json: a CHILD SA negotiated in an exchange of its own
// (CREATE_CHILD_SA, or an IKEv1 Quick Mode) without a PFS group is one
// no_pfs (RFC 7296 §1.3.1, RFC 2409 §5.5), counted in the findings table
// and under its tunnel (each recording has one pair of peers).
func TestReportEveryLabRecording(t *testing.T) {
	for _, dir := range testcorpus.LabRecordings(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := facts.Read(filepath.Join(dir, "facts.json"))
			if err != nil {
				t.Skip(err)
			}
			page := filepath.Join(t.TempDir(), "report.html")
			if _, stderr, code := runCmd(t, "report", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--html", page); code != exitOK {
				t.Fatalf("report: exit %d: %s", code, stderr)
			}
			b, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			if !strings.HasSuffix(strings.TrimSpace(html), "</html>") {
				t.Errorf("the page is not whole: it ends %q", html[max(0, len(html)-80):])
			}
			for _, id := range []string{"findings", "statistics", "tunnels", "sas", "input"} {
				if !strings.Contains(html, `<section id="`+id+`"`) {
					t.Errorf("no %s section", id)
				}
			}
			want := 0
			for _, c := range f.ChildSAs {
				if c.Exchange != "IKE_AUTH" && c.Suite.PFSGroup == "" {
					want++
				}
			}
			table := 0
			for _, m := range regexp.MustCompile(`<span class="mono name">no_pfs</span> <span class="group-count">× (\d+)</span>`).FindAllStringSubmatch(html, -1) {
				n, _ := strconv.Atoi(m[1])
				table += n
			}
			under := strings.Count(html, `<span class="mono">no_pfs</span></a>`)
			if table != want || under != want {
				t.Errorf("no_pfs: %d in the findings table, %d under the tunnel; the facts have %d CHILD SAs of their own exchange without PFS", table, under, want)
			}
		})
	}
}

// TestReportAnomalyMarks: the faults a person looks for on a timeline. A
// capture written here, one frame a second: a keyed AES-CBC/HMAC-SHA2-256
// pair between 10.0.0.1 (this host) and 10.0.0.2, inbound SPI 0x100 and
// outbound 0x200, 5 packets each way (frames 0-9); then 0x100's number 6
// with one ICV bit flipped (frame 10: an integrity failure), a copy of
// 0x100's number 3 (frame 11: a replay, RFC 4303 §3.4.3), 3 packets to
// 10.0.0.1 on SPI 0xdead, which no key names (frames 12-14: Bad SPI under
// --complete-keys), and 0x100's number 7 (frame 15). The pair's lane
// carries one integrity-failure mark and one replay mark, at 03:04:15 and
// 03:04:16; the Bad SPI packets, on no SA, are drawn in the chart of
// anomalies on no tunnel, 3 packets in all.
func TestReportAnomalyMarks(t *testing.T) {
	me, peer := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	in := pb.Sealer{SPI: 0x100, Key: pb.Seq(0x10, 16), AuthKey: pb.Seq(0x40, 32)}
	out := pb.Sealer{SPI: 0x200, Key: pb.Seq(0x20, 16), AuthKey: pb.Seq(0x50, 32)}
	esp := func(s *pb.Sealer, src, dst [4]byte, seq uint64, f pb.Fault) pb.Frame {
		b := s.Seal(seq, pb.InnerICMP([4]byte{192, 168, 1, 1}, [4]byte{192, 168, 2, 1}, 40), 4, f)
		return pb.Frame{Data: pb.Cat(pb.IPv4(50, src, dst, len(b), 0), b)}
	}
	var frames []pb.Frame
	for seq := uint64(1); seq <= 5; seq++ {
		frames = append(frames, esp(&in, peer, me, seq, pb.NoFault), esp(&out, me, peer, seq, pb.NoFault))
	}
	frames = append(frames, esp(&in, peer, me, 6, pb.FlipICV), frames[4])
	for seq := uint32(1); seq <= 3; seq++ {
		frames = append(frames, pb.Frame{Data: pb.ESPPacket(peer, me, 0xdead, seq, 100)})
	}
	frames = append(frames, esp(&in, peer, me, 7, pb.NoFault))
	dir := t.TempDir()
	pcap, keyFile, page := filepath.Join(dir, "faults.pcap"), filepath.Join(dir, "keys.txt"), filepath.Join(dir, "report.html")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := pb.WritePcap(pcap, t0, frames); err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	for _, k := range []struct {
		s   *pb.Sealer
		dst string
	}{{&in, "10.0.0.1"}, {&out, "10.0.0.2"}} {
		fmt.Fprintf(&keys, "esp spi=0x%08x dst=%s enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x mode=tunnel\n", k.s.SPI, k.dst, k.s.Key, k.s.AuthKey)
	}
	if err := os.WriteFile(keyFile, []byte(keys.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCmd(t, "report", "-q", "-r", pcap, "-k", keyFile, "--me", "10.0.0.1", "--complete-keys", "--html", page); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	svg := func(class string) string {
		i := strings.Index(html, `<svg class="timeline `+class+`"`)
		if i < 0 {
			t.Fatalf("no %s timeline on the page", class)
		}
		return html[i : i+strings.Index(html[i:], "</svg>")]
	}
	tunnel := svg("tunnel")
	lane := tunnel[strings.Index(tunnel, ">00000100 / 00000200"):]
	if i := strings.Index(lane[1:], `<g class="lane`); i >= 0 {
		lane = lane[:i+1]
	}
	mark := regexp.MustCompile(`<g class="mark anomaly (\w+)"><title>[^:]*: (\d+) packet\(s\) up to (\d\d:\d\d:\d\d)`)
	var got []string
	for _, m := range mark.FindAllStringSubmatch(lane, -1) {
		got = append(got, m[1]+" "+m[2]+" "+m[3])
	}
	if want := []string{"authfail 1 03:04:15", "replay 1 03:04:16"}; !slices.Equal(got, want) {
		t.Errorf("marks on the pair's lane %q, want %q", got, want)
	}
	badSPI := 0
	for _, m := range mark.FindAllStringSubmatch(svg("other"), -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] != "badspi" {
			t.Errorf("%s mark among the anomalies on no tunnel", m[1])
		}
		badSPI += n
	}
	if badSPI != 3 {
		t.Errorf("%d Bad SPI packets marked on no tunnel, want 3", badSPI)
	}
	// The last packet (03:04:20) is in a one-second bin the axis draws
	// whole: about 1/16 of the plot's 820 units, not a sliver at the edge.
	last := regexp.MustCompile(`<rect class="hit" x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="[\d.]+"><title>received 03:04:20–03:04:21:`).FindStringSubmatch(html)
	if last == nil {
		t.Fatal("no throughput bin for the last packet")
	}
	if w, _ := strconv.ParseFloat(last[1], 64); w < 40 {
		t.Errorf("the last packet's bin is %g wide: cut by the axis' end", w)
	}
}

// TestReportEscapes: text from the wire lands on the page as text. An
// IKEv2 exchange (SK payloads in the clear under an ENCR_NULL key entry)
// whose identities are markup: the page shows them escaped, runs no
// script, and the SVG stays well-formed.
func TestReportEscapes(t *testing.T) {
	si, sr := pb.SPI8("a1a1a1a1a1a1a1a1"), pb.SPI8("b2b2b2b2b2b2b2b2")
	var zero ike.SPI
	const I, R = ike.FlagInitiator, ike.FlagResponse
	sel := []pb.Payload{{T: ike.PayloadTSi, B: pb.TSv4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: pb.TSv4("10.2.0.0", "10.2.255.255")}}
	frame := func(src, dst byte, msg []byte) pb.Frame {
		return pb.Frame{Data: pb.Cat(pb.IPv4(17, [4]byte{10, 0, 0, src}, [4]byte{10, 0, 0, dst}, 8+len(msg), 0), pb.UDP(500, 500, len(msg)), msg)}
	}
	evil := `<script>alert("x")</script>`
	frames := []pb.Frame{
		frame(1, 2, pb.V2Msg(si, zero, ike.ExchangeIKESAInit, I, 0, pb.SAv2(pb.IKEProposalV2(nil)), pb.KEv2(14), pb.NonceV2(pb.Seq(0xa0, 16)))),
		frame(2, 1, pb.V2Msg(si, sr, ike.ExchangeIKESAInit, R, 0, pb.SAv2(pb.IKEProposalV2(nil)), pb.KEv2(14), pb.NonceV2(pb.Seq(0xb0, 16)))),
		frame(1, 2, pb.V2SK(si, sr, ike.ExchangeIKEAuth, I, 1, append([]pb.Payload{pb.IDv2(ike.PayloadIDi, evil), pb.AuthV2(), pb.SAv2(pb.ESPProposalV2(0x11111111, 0))}, sel...)...)),
		frame(2, 1, pb.V2SK(si, sr, ike.ExchangeIKEAuth, R, 1, append([]pb.Payload{pb.IDv2(ike.PayloadIDr, "b&b"), pb.AuthV2(), pb.SAv2(pb.ESPProposalV2(0x22222222, 0))}, sel...)...)),
	}
	dir := t.TempDir()
	pcap, keyFile, page := filepath.Join(dir, "evil.pcap"), filepath.Join(dir, "keys.txt"), filepath.Join(dir, "report.html")
	if err := pb.WritePcap(pcap, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), frames); err != nil {
		t.Fatal(err)
	}
	key := "ikev2 spii=a1a1a1a1a1a1a1a1 spir=b2b2b2b2b2b2b2b2 enc=null sk-ei= sk-er= integ=none sk-ai= sk-ar= prf=hmac-sha2-256\n"
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCmd(t, "report", "-q", "-r", pcap, "-k", keyFile, "--html", page); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if strings.Contains(html, "<script") || !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "b&amp;b") {
		i := strings.Index(html, "Identities")
		t.Errorf("identities not escaped: %s", html[i:min(len(html), i+200)])
	}
}

// TestHTMLOnlyForReport: -o html is the report's format; other views refuse
// it as a usage error, and the report refuses the table formats.
func TestHTMLOnlyForReport(t *testing.T) {
	dir := bundledRekey(t)
	pcap := filepath.Join(dir, "capture.pcap")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"stats", "-q", "-r", pcap, "-o", "html"}, exitUsage},
		{[]string{"findings", "-q", "-r", pcap, "-o", "html"}, exitUsage},
		{[]string{"report", "-q", "-r", pcap, "-o", "json"}, exitUsage},
		{[]string{"report", "-q", "-r", pcap, "-o", "table"}, exitUsage},
		{[]string{"report", "-q", "-r", pcap, "-o", "csv"}, exitUsage},
		{[]string{"report", "-q", "-r", pcap, "-o", "html"}, exitOK},
	} {
		out, stderr, code := runCmd(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
		if code == exitOK && !strings.HasPrefix(out, "<!DOCTYPE html>") {
			t.Errorf("%v: stdout is not the page: %.40q", c.args, out)
		}
	}
}
