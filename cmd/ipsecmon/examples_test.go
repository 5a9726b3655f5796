package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/internal/testcorpus"
)

// TestExamplesWork keeps the README and the --help texts true: every
// `ipsecmon ...` example in a README code block and in each command's
// Examples section is run, with its placeholder files replaced by real ones
// (the lab's ikev2-rekey recording; for the Linux xfrm examples, the keyed
// fault capture with the `ip -s xfrm state` text worked out for it in
// check_test.go), and must exit 0. Live examples (-i) cannot run here: each
// of their flags must at least exist in the command's --help.
func TestExamplesWork(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(t, readme)
	if len(examples) < 8 {
		t.Fatalf("found %d examples in README.md code blocks; the parser has lost them", len(examples))
	}
	help, _, _ := runCmd(t, "--help")
	examples = append(examples, helpExamples("ipsecmon --help", help)...)
	for _, c := range commands {
		out, _, code := runCmd(t, c.name, "--help")
		if code != exitOK {
			t.Fatalf("%s --help: exit %d", c.name, code)
		}
		ex := helpExamples(c.name+" --help", out)
		if len(ex) == 0 {
			t.Errorf("%s --help shows no examples", c.name)
		}
		examples = append(examples, ex...)
	}

	fx := newExampleFixtures(t, root)
	ran, live := 0, 0
	for _, ex := range examples {
		for _, cmd := range ex.commands() {
			args := cmd.args
			if len(args) < 2 || args[0] != "ipsecmon" {
				t.Errorf("%s: %q is not an ipsecmon command", ex.where, ex.line)
				continue
			}
			if cmd.hasFlag("-i", "--interface") {
				live++
				checkFlagsExist(t, ex, args)
				continue
			}
			args = fx.substitute(t, ex, args)
			stdin := os.Stdin
			if cmd.stdin {
				f, err := os.Open(fx.files["capture"])
				if err != nil {
					t.Fatal(err)
				}
				os.Stdin = f
			}
			out, errOut, code := runCmd(t, args[1:]...)
			if cmd.stdin {
				os.Stdin.Close()
				os.Stdin = stdin
			}
			ran++
			if code != exitOK {
				t.Errorf("%s: %q exits %d, want 0 (ran %q)\n%s\n%s", ex.where, ex.line, code, args, lastLines(out, 8), lastLines(errOut, 5))
				continue
			}
			if strings.TrimSpace(out) == "" && !cmd.hasFlag("-w", "--write", "--out") {
				t.Errorf("%s: %q prints nothing", ex.where, ex.line)
			}
			if cmd.redirect != "" {
				fx.write(t, cmd.redirect, out)
			}
		}
	}
	t.Logf("ran %d examples, checked the flags of %d live ones", ran, live)
	if ran < 15 || live < 4 {
		t.Errorf("ran %d examples and checked %d live ones; expected at least 15 and 4", ran, live)
	}
}

type example struct {
	where, line string
}

type exampleCmd struct {
	args     []string
	stdin    bool   // fed by `tcpdump ... |`: reads the capture from standard input
	redirect string // `> FILE`: the output is kept for later examples
}

// commands splits an example line into its ipsecmon commands: `;`
// separates them, `| jq ...` after one is dropped, `tcpdump ... |` before
// one means standard input, `# ...` is a comment.
func (e example) commands() []exampleCmd {
	line := e.line
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	var out []exampleCmd
	for _, part := range strings.Split(line, ";") {
		var c exampleCmd
		if i := strings.Index(part, "|"); i >= 0 {
			if strings.HasPrefix(strings.TrimSpace(part), "ipsecmon") {
				part = part[:i]
			} else {
				part, c.stdin = part[i+1:], true
			}
		}
		if i := strings.Index(part, ">"); i >= 0 {
			c.redirect = strings.TrimSpace(part[i+1:])
			part = part[:i]
		}
		c.args = strings.Fields(part)
		if len(c.args) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func (c exampleCmd) hasFlag(names ...string) bool {
	for _, a := range c.args {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

// readmeExamples returns the lines of README code blocks that run ipsecmon.
func readmeExamples(t *testing.T, readme []byte) []example {
	var out []example
	in := false
	sc := bufio.NewScanner(bytes.NewReader(readme))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			in = !in
			continue
		}
		if in && strings.Contains(line, "ipsecmon ") && !strings.HasPrefix(line, "make ") {
			out = append(out, example{where: "README.md:" + strconv.Itoa(n), line: strings.TrimSpace(line)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// helpExamples returns the indented lines of a help text's Examples
// section.
func helpExamples(where, help string) []example {
	_, after, ok := strings.Cut(help, "\nExamples:\n")
	if !ok {
		return nil
	}
	var out []example
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		out = append(out, example{where: where, line: strings.TrimSpace(line)})
	}
	return out
}

var flagToken = regexp.MustCompile(`^(--[a-z][a-z0-9-]*|-[a-zA-Z])(=.*)?$`)

// checkFlagsExist: every flag of a live example is one the command's help
// lists (a value such as "--sort -bytes_in"'s is not a flag token).
func checkFlagsExist(t *testing.T, ex example, args []string) {
	t.Helper()
	help, _, _ := runCmd(t, args[1], "--help")
	flags, _, _ := strings.Cut(help, "\nExamples:\n")
	for _, a := range args[2:] {
		m := flagToken.FindStringSubmatch(a)
		if m == nil {
			continue
		}
		name := m[1]
		re := regexp.MustCompile(`(^|[\s,])` + regexp.QuoteMeta(name) + `([\s,=]|$)`)
		if !re.MatchString(flags) {
			t.Errorf("%s: %q uses %s, which `ipsecmon %s --help` does not list", ex.where, ex.line, name, args[1])
		}
	}
}

// exampleFixtures maps the examples' placeholder names to real files.
type exampleFixtures struct {
	dir   string
	files map[string]string // placeholder → path (or comma list)
	xfrm  map[string]string // the same for examples about Linux xfrm
	addrs map[string]string // placeholder "this computer" address → the fixture's
	xaddr map[string]string
}

func newExampleFixtures(t *testing.T, root string) *exampleFixtures {
	lab := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-rekey")
	if _, err := os.Stat(filepath.Join(lab, "capture.pcap")); err != nil {
		t.Skipf("no lab recording: %v", err)
	}
	l := func(name string) string { return filepath.Join(lab, name) }
	dir := t.TempDir()
	fx := &exampleFixtures{dir: dir}
	capture := l("capture.pcap")
	ng := filepath.Join(dir, "capture.pcapng")
	pcapToPcapng(t, capture, ng)
	gzPcap := gzipFile(t, capture, filepath.Join(dir, "capture.pcap.gz"))
	gzNg := gzipFile(t, ng, filepath.Join(dir, "capture.pcapng.gz"))
	keys := filepath.Join(dir, "keys.txt")
	copyFile(t, l("keys.txt"), keys, 0o600)
	ike := filepath.Join(dir, "ikev2_decryption_table")
	copyFile(t, l("ikev2_decryption_table"), ike, 0o600)
	espSA := filepath.Join(dir, "esp_sa")
	copyFile(t, l("esp_sa"), espSA, 0o600)
	bobConf := filepath.Join(root, "testdata", "lab", "scenarios", "ikev2-rekey", "bob.conf")
	// The lab's capture runs on past the "after" listing, through the
	// teardown: check finds the moment the listing was taken.
	after := l("bob-list-sas-after-raw.txt")
	before := l("bob-list-sas-before-raw.txt")
	fx.files = map[string]string{
		"capture":                capture,
		"gateway.pcap":           capture,
		"gw.pcap":                capture,
		"sample.pcap":            capture,
		"a.pcap":                 capture,
		"a.pcapng":               ng,
		"b.pcap.gz":              gzPcap,
		"b.pcapng.gz":            gzNg,
		"gw.pcapng.gz":           gzNg,
		"keys.txt":               keys,
		"ikev2_decryption_table": ike,
		"esp_sa":                 espSA,
		// Files the examples write (decrypt -w, keys --out).
		"plain.pcapng":              filepath.Join(dir, "plain.pcapng"),
		"icmp.pcapng":               filepath.Join(dir, "icmp.pcapng"),
		"esp_sa.txt":                filepath.Join(dir, "esp_sa.txt"),
		"secrets.txt":               filepath.Join(dir, "secrets.txt"),
		"ikev2.txt":                 filepath.Join(dir, "ikev2.txt"),
		"after.txt":                 after,
		"after-list-sas.txt":        after,
		"before.txt":                before,
		"before-list-sas.txt":       before,
		"swanctl.conf":              bobConf,
		"/etc/swanctl/swanctl.conf": bobConf,
		"policy.txt":                filepath.Join(root, "policy", "testdata", "native", "server.policy"),
	}
	// check's --host-at example names a moment of the recording it was
	// written on: 5 ms before child-3 ended with the teardown, after bob's
	// "after" listing. The lab is re-recorded, so take that moment from
	// the facts of the recording at hand.
	for _, c := range readFacts(t, lab).ChildSAs {
		if c.ID == "child-3" && c.Deleted != nil {
			fx.files["2026-11-27T03:27:46.05Z"] = c.Deleted.Time.Add(-5 * time.Millisecond).Format(time.RFC3339Nano)
		}
	}
	fx.addrs = map[string]string{"192.0.2.1": "198.51.100.2"} // bob
	fx.xfrm = map[string]string{
		"gw.pcap":              keyedFaultCapture(t),
		"xfrm-state.txt":       writeKeys(t, "xfrm-state.txt", xfrmKeys()),
		"xfrm-state-after.txt": writeKeys(t, "xfrm-state-after.txt", hostXfrm(4, true, "")),
		"xfrm_stat.txt":        writeKeys(t, "xfrm_stat.txt", hostXfrmStat),
	}
	fx.xaddr = map[string]string{"192.0.2.1": "10.0.0.1"}
	// Outputs the examples compare against with --expect, made the way the
	// README's regression-test example makes them.
	for _, name := range []string{"sample-stats.json"} {
		out, errOut, code := runCmd(t, "stats", "-q", "-r", capture, "-o", "json")
		if code != exitOK {
			t.Fatalf("stats: exit %d: %s", code, errOut)
		}
		fx.write(t, name, out)
	}
	return fx
}

var placeholderFile = regexp.MustCompile(`\.(pcap|pcapng|gz|txt|json|jsonl|conf|policy)$|_table$`)

// substitute replaces placeholders in args; a file name it does not know
// fails the test, so that a new example cannot slip past unrun.
func (fx *exampleFixtures) substitute(t *testing.T, ex example, args []string) []string {
	t.Helper()
	files, addrs := fx.files, fx.addrs
	for _, a := range args {
		if strings.Contains(a, "xfrm") {
			files, addrs = fx.xfrm, fx.xaddr
		}
	}
	one := func(a string) string {
		if p, ok := files[a]; ok {
			return p
		}
		if p, ok := addrs[a]; ok {
			return p
		}
		if strings.HasSuffix(a, ".html") {
			return filepath.Join(fx.dir, a) // an output (report --html): written in the test's directory
		}
		if placeholderFile.MatchString(a) {
			p := filepath.Join(fx.dir, a)
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s: %q names %s, which this test has no fixture for", ex.where, ex.line, a)
			}
			return p
		}
		return a
	}
	out := make([]string, len(args))
	for i, a := range args {
		if i > 0 && args[i-1] == "--format" { // keys --format esp_sa names a format, not the file
			out[i] = a
			continue
		}
		parts := strings.Split(a, ",") // FILE,FILE for one host
		for j := range parts {
			parts[j] = one(parts[j])
		}
		out[i] = strings.Join(parts, ",")
	}
	// A progress bar on a test's stderr helps nobody.
	return append(out[:2:2], append([]string{"-q"}, out[2:]...)...)
}

func (fx *exampleFixtures) write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.dir, filepath.Base(name)), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pcapToPcapng(t *testing.T, in, out string) {
	t.Helper()
	r := openPcap(t, in)
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w, err := pcapgo.NewNgWriter(o, layers.LinkType(r.LinkType()))
	if err != nil {
		t.Fatal(err)
	}
	eachPcapFrame(t, r, func(ci gopacket.CaptureInfo, data []byte) {
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func gzipFile(t *testing.T, in, out string) string {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func copyFile(t *testing.T, in, out string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, mode); err != nil {
		t.Fatal(err)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
