// Package timeline records what happened when during a run, which a
// snapshot does not keep: every SA's accepted packets and bytes in time
// bins, and the anomalies (Bad SPI, replays, integrity and decryption
// failures, policy violations) as the analyzer reports them. The findings
// (bursts) and the HTML report (throughput plots, marks on the timeline)
// read it. It is fed by the analyzer's hooks (Config.OnAccepted and
// Config.OnEvent) and knows nothing of packets or views.
//
// Everything it holds is bounded (Limits): the bins of a series are a
// fixed number, their width doubling as the run grows longer; series and
// anomalies past their caps are counted, never silently dropped.
package timeline

import (
	"net/netip"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/event"
)

// Limits cap what a Recorder holds.
type Limits struct {
	SAs       int // SAs with a throughput series
	Anomalies int // anomaly reports kept
	Bins      int // bins per series (their width grows to cover the run)
}

// DefaultLimits: 4,096 series of 512 bins (16 bytes each: 32 MiB at most),
// 65,536 anomaly reports (the analyzer reports at most one per SA, kind and
// second).
var DefaultLimits = Limits{SAs: 4096, Anomalies: 65536, Bins: 512}

// minWidth is the narrowest bin: throughput per second.
const minWidth = int64(time.Second)

// Series is one SA's accepted traffic over time: Packets[i] and Bytes[i]
// fall in [Start+i*Width, Start+(i+1)*Width).
type Series struct {
	Key     analyzer.SAKey
	Src     netip.Addr
	Packets []uint64
	Bytes   []uint64
	// last is the SA's byte count at its previous packet.
	last uint64
}

// Anomaly is one report of the analyzer's anomaly events: Count
// occurrences on one SA (or cleartext flow) up to Time.
type Anomaly struct {
	Time   time.Time
	Kind   event.Kind
	Key    analyzer.SAKey // zero when the analyzer could not keep the SA apart
	Src    netip.Addr
	Count  uint64
	Detail string
}

// Timeline is what a Recorder holds at the end of a run.
type Timeline struct {
	Start     time.Time // the first bin's start (zero: nothing recorded)
	Width     time.Duration
	Series    []*Series // in order of first packet
	Anomalies []Anomaly // in the order reported
	Limits    []bounds.Limit
}

// Recorder collects a Timeline. It is not safe for concurrent use; the
// analyzer calls its hooks from one goroutine.
type Recorder struct {
	lim    Limits
	start  int64
	width  int64
	series map[analyzer.SAKey]*Series
	order  []*Series
	anoms  []Anomaly
	// What the limits discarded: packets of SAs without a series,
	// anomaly reports not kept.
	lostPackets, lostAnomalies uint64
}

// New returns a Recorder with the given limits (zero fields: the defaults).
func New(l Limits) *Recorder {
	if l.SAs <= 0 {
		l.SAs = DefaultLimits.SAs
	}
	if l.Anomalies <= 0 {
		l.Anomalies = DefaultLimits.Anomalies
	}
	if l.Bins <= 0 {
		l.Bins = DefaultLimits.Bins
	}
	return &Recorder{lim: l, width: minWidth, series: map[analyzer.SAKey]*Series{}}
}

// Accepted records one accepted packet of sa (analyzer.Config.OnAccepted).
func (r *Recorder) Accepted(sa *analyzer.SA, now int64) {
	i := r.bin(now)
	s := r.series[sa.Key]
	if s == nil {
		if len(r.order) >= r.lim.SAs {
			r.lostPackets++
			return
		}
		s = &Series{Key: sa.Key, Src: sa.Src, Packets: make([]uint64, 0, 8), Bytes: make([]uint64, 0, 8)}
		r.series[sa.Key] = s
		r.order = append(r.order, s)
	}
	for len(s.Packets) <= i {
		s.Packets, s.Bytes = append(s.Packets, 0), append(s.Bytes, 0)
	}
	d := sa.Bytes - s.last
	if sa.Bytes < s.last {
		d = sa.Bytes // a new SA under the key of an evicted one
	}
	s.Packets[i]++
	s.Bytes[i] += d
	s.last = sa.Bytes
}

// Event records the anomalies among the analyzer's events
// (analyzer.Config.OnEvent); lifecycle events are in the snapshot.
func (r *Recorder) Event(e analyzer.Event) {
	switch e.Kind {
	case event.BadSPI, event.Replay, event.AuthenticationFailure, event.DecryptionFailure, event.PolicyViolation:
	default:
		return
	}
	r.bin(e.Time.UnixNano())
	if len(r.anoms) >= r.lim.Anomalies {
		r.lostAnomalies += e.Count
		return
	}
	a := Anomaly{Time: e.Time, Kind: e.Kind, Count: e.Count, Detail: e.Detail}
	if e.SA != nil {
		a.Key, a.Src = e.SA.Key()
	}
	r.anoms = append(r.anoms, a)
}

// bin returns the bin of a moment, widening the bins (and merging the
// series' pairs of bins) until the run fits in Limits.Bins of them.
func (r *Recorder) bin(now int64) int {
	if r.start == 0 {
		r.start = now - now%minWidth // bins start on whole seconds
	}
	if now < r.start {
		return 0 // inputs out of order: counted in the first bin
	}
	for (now-r.start)/r.width >= int64(r.lim.Bins) {
		r.width *= 2
		for _, s := range r.order {
			s.Packets, s.Bytes = halve(s.Packets), halve(s.Bytes)
		}
	}
	return int((now - r.start) / r.width)
}

// halve merges each pair of bins into one.
func halve(b []uint64) []uint64 {
	out := b[:(len(b)+1)/2]
	for i := range out {
		v := b[2*i]
		if 2*i+1 < len(b) {
			v += b[2*i+1]
		}
		out[i] = v
	}
	return out
}

// Timeline returns what was recorded. The Recorder must not be used after.
func (r *Recorder) Timeline() *Timeline {
	t := &Timeline{Width: time.Duration(r.width), Series: r.order, Anomalies: r.anoms}
	if r.start != 0 {
		t.Start = time.Unix(0, r.start).UTC()
	}
	t.Limits = []bounds.Limit{
		{Name: "timeline_sas", Cap: int64(r.lim.SAs), Unit: "SAs", Hits: r.lostPackets, Discarded: "accepted packets of SAs without a throughput series (report plots)"},
		{Name: "timeline_anomalies", Cap: int64(r.lim.Anomalies), Unit: "reports", Hits: r.lostAnomalies, Discarded: "anomalies whose report was not kept (bursts, report marks)"},
	}
	return t
}

// End is the end of the last bin any series uses.
func (t *Timeline) End() time.Time {
	n := 0
	for _, s := range t.Series {
		n = max(n, len(s.Packets))
	}
	return t.Start.Add(time.Duration(n) * t.Width)
}
