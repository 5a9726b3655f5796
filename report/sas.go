package report

import (
	"io"

	"ipsecmon/analyzer"
)

// SAColumns are the Security Associations view's columns: one row per
// Quick Mode SA (an inbound/outbound pair, or a lone direction).
var SAColumns = &Columns[*analyzer.QuickModeSA]{All: saColumns}

// SAs is the Security Associations view in chosen columns and order.
type SAs struct {
	Columns []*Column[*analyzer.QuickModeSA]
	Sort    []SortKey[*analyzer.QuickModeSA]
}

// Write sorts the run's rows in place (so that what is compared with
// --expect afterwards is in the order shown) and prints them.
func (v SAs) Write(w io.Writer, r Run, f Format) error {
	SortRows(r.Snap.Rows, v.Sort)
	return SAColumns.Write(w, r.Snap.Rows, v.Columns, f)
}

// SARowsJSON is the rows as compact JSON in every column: what --expect
// compares and the live /sas.json serves.
func SARowsJSON(rows []*analyzer.QuickModeSA) ([]byte, error) {
	return SAColumns.JSON(rows, SAColumns.All)
}
