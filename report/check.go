package report

import (
	"fmt"
	"io"

	"ipsecmon/crosscheck"
)

func figure(p *uint64) Value {
	if p == nil {
		return Value{}
	}
	return exact(*p)
}

// checkColumns are the cross-check view's columns: figures exact, never
// grouped, since they are compared to the unit.
var checkColumns = &Columns[*crosscheck.Row]{All: []*Column[*crosscheck.Row]{
	{Name: "Host", Key: "host", Default: true, Get: func(r *crosscheck.Row) Value { return str(r.Host) }},
	{Name: "SA", Key: "sa", Default: true, Get: func(r *crosscheck.Row) Value { return str(r.SA) }},
	{Name: "Figure", Key: "figure", Default: true, Get: func(r *crosscheck.Row) Value { return str(r.Figure) }},
	{Name: "ipsecmon", Key: "ipsecmon", Default: true, Right: true, Get: func(r *crosscheck.Row) Value { return figure(r.Analyzer) }},
	{Name: "Host value", Key: "host_value", Default: true, Right: true, Get: func(r *crosscheck.Row) Value { return figure(r.HostVal) }},
	{Name: "Difference", Key: "difference", Default: true, Right: true, Get: func(r *crosscheck.Row) Value {
		if r.Diff == nil {
			return str("") // no difference when either side is unknown
		}
		return signed(*r.Diff)
	}},
	{Name: "Verdict", Key: "verdict", Default: true, Get: func(r *crosscheck.Row) Value { return str(string(r.Verdict)) }},
	{Name: "Reason", Key: "reason", Default: true, Get: func(r *crosscheck.Row) Value { return str(r.Reason) }},
}}

// WriteCheck prints the cross-check of a capture with hosts' counters: one
// row per compared figure, then (in a table) how many agree and differ.
// Its JSON is the rows' own records.
func WriteCheck(w io.Writer, rows []crosscheck.Row, f Format) error {
	if f == JSON {
		return writeJSON(w, rows)
	}
	ptrs := make([]*crosscheck.Row, len(rows))
	agree, differ, nc := 0, 0, 0
	for i := range rows {
		ptrs[i] = &rows[i]
		switch rows[i].Verdict {
		case crosscheck.Agree:
			agree++
		case crosscheck.Differs:
			differ++
		default:
			nc++
		}
	}
	cols, _ := checkColumns.Select(nil, false)
	if err := checkColumns.Write(w, ptrs, cols, f); err != nil || f == CSV {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d agree, %d differ, %d not comparable\n", agree, differ, nc)
	return err
}
