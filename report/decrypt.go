package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"ipsecmon/plaintext"
)

// Decrypt is the account `ipsecmon decrypt` gives of what it wrote: how
// many packets, decrypted or passed on, and how many IPsec packets it left
// out and why, after the run's input summary.
type Decrypt struct {
	Counts plaintext.Counts
	Files  []string // the files written
	Keep   bool     // --keep-undecrypted
	All    bool     // --all
}

type decryptJSON struct {
	Files         []string          `json:"files"`
	Written       uint64            `json:"written"`
	Decrypted     uint64            `json:"decrypted"`
	Tunnel        uint64            `json:"decrypted_tunnel_mode"`
	Transport     uint64            `json:"decrypted_transport_mode"`
	Nested        uint64            `json:"decrypted_nested"`
	InnerFiltered uint64            `json:"rejected_by_inner_filter"`
	Dummy         uint64            `json:"dummy"`
	Undecrypted   map[string]uint64 `json:"undecrypted"`
	Kept          uint64            `json:"undecrypted_written"`
	Passed        uint64            `json:"passed"`
	NotIPsec      uint64            `json:"not_ipsec_left_out"`
	IPsec         uint64            `json:"ipsec_packets"`
	Frames        uint64            `json:"frames"`
}

// Write shows the account; a table is lines for a person (the caller puts
// them on stderr, beside the input summary).
func (d Decrypt) Write(w io.Writer, r Run, f Format) error {
	c := d.Counts
	if f == JSON {
		b, err := json.MarshalIndent(decryptJSON{Files: d.Files, Written: c.Written, Decrypted: c.Decrypted, Tunnel: c.Tunnel,
			Transport: c.Transport, Nested: c.Nested, InnerFiltered: c.InnerFiltered, Dummy: c.Dummy, Undecrypted: c.Undecrypted,
			Kept: c.Kept, Passed: c.Passed, NotIPsec: c.Other, IPsec: c.IPsec, Frames: c.Frames}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	n := func(v uint64) string { return humanize.Comma(int64(v)) }
	var b strings.Builder
	fmt.Fprintf(&b, "Wrote %s packets to %s: %s decrypted (%s tunnel mode, %s transport mode with the IP header rebuilt",
		n(c.Written), strings.Join(d.Files, ", "), n(c.Decrypted), n(c.Tunnel), n(c.Transport))
	if c.Nested > 0 {
		fmt.Fprintf(&b, "; %s out of nested SAs", n(c.Nested))
	}
	b.WriteString(")")
	if d.Keep {
		fmt.Fprintf(&b, ", %s not decrypted, unchanged", n(c.Kept))
	}
	if d.All {
		fmt.Fprintf(&b, ", %s that are not IPsec, unchanged", n(c.Passed))
	}
	b.WriteString("\n")
	var und uint64
	reasons := make([]string, 0, len(c.Undecrypted))
	for k, v := range c.Undecrypted {
		und += v
		reasons = append(reasons, k)
	}
	if und > 0 {
		slices.Sort(reasons)
		parts := make([]string, len(reasons))
		for i, k := range reasons {
			parts[i] = fmt.Sprintf("%s %s", k, n(c.Undecrypted[k]))
		}
		what := "left out"
		if d.Keep {
			what = "written unchanged"
		}
		fmt.Fprintf(&b, "Not decrypted: %s of %s IPsec packets, %s (%s)\n", n(und), n(c.IPsec), what, strings.Join(parts, ", "))
	}
	if c.InnerFiltered > 0 {
		fmt.Fprintf(&b, "Inner filter: %s decrypted packets rejected, left out\n", n(c.InnerFiltered))
	}
	if c.Dummy > 0 {
		fmt.Fprintf(&b, "Dummy packets: %s (next header 59, RFC 4303 §2.6): nothing to write\n", n(c.Dummy))
	}
	if c.Other > 0 {
		fmt.Fprintf(&b, "Not IPsec: %s frames left out (--all writes them)\n", n(c.Other))
	}
	if r.Snap != nil {
		b.WriteString(InputSummary(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
