package report

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/event"
	"ipsecmon/findings"
	"ipsecmon/ikestate"
	"ipsecmon/report/chart"
	"ipsecmon/timeline"
)

// The report's bounds: what a page drawn for a gateway with thousands of
// tunnels may hold and still open in a browser. What they leave out is
// said on the page.
const (
	// MaxReportTunnels: tunnels drawn with a timeline and a throughput
	// chart, the busiest first; the others are listed in a table.
	MaxReportTunnels = 50
	// MaxReportSARows: rows of the SA table, the busiest first.
	MaxReportSARows = 1000
	// maxPairLanes: SA pairs of a tunnel drawn on a lane each; a tunnel
	// with more (a long capture of many rekeys) has them share lanes.
	maxPairLanes = 12
)

//go:embed html.tmpl
var htmlTemplate string

//go:embed html.css
var htmlCSS string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(htmlCSS) },
}).Parse(htmlTemplate))

// Page is the report a person looks at: one self-contained page (inline
// CSS, inline SVG charts drawn by package chart, no script and nothing
// fetched) with the statistics, the findings, a timeline and a throughput
// chart per tunnel, and the SA table.
type Page struct {
	Findings  []findings.Finding
	Timeline  *timeline.Timeline // nil: no marks of anomalies, no throughput
	Generator string             // "ipsecmon VERSION"
}

// page is what the template renders.
type page struct {
	Title, Generator string
	Inputs           []string
	Span, Me         string
	Summary          []keyValue
	Severities       []sevCount
	Stats            []statCard
	Findings         []findingRow
	FindingGroups    []findingGroup
	Tunnels          []tunnelView
	MoreTunnels      []moreTunnel
	Other            template.HTML // anomalies on no tunnel's SA
	SAHeader         []string
	SARight          []bool
	SARows           [][]string
	SAOmitted        int
	Limits           []bounds.Limit
	Footer           string
}

type keyValue struct{ Key, Value string }

type sevCount struct {
	Name string
	N    int
}

type statCard struct {
	Name, Value, Note string
	Unknown, Partial  bool
}

type findingRow struct {
	Severity, Name, Where, SPIs, When, Detail, Anchor string
}

// findingGroup is the findings of one name and severity: a section a
// person can open (a <details> element: no script needed).
type findingGroup struct {
	Severity, Name, Affected string
	Open                     bool
	Rows                     []findingRow
}

// openGroup: groups of at most this many findings are shown open.
const openGroup = 4

type tunnelView struct {
	ID, Title, State string
	Meta             []keyValue
	Timeline         template.HTML
	Throughput       template.HTML
	Findings         []findingRow
	MoreFindings     int // not listed under the tunnel (all are in the findings section)
}

// maxTunnelFindings: findings listed under a tunnel's charts.
const maxTunnelFindings = 12

type moreTunnel struct {
	Title, Packets, Bytes, State string
}

// Write renders the report.
func (h Page) Write(w io.Writer, r Run) error {
	s := r.Snap
	p := page{Title: "IPsec report", Generator: h.Generator}
	if r.Input != nil {
		for _, f := range r.Input.Files {
			p.Inputs = append(p.Inputs, f.Name)
		}
	}
	for _, c := range r.Capture {
		p.Inputs = append(p.Inputs, "live: "+c.Interface)
	}
	if !s.First.IsZero() {
		p.Span = fmt.Sprintf("%s – %s UTC (%s)", s.First.UTC().Format("2006-01-02 15:04:05"), s.Last.UTC().Format("15:04:05"), s.Last.Sub(s.First).Round(time.Millisecond))
	}
	p.Me = strings.TrimSuffix(meLine(s), "\n")
	c := s.Counts
	p.Summary = []keyValue{
		{"Tunnels", humanize.Comma(int64(len(s.Tunnels)))},
		{"Quick Mode SAs", humanize.Comma(int64(len(s.Rows)))},
		{"IKE SAs", humanize.Comma(int64(len(s.IKESAs)))},
		{"ESP/AH packets", humanize.Comma(int64(c.IPsecPackets))},
		{"IKE messages", humanize.Comma(int64(c.IKEv1Messages + c.IKEv2Messages))},
	}
	p.Severities = severityCounts(h.Findings)
	p.Stats = statCards(s)
	rows := make([]findingRow, len(h.Findings))
	for i := range h.Findings {
		rows[i] = findingRowOf(&h.Findings[i], i)
	}
	p.Findings = rows
	p.FindingGroups = groupFindings(h.Findings, rows)
	p.Tunnels, p.MoreTunnels, p.Other = h.tunnels(s, rows)
	p.SAHeader, p.SARight, p.SARows, p.SAOmitted = saTable(s)
	p.Limits = bounds.Hit(Limits(r))
	if h.Timeline != nil {
		p.Limits = append(p.Limits, bounds.Hit(h.Timeline.Limits)...)
	}
	p.Footer = InputSummary(r)
	// Rendered whole before anything is written: a failure leaves no
	// half page that a browser would show as if it were the report.
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func severityCounts(fs []findings.Finding) []sevCount {
	n := map[findings.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var out []sevCount
	for sev := findings.Critical; ; sev-- {
		out = append(out, sevCount{sev.String(), n[sev]})
		if sev == findings.Info {
			return out
		}
	}
}

func statCards(s *analyzer.Snapshot) []statCard {
	var out []statCard
	for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
		f := s.Stats[i]
		c := statCard{Name: StatNames[i].Display, Note: NoteText(i, f)}
		switch {
		case !f.Known:
			c.Value, c.Unknown = "n/a", true
		case isByteStat(i):
			c.Value = humanize.Bytes(f.Value)
			if f.Value < 1000 {
				c.Value = fmt.Sprintf("%d B", f.Value)
			}
		default:
			c.Value = humanize.Comma(int64(f.Value))
		}
		c.Partial = f.Known && f.Why != analyzer.WhyNone
		out = append(out, c)
	}
	return out
}

// groupFindings groups the findings by name and severity, in the order of
// their first (the most severe first).
func groupFindings(fs []findings.Finding, rows []findingRow) []findingGroup {
	type key struct {
		k   findings.Kind
		sev findings.Severity
	}
	var order []key
	groups := map[key]*findingGroup{}
	counts := map[key]*[3]int{} // SA pairs, IKE SAs, others
	for i := range fs {
		f := &fs[i]
		k := key{f.Kind, f.Severity}
		g := groups[k]
		if g == nil {
			g = &findingGroup{Severity: f.Severity.String(), Name: f.Kind.String()}
			groups[k], counts[k] = g, &[3]int{}
			order = append(order, k)
		}
		g.Rows = append(g.Rows, rows[i])
		switch {
		case f.HasIn || f.HasOut:
			counts[k][0]++
		case f.IKESA != nil:
			counts[k][1]++
		default:
			counts[k][2]++
		}
	}
	var out []findingGroup
	for _, k := range order {
		g := groups[k]
		var parts []string
		for i, what := range []string{"SA pair", "IKE SA", "other"} {
			if n := counts[k][i]; n > 0 {
				if n > 1 && i < 2 {
					what += "s"
				}
				parts = append(parts, fmt.Sprintf("%d %s", n, what))
			}
		}
		g.Affected = strings.Join(parts, ", ")
		g.Open = len(g.Rows) <= openGroup
		out = append(out, *g)
	}
	return out
}

func findingRowOf(f *findings.Finding, i int) findingRow {
	r := findingRow{Severity: f.Severity.String(), Name: f.Kind.String(), Detail: f.Detail, Anchor: fmt.Sprintf("f%d", i+1)}
	switch {
	case f.Local.IsValid() && f.Remote.IsValid():
		r.Where = f.Local.String() + " ↔ " + f.Remote.String()
	case f.Local.IsValid():
		r.Where = f.Local.String()
	}
	if f.HasIn || f.HasOut {
		in, out := "–", "–"
		if f.HasIn {
			in = fmt.Sprintf("0x%08x", f.SPIIn)
		}
		if f.HasOut {
			out = fmt.Sprintf("0x%08x", f.SPIOut)
		}
		r.SPIs = "in " + in + " · out " + out
	} else if t := f.IKESAText(); t != "" {
		r.SPIs = "IKE " + t
	}
	if !f.Time.IsZero() {
		r.When = f.Time.UTC().Format("15:04:05.000")
		if !f.Until.IsZero() && f.Until.Sub(f.Time) >= time.Millisecond {
			r.When += " – " + f.Until.UTC().Format("15:04:05.000")
		}
	}
	return r
}

// tunnelOf says which tunnel a finding is about: one of its SPIs, or its
// endpoints (an IKE SA's findings go to every tunnel between its peers).
func findingTunnels(f *findings.Finding, ts []*analyzer.Tunnel, spiOf map[uint32]int) []int {
	if f.HasIn {
		if i, ok := spiOf[f.SPIIn]; ok {
			return []int{i}
		}
	}
	if f.HasOut {
		if i, ok := spiOf[f.SPIOut]; ok {
			return []int{i}
		}
	}
	if f.HasIn || f.HasOut {
		return nil
	}
	var out []int
	for i, t := range ts {
		if f.Local == t.Local && f.Remote == t.Remote || f.Local == t.Remote && f.Remote == t.Local {
			out = append(out, i)
		}
	}
	return out
}

// tunnelBytes orders tunnels by their traffic, the busiest first.
func tunnelBytes(t *analyzer.Tunnel) uint64 { return t.In.Bytes + t.Out.Bytes }

func (h Page) tunnels(s *analyzer.Snapshot, rows []findingRow) ([]tunnelView, []moreTunnel, template.HTML) {
	ts := slices.Clone(s.Tunnels)
	slices.SortStableFunc(ts, func(x, y *analyzer.Tunnel) int { return cmp.Compare(tunnelBytes(y), tunnelBytes(x)) })
	var more []moreTunnel
	if len(ts) > MaxReportTunnels {
		for _, t := range ts[MaxReportTunnels:] {
			more = append(more, moreTunnel{Title: tunnelTitle(t), Packets: humanize.Comma(int64(t.In.Packets + t.Out.Packets)), Bytes: humanize.Bytes(tunnelBytes(t)), State: t.State})
		}
		ts = ts[:MaxReportTunnels]
	}
	// Drawn in time order, as a person reads a capture.
	slices.SortStableFunc(ts, func(x, y *analyzer.Tunnel) int { return x.First.Compare(y.First) })
	spiOf := map[uint32]int{}
	keyOf := map[analyzer.SAKey]int{}
	for i, t := range ts {
		for _, q := range t.Rows {
			for _, sa := range q.SAs() {
				spiOf[sa.Key.SPI] = i
				keyOf[sa.Key] = i
			}
		}
	}
	tunnelFindings := make([][]int, len(ts))
	for i := range h.Findings {
		for _, ti := range findingTunnels(&h.Findings[i], ts, spiOf) {
			tunnelFindings[ti] = append(tunnelFindings[ti], i)
		}
	}
	axis := chart.Axis{Start: s.First, End: s.Last}
	if h.Timeline != nil {
		// The throughput's last bin runs past the last packet: the axis
		// takes it whole, or a packet in it is drawn as a sliver on the
		// right edge.
		bins := 0
		for _, x := range h.Timeline.Series {
			bins = max(bins, len(x.Bytes))
		}
		if end := h.Timeline.Start.Add(time.Duration(bins) * h.Timeline.Width); bins > 0 && end.After(axis.End) {
			axis.End = end
		}
	}
	if !axis.End.After(axis.Start) {
		axis.End = axis.Start.Add(time.Second)
	}
	var out []tunnelView
	for i, t := range ts {
		v := tunnelView{ID: fmt.Sprintf("tunnel-%d", i+1), Title: tunnelTitle(t), State: t.State}
		v.Meta = tunnelMeta(t)
		for _, fi := range tunnelFindings[i] {
			if len(v.Findings) == maxTunnelFindings {
				v.MoreFindings++
				continue
			}
			v.Findings = append(v.Findings, rows[fi])
		}
		tl := h.tunnelTimeline(s, t, axis, tunnelFindings[i])
		v.Timeline = template.HTML(tl.SVG())
		if a := h.throughput(t, axis); a != nil {
			v.Throughput = template.HTML(a.SVG())
		}
		out = append(out, v)
	}
	return out, more, h.otherAnomalies(keyOf, axis)
}

func tunnelTitle(t *analyzer.Tunnel) string {
	title := t.Local.String() + " ↔ " + t.Remote.String()
	if l, r := selectorText(t.LocalTS), selectorText(t.RemoteTS); l != "" || r != "" {
		title += " (" + l + " ↔ " + r + ")"
	}
	return title
}

func tunnelMeta(t *analyzer.Tunnel) []keyValue {
	dir := func(d analyzer.TunnelTraffic) string {
		s := fmt.Sprintf("%s packets, %s", humanize.Comma(int64(d.Packets)), humanize.Bytes(d.Bytes))
		if d.Lost+d.Reordered+d.Duplicates+d.Late > 0 {
			s += fmt.Sprintf(" · lost %d, reordered %d, duplicates %d, late %d", d.Lost, d.Reordered, d.Duplicates, d.Late)
		}
		return s
	}
	m := []keyValue{
		{"State", t.State},
		{"CHILD SAs", fmt.Sprintf("%d (%d rekeys)", t.ChildSAs, t.Rekeys)},
		{"Received", dir(t.In)},
		{"Sent", dir(t.Out)},
	}
	if t.LocalID != "" || t.RemoteID != "" {
		m = append(m, keyValue{"Identities", t.LocalID + " ↔ " + t.RemoteID})
	}
	if t.Inferred {
		m = append(m, keyValue{"Lineage", "inferred from the traffic (no IKE negotiation in the capture names it)"})
	}
	return m
}

// anomalyClass is each anomaly kind's CSS class and name.
var anomalyClass = map[event.Kind][2]string{
	event.BadSPI:                {"badspi", "Bad SPI"},
	event.Replay:                {"replay", "replay"},
	event.AuthenticationFailure: {"authfail", "authentication failure"},
	event.DecryptionFailure:     {"decryptfail", "decryption failure"},
	event.PolicyViolation:       {"violation", "policy violation"},
}

func anomalyMark(a timeline.Anomaly) chart.Mark {
	c := anomalyClass[a.Kind]
	title := fmt.Sprintf("%s: %s packet(s) up to %s", c[1], humanize.Comma(int64(a.Count)), a.Time.UTC().Format("15:04:05.000"))
	if a.Detail != "" {
		title += " — " + a.Detail
	}
	return chart.Mark{At: a.Time, Shape: chart.Tick, Class: "anomaly " + c[0], Title: title, Size: float64(a.Count)}
}

// tunnelTimeline draws a tunnel: its IKE SAs, a lane per SA pair with its
// lifetime, traffic, deletion and anomalies, its findings, and a rule at
// each rekey.
func (h Page) tunnelTimeline(s *analyzer.Snapshot, t *analyzer.Tunnel, axis chart.Axis, fs []int) *chart.Timeline {
	tl := &chart.Timeline{Axis: axis, Class: "tunnel", Label: "timeline of " + tunnelTitle(t), Heading: "SPI in / out"}
	// IKE SAs between the tunnel's peers.
	ike := chart.Lane{Label: "IKE SAs", Class: "ike"}
	for i := range s.IKESAs {
		k := &s.IKESAs[i]
		a, b := k.Initiator.Addr().Unmap(), k.Responder.Addr().Unmap()
		if !(a == t.Local && b == t.Remote || a == t.Remote && b == t.Local) {
			continue
		}
		from := k.Started
		if !k.Established.IsZero() {
			from = k.Established
		}
		to := k.Ended
		if to.IsZero() {
			to = axis.End
		}
		ike.Bars = append(ike.Bars, chart.Bar{From: from, To: to, Class: "ike-sa " + k.State.String(),
			Title: fmt.Sprintf("IKE SA %d (IKEv%d %s, %s): %s %s → %s", k.ID, k.Version, k.Exchange, k.State, ikeSuite(k), clockOf(from), clockOf(to))})
		if k.RekeyOf != nil {
			ike.Marks = append(ike.Marks, chart.Mark{At: from, Shape: chart.Diamond, Class: "ike-rekey",
				Title: fmt.Sprintf("IKE SA %d rekeyed into IKE SA %d at %s", k.RekeyOf.ID, k.ID, clockOf(from))})
		}
	}
	if len(ike.Bars) > 0 {
		tl.Lanes = append(tl.Lanes, ike)
	}
	laneOf := map[analyzer.SAKey]int{}
	// Up to maxPairLanes pairs get a lane each, named by their SPIs; more
	// share lanes, each pair in the first lane free by its start (a
	// tunnel's successive pairs overlap only around their rekeys).
	packed := len(t.Rows) > maxPairLanes
	var laneEnd []time.Time // packed: when each shared lane is free
	firstPairLane := len(tl.Lanes)
	for _, q := range t.Rows {
		lane := chart.Lane{Label: pairLabel(q, t.Local)}
		start, end := q.Any().FirstSeen, int64(0)
		first, last := int64(0), int64(0)
		state := analyzer.StateActive
		for _, sa := range q.SAs() {
			start = min(start, sa.FirstSeen)
			if sa.State != analyzer.StateActive {
				state = sa.State
				end = max(end, sa.EndedAt)
			}
			if sa.Accepted > 0 {
				if first == 0 || sa.FirstAccepted < first {
					first = sa.FirstAccepted
				}
				last = max(last, sa.LastSeen)
			}
		}
		if n := q.Any().Negotiation(); n != nil && !n.Child.Created.IsZero() {
			start = n.Child.Created.UnixNano()
			lane.Title = childTitle(n.Child)
		}
		to := axis.End
		if end != 0 {
			to = time.Unix(0, end).UTC()
		}
		bar := chart.Bar{From: time.Unix(0, start).UTC(), To: to, Class: state.String(),
			Title: fmt.Sprintf("%s: %s %s → %s", lane.Label, state, clockOf(time.Unix(0, start)), clockOf(to))}
		if first != 0 {
			bar.InnerFrom, bar.InnerTo = time.Unix(0, first).UTC(), time.Unix(0, max(last, first)).UTC()
		}
		if lane.Title != "" {
			bar.Title += " — " + lane.Title
		}
		lane.Bars = append(lane.Bars, bar)
		switch state {
		case analyzer.StateDeleted:
			lane.Marks = append(lane.Marks, chart.Mark{At: to, Shape: chart.Cross, Class: "delete", Title: lane.Label + " deleted at " + clockOf(to)})
		case analyzer.StateExpired:
			lane.Marks = append(lane.Marks, chart.Mark{At: to, Shape: chart.Dot, Class: "expire", Title: lane.Label + " expired at " + clockOf(to)})
		}
		if !packed {
			for _, sa := range q.SAs() {
				laneOf[sa.Key] = len(tl.Lanes)
			}
			tl.Lanes = append(tl.Lanes, lane)
			continue
		}
		k := 0
		for k < len(laneEnd) && laneEnd[k].After(bar.From) {
			k++
		}
		if k == len(laneEnd) {
			laneEnd = append(laneEnd, time.Time{})
			tl.Lanes = append(tl.Lanes, chart.Lane{Label: fmt.Sprintf("SA pairs %d", k+1), Title: "pairs that did not overlap share a lane; hover a bar for its SPIs"})
		}
		laneEnd[k] = bar.To
		l := &tl.Lanes[firstPairLane+k]
		l.Bars, l.Marks = append(l.Bars, lane.Bars...), append(l.Marks, lane.Marks...)
		for _, sa := range q.SAs() {
			laneOf[sa.Key] = firstPairLane + k
		}
	}
	if h.Timeline != nil {
		for _, a := range h.Timeline.Anomalies {
			if i, ok := laneOf[a.Key]; ok {
				tl.Lanes[i].Marks = append(tl.Lanes[i].Marks, anomalyMark(a))
			}
		}
	}
	if len(fs) > 0 {
		lane := chart.Lane{Label: "Findings", Class: "findings"}
		for _, i := range fs {
			f := &h.Findings[i]
			at := f.Time
			if at.IsZero() {
				at = axis.Start
			}
			lane.Marks = append(lane.Marks, chart.Mark{At: at, Shape: chart.Flag, Class: "finding " + f.Severity.String(),
				Title: fmt.Sprintf("[%s] %s at %s", f.Severity, f.Kind, clockOf(at))})
		}
		tl.Lanes = append(tl.Lanes, lane)
	}
	for _, k := range t.RekeyDetails {
		cls, how := "rekey", "hitless"
		switch {
		case k.Hitless == nil:
			how = "no traffic on the new SAs"
		case !*k.Hitless:
			cls, how = "rekey lossy", "lost traffic"
		}
		var dirs []string
		for _, d := range k.Directions {
			dirs = append(dirs, fmt.Sprintf("0x%08x→0x%08x", d.OldSPI, d.NewSPI))
		}
		what := "rekey"
		switch k.How {
		case analyzer.RelationReauth:
			what = "reauthentication"
		case analyzer.RelationInferred:
			what = "rekey (inferred: no IKE in the capture names it)"
		}
		tl.Rules = append(tl.Rules, chart.Rule{At: k.Time, Class: cls, Shape: chart.Diamond,
			Title: fmt.Sprintf("%s at %s: %s, %s", what, clockOf(k.Time), strings.Join(dirs, ", "), how)})
	}
	return tl
}

func clockOf(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func ikeSuite(k *ikestate.IKESA) string {
	var parts []string
	for _, p := range []string{k.Encryption, k.Integrity, k.PRF, k.DHGroup} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "suite not shown"
	}
	return strings.Join(parts, "/")
}

func childTitle(c *ikestate.ChildSA) string {
	s := fmt.Sprintf("CHILD SA %d (%s of IKE SA %d)", c.ID, c.Exchange, c.IKESA.ID)
	if c.Encryption != "" {
		s += ": " + c.Enc.DisplayKey(c.EncKeyBits)
		if c.Integrity != "" {
			s += "/" + c.Integrity
		}
	}
	if c.PFSGroup != "" {
		s += ", PFS " + c.PFSGroup
	}
	return s
}

// pairLabel names a lane by its SPIs, inbound first.
func pairLabel(q *analyzer.QuickModeSA, local netip.Addr) string {
	in, out := "–", "–"
	for _, sa := range q.SAs() {
		if sa.Key.Dst.Unmap() == local {
			in = fmt.Sprintf("%08x", sa.Key.SPI)
		} else {
			out = fmt.Sprintf("%08x", sa.Key.SPI)
		}
	}
	return in + " / " + out
}

// throughput is a tunnel's accepted traffic each way, in bits a second.
func (h Page) throughput(t *analyzer.Tunnel, axis chart.Axis) *chart.Area {
	if h.Timeline == nil || h.Timeline.Width <= 0 {
		return nil
	}
	keys := map[analyzer.SAKey]bool{}
	for _, q := range t.Rows {
		for _, sa := range q.SAs() {
			keys[sa.Key] = true
		}
	}
	var in, out []float64
	add := func(dst *[]float64, b []uint64) {
		for len(*dst) < len(b) {
			*dst = append(*dst, 0)
		}
		for i, v := range b {
			(*dst)[i] += float64(v) * 8 / h.Timeline.Width.Seconds()
		}
	}
	for _, s := range h.Timeline.Series {
		if !keys[s.Key] {
			continue
		}
		if s.Key.Dst.Unmap() == t.Local {
			add(&in, s.Bytes)
		} else {
			add(&out, s.Bytes)
		}
	}
	if len(in) == 0 && len(out) == 0 {
		return nil
	}
	return &chart.Area{Axis: axis, Class: "throughput", Label: "throughput of " + tunnelTitle(t), Start: h.Timeline.Start, Width: h.Timeline.Width,
		Series: []chart.Series{{Name: "received", Class: "in", Values: in}, {Name: "sent", Class: "out", Values: out}}, Mirror: true,
		Unit: func(v float64) string { return bitRate(v) }}
}

// bitRate formats bits a second, to a tenth of its unit; a round figure
// (the axis ticks are round) without the ".0".
func bitRate(v float64) string {
	unit := func(x float64, u string) string {
		return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0") + " " + u
	}
	switch {
	case v >= 1e9:
		return unit(v/1e9, "Gbit/s")
	case v >= 1e6:
		return unit(v/1e6, "Mbit/s")
	case v >= 1e3:
		return unit(v/1e3, "kbit/s")
	}
	return fmt.Sprintf("%.0f bit/s", v)
}

// otherAnomalies draws the anomalies on no drawn tunnel's SA (Bad SPI on
// unknown SPIs, policy violations, SAs of tunnels not drawn): a lane per
// kind.
func (h Page) otherAnomalies(keyOf map[analyzer.SAKey]int, axis chart.Axis) template.HTML {
	if h.Timeline == nil {
		return ""
	}
	lanes := map[event.Kind]*chart.Lane{}
	var order []event.Kind
	for _, a := range h.Timeline.Anomalies {
		if _, ok := keyOf[a.Key]; ok {
			continue
		}
		l := lanes[a.Kind]
		if l == nil {
			l = &chart.Lane{Label: anomalyClass[a.Kind][1]}
			lanes[a.Kind] = l
			order = append(order, a.Kind)
		}
		m := anomalyMark(a)
		if a.Key != (analyzer.SAKey{}) {
			m.Title = fmt.Sprintf("%s (%s → %s)", m.Title, a.Src, a.Key)
		}
		l.Marks = append(l.Marks, m)
	}
	if len(order) == 0 {
		return ""
	}
	tl := &chart.Timeline{Axis: axis, Class: "other", Label: "anomalies on no tunnel drawn above"}
	for _, k := range order {
		tl.Lanes = append(tl.Lanes, *lanes[k])
	}
	return template.HTML(tl.SVG())
}

// saTable is the SA view's default columns and the SPIs, the busiest rows
// first: the SPIs name the timeline's lanes and are what a reader takes to
// Wireshark, ip xfrm or swanctl, so a row must be findable by them.
func saTable(s *analyzer.Snapshot) ([]string, []bool, [][]string, int) {
	rows := slices.Clone(s.Rows)
	slices.SortStableFunc(rows, func(x, y *analyzer.QuickModeSA) int { return cmp.Compare(rowBytes(y), rowBytes(x)) })
	omitted := 0
	if len(rows) > MaxReportSARows {
		omitted = len(rows) - MaxReportSARows
		rows = rows[:MaxReportSARows]
	}
	analyzer.SortRowsByFirstSeen(rows)
	cols, err := SAColumns.Select([]string{"+spi_in", "+spi_out"}, false)
	if err != nil {
		panic(err) // the column keys are this package's own
	}
	header := make([]string, len(cols))
	right := make([]bool, len(cols))
	for i, c := range cols {
		header[i], right[i] = c.Name, c.Right
	}
	return header, right, SAColumns.Cells(rows, cols, Table), omitted
}

func rowBytes(q *analyzer.QuickModeSA) uint64 {
	var n uint64
	for _, sa := range q.SAs() {
		n += sa.Bytes
	}
	return n
}
