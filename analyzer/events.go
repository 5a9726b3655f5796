package analyzer

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/event"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Event is one SA lifecycle event or anomaly, for the event log and the
// watch view.
type Event struct {
	Time   time.Time  `json:"time"`
	Kind   event.Kind `json:"event"`
	SA     *EventSA   `json:"sa,omitempty"`
	Count  uint64     `json:"count,omitempty"`
	Detail string     `json:"detail,omitempty"`
	Source string     `json:"source,omitempty"`
	Frame  int        `json:"frame,omitempty"`
	// IKE is the IKE tracker's event (messages and negotiation lifecycle).
	IKE *ikestate.Event `json:"ike,omitempty"`
	// Tunnel and Rekey are a rekey event's tunnel and figures.
	Tunnel *TunnelKey `json:"tunnel,omitempty"`
	Rekey  *Rekey     `json:"rekey,omitempty"`
}

// EventSA names the SA an event is about.
type EventSA struct {
	SPI      string `json:"spi,omitempty"`
	Protocol string `json:"protocol"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	SrcPort  uint16 `json:"src_port,omitempty"`
	DstPort  uint16 `json:"dst_port,omitempty"`
	// key and src are the same, typed, for the packages that group events
	// by SA (timeline); not written.
	key SAKey
	src netip.Addr
}

// Key returns the SA (or cleartext flow) the event is about and the source
// of its packets.
func (e *EventSA) Key() (SAKey, netip.Addr) { return e.key, e.src }

func eventSA(k SAKey, src fmt.Stringer) *EventSA {
	e := eventSAText(k, src)
	e.key = k
	e.src, _ = src.(netip.Addr)
	return e
}

func eventSAText(k SAKey, src fmt.Stringer) *EventSA {
	switch k.Proto {
	case ipproto.ESP, ipproto.AH:
		p := "esp"
		if k.Proto == ipproto.AH {
			p = "ah"
		}
		return &EventSA{SPI: fmt.Sprintf("0x%08x", k.SPI), Protocol: p, Src: src.String(), Dst: k.Dst.String(), SrcPort: k.SrcPort, DstPort: k.DstPort}
	}
	// A cleartext flow (policy violations): protocol number and ports.
	return &EventSA{Protocol: fmt.Sprint(k.Proto), Src: src.String(), Dst: k.Dst.String(), SrcPort: k.SrcPort, DstPort: k.DstPort}
}

// burstInterval: anomalies of one kind on one SA are reported at most once
// per interval, with the count since the previous report, so that a replay
// storm is one line a second rather than one per packet.
const burstInterval = int64(time.Second)

type burstKey struct {
	sa   SAKey
	kind event.Kind
}

type burst struct {
	last    int64  // when the last event of this kind was emitted
	pending uint64 // occurrences not yet reported
	seq     uint64 // order of the latest occurrence among all anomalies
	src     fmt.Stringer
	ref     Ref
}

// maxBursts bounds the anomaly counters (one per SA and kind) kept at
// once: a flood of random SPIs or spoofed flows makes a new SA per packet.
// Counters idle for a burst interval hold nothing a new one would not, and
// are dropped when room is needed; past the bound, anomalies are counted
// per kind without naming their SA (limit anomaly_events).
const maxBursts = 4096

// deferred is an event, or an anomaly to count, raised while a packet's SA
// was looked up ahead of the packet's verification: with several workers
// it is replayed when the packet is applied, so that events and anomaly
// bursts come out as in a single-threaded run.
type deferred struct {
	e       Event
	anomaly bool
	now     int64
	kind    event.Kind
	key     SAKey
	src     fmt.Stringer
	ref     Ref
	detail  string
}

// undefer raises what was deferred.
func (a *Analyzer) undefer(d *deferred) {
	if d.anomaly {
		a.anomaly(d.now, d.kind, d.key, d.src, d.ref, d.detail)
	} else {
		a.emit(d.e)
	}
}

func (a *Analyzer) emit(e Event) {
	if a.deferring {
		a.deferred = append(a.deferred, deferred{e: e})
		return
	}
	if a.cfg.OnEvent != nil {
		a.cfg.OnEvent(e)
	}
}

// anomaly records one occurrence of an anomaly on an SA.
func (a *Analyzer) anomaly(now int64, kind event.Kind, key SAKey, src fmt.Stringer, ref Ref, detail string) {
	if a.cfg.OnEvent == nil {
		return
	}
	if a.deferring {
		a.deferred = append(a.deferred, deferred{anomaly: true, now: now, kind: kind, key: key, src: src, ref: ref, detail: detail})
		return
	}
	if a.bursts == nil {
		a.bursts = map[burstKey]*burst{}
	}
	bk := burstKey{key, kind}
	b := a.bursts[bk]
	if b == nil && len(a.bursts) >= maxBursts {
		a.pruneBursts(now)
		if len(a.bursts) >= maxBursts {
			a.hits.anomalies++
			bk = burstKey{kind: kind} // the kind's counter for SAs not kept apart
			b = a.bursts[bk]
		}
	}
	if b == nil {
		b = &burst{last: -burstInterval}
		a.bursts[bk] = b
	}
	a.anomalySeq++
	b.pending++
	b.seq, b.src, b.ref = a.anomalySeq, src, ref
	if now-b.last >= burstInterval {
		a.emit(a.burstEvent(now, bk, b, detail))
		b.last, b.pending = now, 0
	}
}

// burstEvent reports a burst's pending count.
func (a *Analyzer) burstEvent(now int64, bk burstKey, b *burst, detail string) Event {
	e := Event{Time: time.Unix(0, now).UTC(), Kind: bk.kind, Count: b.pending, Detail: detail, Source: b.ref.Source, Frame: b.ref.Index}
	if bk.sa == (SAKey{}) {
		e.Detail = fmt.Sprintf("SAs beyond the %d whose anomalies are counted apart (limit anomaly_events)", maxBursts)
	} else {
		e.SA = eventSA(bk.sa, b.src)
	}
	return e
}

// pruneBursts drops the counters with nothing pending whose interval has
// passed (their next occurrence is reported at once either way); at most
// once per burst interval, so that a table full of live counters is not
// walked for every packet.
func (a *Analyzer) pruneBursts(now int64) {
	if now-a.lastBurstPrune < burstInterval && a.lastBurstPrune != 0 {
		return
	}
	a.lastBurstPrune = now
	for k, b := range a.bursts {
		if b.pending == 0 && now-b.last >= burstInterval {
			delete(a.bursts, k)
		}
	}
}

// flushBursts reports anomalies counted but not yet reported, in the order
// of their latest occurrence (the map's own order would differ from run to
// run).
func (a *Analyzer) flushBursts() {
	type pending struct {
		k burstKey
		b *burst
	}
	var ps []pending
	for k, b := range a.bursts {
		if b.pending > 0 {
			ps = append(ps, pending{k, b})
		}
	}
	slices.SortFunc(ps, func(x, y pending) int { return cmp.Compare(x.b.seq, y.b.seq) })
	for _, p := range ps {
		a.emit(a.burstEvent(a.end, p.k, p.b, ""))
		p.b.pending = 0
	}
}

// Finish ends the input: pending anomaly counts are reported, and the IKE
// tracker closes open negotiations and expires pairs whose lifetime ran out.
func (a *Analyzer) Finish() { a.finish(a.end) }

// finish is Finish with the input ending at end (Unix ns; 0: no packet).
func (a *Analyzer) finish(endNS int64) {
	a.flush()
	a.flushBursts()
	if a.tracker != nil {
		end := time.Unix(0, endNS).UTC()
		if endNS == 0 {
			end = time.Time{}
		}
		a.tracker.Finish(end)
		a.applyIKE()
	}
	a.reportRekeys()
}
