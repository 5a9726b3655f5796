package analyzer

import (
	"math/bits"
	"slices"
)

// ReplayWindow is the receiver's anti-replay window of RFC 4303 §3.4.3 and
// RFC 4302 §3.4.3: a packet is a replay when its sequence number was
// already accepted, or lies left of the window (more than size-1 below the
// highest accepted number). Sequence numbers are kept as 64 bits so the same
// code serves extended sequence numbers (RFC 4303 Appendix A).
//
// Windows of up to 64 packets keep one 64-bit word, a ring indexed by
// sequence number modulo 64 (the arrangement Linux's xfrm uses): advancing
// clears the bits passed over with one rotated mask. Larger windows keep a
// ring of 64-packet blocks, each word tagged with the block it holds; a word
// whose tag is not the block asked about is empty. Advancing then costs
// nothing however far the window moves (Linux clears such windows one bit
// at a time, and caps them at 4096 packets, XFRMA_REPLAY_ESN_MAX bits).
//
// A ring of a large window is big (256 KB for a million packets), and
// sparse traffic — sequence numbers jumping far ahead — touches a new part
// of it with every packet. So a window whose ring would exceed sparseMax
// words starts with a list of the numbers accepted (at most sparseMax, those
// left of the window forgotten as it fills) and takes its ring only when the
// list overflows: a window of a million packets then costs per packet about
// what one of 64 does, dense traffic or sparse.
type ReplayWindow struct {
	top    uint64 // highest accepted sequence number
	size   uint32 // window size W in packets
	seen   bool
	dense  bool   // ring holds blocks (else, when set, the list of accepted numbers)
	inline uint64 // the ring of windows up to 64 packets
	// ring holds, for larger windows, pairs of words: the bits of a block
	// of 64 sequence numbers, then that block's number plus one (0: empty).
	ring *[]uint64
}

// sparseMax is the longest list of accepted numbers a large window keeps
// before it takes its ring.
const sparseMax = 32

// NewReplayWindow returns an empty window of size packets (at least 1).
func NewReplayWindow(size int) ReplayWindow {
	if size < 1 {
		size = 1
	}
	w := ReplayWindow{size: uint32(size)}
	switch n := ringWords(size); {
	case n == 0:
	case 2*n <= sparseMax:
		r := make([]uint64, 2*n)
		w.ring, w.dense = &r, true
	default:
		r := make([]uint64, 0, sparseMax)
		w.ring = &r
	}
	return w
}

// ringWords is the number of 64-packet blocks a window of size packets
// can touch (it need not start on a block boundary); 0 for the inline word.
func ringWords(size int) int {
	if size <= 64 {
		return 0
	}
	return (size+63)/64 + 1
}

// ReplayWindowBytes is the memory a window of size packets may take beyond
// the SA itself (its ring, once it has one).
func ReplayWindowBytes(size int) int64 { return int64(ringWords(size)) * 16 }

// Size is the window size in packets.
func (w *ReplayWindow) Size() int { return int(w.size) }

// Top is the highest accepted sequence number (0 before the first packet).
func (w *ReplayWindow) Top() uint64 { return w.top }

// Started reports whether any packet has been accepted.
func (w *ReplayWindow) Started() bool { return w.seen }

// Verdict is what the window says about a sequence number before it is
// accepted: the receiver's anti-replay decision (RFC 4303 §3.4.3), with the
// reason, which the sequence analysis counts.
type Verdict uint8

const (
	// SeqAhead: the first number of the SA, or right of the highest
	// accepted one: in order.
	SeqAhead Verdict = iota
	// SeqReordered: inside the window, below the highest accepted number
	// and not accepted before: it arrived after a higher number.
	SeqReordered
	// SeqDuplicate: inside the window and already accepted.
	SeqDuplicate
	// SeqLate: left of the window (size or more below the highest accepted
	// number): the window no longer tells whether it was accepted before.
	SeqLate
	// SeqZero: sequence number 0, which a sender never uses (RFC 4303
	// §3.3.3: the counter starts at 1 and must not cycle).
	SeqZero
)

// Accepted reports whether the window lets a packet with this verdict pass.
func (v Verdict) Accepted() bool { return v == SeqAhead || v == SeqReordered }

// Check reports whether seq would be accepted, without changing the window.
// Sequence number 0 is never sent (the counter starts at 1 and must not
// cycle, RFC 4303 §3.3.3), so it fails like a replay, as in Linux's xfrm.
func (w *ReplayWindow) Check(seq uint64) bool { return w.Classify(seq).Accepted() }

// Classify says where seq stands against the window, without changing it.
func (w *ReplayWindow) Classify(seq uint64) Verdict {
	if seq == 0 {
		return SeqZero
	}
	if !w.seen || seq > w.top {
		return SeqAhead
	}
	if w.top-seq >= uint64(w.size) {
		return SeqLate
	}
	var fresh bool
	switch {
	case w.ring == nil:
		fresh = w.inline&(1<<(seq%64)) == 0
	case !w.dense:
		fresh = !slices.Contains(*w.ring, seq)
	default:
		r := *w.ring
		i := 2 * (seq / 64 % uint64(len(r)/2))
		fresh = r[i+1] != seq/64+1 || r[i]&(1<<(seq%64)) == 0
	}
	if fresh {
		return SeqReordered
	}
	return SeqDuplicate
}

// Update records seq as accepted; call it only after Check passed (and,
// with keys, after the integrity check: RFC 4303 §3.4.3 moves the window only
// for authenticated packets).
func (w *ReplayWindow) Update(seq uint64) {
	switch {
	case !w.seen:
		// A capture may start in the middle of an SA's life: the first packet
		// seen opens the window wherever it is.
		w.seen = true
		w.top = seq
	case seq > w.top:
		if w.ring == nil {
			if d := seq - w.top; d >= 64 {
				w.inline = 0
			} else {
				// Clear the d bits after top, wrapping around the word.
				w.inline &^= bits.RotateLeft64(1<<d-1, int((w.top+1)%64))
			}
		}
		w.top = seq
	}
	switch {
	case w.ring == nil:
		w.inline |= 1 << (seq % 64)
	case w.dense:
		w.set(seq)
	default:
		w.list(seq)
	}
}

// set sets seq's bit in the ring of blocks.
func (w *ReplayWindow) set(seq uint64) {
	r := *w.ring
	i := 2 * (seq / 64 % uint64(len(r)/2))
	if r[i+1] != seq/64+1 {
		r[i], r[i+1] = 0, seq/64+1
	}
	r[i] |= 1 << (seq % 64)
}

// list adds seq to the list of accepted numbers; when the list is full of
// numbers still in the window, the window takes its ring.
func (w *ReplayWindow) list(seq uint64) {
	r := *w.ring
	if len(r) == cap(r) {
		r = slices.DeleteFunc(r, func(s uint64) bool { return w.top-s >= uint64(w.size) })
	}
	if len(r) < cap(r) {
		*w.ring = append(r, seq)
		return
	}
	ring := make([]uint64, 2*ringWords(int(w.size)))
	w.ring, w.dense = &ring, true
	for _, s := range append(r, seq) {
		w.set(s)
	}
}

// InferESN reconstructs the high 32 bits of a 64-bit sequence number from
// its low 32 bits and the window (RFC 4303 Appendix A2.2): a low value in or
// right of the window belongs to the window's epoch, one further left to the
// next epoch (the counter wrapped).
func (w *ReplayWindow) InferESN(low uint32) uint64 {
	tl, th := uint32(w.top), uint32(w.top>>32)
	wsz := w.size
	var hi uint32
	if tl >= wsz-1 {
		// Window within one epoch: [tl-W+1, tl].
		if low >= tl-wsz+1 {
			hi = th
		} else {
			hi = th + 1
		}
	} else {
		// Window spans the epoch boundary: [2^32-(W-1-tl), 2^32) ∪ [0, tl].
		if low >= tl-wsz+1 { // wraps: a low value from the previous epoch's tail
			hi = th - 1
		} else {
			hi = th
		}
	}
	if !w.seen || (hi == ^uint32(0) && th == 0) {
		hi = th
	}
	return uint64(hi)<<32 | uint64(low)
}
