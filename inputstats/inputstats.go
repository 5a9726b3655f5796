// Package inputstats is the input stage's account of a run: the files
// read, the frames in them, and what could not be analysed and why. The
// pipeline fills it; the views show it.
package inputstats

import (
	"sort"

	"ipsecmon/bounds"
)

// Stats describe what was read and what had to be skipped.
type Stats struct {
	Files  []File `json:"files"`
	Frames uint64 `json:"frames"`
	Bytes  uint64 `json:"captured_bytes"`
	// Skipped counts frames not analysed, by reason ("malformed ESP",
	// "unsupported link type", ...).
	Skipped map[string]uint64 `json:"skipped"`
	// Fragments: IPv4 and IPv6 fragments of ESP, AH or UDP that were
	// reassembled into whole packets, and fragments left over (never
	// completed, or cut by the snap length).
	FragmentsReassembled uint64 `json:"fragments_reassembled"`
	PacketsReassembled   uint64 `json:"packets_reassembled"`
	FragmentsUnanalysed  uint64 `json:"fragments_not_analysed"`
	// Limits are the input stage's memory bounds (IP reassembly) and what
	// each discarded; the views list them with the analyzer's.
	Limits []bounds.Limit `json:"-"`
}

// File is one input's share.
type File struct {
	Name   string `json:"name"`
	Frames uint64 `json:"frames"`
	// Error is set when the input could not be read to its end.
	Error string `json:"error,omitempty"`
	// Unreadable is set when not even its header could be read.
	Unreadable bool `json:"unreadable,omitempty"`
}

// SkippedTotal sums Skipped.
func (s *Stats) SkippedTotal() uint64 {
	var n uint64
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// SkipReasons returns the reasons in a stable order.
func (s *Stats) SkipReasons() []string {
	var r []string
	for k := range s.Skipped {
		r = append(r, k)
	}
	sort.Strings(r)
	return r
}
