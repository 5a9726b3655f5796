package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/crosscheck"
	"ipsecmon/filters"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/policy"
)

// How each view shows what the input cannot tell: '-' (or the view's own
// word) in tables, an empty cell in CSV, null in JSON: the same in every
// view. Inputs are built by hand; every expected cell is worked
// out from the view's rules.

var (
	meAddr   = netip.MustParseAddr("192.0.2.1")
	peerAddr = netip.MustParseAddr("192.0.2.2")
)

func render(t *testing.T, f Format, write func(*bytes.Buffer, Format) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var cellGap = regexp.MustCompile(`\s{2,}`)

// tableRows splits an aligned table's lines below the rule into cells.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 || strings.Trim(lines[1], "- ") != "" {
		t.Fatalf("not a table:\n%s", out)
	}
	var rows [][]string
	for _, l := range lines[2:] {
		if l == "" {
			break // what follows the table
		}
		rows = append(rows, cellGap.Split(strings.TrimSpace(l), -1))
	}
	return rows
}

// csvRows reads CSV output, header first.
func csvRows(t *testing.T, out string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%v in CSV:\n%s", err, out)
	}
	return rows
}

func wantCells(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("%s:\n  got  %q\n  want %q", what, got, want)
	}
}

// An inbound SA seen without keys or IKE: its mode, algorithms, ports and
// keyed figures are unknown; no outbound half.
func loneRun() Run {
	in := &analyzer.SA{Key: analyzer.SAKey{Dst: meAddr, SPI: 0x100, Proto: ipproto.ESP}, Src: peerAddr,
		Mode: analyzer.ModeUnknown, Accepted: 10, Bytes: 1000}
	return Run{Snap: &analyzer.Snapshot{Rows: []*analyzer.QuickModeSA{{In: in, MyAddr: meAddr, PeerAddr: peerAddr}}}}
}

func TestSAViewUnknowns(t *testing.T) {
	r := loneRun()
	write := func(cols []string) func(*bytes.Buffer, Format) error {
		return func(b *bytes.Buffer, f Format) error {
			c, err := SAColumns.Select(cols, false)
			if err != nil {
				return err
			}
			return SAs{Columns: c}.Write(b, r, f)
		}
	}
	// The IP Security Monitor's columns: addresses from the packets, AH
	// None (an ESP SA), everything else unknown.
	rows := tableRows(t, render(t, Table, write(nil)))
	wantCells(t, "default columns", rows[0], "192.0.2.1", "192.0.2.2", "-", "-", "-", "-", "None", "-", "-", "-", "-")

	cols := []string{"me,protocol,spi_in,spi_out,packets_in,packets_out,bytes_in,plaintext_bytes_in,first_seen,state,ike_sa"}
	// 1000 bytes: 1.0 kB in tables; keyed figures unknown without keys;
	// the missing outbound half's figures unknown, not 0.
	rows = tableRows(t, render(t, Table, write(cols)))
	wantCells(t, "table", rows[0], "192.0.2.1", "-", "0x00000100", "-", "10", "-", "1.0 kB", "-", "-", "active", "-")
	if got, want := render(t, CSV, write(cols)), "me,protocol,spi_in,spi_out,packets_in,packets_out,bytes_in,plaintext_bytes_in,first_seen,state,ike_sa\n"+
		"192.0.2.1,,0x00000100,,10,,1000,,,active,\n"; got != want {
		t.Errorf("CSV\n%s\nwant\n%s", got, want)
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, write(cols))), &js); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"protocol": nil, "spi_out": nil, "packets_in": 10.0, "packets_out": nil, "bytes_in": 1000.0, "plaintext_bytes_in": nil, "first_seen": nil, "ike_sa": nil} {
		if got, ok := js[0][k]; !ok || got != v {
			t.Errorf("JSON %s = %v, want %v", k, got, v)
		}
	}
}

func TestStatsViewUnknowns(t *testing.T) {
	r := Run{Snap: &analyzer.Snapshot{}}
	r.Snap.Stats[analyzer.ActiveSAs] = analyzer.Figure{Value: 2, Known: true}
	r.Snap.Stats[analyzer.BadSPIPackets] = analyzer.Figure{Why: analyzer.WhyBadSPINeedsSAList}
	r.Snap.Stats[analyzer.ConfidentialSent] = analyzer.Figure{Value: 1234567, Known: true, Why: analyzer.WhyTransit, N: 100, M: 1}
	write := func(b *bytes.Buffer, f Format) error { return WriteStats(b, r, f) }

	out := render(t, Table, write)
	byName := map[string][]string{}
	for _, row := range tableRows(t, out) {
		byName[row[0]] = row
	}
	wantCells(t, "known", byName["Active Security Associations"], "Active Security Associations", "2")
	wantCells(t, "unknown", byName["Bad SPI Packets"], "Bad SPI Packets", "n/a")
	wantCells(t, "unknown without a reason", byName["Rekeys"], "Rekeys", "n/a")
	// A partial byte figure: rounded, exact, marked, and explained below.
	wantCells(t, "partial", byName["Confidential Bytes Sent"], "Confidential Bytes Sent", "1.2 MB (1,234,567 B) *")
	// Each note under the table names its statistics (the notes' wording
	// is NoteText's).
	for _, note := range []string{
		"\nn/a: the input cannot tell; *: partial figure.\n",
		"\n  Bad SPI Packets: " + NoteText(analyzer.BadSPIPackets, r.Snap.Stats[analyzer.BadSPIPackets]) + "\n",
		"\n  Confidential Bytes Sent: " + NoteText(analyzer.ConfidentialSent, r.Snap.Stats[analyzer.ConfidentialSent]) + "\n",
	} {
		if !strings.Contains(out, note) {
			t.Errorf("table lacks %q:\n%s", note, out)
		}
	}

	csv := render(t, CSV, write)
	for _, line := range []string{"statistic,key,value\n", "\nActive Security Associations,active_security_associations,2\n",
		"\nBad SPI Packets,bad_spi_packets,\n", "\nConfidential Bytes Sent,confidential_bytes_sent,1234567\n"} {
		if !strings.Contains(csv, line) {
			t.Errorf("CSV lacks %q:\n%s", line, csv)
		}
	}
	var js map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, write)), &js); err != nil {
		t.Fatal(err)
	}
	if js["bad_spi_packets"] != nil || js["active_security_associations"] != 2.0 || js["confidential_bytes_sent"] != 1234567.0 {
		t.Errorf("JSON figures: %v %v %v", js["bad_spi_packets"], js["active_security_associations"], js["confidential_bytes_sent"])
	}
}

// An IKE SA whose first message was not captured and whose encrypted
// details are unknown.
func TestMMSAViewUnknowns(t *testing.T) {
	s := ikestate.IKESA{IKESARef: ikestate.IKESARef{ID: 7, Version: 2, ISPI: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}},
		Initiator: netip.AddrPortFrom(peerAddr, 500), Responder: netip.AddrPortFrom(meAddr, 500),
		Exchange: "IKE_SA_INIT", State: ikestate.IKESAEstablished, Inferred: true}
	r := Run{Snap: &analyzer.Snapshot{IKESAs: []ikestate.IKESA{s}}}
	write := func(b *bytes.Buffer, f Format) error { return MMSAs{}.Write(b, r, f) }
	want := []string{"7", "IKEv2", "IKE_SA_INIT", "192.0.2.2:500 (?)", "192.0.2.1:500", "0102030405060708", "0000000000000000",
		"-", "-", "-", "-", "-", "-", "false", "0", "established (inferred)", "-", "-"}
	wantCells(t, "table", tableRows(t, render(t, Table, write))[0], want...)
	// CSV as every view writes it: unknown cells empty.
	csvWant := []string{"7", "IKEv2", "IKE_SA_INIT", "192.0.2.2:500 (?)", "192.0.2.1:500", "0102030405060708", "0000000000000000",
		"", "", "", "", "", "", "false", "0", "established (inferred)", "", ""}
	wantCells(t, "CSV", csvRows(t, render(t, CSV, write))[1], csvWant...)
	// JSON: every column, the version as the other formats write it,
	// unknown details null, flags as booleans.
	var js []map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, write)), &js); err != nil || len(js) != 1 {
		t.Fatalf("JSON: %v", err)
	}
	if g := js[0]; g["version"] != "IKEv2" || g["encryption"] != nil || g["state"] != "established (inferred)" || g["inferred"] != true || g["nat_t"] != false || g["id"] != 7.0 {
		t.Errorf("JSON: %v", g)
	}
	empty := Run{Snap: &analyzer.Snapshot{}}
	for f, want := range map[Format]string{Table: "No IKE SA in the input.\n", JSON: "[]\n"} {
		if got := render(t, f, func(b *bytes.Buffer, f Format) error { return MMSAs{}.Write(b, empty, f) }); got != want {
			t.Errorf("no IKE SA, %s: %q, want %q", f, got, want)
		}
	}
}

// A phase 2 policy whose one offer names a protocol and nothing else; one
// of two configured offers negotiated, plus a suite negotiated that the
// policy does not offer.
func TestPoliciesViewUnknowns(t *testing.T) {
	pol := ikestate.Policy{Offered: []ikestate.Method{{Protocol: "ESP"}}, Peers: []netip.AddrPort{netip.AddrPortFrom(peerAddr, 500), netip.AddrPortFrom(peerAddr, 4500)}}
	r := Run{Snap: &analyzer.Snapshot{Policies: []ikestate.Policy{pol}}}
	write := func(b *bytes.Buffer, f Format) error { return Policies{}.Write(b, r, f) }
	// Unknown and nothing chosen (Chosen is empty): empty cells; the peer once.
	want := []string{"policy 1", "1", "ESP", "", "", "", "", "", "", "0", "192.0.2.2"}
	wantCells(t, "CSV", csvRows(t, render(t, CSV, write))[1], want...)

	r.Snap.Policy = &analyzer.PolicyFindings{Configured: []analyzer.ConfiguredPolicy{
		{Name: "net", Offers: []string{"aes128-sha256", "aes256-sha384"}, PerOffer: []int{0, 2}, NotOffered: []string{"3des-md5"}}}}
	conf := csvRows(t, render(t, CSV, write))
	if len(conf) != 4 || conf[0][0] != "negotiation_policy" {
		t.Fatalf("with --policy the CSV is the configured policies alone: %q", conf)
	}
	wantCells(t, "offer not negotiated", conf[1], "net", "1", "aes128-sha256", "")
	wantCells(t, "offer negotiated", conf[2], "net", "2", "aes256-sha384", "yes: 2 SA pair(s)")
	wantCells(t, "not offered", conf[3], "net", "", "3des-md5", "negotiated, NOT offered")
	out := render(t, Table, write)
	if !strings.Contains(out, "\nPhase 2 offers seen in the capture:\n") {
		t.Errorf("table with --policy lacks the offers seen:\n%s", out)
	}
}

func TestFilterViewsUnknowns(t *testing.T) {
	anyAddr := policy.Addr{Kind: policy.AddrAny}
	set := &policy.Set{Filters: []policy.GenericFilter{{Name: "f", Src: anyAddr, Dst: anyAddr, Inbound: policy.ActionPermit, Outbound: policy.ActionPermit, Origin: "p:3"}}}
	gen := func(b *bytes.Buffer, f Format) error { return WriteGenericFilters(b, set, f) }
	// Transport (tunnel endpoints None), any protocol, no negotiation policy ('-').
	row := tableRows(t, render(t, Table, gen))[0]
	if len(row) != 12 || row[5] != "None" || row[6] != "None" || row[7] != "Any" || row[10] != "-" {
		t.Errorf("generic filter row %q", row)
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, gen)), &js); err != nil {
		t.Fatal(err)
	}
	if v, ok := js[0]["negotiation_policy"]; !ok || v != nil || js[0]["origin"] != "p:3" || js[0]["protocol"] != "Any" {
		t.Errorf("generic filter JSON %v", js[0])
	}
	spec := []filters.SpecificFilter{{Name: "f", Src: anyAddr, Dst: anyAddr, Weight: 42}}
	for _, tc := range []struct {
		hits     bool
		wantCols int
	}{{false, 13}, {true, 14}} {
		out := csvRows(t, render(t, CSV, func(b *bytes.Buffer, f Format) error { return WriteSpecificFilters(b, spec, nil, tc.hits, f) }))
		cells := out[1]
		if len(cells) != tc.wantCols || cells[12] != "42" || (tc.hits && cells[13] != "0") {
			t.Errorf("specific filter CSV (hits %v): %q", tc.hits, out)
		}
	}
	if got := render(t, JSON, func(b *bytes.Buffer, f Format) error { return WriteSpecificFilters(b, nil, nil, false, f) }); got != "[]\n" {
		t.Errorf("no filters as JSON: %q", got)
	}
}

func TestCheckViewUnknowns(t *testing.T) {
	v := func(n uint64) *uint64 { return &n }
	d := int64(-2)
	rows := []crosscheck.Row{
		{Host: "h", SA: "esp 0x00000100 in", Figure: "packets", Analyzer: v(10), HostVal: v(12), Diff: &d, Verdict: crosscheck.Differs},
		{Host: "h", Figure: "bad_spi_packets", HostVal: v(4), Verdict: crosscheck.NotComparable, Reason: "why"},
	}
	write := func(b *bytes.Buffer, f Format) error { return WriteCheck(b, rows, f) }
	out := render(t, Table, write)
	got := tableRows(t, out)
	wantCells(t, "compared", got[0], "h", "esp 0x00000100 in", "packets", "10", "12", "-2", "differs")
	// No SA (host-wide): an empty cell; unknown figure '-'; no difference: empty.
	wantCells(t, "not comparable", got[1], "h", "bad_spi_packets", "-", "4", "not comparable", "why")
	if !strings.HasSuffix(out, "\n0 agree, 1 differ, 1 not comparable\n") {
		t.Errorf("table summary:\n%s", out)
	}
	if got, want := render(t, CSV, write), "host,sa,figure,ipsecmon,host_value,difference,verdict,reason\n"+
		"h,esp 0x00000100 in,packets,10,12,-2,differs,\n"+
		"h,,bad_spi_packets,,4,,not comparable,why\n"; got != want {
		t.Errorf("CSV\n%s\nwant\n%s", got, want)
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, write)), &js); err != nil {
		t.Fatal(err)
	}
	if js[1]["analyzer"] != nil || js[1]["difference"] != nil || js[1]["host_value"] != 4.0 {
		t.Errorf("JSON %v", js[1])
	}
}
