package main

import (
	"fmt"
	"io"
	"strconv"

	"ipsecmon/analyzer"
	"ipsecmon/filters"
	"ipsecmon/policy"
	"ipsecmon/report"
)

func runFilters(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var generic, specific bool
	fs := newFlagSet("filters", `Shows the IPsec policy's filters. --generic: as configured, keywords (me, dns, dhcp, wins, gateway,
any) shown as keywords. --specific: expanded into actual addresses, one row per direction, with
their weight; with a capture (-r), also the filters its negotiated selectors imply, and each
filter's packet hits.`,
		`  ipsecmon filters --generic --policy /etc/swanctl/swanctl.conf
  ipsecmon filters --specific --policy policy.txt --me 192.0.2.1 --dns 192.0.2.53 --gateway 192.0.2.254
  ipsecmon filters --specific --policy swanctl.conf -r gw.pcap -k keys.txt --system-keywords
`)
	in.register(fs)
	fs.BoolVar(&generic, "generic", false, "the Generic Filters view")
	fs.BoolVar(&specific, "specific", false, "the Specific Filters view")
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	if generic == specific {
		return usageError(stderr, "filters", fmt.Errorf("give exactly one of --generic and --specific"))
	}
	if len(in.pol.files) == 0 {
		return usageError(stderr, "filters", fmt.Errorf("give the policy with --policy FILE"))
	}
	format, err := report.ParseFormat(in.output)
	if err != nil {
		return usageError(stderr, "filters", err)
	}
	if generic {
		set, err := in.pol.load(stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
			return exitUsage
		}
		if err := writeGeneric(stdout, set, format); err != nil {
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
	if err := writeSpecific(stdout, rows, hits, withCapture, format); err != nil {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
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
			if r.Policy > 0 {
				neg.Policy = fmt.Sprintf("policy %d", r.Policy)
			}
			out = append(out, filters.FromNegotiated(neg, rule)...)
		}
	}
	return out
}

func protoCell(p uint8) string {
	if p == 0 {
		return "Any"
	}
	return strconv.Itoa(int(p))
}

func addrCell(a policy.Addr) string {
	if a.Kind == policy.AddrNone {
		return "None"
	}
	return a.String()
}

func writeGeneric(w io.Writer, set *policy.Set, f report.Format) error {
	header := []string{"Name", "Source", "Destination", "Source Port", "Destination Port", "Source Tunnel Endpoint", "Destination Tunnel Endpoint", "Protocol", "Inbound Action", "Outbound Action", "Negotiation Policy", "Connection Type"}
	keys := []string{"name", "source", "destination", "source_port", "destination_port", "source_tunnel_endpoint", "destination_tunnel_endpoint", "protocol", "inbound_action", "outbound_action", "negotiation_policy", "connection_type"}
	var rows [][]string
	var objs []any
	for _, g := range set.Filters {
		row := []string{g.Name, g.Src.String(), g.Dst.String(), g.SrcPort.String(), g.DstPort.String(), addrCell(g.TunnelSrc), addrCell(g.TunnelDst),
			protoCell(g.Proto), g.Inbound.String(), g.Outbound.String(), orDash(g.Policy), g.Conn.String()}
		rows = append(rows, row)
		obj := map[string]any{}
		for i, k := range keys {
			obj[k] = row[i]
		}
		obj["origin"] = g.Origin
		objs = append(objs, obj)
	}
	return writeRows(w, f, header, keys, rows, objs)
}

func writeSpecific(w io.Writer, fs []filters.SpecificFilter, hits map[int]uint64, withHits bool, f report.Format) error {
	header := []string{"Name", "Source", "Destination", "Source Port", "Destination Port", "Source Tunnel Endpoint", "Destination Tunnel Endpoint", "Protocol", "Direction", "Action", "Negotiation Policy", "Connection Type", "Weight"}
	keys := []string{"name", "source", "destination", "source_port", "destination_port", "source_tunnel_endpoint", "destination_tunnel_endpoint", "protocol", "direction", "action", "negotiation_policy", "connection_type", "weight"}
	if withHits {
		header, keys = append(header, "Packets"), append(keys, "packets")
	}
	var rows [][]string
	var objs []any
	for i, s := range fs {
		row := []string{s.Name, s.Src.String(), s.Dst.String(), s.SrcPort.String(), s.DstPort.String(), addrCell(s.TunnelSrc), addrCell(s.TunnelDst),
			protoCell(s.Proto), s.Dir.String(), s.Action.String(), orDash(s.Policy), s.Conn.String(), strconv.FormatUint(uint64(s.Weight), 10)}
		if withHits {
			row = append(row, strconv.FormatUint(hits[i], 10))
		}
		rows = append(rows, row)
		obj := map[string]any{}
		for j, k := range keys {
			obj[k] = row[j]
		}
		objs = append(objs, obj)
	}
	return writeRows(w, f, header, keys, rows, objs)
}
