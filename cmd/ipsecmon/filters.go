package main

import (
	"fmt"
	"io"

	"ipsecmon/analyzer"
	"ipsecmon/filters"
	"ipsecmon/report"
)

func runFilters(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var generic, specific bool
	fs := newFlagSet("filters", `Shows the IPsec policy's filters. --generic: as configured, keywords (me, dns, dhcp, wins, gateway,
any) shown as keywords. --specific: expanded into actual addresses, one row per direction, with
their weight; with a capture (-r), also the filters its negotiated selectors imply, and each
filter's packet hits. With neither flag, both views (JSON: one object with both).`,
		`  ipsecmon filters --generic --policy /etc/swanctl/swanctl.conf
  ipsecmon filters --specific --policy policy.txt --me 192.0.2.1 --dns 192.0.2.53 --gateway 192.0.2.254
  ipsecmon filters --specific --policy swanctl.conf -r gw.pcap -k keys.txt --system-keywords
`)
	in.register(fs)
	fs.MarkHidden("expect")
	fs.BoolVar(&generic, "generic", false, "the Generic Filters view")
	fs.BoolVar(&specific, "specific", false, "the Specific Filters view")
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	if !generic && !specific {
		generic, specific = true, true
	}
	if len(in.expect) > 0 {
		return usageError(stderr, "filters", fmt.Errorf("--expect applies to stats, sas, mmsas and policies, whose -o json it compares with"))
	}
	if in.events.name == "-" {
		return usageError(stderr, "filters", fmt.Errorf("--events -: standard output carries the filters view; give --events FILE"))
	}
	if len(in.pol.files) == 0 {
		return usageError(stderr, "filters", fmt.Errorf("give the policy with --policy FILE"))
	}
	format, err := report.ParseFormat(in.output)
	if err == nil && format == report.HTML {
		err = fmt.Errorf("-o html: only 'ipsecmon report' writes HTML (table, json or csv here)")
	}
	if err != nil {
		return usageError(stderr, "filters", err)
	}
	if generic && specific && format == report.CSV {
		return usageError(stderr, "filters", fmt.Errorf("-o csv writes one view: give --generic or --specific"))
	}
	if !specific {
		set, err := in.pol.load(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
			return exitUsage
		}
		if err := report.WriteGenericFilters(stdout, set, format); err != nil {
			fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	cfg, _, inputs, err := in.config(fs.Args(), false)
	withCapture := err == nil
	if err != nil && len(in.reads)+len(fs.Args()) > 0 {
		return usageError(stderr, "filters", err)
	}
	fset, err := in.pol.build(cfg.Me, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
		return exitUsage
	}
	rows := fset.Filters
	var hits map[int]uint64
	status := exitOK
	if withCapture {
		var r report.Run
		r, status = collect(&in, &liveFlags{}, cfg, inputs, stderr)
		if r.Snap == nil {
			return status
		}
		if p := r.Snap.Policy; p != nil {
			hits = p.Hits
		}
		rule, _ := filters.ParseWeightRule(in.pol.weight)
		rows = append(rows, negotiatedFilters(r.Snap, rule)...)
	}
	var err2 error
	switch {
	case !generic:
		err2 = report.WriteSpecificFilters(stdout, rows, hits, withCapture, format)
	case format == report.JSON:
		err2 = report.WriteBothFilters(stdout, in.pol.set, rows, hits, withCapture)
	default:
		io.WriteString(stdout, "Generic Filters\n\n")
		if err2 = report.WriteGenericFilters(stdout, in.pol.set, format); err2 == nil {
			io.WriteString(stdout, "\nSpecific Filters\n\n")
			err2 = report.WriteSpecificFilters(stdout, rows, hits, withCapture, format)
		}
	}
	if err2 != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err2)
		return exitUsage
	}
	return status
}

// negotiatedFilters are the specific filters the capture's negotiated
// selectors imply, as Windows' IKE installs them for each SA.
func negotiatedFilters(s *analyzer.Snapshot, rule filters.WeightRule) []filters.SpecificFilter {
	var out []filters.SpecificFilter
	for _, r := range s.Rows {
		for _, sa := range r.SAs() {
			n := sa.Negotiation()
			if n == nil || sa != r.Any() {
				continue
			}
			neg := filters.FromChild(n.Child, r.MyAddr)
			neg.Name += " (negotiated)"
			switch {
			case r.PolicyName != "":
				neg.Policy = r.PolicyName
			case r.Policy > 0:
				neg.Policy = fmt.Sprintf("policy %d", r.Policy)
			}
			out = append(out, filters.FromNegotiated(neg, rule)...)
		}
	}
	return out
}
