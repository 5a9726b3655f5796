package analyzer

import (
	"fmt"
	"time"

	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Event is one SA lifecycle event or anomaly, for the event log and the
// watch view.
type Event struct {
	Time   time.Time `json:"time"`
	Type   string    `json:"event"`
	SA     *EventSA  `json:"sa,omitempty"`
	Count  uint64    `json:"count,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Source string    `json:"source,omitempty"`
	Frame  int       `json:"frame,omitempty"`
	// IKE is the IKE tracker's event (messages and negotiation lifecycle).
	IKE *ikestate.Event `json:"ike,omitempty"`
}

// EventSA names the SA an event is about.
type EventSA struct {
	SPI      string `json:"spi,omitempty"`
	Protocol string `json:"protocol"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	SrcPort  uint16 `json:"src_port,omitempty"`
	DstPort  uint16 `json:"dst_port,omitempty"`
}

// Event types.
const (
	EventSAAdded          = "sa_added" // first packet of an SA learned from traffic
	EventReplayBurst      = "replay"
	EventAuthFailure      = "authentication_failure"
	EventDecryptFailure   = "decryption_failure"
	EventBadSPI           = "bad_spi"
	EventSAEvicted        = "sa_evicted"
	EventUntrackedStarted = "sa_table_full"
	// The IKE tracker's events keep its kinds in snake case: message,
	// child_sa_negotiated (child_sa_rekeyed when it replaced a pair),
	// child_sa_deleted, child_sa_expired, ike_sa_established, ...
	EventPolicyViolation = "policy_violation"
)

func eventSA(k SAKey, src fmt.Stringer) *EventSA {
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
	sa  SAKey
	typ string
}

type burst struct {
	last    int64  // when the last event of this kind was emitted
	pending uint64 // occurrences not yet reported
	src     fmt.Stringer
	ref     Ref
}

func (a *Analyzer) emit(e Event) {
	if a.deferring {
		a.deferred = append(a.deferred, e)
		return
	}
	if a.cfg.OnEvent != nil {
		a.cfg.OnEvent(e)
	}
}

// anomaly records one occurrence of an anomaly on an SA.
func (a *Analyzer) anomaly(now int64, typ string, key SAKey, src fmt.Stringer, ref Ref, detail string) {
	if a.cfg.OnEvent == nil {
		return
	}
	if a.bursts == nil {
		a.bursts = map[burstKey]*burst{}
	}
	bk := burstKey{key, typ}
	b := a.bursts[bk]
	if b == nil {
		b = &burst{last: -burstInterval}
		a.bursts[bk] = b
	}
	b.pending++
	b.src, b.ref = src, ref
	if now-b.last >= burstInterval {
		a.emit(Event{Time: time.Unix(0, now).UTC(), Type: typ, SA: eventSA(key, src), Count: b.pending, Detail: detail, Source: ref.Source, Frame: ref.Index})
		b.last, b.pending = now, 0
	}
}

// flushBursts reports anomalies counted but not yet reported.
func (a *Analyzer) flushBursts() {
	for k, b := range a.bursts {
		if b.pending > 0 {
			a.emit(Event{Time: time.Unix(0, a.end).UTC(), Type: k.typ, SA: eventSA(k.sa, b.src), Count: b.pending, Source: b.ref.Source, Frame: b.ref.Index})
			b.pending = 0
		}
	}
}

// Finish ends the input: pending anomaly counts are reported, and the IKE
// tracker closes open negotiations and expires pairs whose lifetime ran out.
func (a *Analyzer) Finish() {
	a.flush()
	a.flushBursts()
	if a.tracker != nil {
		end := time.Unix(0, a.end).UTC()
		if a.end == 0 {
			end = time.Time{}
		}
		a.tracker.Finish(end)
		a.applyIKE()
	}
}
