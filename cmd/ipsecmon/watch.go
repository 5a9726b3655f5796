package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"golang.org/x/term"

	"ipsecmon/analyzer"
	"ipsecmon/ipproto"
	"ipsecmon/metrics"
	"ipsecmon/report"
)

func runWatch(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	var interval time.Duration
	var top int
	fs := newFlagSet("watch", "Shows what is happening now on live interfaces: the Quick Mode statistics with their rates,\nthe busiest SAs, recent lifecycle events and capture drops, refreshed every --interval.\nWhen stdout is not a terminal it prints one line per interval. Ctrl-C ends it with the final report.",
		`  ipsecmon watch -i eth0
  ipsecmon watch -i eth0 -i eth1 --interval 5s --metrics-listen :9477 --events /var/log/ipsecmon.jsonl
`)
	in.register(fs)
	lf.register(fs)
	fs.DurationVar(&interval, "interval", time.Second, "refresh interval")
	fs.IntVar(&top, "top", 10, "busiest SAs to show")
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	if !lf.live() {
		return usageError(stderr, "watch", fmt.Errorf("watch needs an interface (-i IFACE); for files use stats or sas"))
	}
	if interval <= 0 {
		return usageError(stderr, "watch", fmt.Errorf("--interval must be positive"))
	}
	cfg, format, _, err := in.config(fs.Args(), true)
	if err != nil {
		return usageError(stderr, "watch", err)
	}
	lf.apply(&cfg, fs)
	if err := in.openLog(stdout, 8); err != nil {
		return usageError(stderr, "watch", err)
	}
	in.quiet = true // per-packet messages would scroll the view away
	ks, err := in.loadKeys(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	cfg.Keys = ks
	run := in.newRun(cfg, stderr)
	sess, err := lf.start(run, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	tty := false
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	sess.reload = func() { in.reload(sess, stderr) }
	v := &watchView{top: top, tty: tty, interval: interval, log: in.log}
	sess.wait(interval, func() { v.render(stdout, sess.sample()) })
	r, ifs := sess.finish(stderr)
	r.Capture = captureStats(ifs)
	status := in.closeLog(stderr)
	if tty {
		io.WriteString(stdout, "\033[H\033[2J")
	}
	if err := report.WriteStats(stdout, r, format); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	return status
}

// watchView renders successive samples and the rates between them.
type watchView struct {
	top      int
	tty      bool
	interval time.Duration
	log      *eventLog
	prev     *metrics.Sample
	prevAt   time.Time
	prevSA   map[analyzer.SAKey]uint64
}

func (v *watchView) render(w io.Writer, s metrics.Sample) {
	now := time.Now()
	secs := v.interval.Seconds()
	if v.prev != nil {
		secs = now.Sub(v.prevAt).Seconds()
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
	if !v.tty {
		v.line(&b, s, rate, now)
	} else {
		b.WriteString("\033[H\033[2J")
		fmt.Fprintf(&b, "ipsecmon watch  %s  (every %s, Ctrl-C ends with the final report)\n", now.Format("2006-01-02 15:04:05"), v.interval)
		for _, in := range s.Interfaces {
			fmt.Fprintf(&b, "Capture %s: %s received, %s dropped by the kernel, %s by the interface\n",
				in.Name, humanize.Comma(int64(in.Received)), humanize.Comma(int64(in.Dropped)), humanize.Comma(int64(in.IfDropped)))
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
			fmt.Fprintf(&b, "%-32s %18s %14s\n", report.StatNames[i].Display, val, rate(i))
		}
		v.busiest(&b, s, secs)
		if v.log != nil {
			if ev := v.log.last(); len(ev) > 0 {
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
	}
	io.WriteString(w, b.String())
	v.prev, v.prevAt = &s, now
	v.prevSA = map[analyzer.SAKey]uint64{}
	for _, r := range s.Snap.Rows {
		for _, sa := range r.SAs() {
			v.prevSA[sa.Key] = sa.Bytes
		}
	}
}

// line is the one-line form for logs and pipes.
func (v *watchView) line(b *strings.Builder, s metrics.Sample, rate func(analyzer.Stat) string, now time.Time) {
	fmt.Fprintf(b, "%s", now.UTC().Format(time.RFC3339))
	for _, i := range []analyzer.Stat{analyzer.ActiveSAs, analyzer.ReplayDetected, analyzer.BadSPIPackets, analyzer.NotAuthenticated,
		analyzer.ConfidentialSent, analyzer.ConfidentialReceived, analyzer.AuthenticatedSent, analyzer.AuthenticatedReceived} {
		f := s.Snap.Stats[i]
		val := "null"
		if f.Known {
			val = fmt.Sprint(f.Value)
		}
		fmt.Fprintf(b, " %s=%s", report.StatNames[i].Key, val)
		if r := rate(i); r != "" {
			fmt.Fprintf(b, "(%s)", strings.ReplaceAll(r, " ", ""))
		}
	}
	for _, in := range s.Interfaces {
		fmt.Fprintf(b, " %s_received=%d %s_dropped=%d %s_ifdropped=%d", in.Name, in.Received, in.Name, in.Dropped, in.Name, in.IfDropped)
	}
	b.WriteString("\n")
}

func (v *watchView) busiest(b *strings.Builder, s metrics.Sample, secs float64) {
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
	if len(es) > v.top {
		es = es[:v.top]
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
