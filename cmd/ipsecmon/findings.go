package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"ipsecmon/analyzer"
	"ipsecmon/findings"
	"ipsecmon/report"
	"ipsecmon/timeline"
)

var findingsCmd = &analysis{
	name:    "findings",
	summary: "audit: weak crypto, missing PFS, idle or dead tunnels, Bad SPI bursts, MTU and NAT trouble",
	synopsis: "Audits the analysis: weak or missing cryptography of every IKE and Quick Mode SA (RFC 8221, RFC 8247),\n" +
		"Aggressive Mode with a pre-shared key, pairs without PFS, tunnels idle or dead (RFC 7296 §2.4), Bad SPI\n" +
		"bursts, fragmentation, NAT mapping changes and, with --policy, policy violations. One finding per SA or\n" +
		"tunnel, each with a severity (info, low, medium, high, critical) and a detail citing the RFC.\n" +
		"Finding names: " + strings.Join(findings.Kinds(), ", ") + ".\n" +
		"Exit status: 0, or 1 with --fail-on when a finding is that severe or worse; 2 usage or input error.",
	examples: `  ipsecmon findings -r gateway.pcap -k keys.txt
  ipsecmon findings -r gateway.pcap --fail-on medium -o json
  ipsecmon findings -r gateway.pcap --columns severity,finding,spi_in,spi_out,detail -o csv
`,
	own: func(fs *pflag.FlagSet) prepare {
		var cf columnFlags
		cf.register(fs, "severity, finding, local, remote, SPIs, IKE SA, time; CSV and JSON: all")
		failOn := fs.String("fail-on", "", "exit 1 when a finding is this severe or worse: info, low, medium, high or critical")
		return func(s *setup) (view, error) {
			var fail *findings.Severity
			if *failOn != "" {
				sev, err := findings.ParseSeverity(*failOn)
				if err != nil {
					return nil, flagError(fmt.Errorf("--fail-on: %w", err))
				}
				fail = &sev
			}
			var cols []*report.Column[*findings.Finding]
			if len(cf.columns) > 0 {
				var err error
				if cols, err = report.FindingColumns.Select(cf.columns, false); err != nil {
					return nil, flagError(err)
				}
			}
			keys, err := report.FindingColumns.ParseSort(cf.sort)
			if err != nil {
				return nil, flagError(err)
			}
			rec := record(s.cfg)
			return func(r report.Run, o output) (int, error) {
				list := findings.Audit(findings.Input{Snap: r.Snap, Timeline: rec.Timeline()})
				if err := (report.Findings{List: list, Columns: cols, Sort: keys}).Write(o.stdout, o.format); err != nil {
					return exitUsage, err
				}
				if w, any := findings.Worst(list); fail != nil && any && w >= *fail {
					return exitMismatch, nil
				}
				return exitOK, nil
			}, nil
		}
	},
}

// record has a timeline recorded during the run: the analyzer's accepted
// packets and events go to it as well as wherever they went before.
func record(cfg *analyzer.Config) *timeline.Recorder {
	rec := timeline.New(timeline.Limits{})
	prev := cfg.OnAccepted
	cfg.OnAccepted = func(sa *analyzer.SA, now int64) {
		if prev != nil {
			prev(sa, now)
		}
		rec.Accepted(sa, now)
	}
	cfg.OnEvent = chainEvents(cfg.OnEvent, rec.Event)
	return rec
}

// chainEvents has both f and g see every event (a nil one is left out).
func chainEvents(f, g func(analyzer.Event)) func(analyzer.Event) {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(e analyzer.Event) { f(e); g(e) }
}
