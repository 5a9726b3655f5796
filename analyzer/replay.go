package analyzer

// ReplayWindow is the receiver's anti-replay window of RFC 4303 §3.4.3 and
// RFC 4302 §3.4.3: a packet is a replay when its sequence number was
// already accepted, or lies left of the window (more than size-1 below the
// highest accepted number). Sequence numbers are kept as 64 bits so the same
// code serves extended sequence numbers (RFC 4303 Appendix A).
//
// The bitmap is a ring indexed by sequence number modulo its bit count, the
// arrangement Linux's xfrm uses: advancing the window clears only the bits
// it passes over instead of shifting the whole map.
type ReplayWindow struct {
	top    uint64 // highest accepted sequence number
	size   uint32 // window size W in packets
	nbits  uint32 // ring bits: size rounded up to 64
	inline uint64 // the ring when nbits == 64, saving an allocation per SA
	ring   *[]uint64
	seen   bool
}

// NewReplayWindow returns an empty window of size packets (at least 1).
func NewReplayWindow(size int) ReplayWindow {
	if size < 1 {
		size = 1
	}
	w := ReplayWindow{size: uint32(size), nbits: uint32((size + 63) / 64 * 64)}
	if w.nbits > 64 {
		r := make([]uint64, w.nbits/64)
		w.ring = &r
	}
	return w
}

// Size is the window size in packets.
func (w *ReplayWindow) Size() int { return int(w.size) }

// Top is the highest accepted sequence number (0 before the first packet).
func (w *ReplayWindow) Top() uint64 { return w.top }

// Started reports whether any packet has been accepted.
func (w *ReplayWindow) Started() bool { return w.seen }

func (w *ReplayWindow) word(seq uint64) (*uint64, uint64) {
	bit := seq % uint64(w.nbits)
	if w.ring == nil {
		return &w.inline, 1 << bit
	}
	return &(*w.ring)[bit/64], 1 << (bit % 64)
}

// Check reports whether seq would be accepted, without changing the window.
// Sequence number 0 is never sent (the counter starts at 1 and must not
// cycle, RFC 4303 §3.3.3), so it fails like a replay, as in Linux's xfrm.
func (w *ReplayWindow) Check(seq uint64) bool {
	if seq == 0 {
		return false
	}
	if !w.seen || seq > w.top {
		return true
	}
	if w.top-seq >= uint64(w.size) {
		return false
	}
	p, m := w.word(seq)
	return *p&m == 0
}

// Update records seq as accepted; call it only after Check passed (and,
// with keys, after the integrity check: RFC 4303 §3.4.3 moves the window only
// for authenticated packets).
func (w *ReplayWindow) Update(seq uint64) {
	if !w.seen {
		// A capture may start in the middle of an SA's life: the first packet
		// seen opens the window wherever it is.
		w.seen = true
		w.top = seq
		p, m := w.word(seq)
		*p |= m
		return
	}
	if seq > w.top {
		if diff := seq - w.top; diff >= uint64(w.nbits) {
			w.inline = 0
			if w.ring != nil {
				clear(*w.ring)
			}
		} else {
			for s := w.top + 1; s <= seq; s++ {
				p, m := w.word(s)
				*p &^= m
			}
		}
		w.top = seq
	}
	p, m := w.word(seq)
	*p |= m
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
