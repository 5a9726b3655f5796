package report

import (
	"bytes"
	"encoding/json"
	"io"

	"ipsecmon/filters"
	"ipsecmon/ipproto"
	"ipsecmon/policy"
)

// filterRow is a generic filter (as configured) or a specific one
// (expanded, one direction) in the Filters views.
type filterRow struct {
	name                   string
	src, dst               policy.Addr
	srcPort, dstPort       policy.Ports
	tunnelSrc, tunnelDst   policy.Addr
	proto                  uint8
	inbound, outbound, act policy.Action
	dir                    filters.Direction
	policy                 string
	conn                   policy.ConnType
	origin                 string // a generic filter's file and line
	weight                 uint32
	packets                uint64
}

// endpointCell is a tunnel endpoint: None in transport mode.
func endpointCell(a policy.Addr) Value {
	if a.Kind == policy.AddrNone {
		return str("None")
	}
	return str(a.String())
}

// filterColumns are the columns of both Filters views; each view picks its own.
var filterColumns = &Columns[*filterRow]{All: []*Column[*filterRow]{
	{Name: "Name", Key: "name", Get: func(r *filterRow) Value { return str(r.name) }},
	{Name: "Source", Key: "source", Get: func(r *filterRow) Value { return str(r.src.String()) }},
	{Name: "Destination", Key: "destination", Get: func(r *filterRow) Value { return str(r.dst.String()) }},
	{Name: "Source Port", Key: "source_port", Get: func(r *filterRow) Value { return str(r.srcPort.String()) }},
	{Name: "Destination Port", Key: "destination_port", Get: func(r *filterRow) Value { return str(r.dstPort.String()) }},
	{Name: "Source Tunnel Endpoint", Key: "source_tunnel_endpoint", Get: func(r *filterRow) Value { return endpointCell(r.tunnelSrc) }},
	{Name: "Destination Tunnel Endpoint", Key: "destination_tunnel_endpoint", Get: func(r *filterRow) Value { return endpointCell(r.tunnelDst) }},
	{Name: "Protocol", Key: "protocol", Get: func(r *filterRow) Value { return str(ipproto.Name(r.proto)) }},
	{Name: "Inbound Action", Key: "inbound_action", Get: func(r *filterRow) Value { return str(r.inbound.String()) }},
	{Name: "Outbound Action", Key: "outbound_action", Get: func(r *filterRow) Value { return str(r.outbound.String()) }},
	{Name: "Direction", Key: "direction", Get: func(r *filterRow) Value { return str(r.dir.String()) }},
	{Name: "Action", Key: "action", Get: func(r *filterRow) Value { return str(r.act.String()) }},
	{Name: "Negotiation Policy", Key: "negotiation_policy", Get: func(r *filterRow) Value { return orNull(r.policy) }},
	{Name: "Connection Type", Key: "connection_type", Get: func(r *filterRow) Value { return str(r.conn.String()) }},
	{Name: "Weight", Key: "weight", Get: func(r *filterRow) Value { return exact(uint64(r.weight)) }},
	{Name: "Packets", Key: "packets", Get: func(r *filterRow) Value { return exact(r.packets) }},
	{Name: "Origin", Key: "origin", Get: func(r *filterRow) Value { return orNull(r.origin) }},
}}

const (
	filterHead = "name,source,destination,source_port,destination_port,source_tunnel_endpoint,destination_tunnel_endpoint,protocol,"
	filterTail = "negotiation_policy,connection_type"
)

// writeFilters prints filter rows in the named columns; JSON adds json
// (a generic filter's origin).
func writeFilters(w io.Writer, rows []*filterRow, columns, json string, f Format) error {
	if f == JSON && json != "" {
		columns += "," + json
	}
	cols, err := filterColumns.Select([]string{columns}, false)
	if err != nil {
		return err
	}
	return filterColumns.Write(w, rows, cols, f)
}

// WriteGenericFilters prints the Generic Filters view: the policy's filters
// as configured, keywords (me, dns, dhcp, wins, gateway, any) as keywords.
func WriteGenericFilters(w io.Writer, set *policy.Set, f Format) error {
	rows := make([]*filterRow, len(set.Filters))
	for i, g := range set.Filters {
		rows[i] = &filterRow{name: g.Name, src: g.Src, dst: g.Dst, srcPort: g.SrcPort, dstPort: g.DstPort, tunnelSrc: g.TunnelSrc, tunnelDst: g.TunnelDst,
			proto: g.Proto, inbound: g.Inbound, outbound: g.Outbound, policy: g.Policy, conn: g.Conn, origin: g.Origin}
	}
	return writeFilters(w, rows, filterHead+"inbound_action,outbound_action,"+filterTail, "origin", f)
}

// WriteSpecificFilters prints the Specific Filters view: filters expanded
// into addresses, one per direction, with their weight; withHits adds each
// filter's packets (hits, by index in fs) in the capture.
func WriteSpecificFilters(w io.Writer, fs []filters.SpecificFilter, hits map[int]uint64, withHits bool, f Format) error {
	rows := make([]*filterRow, len(fs))
	for i, s := range fs {
		rows[i] = &filterRow{name: s.Name, src: s.Src, dst: s.Dst, srcPort: s.SrcPort, dstPort: s.DstPort, tunnelSrc: s.TunnelSrc, tunnelDst: s.TunnelDst,
			proto: s.Proto, dir: s.Dir, act: s.Action, policy: s.Policy, conn: s.Conn, weight: s.Weight, packets: hits[i]}
	}
	columns := filterHead + "direction,action," + filterTail + ",weight"
	if withHits {
		columns += ",packets"
	}
	return writeFilters(w, rows, columns, "", f)
}

// WriteBothFilters prints both filter views as one JSON object, so that
// standard output stays one JSON document.
func WriteBothFilters(w io.Writer, set *policy.Set, fs []filters.SpecificFilter, hits map[int]uint64, withHits bool) error {
	var g, s bytes.Buffer
	if err := WriteGenericFilters(&g, set, JSON); err != nil {
		return err
	}
	if err := WriteSpecificFilters(&s, fs, hits, withHits, JSON); err != nil {
		return err
	}
	return writeJSON(w, map[string]json.RawMessage{"generic_filters": g.Bytes(), "specific_filters": s.Bytes()})
}
