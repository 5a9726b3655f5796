package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"ipsecmon/findings"
	"ipsecmon/report"
)

var reportCmd = &analysis{
	name:    "report",
	summary: "one self-contained HTML page: statistics, findings, a timeline and throughput per tunnel, SAs",
	synopsis: "Writes the report a person looks at: one HTML page with everything inline (styles and SVG charts\n" +
		"drawn by ipsecmon; no script, nothing fetched: it opens from an air-gapped disk). It holds the 21\n" +
		"statistics, the findings (as 'ipsecmon findings'), per tunnel a timeline of its SA pairs' lifetimes,\n" +
		"rekeys, Deletes, Bad SPI / replay / integrity-failure bursts and findings, and its throughput each way,\n" +
		fmt.Sprintf("and the SA table. At most %d tunnels are drawn and %d SA rows listed, the busiest; the page says so.\n", report.MaxReportTunnels, report.MaxReportSARows) +
		"Output: -o html (the default) to standard output, or --html FILE.",
	examples: `  ipsecmon report -r gateway.pcap -k keys.txt --html report.html
  ipsecmon report -r gateway.pcap -o html > report.html
`,
	html: true,
	own: func(fs *pflag.FlagSet) prepare {
		file := fs.String("html", "", "write the HTML report to FILE instead of standard output")
		return func(s *setup) (view, error) {
			if s.format != report.HTML {
				return nil, flagError(fmt.Errorf("-o %s: the report is HTML (-o html, or --html FILE)", s.format))
			}
			rec := record(s.cfg)
			return func(r report.Run, o output) (int, error) {
				w := o.stdout
				if *file != "" {
					f, err := os.Create(*file)
					if err != nil {
						return exitUsage, err
					}
					defer f.Close()
					w = f
				}
				tl := rec.Timeline()
				h := report.Page{Findings: findings.Audit(findings.Input{Snap: r.Snap, Timeline: tl}), Timeline: tl, Generator: "ipsecmon " + version}
				if err := h.Write(w, r); err != nil {
					if *file != "" {
						os.Remove(*file) // no empty page left behind to be opened as the report
					}
					return exitUsage, err
				}
				if *file != "" {
					if err := w.(io.Closer).Close(); err != nil {
						return exitUsage, err
					}
					fmt.Fprintf(o.stdout, "%s: %s, %s, %s\n", *file, count(len(r.Snap.Tunnels), "tunnel"), count(len(r.Snap.Rows), "Quick Mode SA"), count(len(h.Findings), "finding"))
				}
				return exitOK, nil
			}, nil
		}
	},
}

// count says n things with the plural a reader expects ("1 tunnel", "2 tunnels").
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
