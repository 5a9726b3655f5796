package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"ipsecmon/bounds"
	"ipsecmon/report"
)

var statsCmd = &analysis{
	name:    "stats",
	summary: "Quick Mode Statistics: the IP Security Monitor's counters",
	synopsis: "Shows the Quick Mode Statistics of the IP Security Monitor, computed from the packets.\n" +
		"Figures the input cannot tell are n/a (null in JSON); partial ones are marked and explained.",
	examples: `  ipsecmon stats -r gateway.pcap
  ipsecmon stats -r a.pcap -r b.pcapng.gz --me 10.0.0.1 -o json
  ipsecmon stats -r sample.pcap --expect sample-stats.json
  ipsecmon stats -i eth0 --duration 30s -o json
`,
	expect: true,
	own:    shows(report.Stats{}),
}

var sasCmd = &analysis{
	name:    "sas",
	summary: "Security Associations: one row per Quick Mode SA",
	synopsis: "Shows the Security Associations view: one row per Quick Mode SA (an inbound and outbound\n" +
		"SA paired when unambiguous, or a lone direction). Unknown values are '-' (null in JSON).",
	examples: `  ipsecmon sas -r gateway.pcap
  ipsecmon sas -r gateway.pcap --columns +spi_in,+spi_out,+packets_in,+bytes_in --sort -bytes_in
  ipsecmon sas -r gateway.pcap --columns me,peer,spi_in,spi_out,state -o csv
Columns (title or key): ` + strings.Join(report.SAColumns.Keys(), ", ") + "\n",
	expect: true,
	own: func(fs *pflag.FlagSet) prepare {
		var cf columnFlags
		cf.register(fs, "the IP Security Monitor's")
		return func(s *setup) (view, error) {
			cols, keys, err := pickColumns(&cf, report.SAColumns, s.format == report.JSON)
			if err != nil {
				return nil, err
			}
			return func(r report.Run, o output) (int, error) {
				if err := (report.SAs{Columns: cols, Sort: keys}).Write(o.stdout, r, o.format); err != nil {
					return exitUsage, err
				}
				if o.format == report.Table && !o.quiet {
					fmt.Fprintf(o.stderr, "%d Quick Mode SAs. ", len(r.Snap.Rows))
					io.WriteString(o.stderr, report.InputSummary(r))
				}
				warnExhaustion(r, o)
				return exitOK, nil
			}, nil
		}
	},
}

var tunnelsCmd = &analysis{
	name:    "tunnels",
	summary: "Tunnels: each tunnel across its rekeys, its cumulative traffic and where packets were lost",
	synopsis: "Shows one row per tunnel: the same peers and traffic selectors over time, followed across\n" +
		"CHILD SA rekeys, IKE SA rekeys and reauthentication, with traffic summed over its SAs, sequence\n" +
		"analysis (lost, reordered, duplicate, late packets) and each rekey's figures (rekeys_detail).",
	examples: `  ipsecmon tunnels -r gateway.pcap -k keys.txt
  ipsecmon tunnels -r gateway.pcap --columns +reordered_in,+reordered_out,+rekeys_detail --sort -lost_in
  ipsecmon tunnels -r gateway.pcap -o json
Columns (title or key): ` + strings.Join(report.TunnelColumns.Keys(), ", ") + "\n",
	own: func(fs *pflag.FlagSet) prepare {
		var cf columnFlags
		cf.register(fs, "local, remote, selectors, child SAs, rekeys, traffic, loss, state")
		return func(s *setup) (view, error) {
			cols, keys, err := pickColumns(&cf, report.TunnelColumns, s.format == report.JSON)
			if err != nil {
				return nil, err
			}
			return func(r report.Run, o output) (int, error) {
				if err := (report.Tunnels{Columns: cols, Sort: keys}).Write(o.stdout, r, o.format); err != nil {
					return exitUsage, err
				}
				if o.format == report.Table && !o.quiet {
					fmt.Fprintf(o.stderr, "%d tunnels. ", len(r.Snap.Tunnels))
					io.WriteString(o.stderr, report.InputSummary(r))
				}
				warnExhaustion(r, o)
				return exitOK, nil
			}, nil
		}
	},
}

var mmsasCmd = &analysis{
	name:    "mmsas",
	summary: "Main Mode / IKE SAs: peers, SPIs, suites, state",
	synopsis: "Shows the Main Mode (IKEv1 ISAKMP) and IKEv2 SAs: peers, cookies or SPIs, exchange, authentication,\n" +
		"encryption, integrity, PRF, DH group, lifetime and state. Encrypted details need IKE keys (--keys).",
	examples: `  ipsecmon mmsas -r gateway.pcap -k ikev2_decryption_table
  ipsecmon mmsas -r gateway.pcap -k keys.txt --columns id,initiator,encryption,state,messages --sort -messages
  ipsecmon mmsas -r gateway.pcap -k keys.txt -o json > ike.json; ipsecmon mmsas -r gateway.pcap -k keys.txt --expect ike.json
Columns (title or key): ` + strings.Join(report.MMSAColumns.Keys(), ", ") + "\n",
	expect: true,
	own: func(fs *pflag.FlagSet) prepare {
		var cf columnFlags
		cf.register(fs, "id through ended")
		return func(s *setup) (view, error) {
			cols, keys, err := pickColumns(&cf, report.MMSAColumns, s.format == report.JSON)
			if err != nil {
				return nil, err
			}
			return func(r report.Run, o output) (int, error) {
				if err := (report.MMSAs{Columns: cols, Sort: keys}).Write(o.stdout, r, o.format); err != nil {
					return exitOK, err
				}
				warnLimits(r, o)
				return exitOK, nil
			}, nil
		}
	},
}

var policiesCmd = &analysis{
	name:    "policies",
	summary: "Negotiation Policies: offered security methods in order, and the one chosen",
	synopsis: "Shows the Negotiation Policies: for each phase 2 negotiation the security methods offered, in\n" +
		"preference order, and the one chosen; identical offer lists are one policy.",
	examples: `  ipsecmon policies -r gateway.pcap -k keys.txt
  ipsecmon policies -r gateway.pcap -k keys.txt -o json > policies.json; ipsecmon policies -r gateway.pcap -k keys.txt --expect policies.json
`,
	expect: true,
	own:    shows(report.Policies{}),
}

// eventsCmd prints the forensic timeline: every IKE message and every SA
// lifecycle event and anomaly, as JSON lines in capture order (--events
// to stdout, the only output).
var eventsCmd = &analysis{
	name:    "events",
	summary: "forensic timeline: IKE messages and SA lifecycle events as JSON lines",
	synopsis: "Prints the forensic timeline as JSON lines: one per IKE message (decrypted when keys allow)\n" +
		"and one per SA lifecycle event or anomaly, with capture timestamps and frame numbers.",
	examples: `  ipsecmon events -r gateway.pcap -k keys.txt
  ipsecmon events -r gateway.pcap | jq 'select(.event.action == "child_sa_negotiated")'
`,
	own: func(fs *pflag.FlagSet) prepare {
		return func(s *setup) (view, error) {
			if fs.Changed("output") && s.format != report.JSON {
				return nil, flagError(fmt.Errorf("-o %s: events are JSON lines only", s.format))
			}
			s.cfg.IKEMessageEvents = true
			if s.in.events.name == "" {
				s.in.events.name = "-"
			}
			return nil, nil
		}
	},
}

// warnExhaustion says on stderr (unless -q) which SAs would run out of
// 32-bit sequence numbers within a day at their observed rate.
func warnExhaustion(r report.Run, o output) {
	if o.quiet {
		return
	}
	for _, w := range report.ExhaustionWarnings(r.Snap) {
		fmt.Fprintln(o.stderr, w)
	}
}

// warnLimits names, on stderr, the memory bounds that discarded something:
// views other than stats and sas (which list them in their summary) would
// otherwise show figures that silently leave it out.
func warnLimits(r report.Run, o output) {
	if o.quiet || r.Snap == nil {
		return
	}
	for _, l := range bounds.Hit(report.Limits(r)) {
		fmt.Fprintf(o.stderr, "ipsecmon: limit reached: %s\n", l)
	}
}

// columnFlags are --columns and --sort of a view with columns.
type columnFlags struct{ columns, sort []string }

func (c *columnFlags) register(fs *pflag.FlagSet, defaults string) {
	fs.StringArrayVar(&c.columns, "columns", nil, "columns to show: 'a,b,c' sets them, '+col' adds, '-col' removes (default: "+defaults+"; JSON: all)")
	fs.StringArrayVar(&c.sort, "sort", nil, "sort by columns, '-col' for descending; repeatable or comma-separated")
}

// pickColumns reads --columns and --sort for a view's columns; all: every
// column unless --columns says otherwise.
func pickColumns[R any](c *columnFlags, t *report.Columns[R], all bool) ([]*report.Column[R], []report.SortKey[R], error) {
	cols, err := t.Select(c.columns, all)
	if err != nil {
		return nil, nil, flagError(err)
	}
	keys, err := t.ParseSort(c.sort)
	if err != nil {
		return nil, nil, flagError(err)
	}
	return cols, keys, nil
}
