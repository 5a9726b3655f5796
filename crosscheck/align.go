package crosscheck

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/hosts"
)

// Moments are capture times in Unix nanoseconds. The state "at" a moment T
// is the state after every packet and message with a timestamp up to and
// including T; an SA's count is N from the time of its N-th accepted packet
// until just before its (N+1)-th.
const (
	always int64 = math.MinInt64 // open start: before the capture's first packet
	never  int64 = math.MaxInt64 // open end: after its last
)

type spiProto struct {
	proto uint8
	spi   uint32
}

// Recorder watches a capture's accepted packets for the moments at which a
// host's per-SA counters could have been read. For every SA a host lists
// with a packet count N it keeps when the capture's count of that SA became
// N and N+1 (and the plaintext bytes at N); for a host given a moment
// (--host-at), every SA's counts as of that moment. It holds a few words
// per SA, never per packet, and does O(1) work per packet.
type Recorder struct {
	targets map[spiProto][]uint64
	at      []int64 // per host: the moment given, 0 for none
	anyAt   bool
	sas     map[analyzer.SAKey]*watch
}

type watch struct {
	marks []mark
	asOf  []counts // per host given a moment
}

type counts struct{ packets, plain uint64 }

// mark is where one count of one SA falls in the capture.
type mark struct {
	n             uint64
	reached, next int64 // when the capture's count became n and n+1; never: it did not
	plain         uint64
}

// NewRecorder prepares the watch for the hosts whose snapshots are known
// before the capture is read. Pass Observe as analyzer.Config.OnAccepted.
func NewRecorder(hs []Host) *Recorder {
	r := &Recorder{targets: map[spiProto][]uint64{}, sas: map[analyzer.SAKey]*watch{}}
	for _, h := range hs {
		var at int64
		if !h.At.IsZero() {
			at, r.anyAt = h.At.UnixNano(), true
		}
		r.at = append(r.at, at)
		if h.After == nil {
			continue
		}
		before := beforeSAs(h)
		for _, s := range latest(h.After.SAs) {
			n, ok := hostPackets(s, before)
			if !ok || s.SPI == 0 {
				continue
			}
			k := spiProto{s.Proto, s.SPI}
			if !slices.Contains(r.targets[k], n) {
				r.targets[k] = append(r.targets[k], n)
			}
		}
	}
	return r
}

// Observe takes note of one accepted packet of sa at capture time now
// (Unix ns), after sa's counters were updated.
func (r *Recorder) Observe(sa *analyzer.SA, now int64) {
	w, seen := r.sas[sa.Key]
	if !seen {
		w = r.newWatch(sa.Key)
		r.sas[sa.Key] = w
	}
	if w == nil {
		return
	}
	n := sa.Accepted
	for i := range w.marks {
		m := &w.marks[i]
		switch n {
		case m.n:
			m.reached, m.plain = now, sa.PlainBytes
		case m.n + 1:
			m.next = now
		}
	}
	for i, at := range r.at {
		if at != 0 && now <= at {
			w.asOf[i] = counts{n, sa.PlainBytes}
		}
	}
}

func (r *Recorder) newWatch(k analyzer.SAKey) *watch {
	ts := r.targets[spiProto{k.Proto, k.SPI}]
	if len(ts) == 0 && !r.anyAt {
		return nil
	}
	w := &watch{}
	for _, n := range ts {
		w.marks = append(w.marks, mark{n: n, reached: never, next: never})
	}
	if r.anyAt {
		w.asOf = make([]counts, len(r.at))
	}
	return w
}

// mark returns where the count n of the SA with key k falls in the capture.
func (r *Recorder) mark(k analyzer.SAKey, n uint64) mark {
	if w := r.sas[k]; w != nil {
		for _, m := range w.marks {
			if m.n == n {
				return m
			}
		}
	}
	return mark{n: n, reached: never, next: never} // no accepted packet at all
}

// span is the moments [from, to).
type span struct{ from, to int64 }

func (s span) empty() bool { return s.from >= s.to }

func intersect(a, b span) span {
	return span{max(a.from, b.from), min(a.to, b.to)}
}

// constraint is what one SA says about when the host's snapshot was taken:
// the moments it allows (disjoint, in order), and why.
type constraint struct {
	sa    string
	spans []span
	why   string
}

func (c *constraint) allows(t int64) bool {
	for _, s := range c.spans {
		if s.from <= t && t < s.to {
			return true
		}
	}
	return false
}

// fit is the outcome of a sweep over the constraints: the maximal runs of
// moments that the most constraints allow, in capture order.
type fit struct {
	runs []span
	fits int // constraints that allow them
	of   int
}

// sweep finds the moments the most constraints allow. Each constraint's
// spans are disjoint, so the number of spans covering a moment is the
// number of constraints that allow it. O(n log n) in the spans.
func sweep(cs []constraint) fit {
	type edge struct {
		at int64
		d  int
	}
	var edges []edge
	for _, c := range cs {
		for _, s := range c.spans {
			if !s.empty() {
				edges = append(edges, edge{s.from, +1}, edge{s.to, -1})
			}
		}
	}
	slices.SortFunc(edges, func(x, y edge) int {
		switch {
		case x.at < y.at:
			return -1
		case x.at > y.at:
			return 1
		}
		return 0
	})
	f := fit{of: len(cs)}
	cur := 0
	for i := 0; i < len(edges); {
		at := edges[i].at
		for i < len(edges) && edges[i].at == at {
			cur += edges[i].d
			i++
		}
		end := never
		if i < len(edges) {
			end = edges[i].at
		}
		if at >= end || cur == 0 || cur < f.fits {
			continue
		}
		if cur > f.fits {
			f.fits, f.runs = cur, f.runs[:0]
		}
		if n := len(f.runs); n > 0 && f.runs[n-1].to == at {
			f.runs[n-1].to = end
		} else {
			f.runs = append(f.runs, span{at, end})
		}
	}
	return f
}

// Moment says when a host's snapshot was taken on the capture's clock, and
// how that was decided.
type Moment struct {
	// How: "aligned" (the counters fit the capture there), "given"
	// (--host-at), or "capture end" (nothing to align with, or no moment
	// fits).
	How string `json:"how"`
	// At is the moment compared; zero at the capture's end.
	At time.Time `json:"at,omitzero"`
	// From and To bound the run of moments that fit, around At (zero: the
	// capture's start or end); Others counts further separate runs that
	// fit as well.
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Others int       `json:"other_runs,omitempty"`
	// Fits of Of SAs' constraints hold at At (when none fits every one: at
	// the closest moments).
	Fits int `json:"fits"`
	Of   int `json:"of"`
	// RuledOut names the SAs that do not fit a given moment, and why.
	RuledOut []string `json:"ruled_out,omitempty"`
	// Closest, when no moment fits every SA: the first runs of moments that
	// fit the most, each with the SAs that rule it out.
	Closest []Run `json:"closest,omitempty"`

	t, from, to int64 // At, From, To in Unix ns (always, never)
}

// Run is a stretch of capture moments and the SAs whose counters rule it out.
type Run struct {
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	RuledOut []string  `json:"ruled_out"`

	from, to int64
}

// maxRuledOut bounds the SAs named per moment, maxClosest the runs.
const (
	maxRuledOut = 5
	maxClosest  = 3
)

func clock(t int64) time.Time {
	if t == always || t == never {
		return time.Time{}
	}
	return time.Unix(0, t).UTC()
}

func stamp(t int64) string {
	switch t {
	case always:
		return "the capture's start"
	case never:
		return "the capture's end"
	}
	return clock(t).Format("2006-01-02T15:04:05.000000Z")
}

// text is the moment row's reason.
func (m *Moment) text() string {
	var b strings.Builder
	switch m.How {
	case "given":
		fmt.Fprintf(&b, "compared at %s (--host-at)", stamp(m.t))
		if m.Of > 0 {
			fmt.Fprintf(&b, "; %d of %d SAs' counters fit it", m.Fits, m.Of)
		}
		if len(m.RuledOut) > 0 {
			fmt.Fprintf(&b, "; not fitting: %s", strings.Join(m.RuledOut, "; "))
		}
	case "aligned":
		fmt.Fprintf(&b, "the host's counters (%d SAs) fit the capture from %s to %s", m.Of, stamp(m.from), stamp(m.to))
		if m.Others > 0 {
			fmt.Fprintf(&b, " and at %d other separate times", m.Others)
		}
		if m.t == never {
			b.WriteString("; compared at the capture's end")
		} else {
			fmt.Fprintf(&b, "; compared just before %s", stamp(m.to))
		}
	default:
		if m.Of == 0 {
			return "nothing to align with (no SA the host lists says when); compared at the capture's end"
		}
		fmt.Fprintf(&b, "no capture moment fits the host's counters; compared at the capture's end. The closest fit %d of %d SAs", m.Fits, m.Of)
		for _, r := range m.Closest {
			fmt.Fprintf(&b, "; from %s to %s, not fitting: %s", stamp(r.from), stamp(r.to), strings.Join(r.RuledOut, "; "))
		}
	}
	return b.String()
}

// align decides the moment of one host's snapshot: the given one, else the
// latest run of moments every constraint allows, else the capture's end.
func align(cs []constraint, given time.Time) *Moment {
	m := &Moment{How: "capture end", t: never, from: never, to: never, Of: len(cs)}
	// ruledOut names the constraints that do not allow t, and counts those that do.
	ruledOut := func(t int64) (fits int, out []string) {
		for i := range cs {
			switch {
			case cs[i].allows(t):
				fits++
			case len(out) < maxRuledOut:
				out = append(out, cs[i].sa+": "+cs[i].why)
			}
		}
		if n := len(cs) - fits - len(out); n > 0 {
			out = append(out, fmt.Sprintf("and %d more", n))
		}
		return fits, out
	}
	if !given.IsZero() {
		m.How, m.t, m.At = "given", given.UnixNano(), given.UTC()
		m.Fits, m.RuledOut = ruledOut(m.t)
		return m
	}
	if len(cs) == 0 {
		return m
	}
	f := sweep(cs)
	if f.fits == len(cs) && len(f.runs) > 0 {
		// The latest moment that fits: when the run reaches the capture's
		// end, everything is compared as it stands at the end, as for a
		// snapshot taken then.
		r := f.runs[len(f.runs)-1]
		m.How, m.from, m.to, m.Fits = "aligned", r.from, r.to, len(cs)
		m.t = never
		if r.to != never {
			m.t = r.to - 1
		}
		m.At, m.From, m.To, m.Others = clock(m.t), clock(r.from), clock(r.to), len(f.runs)-1
		return m
	}
	if len(f.runs) == 0 {
		// Not one constraint allows any moment.
		f.runs = []span{{always, never}}
	}
	for _, r := range f.runs[:min(len(f.runs), maxClosest)] {
		var out []string
		m.Fits, out = ruledOut(r.from)
		m.Closest = append(m.Closest, Run{From: clock(r.from), To: clock(r.to), RuledOut: out, from: r.from, to: r.to})
	}
	return m
}

// hostPackets is the host's packet count of an SA over the capture: its
// counter, less the before-snapshot's when there is one.
func hostPackets(s *hosts.SA, before map[saKey]*hosts.SA) (uint64, bool) {
	var bp *uint64
	if b := before[saKey{s.Proto, s.SPI, s.Dst}]; b != nil {
		bp = b.Packets
	}
	n, why := delta(s.Packets, bp)
	if n == nil || why != "" {
		return 0, false
	}
	return *n, true
}

func beforeSAs(h Host) map[saKey]*hosts.SA {
	before := map[saKey]*hosts.SA{}
	if h.Before != nil {
		for i := range h.Before.SAs {
			s := &h.Before.SAs[i]
			before[saKey{s.Proto, s.SPI, s.Dst}] = s
		}
	}
	return before
}

// lifeSpan is when an SA existed on the capture's clock, as far as the
// capture shows: from its negotiation (or, learned from traffic, from
// whenever: it may predate the capture) to its deletion or expiry.
func lifeSpan(s *analyzer.SA) span {
	l := span{always, never}
	if s.Negotiation() != nil {
		l.from = s.FirstSeen
	}
	if s.EndedAt != 0 {
		l.to = s.EndedAt
	}
	return l
}

// listedConstraint is what a host SA says: its packet count n (when
// countable) falls at the moments the capture's count equals it, and an SA
// listed as installed exists then (one listed as deleted no longer does).
func (r *Recorder) listedConstraint(name string, hs *hosts.SA, as *analyzer.SA, n uint64, countable bool) (constraint, bool) {
	c := constraint{sa: name}
	s := span{always, never}
	var why []string
	if countable {
		switch {
		case as == nil && n > 0:
			s = span{never, never}
			why = append(why, fmt.Sprintf("the host counts %d packets, the capture has none of this SA", n))
		case as != nil:
			m := r.mark(as.Key, n)
			switch {
			case n == 0:
				s.to = m.next
			case m.reached == never:
				s = span{never, never}
				why = append(why, fmt.Sprintf("the host counts %d packets, the capture only %d", n, as.Accepted))
			default:
				s = span{m.reached, m.next}
			}
			if hs.FromEvent && !strings.EqualFold(hs.State, "DELETED") && !s.empty() {
				// An event's count is the SA's at the event; a live SA may
				// have counted more by the snapshot.
				s.to = never
				why = append(why, fmt.Sprintf("an event counts %d packets, the capture reaches %d at %s", n, n, stamp(s.from)))
			} else if !s.empty() {
				why = append(why, fmt.Sprintf("the host counts %d packets, the capture's count is %d from %s to %s", n, n, stamp(s.from), stamp(s.to)))
			}
		}
	}
	if as != nil {
		l := lifeSpan(as)
		switch {
		case hs.FromEvent:
			// An event log is history, not a listing of one moment.
		case present(hs):
			s = intersect(s, l)
			why = append(why, fmt.Sprintf("listed as present, the SA exists from %s to %s", stamp(l.from), stamp(l.to)))
		case strings.EqualFold(hs.State, "DELETED") && as.EndedAt != 0:
			s = intersect(s, span{as.EndedAt, never})
			why = append(why, fmt.Sprintf("listed as deleted, the capture ends it at %s", stamp(as.EndedAt)))
		}
	}
	if len(why) == 0 {
		return c, false // says nothing about the moment
	}
	c.why = strings.Join(why, "; ")
	if !s.empty() {
		c.spans = []span{s}
	}
	return c, true
}

// present tells whether a listed SA is in the host's SA database:
// strongSwan lists CHILD SAs that are being or have been deleted
// (DELETING, DELETED, DESTROYING) for a moment; every other state — a
// REKEYED pair lives on until its lifetime ends (IKEv1) or its Delete
// (IKEv2) — and every other source's entries are installed SAs.
func present(hs *hosts.SA) bool {
	if hs.FromEvent {
		// Its state is the event's: a REKEYED pair may have expired since.
		return strings.EqualFold(hs.State, "INSTALLED")
	}
	switch strings.ToUpper(hs.State) {
	case "DELETING", "DELETED", "DESTROYING":
		return false
	}
	return true
}

// unlistedConstraint: an SA of this host that the host does not list did
// not exist when the snapshot was taken.
func unlistedConstraint(name string, as *analyzer.SA) constraint {
	from := as.FirstSeen
	l := lifeSpan(as)
	c := constraint{sa: name, why: fmt.Sprintf("not listed by the host, the SA exists from %s to %s", stamp(from), stamp(l.to))}
	c.spans = append(c.spans, span{always, from})
	if l.to != never {
		c.spans = append(c.spans, span{l.to, never})
	}
	return c
}
