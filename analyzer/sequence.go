package analyzer

import (
	"math"
	"time"
)

// saExt is what an SA keeps beyond its counters once its sequence numbers
// or its place in a tunnel's lineage need it. Most SAs carry their traffic
// in order and alone, and never allocate it: a gateway tracks many
// thousands of SAs.
type saExt struct {
	// Sequence analysis (one ReplayWindow verdict per packet, O(1)).
	reordered  uint64 // accepted after a higher number, inside the window
	duplicates uint64 // inside the window, already accepted
	late       uint64 // left of the window
	// lateInSpan counts the late packets whose number lay between the
	// lowest and highest accepted ones when they arrived: numbers that
	// arrived, though too late for the window, and are therefore not lost.
	lateInSpan uint64
	// badSPIAfterEnd counts packets for the SA after its deletion or
	// expiry (Bad SPI: a receiver no longer has it).
	badSPIAfterEnd uint64
	// fragmented counts the SA's packets that arrived in IP fragments,
	// largestFragmented the largest of them reassembled (IP length).
	fragmented        uint64
	largestFragmented int

	lineage
}

// ext returns the SA's extension, allocating it.
func (s *SA) extension() *saExt {
	if s.ext == nil {
		s.ext = &saExt{}
	}
	return s.ext
}

// sequence counts one packet's verdict; accepted reports whether the packet
// was accepted in the end (a reordered packet may still fail its integrity
// check, and is then not counted as reordered).
func (s *SA) noteVerdict(v Verdict, seq uint64) {
	switch v {
	case SeqDuplicate:
		s.extension().duplicates++
	case SeqLate:
		e := s.extension()
		e.late++
		if s.Accepted > 0 && seq >= s.MinSeq && seq <= s.MaxSeq {
			e.lateInSpan++
		}
	}
}

// Reordered counts accepted packets that arrived after a higher sequence
// number, inside the replay window.
func (s *SA) Reordered() uint64 {
	if s.ext == nil {
		return 0
	}
	return s.ext.reordered
}

// Duplicates counts packets whose sequence number was already accepted and
// still inside the window (replays the window can prove).
func (s *SA) Duplicates() uint64 {
	if s.ext == nil {
		return 0
	}
	return s.ext.duplicates
}

// Late counts packets left of the replay window: too old for a receiver to
// accept, whether or not their number was accepted before.
func (s *SA) Late() uint64 {
	if s.ext == nil {
		return 0
	}
	return s.ext.late
}

// BadSPIAfterEnd counts packets for the SA after it was deleted or expired.
func (s *SA) BadSPIAfterEnd() uint64 {
	if s.ext == nil {
		return 0
	}
	return s.ext.badSPIAfterEnd
}

// Lost is how many sequence numbers between the lowest and the highest
// accepted one never arrived: Gaps less the numbers that arrived late
// (left of the window, so not accepted, but not lost either). A late
// packet is counted when it arrives, against the span as it stood then;
// the window no longer holds its number, so a late copy of a packet
// already accepted is not told from a first arrival and lowers the figure
// too (Late shows how many arrived). Packets that failed their integrity
// check or decryption are among the lost: the receiver dropped them.
func (s *SA) Lost() uint64 {
	g := s.Gaps()
	if s.ext == nil {
		return g
	}
	if s.ext.lateInSpan >= g {
		return 0
	}
	return g - s.ext.lateInSpan
}

// seqSpace is the number of sequence numbers an SA without extended
// sequence numbers may use: 1 to 2^32-1, after which it must be rekeyed
// (RFC 4303 §3.3.3).
const seqSpace = math.MaxUint32

// Exhaustion is how long, at the rate its sequence numbers rose from its
// first accepted packet to its last packet (MinSeq to MaxSeq over
// FirstAccepted to LastSeen), the SA would take to use the rest of its
// 32-bit sequence space. ok is false with extended
// sequence numbers (a 64-bit space never runs out), or when fewer than two
// numbers over a positive time give no rate.
func (s *SA) Exhaustion() (d time.Duration, ok bool) {
	if s.ESN || s.Accepted < 2 || s.MaxSeq <= s.MinSeq || s.LastSeen <= s.FirstAccepted || s.MaxSeq >= seqSpace {
		return 0, false
	}
	perNs := float64(s.MaxSeq-s.MinSeq) / float64(s.LastSeen-s.FirstAccepted)
	left := float64(seqSpace - s.MaxSeq)
	ns := left / perNs
	if ns > math.MaxInt64 {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(ns), true
}

// ExhaustionWarning is the time to exhaustion below which an SA is
// flagged: at that rate a day's traffic would need extended sequence
// numbers or more frequent rekeys.
const ExhaustionWarning = 24 * time.Hour
