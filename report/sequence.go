package report

import (
	"fmt"
	"time"

	"ipsecmon/analyzer"
)

// exhaustion is the SA's time to the end of its 32-bit sequence space at
// the observed rate: seconds in JSON and CSV, a duration in tables,
// marked when below analyzer.ExhaustionWarning.
func exhaustion(s *analyzer.SA) Value {
	d, ok := s.Exhaustion()
	if !ok {
		return Value{}
	}
	text := roughDuration(d)
	if d < analyzer.ExhaustionWarning {
		text += " (!)"
	}
	return num(uint64(d / time.Second)).shown(text)
}

// roughDuration shows a duration to two units (3d4h, 5h12m, 40s).
func roughDuration(d time.Duration) string {
	switch {
	case d >= 1000*24*time.Hour:
		return fmt.Sprintf("%.0fy", d.Hours()/24/365)
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%ds", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// highestSeq is the highest accepted sequence number (unknown before any).
func highestSeq(s *analyzer.SA) Value {
	if s.Accepted == 0 {
		return Value{}
	}
	return exact(s.MaxSeq)
}

// ExhaustionWarnings are one line per SA that, at its observed rate and
// without extended sequence numbers, would use up its 32-bit sequence
// space within analyzer.ExhaustionWarning (RFC 4303 §3.3.3: it must be
// rekeyed before then).
func ExhaustionWarnings(snap *analyzer.Snapshot) []string {
	var out []string
	for _, q := range snap.Rows {
		for _, s := range q.SAs() {
			if d, ok := s.Exhaustion(); ok && d < analyzer.ExhaustionWarning {
				out = append(out, fmt.Sprintf("Warning: SA 0x%08x %v → %v would exhaust its 32-bit sequence numbers in %s at the observed rate (highest %d; no ESN): it needs extended sequence numbers or earlier rekeys",
					s.Key.SPI, s.Src, s.Key.Dst, roughDuration(d), s.MaxSeq))
			}
		}
	}
	return out
}
