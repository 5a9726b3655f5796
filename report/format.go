// Package report renders what an analysis found as the views ipsecmon
// shows: the IP Security Monitor's Statistics, Security Associations,
// Main Mode SAs, Negotiation Policies and Filters, and the cross-check
// with a host's counters. Each view is one file; views with columns build
// on one Table mechanism (column selection, sorting, aligned table, JSON
// and CSV), so that a new view is its row type and its columns.
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
)

// ParseFormat checks a -o/--output value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q (want table, json or csv)", s)
}
