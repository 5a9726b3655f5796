package ikestate

import "time"

// Tally names a lifecycle count of the Quick Mode statistics.
type Tally uint8

const (
	TallyAddition      Tally = iota // a completed phase 2 / CHILD negotiation (read or inferred)
	TallyRekey                      // an addition that replaced a live pair
	TallyDeletion                   // a pair removed by a Delete payload
	TallyIKESADeletion              // a pair closed with its IKEv2 IKE SA (RFC 7296 §1.4.1)
	TallyExpiration                 // a pair whose negotiated hard lifetime ran out
)

// Change is one step of a lifecycle count, at the capture time of the
// message that made it (for an expiry, the end of the lifetime).
type Change struct {
	Time  time.Time
	Tally Tally
}

// MaxHistory caps the changes a History keeps: Delete payloads naming SPIs
// nobody negotiated are counted, so an attacker can make changes at will.
const MaxHistory = 1 << 16

// History is every change of the lifecycle counts, so that they can be
// told as they stood at an earlier moment of the capture (check compares a
// host's snapshot taken mid-capture).
type History struct {
	Changes []Change // in the order they were made (an expiry found late carries its earlier time)
	// LostFrom is the earliest time of a change not kept because of
	// MaxHistory (zero: none lost); counts from then on are not known.
	// Lost counts the changes not kept.
	LostFrom time.Time
	Lost     uint64
}

// count adds one to a lifecycle count and records when.
func (t *Tracker) count(n *int, k Tally, at time.Time) {
	*n++
	h := &t.history
	if len(h.Changes) < MaxHistory {
		h.Changes = append(h.Changes, Change{Time: at, Tally: k})
	} else {
		h.Lost++
		if h.LostFrom.IsZero() || at.Before(h.LostFrom) {
			h.LostFrom = at
		}
	}
}

// History returns the changes of the lifecycle counts so far.
func (t *Tracker) History() History {
	return History{Changes: append([]Change(nil), t.history.Changes...), LostFrom: t.history.LostFrom, Lost: t.history.Lost}
}

// HistoryLost counts the changes of the lifecycle counts not kept because
// of MaxHistory.
func (t *Tracker) HistoryLost() uint64 {
	return t.history.Lost
}

// CountAt counts the changes of kind k made at or before at; false when
// changes from then were lost to MaxHistory.
func (h *History) CountAt(k Tally, at time.Time) (int, bool) {
	if !h.LostFrom.IsZero() && !at.Before(h.LostFrom) {
		return 0, false
	}
	n := 0
	for _, c := range h.Changes {
		if c.Tally == k && !c.Time.After(at) {
			n++
		}
	}
	return n, true
}

// LifecycleAt gives the Quick Mode statistics' Key Additions, Key
// Deletions and Rekeys as they stood at the moment at, counted as Counters
// counts them; false when changes from then were lost to MaxHistory.
func (h *History) LifecycleAt(at time.Time) (additions, deletions, rekeys int, ok bool) {
	additions, ok = h.CountAt(TallyAddition, at)
	for _, k := range []Tally{TallyDeletion, TallyIKESADeletion, TallyExpiration} {
		n, _ := h.CountAt(k, at)
		deletions += n
	}
	rekeys, _ = h.CountAt(TallyRekey, at)
	return additions, deletions, rekeys, ok
}
