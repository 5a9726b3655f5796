package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// WatchSample is one look at a live gateway.
type WatchSample struct {
	Snap    *analyzer.Snapshot
	Capture []CaptureStats
	Events  []analyzer.Event // the most recent, oldest first
	At      time.Time        // when it was taken (the wall clock)
}

// Watch is the live view of a gateway (the watch command): on a terminal
// the statistics with their rates since the previous sample, the busiest
// SAs, recent events and capture drops, redrawn; elsewhere one line per
// sample for logs and pipes.
type Watch struct {
	Top      int           // busiest SAs to show
	TTY      bool          // redraw a screen rather than print lines
	Interval time.Duration // the expected time between samples
	prev     *WatchSample
	prevSA   map[analyzer.SAKey]uint64
	prevTun  map[analyzer.TunnelKey][2]uint64 // bytes in, out
}

// Write shows a sample and remembers it for the next one's rates.
func (v *Watch) Write(w io.Writer, s WatchSample) error {
	now := s.At
	secs := v.Interval.Seconds()
	if v.prev != nil {
		secs = now.Sub(v.prev.At).Seconds()
	}
	rate := func(i analyzer.Stat) string {
		switch i {
		case analyzer.ActiveSAs, analyzer.OffloadedSAs, analyzer.PendingKeyOps, analyzer.ActiveTunnels:
			return "" // levels, not counts: a rate means nothing
		}
		f := s.Snap.Stats[i]
		if v.prev == nil || !f.Known || !v.prev.Snap.Stats[i].Known || f.Value < v.prev.Snap.Stats[i].Value {
			return ""
		}
		d := float64(f.Value-v.prev.Snap.Stats[i].Value) / secs
		if i >= analyzer.ConfidentialSent {
			return humanize.Bytes(uint64(d)) + "/s"
		}
		return fmt.Sprintf("%.1f/s", d)
	}
	var b strings.Builder
	if !v.TTY {
		v.line(&b, s, rate, now)
	} else {
		b.WriteString("\033[H\033[2J")
		fmt.Fprintf(&b, "ipsecmon watch  %s  (every %s, Ctrl-C ends with the final report)\n", now.Format("2006-01-02 15:04:05"), v.Interval)
		for _, in := range s.Capture {
			fmt.Fprintf(&b, "Capture %s: %s received, %s dropped by the kernel, %s by the interface\n",
				in.Interface, humanize.Comma(int64(in.Received)), humanize.Comma(int64(in.Dropped)), humanize.Comma(int64(in.IfDropped)))
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "%-32s %18s %14s\n", "Quick Mode Statistics", "Value", "Rate")
		for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
			f := s.Snap.Stats[i]
			val := "n/a"
			if f.Known {
				if i >= analyzer.ConfidentialSent {
					val = humanize.Bytes(f.Value)
				} else {
					val = humanize.Comma(int64(f.Value))
				}
			}
			fmt.Fprintf(&b, "%-32s %18s %14s\n", StatNames[i].Display, val, rate(i))
		}
		v.busiest(&b, s, secs)
		v.tunnels(&b, s, secs)
		if ev := s.Events; len(ev) > 0 {
			b.WriteString("\nRecent events\n")
			for _, e := range ev {
				sa := ""
				if e.SA != nil {
					sa = fmt.Sprintf(" %s %s %s→%s", e.SA.Protocol, e.SA.SPI, e.SA.Src, e.SA.Dst)
				}
				cnt := ""
				if e.Count > 1 {
					cnt = fmt.Sprintf(" ×%d", e.Count)
				}
				fmt.Fprintf(&b, "  %s %s%s%s %s\n", e.Time.Format("15:04:05.000"), e.Kind, sa, cnt, e.Detail)
			}
		}
	}
	v.prev = &s
	v.prevTun = map[analyzer.TunnelKey][2]uint64{}
	for _, t := range s.Snap.Tunnels {
		v.prevTun[t.Key] = [2]uint64{t.In.Bytes, t.Out.Bytes}
	}
	v.prevSA = map[analyzer.SAKey]uint64{}
	for _, r := range s.Snap.Rows {
		for _, sa := range r.SAs() {
			v.prevSA[sa.Key] = sa.Bytes
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// line is the one-line form for logs and pipes.
func (v *Watch) line(b *strings.Builder, s WatchSample, rate func(analyzer.Stat) string, now time.Time) {
	fmt.Fprintf(b, "%s", now.UTC().Format(time.RFC3339))
	for _, i := range []analyzer.Stat{analyzer.ActiveSAs, analyzer.ReplayDetected, analyzer.BadSPIPackets, analyzer.NotAuthenticated,
		analyzer.ConfidentialSent, analyzer.ConfidentialReceived, analyzer.AuthenticatedSent, analyzer.AuthenticatedReceived} {
		f := s.Snap.Stats[i]
		val := "null"
		if f.Known {
			val = fmt.Sprint(f.Value)
		}
		fmt.Fprintf(b, " %s=%s", StatNames[i].Key, val)
		if r := rate(i); r != "" {
			fmt.Fprintf(b, "(%s)", strings.ReplaceAll(r, " ", ""))
		}
	}
	for _, in := range s.Capture {
		fmt.Fprintf(b, " %s_received=%d %s_dropped=%d %s_ifdropped=%d", in.Interface, in.Received, in.Interface, in.Dropped, in.Interface, in.IfDropped)
	}
	b.WriteString("\n")
}

func (v *Watch) busiest(b *strings.Builder, s WatchSample, secs float64) {
	type entry struct {
		sa   *analyzer.SA
		rate float64
	}
	var es []entry
	for _, r := range s.Snap.Rows {
		for _, sa := range r.SAs() {
			d := sa.Bytes
			if p, ok := v.prevSA[sa.Key]; ok && p <= d {
				d -= p
			} else if v.prev != nil && ok {
				d = 0
			}
			es = append(es, entry{sa, float64(d) / secs})
		}
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(b.rate, a.rate) })
	if len(es) > v.Top {
		es = es[:v.Top]
	}
	if len(es) == 0 {
		return
	}
	fmt.Fprintf(b, "\nBusiest SAs\n  %-4s %-10s %-39s %-39s %12s %12s %10s\n", "", "SPI", "From", "To", "Rate", "Bytes", "Replayed")
	for _, e := range es {
		p := "ESP"
		if e.sa.Key.Proto == ipproto.AH {
			p = "AH"
		}
		fmt.Fprintf(b, "  %-4s 0x%08x %-39s %-39s %12s %12s %10d\n", p, e.sa.Key.SPI, e.sa.Src, e.sa.Key.Dst,
			humanize.Bytes(uint64(e.rate))+"/s", humanize.Bytes(e.sa.Bytes), e.sa.Replayed)
	}
}

// tunnels lists the busiest tunnels (by bytes a second since the previous
// sample, then by bytes): their SAs and rekeys so far, rates, losses.
func (v *Watch) tunnels(b *strings.Builder, s WatchSample, secs float64) {
	type entry struct {
		t       *analyzer.Tunnel
		in, out float64
	}
	rate := func(now, before uint64, seen bool) float64 {
		switch {
		case !seen && v.prev != nil:
			return float64(now) / secs // a tunnel new since the previous sample
		case now < before || v.prev == nil:
			return 0
		}
		return float64(now-before) / secs
	}
	var es []entry
	for _, t := range s.Snap.Tunnels {
		p, seen := v.prevTun[t.Key]
		es = append(es, entry{t, rate(t.In.Bytes, p[0], seen), rate(t.Out.Bytes, p[1], seen)})
	}
	if len(es) == 0 {
		return
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		if c := cmp.Compare(b.in+b.out, a.in+a.out); c != 0 {
			return c
		}
		return cmp.Compare(b.t.In.Bytes+b.t.Out.Bytes, a.t.In.Bytes+a.t.Out.Bytes)
	})
	fmt.Fprintf(b, "\nTunnels (%d)\n", len(es))
	es = es[:min(len(es), v.Top)]
	cells := make([][]string, len(es))
	for i, e := range es {
		t := e.t
		ts := func(sel []ikestate.Selector) string {
			if sel == nil {
				return "-"
			}
			return selectorText(sel)
		}
		rekeys := humanize.Comma(int64(t.Rekeys))
		if t.Inferred {
			rekeys += "*"
		}
		cells[i] = []string{t.Local.String(), t.Remote.String(), ts(t.LocalTS), ts(t.RemoteTS), humanize.Comma(int64(t.ChildSAs)), rekeys,
			humanize.Bytes(uint64(e.in)) + "/s", humanize.Bytes(uint64(e.out)) + "/s",
			humanize.Comma(int64(t.In.Lost)), humanize.Comma(int64(t.Out.Lost)), t.State}
	}
	var tb strings.Builder
	writeTable(&tb, []string{"Local", "Remote", "Local TS", "Remote TS", "Child SAs", "Rekeys", "Rate In", "Rate Out", "Lost In", "Lost Out", "State"},
		cells, []bool{false, false, false, false, true, true, true, true, true, true, false})
	for _, l := range strings.SplitAfter(tb.String(), "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
}
