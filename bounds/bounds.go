// Package bounds names the limits that keep ipsecmon's memory flat on
// hostile input (a gateway's capture is whatever anyone on the path sends)
// and counts how often each one bit. Every view lists the limits that bit
// and what they discarded, so that no figure silently leaves out what a
// limit threw away.
package bounds

import "fmt"

// Limit is one cap on what ipsecmon holds.
type Limit struct {
	// Name is the limit's key in JSON and metrics, e.g. "ike_sas".
	Name string `json:"name"`
	// Cap is the limit, in Unit.
	Cap  int64  `json:"cap"`
	Unit string `json:"unit"`
	// Hits counts what the limit discarded, in the unit Discarded names.
	Hits      uint64 `json:"hits"`
	Discarded string `json:"discarded"`
}

// String is the one-line form the table views print.
func (l Limit) String() string {
	return fmt.Sprintf("%s (%d %s): %d %s", l.Name, l.Cap, l.Unit, l.Hits, l.Discarded)
}

// Hit returns the limits that bit at least once.
func Hit(ls []Limit) []Limit {
	var out []Limit
	for _, l := range ls {
		if l.Hits > 0 {
			out = append(out, l)
		}
	}
	return out
}
