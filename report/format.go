// Package report renders what an analysis found as the views ipsecmon
// shows: the IP Security Monitor's Statistics, Security Associations,
// Main Mode SAs, Negotiation Policies and Filters, the cross-check with a
// host's counters, and the live watch screen. Each view is one file. A
// view with columns declares them once (Columns[R]: title, key, how a row
// of type R gives its Value) and gets column selection, sorting, the
// aligned table, CSV and JSON from the mechanism in table.go; unknown
// values are '-' in tables, empty in CSV and null in JSON.
package report

import (
	"fmt"
	"strings"
)

// Format is an output format.
type Format string

const (
	Table Format = "table"
	JSON  Format = "json"
	CSV   Format = "csv"
	// HTML is the report command's page (report.Page); no other view
	// writes it.
	HTML Format = "html"
)

// ParseFormat checks a -o/--output value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, CSV, HTML:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q (want table, json or csv; html for 'ipsecmon report')", s)
}
