package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/espcrypto"
	"ipsecmon/eventlog"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
	"ipsecmon/report"
)

// inputFlags are the flags every analysing command shares.
type inputFlags struct {
	reads        []string
	me           []string
	replayWindow int
	replayMemory string
	output       string
	quiet        bool
	expect       []string
	events       eventFlags
	log          *eventLog
	keyFiles     []string
	completeKeys bool
	rekeyedDelay time.Duration
	workers      int
	numeric      bool
	pol          policyFlags
	// concurrentFiles: auto (files whose SAs cannot interact are read at
	// once), off (in order), verbose (auto, saying which on stderr).
	concurrentFiles string
	// html: the command writes HTML (-o html is accepted).
	html bool
}

func (f *inputFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.reads, "read", "r", nil, "capture file to read (pcap, pcapng, gzip-compressed or not; - for stdin); repeatable: figures as if read in order, files of different hosts analysed at once (README: Many files)")
	fs.StringArrayVar(&f.me, "me", nil, "address or CIDR of this computer (decides sent/received and Me/Peer); repeatable; default: the endpoint of the most SAs")
	fs.IntVar(&f.replayWindow, "replay-window", analyzer.DefaultReplayWindow, "anti-replay window size in packets (RFC 4303 §3.4.3) of SAs whose key entry gives none")
	fs.StringVar(&f.replayMemory, "replay-memory", "64MiB", "memory for replay windows over 64 packets (size/4 bytes per SA); packets of SAs beyond it are counted as untracked (0: no cap)")
	format, usage := "table", "output format: table, json or csv"
	if f.html {
		format, usage = "html", "output format: html (standard output; --html FILE for a file)"
	}
	fs.StringVarP(&f.output, "output", "o", format, usage)
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar and no per-packet messages on stderr")
	fs.StringArrayVar(&f.expect, "expect", nil, "compare the result with a stored '-o json' output and exit 1 on any difference; repeatable")
	fs.StringVar(&f.events.name, "events", "", "write SA lifecycle events and anomalies as JSON lines (README: event schema) to FILE (- for stdout); a live run appends, SIGHUP reopens FILE")
	fs.StringVar(&f.events.rotateSize, "events-rotate-size", "", "start a new --events FILE at about this size, e.g. 100MB: FILE becomes FILE.1, FILE.1 FILE.2, ...")
	fs.IntVar(&f.events.keep, "events-keep", eventlog.DefaultKeep, "rotated --events files to keep (FILE.1 to FILE.N)")
	fs.StringArrayVarP(&f.keyFiles, "keys", "k", nil, "keys to verify and decrypt with: Wireshark esp_sa / ikev1 / ikev2 tables, 'ip xfrm state' output, tcpdump -E secrets or ipsecmon's native format (detected); repeatable")
	fs.BoolVar(&f.completeKeys, "complete-keys", false, "the key files list every SA of the hosts they name: packets for other SPIs to those hosts are Bad SPI")
	fs.DurationVar(&f.rekeyedDelay, "rekeyed-delete-delay", analyzer.DefaultRekeyedDeleteDelay, "how long after its Delete the old SA of an IKEv2 rekey still accepts packets, as peers keep it for packets in flight (strongSwan's delete_rekeyed_delay; 0: none)")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "cores that verify and decrypt (each SA stays on one; the figures do not depend on this); live (-i) the default leaves one core to the kernel")
	fs.BoolVarP(&f.numeric, "numeric", "n", false, "addresses and ports as numbers: always so (ipsecmon never resolves names); accepted as tcpdump's -n")
	f.pol.register(fs)
	fs.StringVar(&f.concurrentFiles, "concurrent-files", "auto", "auto: analyse -r files of different hosts at once (README: Many files); off: always in order; verbose: auto, saying which on stderr")
	fs.MarkHidden("concurrent-files")
}

// loadKeys reads every --keys file. Key bytes never reach a message.
func (f *inputFlags) loadKeys(stderr io.Writer) (*keys.Set, error) {
	if len(f.keyFiles) == 0 {
		return nil, nil
	}
	set := &keys.Set{}
	for _, name := range f.keyFiles {
		ks, err := keys.Load(name)
		if err != nil {
			return nil, err
		}
		set.Merge(ks)
	}
	// Said now, not only in the events: keys that parse but cannot be used.
	for _, w := range append(set.Warnings, espcrypto.Unusable(set)...) {
		fmt.Fprintf(stderr, "ipsecmon: warning: %s\n", w)
	}
	return set, nil
}

// keysAndFilters loads the -k key files and builds the policy filters
// into cfg, for the commands that run the analysis themselves.
func (f *inputFlags) keysAndFilters(cfg *analyzer.Config, stderr io.Writer) error {
	ks, err := f.loadKeys(stderr)
	if err != nil {
		return err
	}
	cfg.Keys = ks
	cfg.Filters, err = f.pol.build(cfg.Me, stderr)
	return err
}

func (f *inputFlags) config(args []string, live bool) (analyzer.Config, report.Format, []string, error) {
	var cfg analyzer.Config
	format, err := report.ParseFormat(f.output)
	if err != nil {
		return cfg, "", nil, err
	}
	if format == report.HTML && !f.html {
		return cfg, "", nil, errors.New("-o html: only 'ipsecmon report' writes HTML (table, json or csv here)")
	}
	for _, s := range f.me {
		for _, item := range strings.Split(s, ",") {
			p, err := parseAddrOrPrefix(strings.TrimSpace(item))
			if err != nil {
				return cfg, "", nil, fmt.Errorf("--me %q: %w", item, err)
			}
			cfg.Me = append(cfg.Me, p)
		}
	}
	if f.replayWindow < 1 || f.replayWindow > analyzer.MaxReplayWindow {
		return cfg, "", nil, fmt.Errorf("--replay-window %d: want 1 to %d packets", f.replayWindow, analyzer.MaxReplayWindow)
	}
	cfg.ReplayWindow = f.replayWindow
	mem, err := parseSize("--replay-memory", f.replayMemory)
	if err == nil && f.replayMemory == "" {
		err = fmt.Errorf(`--replay-memory "": want a size such as 32MiB or 100MB (0: no cap)`)
	}
	if err != nil {
		return cfg, "", nil, err
	}
	cfg.ReplayMemory = int64(min(mem, 1<<62))
	cfg.CompleteKeys = f.completeKeys
	switch {
	case f.rekeyedDelay < 0:
		return cfg, "", nil, fmt.Errorf("--rekeyed-delete-delay %v: want 0 or more", f.rekeyedDelay)
	case f.rekeyedDelay == 0:
		cfg.RekeyedDeleteDelay = -1 // none (the analyzer's 0 is its default)
	default:
		cfg.RekeyedDeleteDelay = f.rekeyedDelay
	}
	cfg.Workers = f.workers
	switch f.concurrentFiles {
	case "auto", "off", "verbose":
	default:
		return cfg, "", nil, fmt.Errorf("--concurrent-files %q: want auto, off or verbose", f.concurrentFiles)
	}
	inputs := append(append([]string(nil), f.reads...), args...)
	switch {
	case live && len(inputs) > 0:
		return cfg, "", nil, errBothInputs
	case !live && len(inputs) == 0:
		return cfg, "", nil, errors.New("no input: give capture files with -r FILE (- for stdin) or an interface with -i IFACE")
	}
	return cfg, format, inputs, nil
}

// parseAddrOrPrefix reads an address or a CIDR prefix, saying what was
// wanted rather than what the parser stumbled on.
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, errors.New("not an address prefix (want e.g. 10.0.0.0/8 or 2001:db8::/32)")
		}
		return p.Masked(), nil
	}
	a, err := parseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseAddr reads an IPv4 or IPv6 address.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, errors.New("not an IP address (want e.g. 192.0.2.1 or 2001:db8::1)")
	}
	return a, nil
}

// newRun builds the analyzer and pipeline every analysing command uses.
func (f *inputFlags) newRun(cfg analyzer.Config, stderr io.Writer) *pipeline.Run {
	return f.newRunOpts(cfg, stderr, pipeline.Options{})
}

// newRunOpts is newRun with the pipeline's filter and frame hook (decrypt).
func (f *inputFlags) newRunOpts(cfg analyzer.Config, stderr io.Writer, o pipeline.Options) *pipeline.Run {
	if !f.quiet {
		o.Messages = stderr
	}
	if f.log.wanted() {
		cfg.OnEvent = chainEvents(cfg.OnEvent, f.log.add)
	}
	o.Damage = stderr
	return pipeline.New(analyzer.New(cfg), o)
}

// openLog opens --events (and the in-memory recent list the watch view shows).
func (f *inputFlags) openLog(live bool, stdout, stderr io.Writer, keep int) error {
	l, err := openEventLog(f.events, live, stdout, stderr, keep)
	f.log = l
	return err
}

func (f *inputFlags) closeLog(stderr io.Writer) int {
	if f.log == nil {
		return exitOK
	}
	if err := f.log.close(); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: --events: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// collect runs the analysis to its end: every -r input in order, or a live
// capture until its stop condition or a signal. It returns exitUsage when an
// input could not be read at all (the others are still analysed).
func collect(in *inputFlags, lf *liveFlags, cfg analyzer.Config, inputs []string, stderr io.Writer) (report.Run, int) {
	if err := in.keysAndFilters(&cfg, stderr); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return report.Run{}, exitUsage
	}
	if !lf.live() {
		if r, ok := in.concurrent(cfg, inputs, lf, stderr); ok {
			warnIKEKeys(r, stderr)
			return r, exitOK
		}
	}
	run := in.newRun(cfg, stderr)
	if !lf.live() {
		r, status := in.analyse(run, inputs, lf, stderr)
		warnIKEKeys(r, stderr)
		return r, status
	}
	sess, err := lf.start(run, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return report.Run{}, exitUsage
	}
	sess.reload = func() { in.reload(sess, stderr) }
	sess.wait(0, nil)
	r, ifs := sess.finish(stderr)
	r.Capture = captureStats(ifs)
	warnIKEKeys(r, stderr)
	return r, exitOK
}

// concurrent analyses the -r files at once when they qualify
// (pipeline.Files says when): false to read them in order. Only files that
// can be opened again qualify (the sequential run reads them anew when
// they turn out to interact), and only runs that write nothing while
// reading (-w, --events) or select frames (-f, -c).
func (f *inputFlags) concurrent(cfg analyzer.Config, inputs []string, lf *liveFlags, stderr io.Writer) (report.Run, bool) {
	why := ""
	switch {
	case f.concurrentFiles == "off" || len(inputs) < 2:
		return report.Run{}, false
	case cfg.Workers < 2:
		why = "--workers 1"
	case lf.write != "" || lf.count > 0 || lf.bpf != nil:
		why = "-w, -c or -f"
	case f.log.wanted() || cfg.OnEvent != nil || cfg.OnAccepted != nil || cfg.OnOpened != nil:
		why = "events are written in the order of the run"
	case cfg.IdleTimeout > 0 || cfg.EvictEnded > 0:
		why = "--idle-timeout or --evict-ended"
	}
	for _, name := range inputs {
		if why != "" {
			break
		}
		if st, err := os.Stat(name); name == "-" || err != nil || !st.Mode().IsRegular() {
			why = name + " is not a regular file"
		}
	}
	var r report.Run
	if why == "" {
		fz, st, err := pipeline.Files(cfg, inputs, max(cfg.Workers, 1))
		if err == nil {
			r = report.Run{Snap: fz.Snapshot(), Input: st}
		} else if ie := (*analyzer.InteractError)(nil); errors.As(err, &ie) {
			why = ie.Reason
		} else {
			why = err.Error()
		}
	}
	if f.concurrentFiles == "verbose" {
		if why == "" {
			fmt.Fprintf(stderr, "ipsecmon: %d files analysed concurrently\n", len(inputs))
		} else {
			fmt.Fprintf(stderr, "ipsecmon: files analysed in order: %s\n", why)
		}
	}
	return r, why == ""
}

// warnIKEKeys says which IKE SAs' key entries failed on every message: a
// wrong entry otherwise only shows as figures that need keys. It also says
// what is wrong with --me.
func warnIKEKeys(r report.Run, stderr io.Writer) {
	if r.Snap == nil {
		return
	}
	for _, w := range report.MeWarnings(r.Snap) {
		fmt.Fprintf(stderr, "ipsecmon: warning: %s\n", w)
	}
	for _, s := range r.Snap.IKESAs {
		if s.KeysMismatch {
			fmt.Fprintf(stderr, "ipsecmon: warning: the IKE keys given for IKE SA %d (SPIs %x/%x) failed on every message: they do not match that IKE SA\n", s.ID, s.ISPI[:], s.RSPI[:])
		}
	}
}

// reload re-reads the key files on SIGHUP: gateways create new SAs all the
// time, and their traffic should become verifiable without a restart.
func (f *inputFlags) reload(s *liveSession, stderr io.Writer) {
	// logrotate moved the event log away (or wants it closed): open the
	// name again.
	if f.log != nil {
		if err := f.log.reopen(); err != nil {
			fmt.Fprintf(stderr, "ipsecmon: SIGHUP: --events: %v\n", err)
		} else if f.log.file != nil {
			fmt.Fprintf(stderr, "ipsecmon: SIGHUP: reopened %s\n", f.events.name)
		}
	}
	ks, err := f.loadKeys(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: SIGHUP: keys not reloaded: %v\n", err)
		return
	}
	s.live.With(func(r *pipeline.Run) { r.Analyzer().SetKeys(ks) })
	fmt.Fprintf(stderr, "ipsecmon: SIGHUP: reloaded %d key file(s)\n", len(f.keyFiles))
}

// analyse reads every input through one pipeline: the frames -f selects,
// up to -c of them over all inputs, written to -w as they are read. An
// input that cannot be read, or only in part, makes the status exitUsage;
// what could be read is still analysed.
func (f *inputFlags) analyse(run *pipeline.Run, inputs []string, lf *liveFlags, stderr io.Writer) (report.Run, int) {
	an := run.Analyzer()
	status := exitOK
	w, err := lf.openWriter()
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return report.Run{}, exitUsage
	}
	left := lf.count
	for _, name := range inputs {
		if lf.count > 0 && left == 0 {
			break // -c: like tcpdump, the rest is not read
		}
		src, err := capture.Open(name)
		if err != nil {
			var fe *capture.FormatError
			if !errors.As(err, &fe) {
				err = fmt.Errorf("%s: %w", name, unwrapPathError(err))
			}
			run.OpenFailed(name, err)
			status = exitUsage
			continue
		}
		in := src
		if lf.bpf != nil {
			in = capture.Filter(in, lf.bpf)
		}
		if lf.count > 0 {
			in = capture.Limit(in, &left)
		}
		var tee *capture.Tee
		if w != nil {
			tee = capture.NewTee(in, w)
			in = tee
		}
		stop := startProgress(in, stderr, f.quiet)
		if err := run.Source(in); err != nil {
			// Damage (the run has said which): what came before it was
			// analysed and is shown, and the run fails, as tshark's does
			// on a capture cut short.
			status = exitUsage
		}
		stop()
		src.Close()
		if tee != nil && tee.Err() != nil {
			fmt.Fprintf(stderr, "ipsecmon: -w %s: %v; the file is incomplete\n", lf.write, tee.Err())
			w.Close()
			status, w = exitUsage, nil
		}
	}
	if lf.bpf != nil {
		for _, u := range lf.bpf.Unfit() {
			fmt.Fprintf(stderr, "ipsecmon: warning: -f: %s\n", u)
		}
	}
	if w != nil {
		if err := w.Close(); err != nil {
			fmt.Fprintf(stderr, "ipsecmon: -w %s: %v\n", lf.write, err)
			status = exitUsage
		}
	}
	run.Finish()
	st := run.Stats()
	if nothingRead(st) {
		// Every input failed to open: there are no figures to show, not
		// figures of nothing (the errors are on stderr).
		return report.Run{}, exitUsage
	}
	return report.Run{Snap: an.Snapshot(), Input: st}, status
}

// nothingRead: not one input could be opened as a capture.
func nothingRead(st *pipeline.InputStats) bool {
	for _, f := range st.Files {
		if !f.Unreadable {
			return false
		}
	}
	return true
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
