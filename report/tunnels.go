package report

import (
	"fmt"
	"io"
	"strings"

	"ipsecmon/analyzer"
	"ipsecmon/ipproto"
)

// tunnelDir is one direction's traffic of a tunnel column.
func tunnelDir(get func(*analyzer.TunnelTraffic) Value, in bool) func(*analyzer.Tunnel) Value {
	return func(t *analyzer.Tunnel) Value {
		if in {
			return get(&t.In)
		}
		return get(&t.Out)
	}
}

func tunnelCount(get func(*analyzer.TunnelTraffic) uint64) func(*analyzer.TunnelTraffic) Value {
	return func(d *analyzer.TunnelTraffic) Value { return num(get(d)) }
}

// tunnelColumns are the Tunnels view's columns: identity, lineage, then
// cumulative traffic and its sequence analysis per direction.
var tunnelColumns = []*Column[*analyzer.Tunnel]{
	{Name: "Local", Key: "local", Default: true, Get: func(t *analyzer.Tunnel) Value { return addr(t.Local) }},
	{Name: "Remote", Key: "remote", Default: true, Get: func(t *analyzer.Tunnel) Value { return addr(t.Remote) }},
	{Name: "Local TS", Key: "local_ts", Default: true, Get: func(t *analyzer.Tunnel) Value {
		if t.LocalTS == nil {
			return Value{}
		}
		return str(selectorText(t.LocalTS))
	}},
	{Name: "Remote TS", Key: "remote_ts", Default: true, Get: func(t *analyzer.Tunnel) Value {
		if t.RemoteTS == nil {
			return Value{}
		}
		return str(selectorText(t.RemoteTS))
	}},
	{Name: "Child SAs", Key: "child_sas", Default: true, Right: true, Get: func(t *analyzer.Tunnel) Value { return num(t.ChildSAs) }},
	{Name: "Rekeys", Key: "rekeys", Default: true, Right: true, Get: func(t *analyzer.Tunnel) Value {
		if t.Inferred {
			return num(t.Rekeys).shown(fmt.Sprintf("%d*", t.Rekeys)) // inferred from traffic alone
		}
		return num(t.Rekeys)
	}},
	{Name: "Packets In", Key: "packets_in", Default: true, Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Packets }), true)},
	{Name: "Packets Out", Key: "packets_out", Default: true, Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Packets }), false)},
	{Name: "Bytes In", Key: "bytes_in", Default: true, Right: true, Get: tunnelDir(func(d *analyzer.TunnelTraffic) Value { return byteCount(d.Bytes) }, true)},
	{Name: "Bytes Out", Key: "bytes_out", Default: true, Right: true, Get: tunnelDir(func(d *analyzer.TunnelTraffic) Value { return byteCount(d.Bytes) }, false)},
	{Name: "Plaintext Bytes In", Key: "plaintext_bytes_in", Right: true, Get: tunnelDir(plainBytes, true)},
	{Name: "Plaintext Bytes Out", Key: "plaintext_bytes_out", Right: true, Get: tunnelDir(plainBytes, false)},
	{Name: "Lost In", Key: "lost_in", Default: true, Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Lost }), true)},
	{Name: "Lost Out", Key: "lost_out", Default: true, Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Lost }), false)},
	{Name: "Reordered In", Key: "reordered_in", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Reordered }), true)},
	{Name: "Reordered Out", Key: "reordered_out", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Reordered }), false)},
	{Name: "Duplicates In", Key: "duplicates_in", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Duplicates }), true)},
	{Name: "Duplicates Out", Key: "duplicates_out", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Duplicates }), false)},
	{Name: "Late In", Key: "late_in", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Late }), true)},
	{Name: "Late Out", Key: "late_out", Right: true, Get: tunnelDir(tunnelCount(func(d *analyzer.TunnelTraffic) uint64 { return d.Late }), false)},
	{Name: "First Seen", Key: "first_seen", Get: func(t *analyzer.Tunnel) Value { return at(t.First) }},
	{Name: "Last Seen", Key: "last_seen", Get: func(t *analyzer.Tunnel) Value { return at(t.Last) }},
	{Name: "State", Key: "state", Default: true, Get: func(t *analyzer.Tunnel) Value { return orNull(t.State) }},
	{Name: "Protocol", Key: "protocol", Get: func(t *analyzer.Tunnel) Value { return str(ipproto.Name(t.Key.Proto)) }},
	{Name: "Local ID", Key: "local_id", Get: func(t *analyzer.Tunnel) Value { return orNull(t.LocalID) }},
	{Name: "Remote ID", Key: "remote_id", Get: func(t *analyzer.Tunnel) Value { return orNull(t.RemoteID) }},
	{Name: "Lineage", Key: "lineage", Get: func(t *analyzer.Tunnel) Value {
		if t.Inferred {
			return str("inferred")
		}
		return str("negotiated")
	}},
	{Name: "Rekeys Detail", Key: "rekeys_detail", Get: rekeysDetail},
}

func plainBytes(d *analyzer.TunnelTraffic) Value {
	if !d.PlainKnown {
		return Value{}
	}
	return byteCount(d.PlainBytes)
}

// rekeysDetail is the list of a tunnel's rekeys: nested JSON records,
// in tables one summary per rekey (time, how, hitless or what hit).
func rekeysDetail(t *analyzer.Tunnel) Value {
	parts := make([]string, 0, len(t.RekeyDetails)+1)
	if t.DetailsDropped > 0 {
		parts = append(parts, fmt.Sprintf("%d earlier not kept", t.DetailsDropped))
	}
	for _, k := range t.RekeyDetails {
		var lost, after, bad uint64
		for _, d := range k.Directions {
			lost, after, bad = lost+d.Lost, after+d.OldPacketsAfter, bad+d.BadSPI
		}
		p := k.Time.Format("15:04:05.000") + " " + k.How.String()
		switch {
		case k.Hitless == nil:
			p += " (no traffic after)"
		case *k.Hitless:
			p += " hitless"
		default:
			var hits []string
			if lost > 0 {
				hits = append(hits, fmt.Sprintf("%d lost", lost))
			}
			if bad > 0 {
				hits = append(hits, fmt.Sprintf("%d Bad SPI", bad))
			}
			p += " " + strings.Join(hits, ", ")
		}
		if after > 0 {
			p += fmt.Sprintf(", %d on old after", after)
		}
		parts = append(parts, p)
	}
	list := t.RekeyDetails
	if list == nil {
		list = []*analyzer.Rekey{}
	}
	v, err := nested(list, strings.Join(parts, "; "))
	if err != nil {
		return str(err.Error())
	}
	return v
}

// TunnelColumns are the Tunnels view's columns: one row per tunnel.
var TunnelColumns = &Columns[*analyzer.Tunnel]{All: tunnelColumns}

// Tunnels is the Tunnels view in chosen columns and order.
type Tunnels struct {
	Columns []*Column[*analyzer.Tunnel]
	Sort    []SortKey[*analyzer.Tunnel]
}

// Write sorts the run's tunnels in place and prints them.
func (v Tunnels) Write(w io.Writer, r Run, f Format) error {
	SortRows(r.Snap.Tunnels, v.Sort)
	return TunnelColumns.Write(w, r.Snap.Tunnels, v.Columns, f)
}
