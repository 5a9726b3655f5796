package findings

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/event"
)

// BadSPIBurst thresholds: reports of one SPI to one destination less than
// burstGap apart make one burst, and a burst of at least burstMin packets
// is a finding. One late packet after a Delete is ordinary (it was in
// flight); a sender that keeps using an SA its peer dropped is not.
const (
	burstGap = 10 * time.Second
	burstMin = 10
)

// badSPIBursts finds runs of Bad SPI packets on one SPI (from the
// timeline: the analyzer reports each SA's Bad SPI packets at most once a
// second, with their count).
func (a *auditor) badSPIBursts() []Finding {
	if a.in.Timeline == nil {
		return nil
	}
	type run struct {
		key         analyzer.SAKey
		src         netip.Addr
		count       uint64
		first, last time.Time
		why         string
	}
	open := map[analyzer.SAKey]*run{}
	var done []*run
	for _, an := range a.in.Timeline.Anomalies {
		if an.Kind != event.BadSPI || an.Key == (analyzer.SAKey{}) {
			continue
		}
		r := open[an.Key]
		if r != nil && an.Time.Sub(r.last) >= burstGap {
			done = append(done, r)
			r = nil
		}
		if r == nil {
			r = &run{key: an.Key, src: an.Src, first: an.Time, why: an.Detail}
			open[an.Key] = r
		}
		r.count += an.Count
		r.last = an.Time
	}
	for _, an := range a.in.Timeline.Anomalies { // the runs still open, in order of first report
		if r := open[an.Key]; r != nil && an.Kind == event.BadSPI {
			done = append(done, r)
			delete(open, an.Key)
		}
	}
	var out []Finding
	for _, r := range done {
		if r.count < burstMin {
			continue
		}
		f := Finding{Kind: BadSPIBurst, Severity: Medium, Time: r.first, Until: r.last}
		f.Local, f.Remote = r.key.Dst, r.src
		f.SPIIn, f.HasIn = r.key.SPI, true
		if !a.mine(r.key.Dst) {
			f.Local, f.Remote = f.Remote, f.Local
			f.SPIIn, f.HasIn, f.SPIOut, f.HasOut = 0, false, r.key.SPI, true
		}
		why := ""
		if r.why != "" {
			why = " (" + r.why + ")"
		}
		f.Detail = fmt.Sprintf("%s packets from %s to %s on SPI 0x%08x between %s and %s, which no SA had at that moment%s: the sender still uses an SA its peer removed — a Delete it missed, a rekey it did not follow, or a peer that restarted and lost its SAs. The receiver discards them (RFC 4303 §3.4.2); RFC 7296 §2.21.4 lets it answer INVALID_SPI so that the sender resynchronises.",
			humanize.Comma(int64(r.count)), r.src, r.key.Dst, r.key.SPI, clock(r.first), clock(r.last), why)
		out = append(out, f)
	}
	return out
}
