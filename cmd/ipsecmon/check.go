package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ipsecmon/crosscheck"
	"ipsecmon/hosts"
	"ipsecmon/report"
)

var checkCmd = &analysis{
	name:    "check",
	summary: "cross-check the capture's figures with the host's own counters",
	synopsis: `Compares the capture's figures with the host's own counters, SA by SA and counter by counter,
and reports each agreement and each disagreement. A host's snapshot may be taken at any time
during the capture: the moment its per-SA packet counters fit is found, and the figures are
compared as the capture stood then (--host-at gives the moment instead). Host sources (detected from content):
ip -s xfrm state, /proc/net/xfrm_stat, swanctl --list-sas [--raw|--pretty], swanctl --counters,
ipsec statusall, Libreswan ipsec trafficstatus, Windows Get-NetIPsecQuickModeSA JSON, typeperf CSV,
Get-Counter text, netsh ipsec dynamic show stats; live:xfrm and live:vici[=SOCKET].
Exit status: 0 every comparable figure agrees, 1 any differs, 2 usage or input error.`,
	examples: `  ipsecmon check -r gw.pcap -k keys.txt --host after-list-sas.txt --host-before before-list-sas.txt --strongswan-backend kernel-libipsec
  ipsecmon check -r gw.pcap -k keys.txt --host after-list-sas.txt --host-at 2026-11-27T03:27:46.05Z --strongswan-backend kernel-libipsec
  ipsecmon check -r gw.pcap -k xfrm-state.txt --host xfrm-state-after.txt,xfrm_stat.txt --me 192.0.2.1
  ipsecmon check -i eth0 --duration 60s --host live:vici     # live: the host is read before and after the capture
`,
	own: func(fs *pflag.FlagSet) prepare {
		c := &checkFlags{}
		c.register(fs)
		return c.prepare
	},
}

// checkFlags are check's own flags and the hosts they name.
type checkFlags struct {
	hostFiles, beforeFiles, hostAt []string
	tolerance, backend             string

	tol    crosscheck.Tolerance
	isMe   func(netip.Addr) bool // the addresses named with --me; nil when none were
	hs     []crosscheck.Host
	rec    *crosscheck.Recorder
	stderr io.Writer
}

func (c *checkFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.hostFiles, "host", nil, "host snapshot at the end of the capture: FILE[,FILE...] for one host (e.g. ip -s xfrm state,/proc/net/xfrm_stat), or live:xfrm, live:vici[=SOCKET]; repeat for each host")
	fs.StringArrayVar(&c.beforeFiles, "host-before", nil, "the same host's snapshot at the start of the capture, in the same order as --host, so that deltas are compared")
	fs.StringArrayVar(&c.hostAt, "host-at", nil, "when the --host snapshot was taken, on the capture's clock (RFC 3339, e.g. 2026-11-27T03:27:44.5Z), in the same order as --host; default: the moment its per-SA packet counters fit")
	fs.StringVar(&c.tolerance, "tolerance", "0", "how far figures may differ and still agree: N (count) or N% (of the host's value)")
	fs.StringVar(&c.backend, "strongswan-backend", "", "strongSwan's kernel backend for swanctl files that do not name it: kernel-libipsec or kernel-netlink (sets what their byte counters count)")
}

// prepare checks the flags and reads the hosts' snapshots: those taken
// before the capture, and offline all of them, so that the capture can be
// watched for the moments they were taken at.
func (c *checkFlags) prepare(s *setup) (view, error) {
	c.stderr = s.stderr
	switch {
	case len(c.hostFiles) == 0:
		return nil, flagError(fmt.Errorf("give at least one --host"))
	case len(c.beforeFiles) > len(c.hostFiles):
		return nil, flagError(fmt.Errorf("%d --host-before for %d --host", len(c.beforeFiles), len(c.hostFiles)))
	case len(c.hostAt) > len(c.hostFiles):
		return nil, flagError(fmt.Errorf("%d --host-at for %d --host", len(c.hostAt), len(c.hostFiles)))
	case len(c.hostAt) > 0 && s.live:
		return nil, flagError(fmt.Errorf("--host-at: a live check reads its hosts when the capture ends"))
	}
	var err error
	if c.tol, err = crosscheck.ParseTolerance(c.tolerance); err != nil {
		return nil, flagError(err)
	}
	if me := s.cfg.Me; len(me) > 0 {
		c.isMe = func(a netip.Addr) bool {
			for _, p := range me {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
	}
	// A live host source read during a live capture is read twice: now, as
	// the state at the capture's start, and again at its end.
	liveHost := func(spec string) bool { return strings.HasPrefix(spec, "live:") }
	c.hs = make([]crosscheck.Host, len(c.hostFiles))
	for i, name := range c.hostFiles {
		h := &c.hs[i]
		if !(liveHost(name) && s.live) {
			if h.After, err = c.load(name); err != nil {
				return nil, err
			}
		}
		before := ""
		if i < len(c.beforeFiles) {
			before = c.beforeFiles[i]
		} else if liveHost(name) && s.live {
			before = name
		}
		if before != "" {
			if h.Before, err = c.load(before); err != nil {
				return nil, err
			}
		}
		if i < len(c.hostAt) && c.hostAt[i] != "" {
			if h.At, err = time.Parse(time.RFC3339Nano, c.hostAt[i]); err != nil {
				return nil, flagError(fmt.Errorf("--host-at %q: want an RFC 3339 time such as 2026-11-27T03:27:44.5Z", c.hostAt[i]))
			}
		}
	}
	// Offline, the snapshots are known before the capture is read: watch
	// it for the moments they were taken at. A live check reads its hosts
	// at the capture's start and end.
	if !s.live {
		c.rec = crosscheck.NewRecorder(c.hs)
		s.cfg.OnAccepted = c.rec.Observe
	}
	return c.show, nil
}

// load reads one host's snapshot: its files (an SA dump and its global
// counters) make one.
func (c *checkFlags) load(spec string) (*hosts.Snapshot, error) {
	var parts []*hosts.Snapshot
	for _, name := range strings.Split(spec, ",") {
		load := hosts.Load
		if strings.HasPrefix(name, "live:") {
			load = hosts.Live
		}
		p, err := load(name)
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
	if c.isMe != nil {
		s.ResolveDirections(c.isMe)
	}
	if c.backend != "" && s.Backend == "" && strings.HasPrefix(s.Format, "swanctl") {
		if err := s.AssumeBackend(c.backend); err != nil {
			return nil, err
		}
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(c.stderr, "ipsecmon: %s: warning: %s\n", spec, w)
	}
	return s, nil
}

// show reads the live hosts' end snapshots, compares, and exits 1 when a
// figure differs.
func (c *checkFlags) show(r report.Run, o output) (int, error) {
	for i, name := range c.hostFiles {
		if c.hs[i].After == nil {
			var err error
			if c.hs[i].After, err = c.load(name); err != nil {
				return exitUsage, err
			}
		}
	}
	in := crosscheck.Input{Snap: r.Snap, BadSPIByDst: r.Snap.BadSPIByDst, SAKnowledgeComplete: r.Snap.SAKnowledgeComplete, Me: c.isMe, Rec: c.rec}
	rows := crosscheck.Compare(in, c.hs, c.tol)
	if err := report.WriteCheck(o.stdout, rows, o.format); err != nil {
		return exitUsage, err
	}
	if crosscheck.Differences(rows) > 0 {
		return exitMismatch, nil
	}
	return exitOK, nil
}
