// Package ip6defrag reassembles IPv6 fragments (RFC 8200 §4.5) so that
// ESP and AH packets fragmented by their sender can be analysed whole.
// gopacket reassembles only IPv4 (ip4defrag). Overlapping fragments
// discard their whole datagram, as RFC 5722 requires of a receiver, and
// memory is bounded: a flood of fragments that never complete evicts the
// oldest datagrams instead of growing without limit.
package ip6defrag

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sort"
	"time"
)

// Timeout is how long a receiver waits for a datagram's fragments after the
// first arrives (RFC 8200 §4.5: 60 seconds).
const Timeout = 60 * time.Second

// Limits bound what a Defragmenter holds.
type Limits struct {
	Datagrams int // datagrams being reassembled at once
	Bytes     int // fragment data held, over all datagrams
}

// DefaultLimits holds up to 64 full-size (64 KiB) datagrams' worth.
var DefaultLimits = Limits{Datagrams: 4096, Bytes: 4 << 20}

// Fragment is one fragment as it arrived.
type Fragment struct {
	Src, Dst netip.Addr
	ID       uint32
	// Packet is the whole IPv6 packet, Fragment header included. HdrAt is
	// where the Fragment header starts and NHAt the offset of the Next
	// Header byte that names it.
	Packet      []byte
	HdrAt, NHAt int
	Offset      int // bytes
	More        bool
	Time        time.Time
}

// Result is what one fragment did.
type Result struct {
	// Packet is the reassembled IPv6 packet when this fragment completed
	// one; Fragments how many fragments it was made of.
	Packet    []byte
	Fragments int
	// Dropped counts the fragments discarded by this call: this one, its
	// datagram's, or those of the oldest datagram evicted to make room.
	// Err says why.
	Dropped int
	Err     error
}

// Reasons a fragment is dropped.
var (
	ErrOverlap   = errors.New("overlapping IPv6 fragments: datagram discarded (RFC 5722)")
	ErrDiscarded = errors.New("fragment of an IPv6 datagram discarded for overlapping fragments (RFC 5722)")
	ErrDuplicate = errors.New("duplicate IPv6 fragment")
	ErrBadLength = errors.New("IPv6 fragment with M set whose length is not a multiple of 8 (RFC 8200 §4.5)")
	ErrTooLong   = errors.New("IPv6 fragments add up to more than 65,535 bytes of payload")
	ErrMalformed = errors.New("malformed IPv6 fragment")
	ErrEvicted   = errors.New("IPv6 reassembly limit reached: oldest incomplete datagram discarded")
)

type key struct {
	src, dst [16]byte
	id       uint32
}

type piece struct {
	off  int
	data []byte
}

type datagram struct {
	first  time.Time
	seq    uint64 // arrival order of the datagram, for eviction
	pieces []piece
	have   int    // data bytes held
	total  int    // fragmentable part's length; -1 until the last fragment arrives
	unfrag []byte // from the offset-0 fragment, Next Header already rewritten
	dead   bool   // discarded after an overlap: later fragments are dropped too (RFC 5722)
}

// Defragmenter reassembles fragments. It is not safe for concurrent use.
type Defragmenter struct {
	lim   Limits
	dgs   map[key]*datagram
	bytes int
	seq   uint64
	// order lists datagrams by arrival for eviction; entries whose datagram
	// has gone (or been replaced) are skipped and compacted away.
	order []queued
}

type queued struct {
	k   key
	seq uint64
}

// New returns a Defragmenter holding at most lim.
func New(lim Limits) *Defragmenter {
	return &Defragmenter{lim: lim, dgs: map[key]*datagram{}}
}

// Pending reports how many fragments are held, waiting for the rest of
// their datagram.
func (d *Defragmenter) Pending() int {
	n := 0
	for _, dg := range d.dgs {
		n += len(dg.pieces)
	}
	return n
}

// Add takes one fragment. Its bytes are copied: the caller may reuse them.
func (d *Defragmenter) Add(f Fragment) Result {
	if f.HdrAt < 40 || f.HdrAt+8 > len(f.Packet) || f.NHAt < 6 || f.NHAt >= f.HdrAt || !f.Src.Is6() || !f.Dst.Is6() {
		return Result{Dropped: 1, Err: ErrMalformed}
	}
	data := f.Packet[f.HdrAt+8:]
	if f.More && (len(data) == 0 || len(data)%8 != 0) {
		return Result{Dropped: 1, Err: ErrBadLength}
	}
	end := f.Offset + len(data)
	if f.HdrAt-40+end > 65535 {
		return Result{Dropped: 1, Err: ErrTooLong}
	}
	k := key{f.Src.As16(), f.Dst.As16(), f.ID}
	dg := d.dgs[k]
	var res Result
	if dg == nil {
		res = d.makeRoom(len(data))
		d.seq++
		dg = &datagram{first: f.Time, seq: d.seq, total: -1}
		d.dgs[k] = dg
		d.order = append(d.order, queued{k, d.seq})
		if len(d.order) > 2*len(d.dgs)+64 {
			live := d.order[:0]
			for _, q := range d.order {
				if dg := d.dgs[q.k]; dg != nil && dg.seq == q.seq {
					live = append(live, q)
				}
			}
			d.order = live
		}
	}
	if dg.dead {
		res.Dropped++
		res.Err = ErrDiscarded
		return res
	}
	// The last fragment fixes the length; nothing may lie beyond it.
	if !f.More {
		if dg.total >= 0 && dg.total != end {
			return d.discard(k, dg, res)
		}
		dg.total = end
	}
	if dg.total >= 0 && end > dg.total {
		return d.discard(k, dg, res)
	}
	i := sort.Search(len(dg.pieces), func(i int) bool { return dg.pieces[i].off >= f.Offset })
	if i < len(dg.pieces) && dg.pieces[i].off == f.Offset && len(dg.pieces[i].data) == len(data) && string(dg.pieces[i].data) == string(data) {
		res.Dropped++
		res.Err = ErrDuplicate
		return res
	}
	if i > 0 && dg.pieces[i-1].off+len(dg.pieces[i-1].data) > f.Offset ||
		i < len(dg.pieces) && end > dg.pieces[i].off {
		return d.discard(k, dg, res)
	}
	if f.Offset == 0 {
		dg.unfrag = append([]byte(nil), f.Packet[:f.HdrAt]...)
		// The reassembled packet's last unfragmentable header names what
		// the Fragment header named.
		dg.unfrag[f.NHAt] = f.Packet[f.HdrAt]
	}
	dg.pieces = append(dg.pieces, piece{})
	copy(dg.pieces[i+1:], dg.pieces[i:])
	dg.pieces[i] = piece{f.Offset, append([]byte(nil), data...)}
	dg.have += len(data)
	d.bytes += len(data)
	if dg.unfrag == nil || dg.total < 0 || dg.have != dg.total {
		return res
	}
	// No overlaps and every byte of [0, total) held: complete.
	pkt := make([]byte, 0, len(dg.unfrag)+dg.total)
	pkt = append(pkt, dg.unfrag...)
	for _, p := range dg.pieces {
		pkt = append(pkt, p.data...)
	}
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	res.Packet, res.Fragments = pkt, len(dg.pieces)
	d.remove(k, dg)
	return res
}

// discard drops a datagram after an overlap and keeps a tombstone, so
// that its remaining fragments are dropped as they arrive.
func (d *Defragmenter) discard(k key, dg *datagram, res Result) Result {
	res.Dropped += len(dg.pieces) + 1
	res.Err = ErrOverlap
	d.bytes -= dg.have
	dg.pieces, dg.have, dg.unfrag, dg.dead = nil, 0, nil, true
	return res
}

func (d *Defragmenter) remove(k key, dg *datagram) {
	d.bytes -= dg.have
	delete(d.dgs, k)
}

// makeRoom evicts the oldest datagrams until a new one of n bytes fits.
func (d *Defragmenter) makeRoom(n int) Result {
	var res Result
	for len(d.order) > 0 && (len(d.dgs) >= d.lim.Datagrams || d.bytes+n > d.lim.Bytes) {
		q := d.order[0]
		d.order = d.order[1:]
		if dg := d.dgs[q.k]; dg != nil && dg.seq == q.seq {
			res.Dropped += len(dg.pieces)
			d.remove(q.k, dg)
		}
	}
	if res.Dropped > 0 {
		res.Err = ErrEvicted
	}
	return res
}

// Flush drops every datagram still incomplete, as at the end of the input,
// and returns how many fragments went with them.
func (d *Defragmenter) Flush() int {
	n := d.Pending()
	d.dgs, d.order, d.bytes = map[key]*datagram{}, nil, 0
	return n
}

// DiscardOlderThan drops the datagrams whose first fragment arrived before
// t and returns how many fragments went with them.
func (d *Defragmenter) DiscardOlderThan(t time.Time) int {
	n := 0
	for k, dg := range d.dgs {
		if dg.first.Before(t) {
			n += len(dg.pieces)
			d.remove(k, dg)
		}
	}
	return n
}
