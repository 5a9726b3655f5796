package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ipsecmon/crosscheck"
	"ipsecmon/hosts"
	"ipsecmon/report"
)

func runCheck(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	var hostFiles, beforeFiles, hostAt []string
	var tolerance, backend string
	fs := newFlagSet("check", `Compares the capture's figures with the host's own counters, SA by SA and counter by counter,
and reports each agreement and each disagreement. A host's snapshot may be taken at any time
during the capture: the moment its per-SA packet counters fit is found, and the figures are
compared as the capture stood then (--host-at gives the moment instead). Host sources (detected from content):
ip -s xfrm state, /proc/net/xfrm_stat, swanctl --list-sas [--raw|--pretty], swanctl --counters,
ipsec statusall, Libreswan ipsec trafficstatus, Windows Get-NetIPsecQuickModeSA JSON, typeperf CSV,
Get-Counter text, netsh ipsec dynamic show stats; live:xfrm and live:vici[=SOCKET].
Exit status: 0 every comparable figure agrees, 1 any differs, 2 usage or input error.`,
		`  ipsecmon check -r gw.pcap -k keys.txt --host after-list-sas.txt --host-before before-list-sas.txt --strongswan-backend kernel-libipsec
  ipsecmon check -r gw.pcap -k xfrm-state.txt --host xfrm-state-after.txt,xfrm_stat.txt --me 192.0.2.1
  ipsecmon check -i eth0 --duration 60s --host live:vici     # live: the host is read before and after the capture
`)
	in.register(fs)
	lf.register(fs)
	fs.StringArrayVar(&hostFiles, "host", nil, "host snapshot at the end of the capture: FILE[,FILE...] for one host (e.g. ip -s xfrm state,/proc/net/xfrm_stat), or live:xfrm, live:vici[=SOCKET]; repeat for each host")
	fs.StringArrayVar(&beforeFiles, "host-before", nil, "the same host's snapshot at the start of the capture, in the same order as --host, so that deltas are compared")
	fs.StringArrayVar(&hostAt, "host-at", nil, "when the --host snapshot was taken, on the capture's clock (RFC 3339, e.g. 2026-11-27T03:27:44.5Z), in the same order as --host; default: the moment its per-SA packet counters fit")
	fs.StringVar(&tolerance, "tolerance", "0", "how far figures may differ and still agree: N (count) or N% (of the host's value)")
	fs.StringVar(&backend, "strongswan-backend", "", "strongSwan's kernel backend for swanctl files that do not name it: kernel-libipsec or kernel-netlink (sets what their byte counters count)")
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	cfg, format, inputs, err := in.config(fs.Args(), lf.live())
	if err != nil {
		return usageError(stderr, "check", err)
	}
	lf.apply(&cfg, fs)
	if len(hostFiles) == 0 {
		return usageError(stderr, "check", fmt.Errorf("give at least one --host"))
	}
	if len(beforeFiles) > len(hostFiles) {
		return usageError(stderr, "check", fmt.Errorf("%d --host-before for %d --host", len(beforeFiles), len(hostFiles)))
	}
	if len(hostAt) > len(hostFiles) {
		return usageError(stderr, "check", fmt.Errorf("%d --host-at for %d --host", len(hostAt), len(hostFiles)))
	}
	if len(hostAt) > 0 && lf.live() {
		return usageError(stderr, "check", fmt.Errorf("--host-at: a live check reads its hosts when the capture ends"))
	}
	tol, err := crosscheck.ParseTolerance(tolerance)
	if err != nil {
		return usageError(stderr, "check", err)
	}
	// The addresses named with --me; nil when none were.
	var isMe func(netip.Addr) bool
	if len(cfg.Me) > 0 {
		isMe = func(a netip.Addr) bool {
			for _, p := range cfg.Me {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
	}
	loadOne := func(name string) (*hosts.Snapshot, error) {
		if strings.HasPrefix(name, "live:") {
			return hosts.Live(name)
		}
		return hosts.Load(name)
	}
	// One host's files (an SA dump and its global counters) make one snapshot.
	load := func(spec string) (*hosts.Snapshot, error) {
		var parts []*hosts.Snapshot
		for _, name := range strings.Split(spec, ",") {
			p, err := loadOne(name)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		}
		s := parts[0]
		if len(parts) > 1 {
			s = hosts.Merge(parts...)
			s.Source = spec
		}
		if isMe != nil {
			s.ResolveDirections(isMe)
		}
		if backend != "" && s.Backend == "" && strings.HasPrefix(s.Format, "swanctl") {
			if err := s.AssumeBackend(backend); err != nil {
				return nil, err
			}
		}
		for _, w := range s.Warnings {
			fmt.Fprintf(stderr, "ipsecmon: %s: warning: %s\n", spec, w)
		}
		return s, nil
	}
	// A live host source read during a live capture is read twice: now, as
	// the state at the capture's start, and again at its end.
	liveHost := func(spec string) bool { return strings.HasPrefix(spec, "live:") }
	hs := make([]crosscheck.Host, len(hostFiles))
	for i, name := range hostFiles {
		if !(liveHost(name) && lf.live()) {
			if hs[i].After, err = load(name); err != nil {
				fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
				return exitUsage
			}
		}
		before := ""
		if i < len(beforeFiles) {
			before = beforeFiles[i]
		} else if liveHost(name) && lf.live() {
			before = name
		}
		if before != "" {
			if hs[i].Before, err = load(before); err != nil {
				fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
				return exitUsage
			}
		}
		if i < len(hostAt) && hostAt[i] != "" {
			if hs[i].At, err = time.Parse(time.RFC3339Nano, hostAt[i]); err != nil {
				return usageError(stderr, "check", fmt.Errorf("--host-at %q: want an RFC 3339 time such as 2026-11-27T03:27:44.5Z", hostAt[i]))
			}
		}
	}
	// Offline, the snapshots are known before the capture is read: watch
	// it for the moments they were taken at. A live check reads its hosts
	// at the capture's start and end.
	var rec *crosscheck.Recorder
	if !lf.live() {
		rec = crosscheck.NewRecorder(hs)
		cfg.OnAccepted = rec.Observe
	}
	if err := in.openLog(stdout, 0); err != nil {
		return usageError(stderr, "check", err)
	}
	r, status := collect(&in, &lf, cfg, inputs, stderr)
	for i, name := range hostFiles {
		if hs[i].After == nil {
			if hs[i].After, err = load(name); err != nil {
				fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
				return exitUsage
			}
		}
	}
	if st := in.closeLog(stderr); st != exitOK {
		status = st
	}
	if r.Snap == nil {
		return status
	}
	rows := crosscheck.Compare(crosscheck.Input{Snap: r.Snap, BadSPIByDst: r.Snap.BadSPIByDst, SAKnowledgeComplete: r.Snap.SAKnowledgeComplete, Me: isMe, Rec: rec}, hs, tol)
	if err := writeCheck(stdout, rows, format); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	if status != exitOK {
		return status
	}
	if crosscheck.Differences(rows) > 0 {
		return exitMismatch
	}
	return exitOK
}

func writeCheck(w io.Writer, rows []crosscheck.Row, f report.Format) error {
	if f == report.JSON {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	num := func(p *uint64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatUint(*p, 10)
	}
	diff := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	header := []string{"Host", "SA", "Figure", "ipsecmon", "Host value", "Difference", "Verdict", "Reason"}
	var cells [][]string
	agree, differ, nc := 0, 0, 0
	for _, r := range rows {
		switch r.Verdict {
		case crosscheck.Agree:
			agree++
		case crosscheck.Differs:
			differ++
		default:
			nc++
		}
		cells = append(cells, []string{r.Host, r.SA, r.Figure, num(r.Analyzer), num(r.HostVal), diff(r.Diff), string(r.Verdict), r.Reason})
	}
	if f == report.CSV {
		return report.WriteCSV(w, []string{"host", "sa", "figure", "ipsecmon", "host_value", "difference", "verdict", "reason"}, cells)
	}
	for i := range cells {
		for _, j := range []int{3, 4} {
			if cells[i][j] == "" {
				cells[i][j] = "-"
			}
		}
	}
	if err := report.WriteTable(w, header, cells, []bool{false, false, false, true, true, true, false, false}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d agree, %d differ, %d not comparable\n", agree, differ, nc)
	return err
}
