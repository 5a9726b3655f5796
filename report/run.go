package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/inputstats"
)

// Run is what a view is rendered from: the analyzer's snapshot and what the
// input stage read and skipped.
type Run struct {
	Snap  *analyzer.Snapshot
	Input *inputstats.Stats
	// Capture holds libpcap's counters of a live run: drops are never hidden.
	Capture []CaptureStats
}

// CaptureStats are one interface's libpcap counters.
type CaptureStats struct {
	Interface string `json:"interface"`
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped_by_kernel"`
	IfDropped uint64 `json:"dropped_by_interface"`
	// NotAnalysed: captured by the kernel before the stop, but not read
	// within the drain timeout.
	NotAnalysed uint64 `json:"captured_not_analysed"`
}

// InputSummary is the human-readable account of what was read and skipped.
func InputSummary(r Run) string {
	var b strings.Builder
	for _, c := range r.Capture {
		fmt.Fprintf(&b, "Capture %s: %s packets received, %s dropped by the kernel, %s by the interface",
			c.Interface, humanize.Comma(int64(c.Received)), humanize.Comma(int64(c.Dropped)), humanize.Comma(int64(c.IfDropped)))
		if c.NotAnalysed > 0 {
			fmt.Fprintf(&b, ", %s captured but not analysed (still in the buffer when the drain after the stop timed out)", humanize.Comma(int64(c.NotAnalysed)))
		}
		b.WriteString("\n")
	}
	c := r.Snap.Counts
	if in := r.Input; in != nil && r.Capture == nil {
		fmt.Fprintf(&b, "Input: %d file(s), %s frames", len(in.Files), humanize.Comma(int64(in.Frames)))
		if !r.Snap.First.IsZero() {
			fmt.Fprintf(&b, " from %s to %s", r.Snap.First.Format(time.RFC3339), r.Snap.Last.Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Seen: %s ESP/AH packets in %d SAs, %s IKEv1 and %s IKEv2 messages (%s behind a non-ESP marker), %s NAT keepalives\n",
		humanize.Comma(int64(c.IPsecPackets)), r.Snap.SAs, humanize.Comma(int64(c.IKEv1Messages)), humanize.Comma(int64(c.IKEv2Messages)),
		humanize.Comma(int64(c.IKEEncapsulated)), humanize.Comma(int64(c.NATKeepalives)))
	if p := r.Snap.Policy; p != nil {
		fmt.Fprintf(&b, "Policy: %s cleartext packets that the policy says must be protected or blocked, %d SA pairs whose selectors match no policy, %d whose suite the policy does not offer\n",
			humanize.Comma(int64(p.Violations)), p.SAsWithoutPolicy, p.SAsOutsideOffers)
	}
	if c.Untracked > 0 {
		fmt.Fprintf(&b, "Untracked: %s IPsec packets of SAs the table had no room for (see Limit reached)\n", humanize.Comma(int64(c.Untracked)))
	}
	for _, l := range bounds.Hit(Limits(r)) {
		fmt.Fprintf(&b, "Limit reached: %s\n", l)
	}
	if c.EvictedSAs > 0 {
		fmt.Fprintf(&b, "Evicted: %s idle or ended SAs left the SA view; their totals are in the statistics\n", humanize.Comma(int64(c.EvictedSAs)))
	}
	if c.TruncatedIPsec > 0 {
		fmt.Fprintf(&b, "Truncated: %s ESP/AH packets were cut by the snap length (counted from their IP length)\n", humanize.Comma(int64(c.TruncatedIPsec)))
	}
	if in := r.Input; in != nil {
		if in.PacketsReassembled > 0 {
			fmt.Fprintf(&b, "Reassembled: %d packets from %d IP fragments\n", in.PacketsReassembled, in.FragmentsReassembled)
		}
		if in.FragmentsUnanalysed > 0 {
			fmt.Fprintf(&b, "Fragments not analysed: %d\n", in.FragmentsUnanalysed)
		}
		if n := in.SkippedTotal(); n > 0 {
			var parts []string
			for _, k := range in.SkipReasons() {
				parts = append(parts, fmt.Sprintf("%s: %d", k, in.Skipped[k]))
			}
			fmt.Fprintf(&b, "Skipped: %d (%s)\n", n, strings.Join(parts, ", "))
		}
		for _, f := range in.Files {
			if f.Error != "" {
				fmt.Fprintf(&b, "Problem: %s\n", f.Error)
			}
		}
	}
	return b.String()
}

// View shows a run's result in one of the formats.
type View interface {
	Write(w io.Writer, r Run, f Format) error
}
