package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"ipsecmon/report"
)

func runWatch(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	var interval time.Duration
	var top int
	fs := newFlagSet("watch", "Shows what is happening now on live interfaces: the Quick Mode statistics with their rates,\nthe busiest SAs and tunnels, recent lifecycle events and capture drops, refreshed every --interval.\nWhen stdout is not a terminal it prints one line per interval. Ctrl-C ends it with the final report.",
		`  ipsecmon watch -i eth0
  ipsecmon watch -i eth0 -i eth1 --interval 5s --metrics-listen :9477 --events /var/log/ipsecmon.jsonl
`)
	in.register(fs)
	lf.register(fs)
	// watch is live only, and shows no stored view to compare.
	fs.MarkHidden("read")
	fs.MarkHidden("expect")
	fs.DurationVar(&interval, "interval", time.Second, "refresh interval")
	fs.IntVar(&top, "top", 10, "busiest SAs and tunnels to show")
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	if !lf.live() || len(in.reads) > 0 || fs.NArg() > 0 {
		return usageError(stderr, "watch", fmt.Errorf("watch needs an interface (-i IFACE) and reads no files; for files use stats or sas"))
	}
	if len(in.expect) > 0 {
		return usageError(stderr, "watch", fmt.Errorf("--expect applies to stats, sas, mmsas and policies, whose -o json it compares with"))
	}
	if in.events.name == "-" {
		return usageError(stderr, "watch", fmt.Errorf("--events -: standard output carries the watch view; give --events FILE"))
	}
	if interval <= 0 {
		return usageError(stderr, "watch", fmt.Errorf("--interval must be positive"))
	}
	cfg, format, _, err := in.config(fs.Args(), true)
	if err != nil {
		return usageError(stderr, "watch", err)
	}
	if err := lf.apply(&cfg, fs); err != nil {
		return usageError(stderr, "watch", err)
	}
	if err := in.openLog(true, stdout, stderr, 8); err != nil {
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
	v := &report.Watch{Top: top, TTY: tty, Interval: interval}
	sess.wait(interval, func() {
		smp := sess.sample()
		v.Write(stdout, report.WatchSample{Snap: smp.Snap, Capture: captureStats(smp.Interfaces), Events: in.log.last(), At: time.Now()})
	})
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
