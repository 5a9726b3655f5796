// Package ipdefrag reassembles IPv4 and IPv6 fragments (RFC 791, RFC 8200
// §4.5) so that ESP, AH and IKE packets fragmented by their sender can be
// analysed whole. It follows what a receiver (Linux) does: a fragment
// wholly within bytes already held is a duplicate and is dropped alone;
// any other overlap discards the whole datagram and the fragments of it
// still to come (RFC 5722; Linux treats IPv4 the same). Unlike gopacket's
// ip4defrag, which has no IPv6 counterpart and no bound on what it holds,
// memory is bounded: a flood of fragments that never complete evicts the
// oldest datagrams instead of growing without limit.
package ipdefrag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// How long a receiver waits for the rest of a datagram after its first
// fragment: 30 s for IPv4 (Linux's ipfrag_time; RFC 791 suggests up to
// 15 s), 60 s for IPv6 (RFC 8200 §4.5).
const (
	TimeoutIPv4 = 30 * time.Second
	TimeoutIPv6 = 60 * time.Second
)

// Limits bound what a Defragmenter holds.
type Limits struct {
	Datagrams int // datagrams being reassembled at once
	// Bytes bounds the memory held over all datagrams: fragment data plus
	// pieceCost per fragment and datagramCost per datagram, so that a flood
	// of 8-byte fragments is bounded as firmly as one of full-size ones.
	Bytes int
}

// What holding a fragment or a datagram costs beyond the data: a piece
// entry and allocation rounding; a datagram's record, map and queue entries.
const (
	pieceCost    = 64
	datagramCost = 256
)

// DefaultLimits holds up to 64 full-size (64 KiB) datagrams' worth.
var DefaultLimits = Limits{Datagrams: 4096, Bytes: 4 << 20}

// Fragment is one fragment as it arrived.
type Fragment struct {
	Src, Dst netip.Addr // their family says the IP version
	ID       uint32
	Proto    uint8 // IPv4: the protocol, part of the datagram's identity (RFC 791)
	// Packet is the whole IP packet, from its header to the end its length
	// field gives. IPv4: HdrAt is the header's length. IPv6: HdrAt is where
	// the Fragment header starts and NHAt the offset of the Next Header
	// byte that names it.
	Packet      []byte
	HdrAt, NHAt int
	Offset      int // bytes
	More        bool
	Time        time.Time
}

// Result is what one fragment did.
type Result struct {
	// Packet is the reassembled IP packet when this fragment completed
	// one; Fragments how many fragments it was made of.
	Packet    []byte
	Fragments int
	// Dropped counts the fragments discarded by this call: this one, its
	// datagram's, or those of the oldest datagram evicted to make room.
	// Err says why.
	Dropped int
	Err     error
}

// Reasons fragments are dropped; Result.Err wraps one with the IP version.
var (
	ErrOverlap   = errors.New("overlapping fragments: datagram discarded")
	ErrDiscarded = errors.New("fragment of a datagram discarded for overlapping fragments")
	ErrDuplicate = errors.New("duplicate fragment")
	ErrBadLength = errors.New("fragment with more to follow whose length is not a multiple of 8")
	ErrTooLong   = errors.New("fragments add up to more than 65,535 bytes")
	ErrMalformed = errors.New("malformed fragment")
	ErrEvicted   = errors.New("limit reached: oldest incomplete datagram discarded")
	ErrNoRoom    = errors.New("limit reached: fragment does not fit")
)

type key struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
}

type piece struct {
	off  int
	data []byte
}

// A datagram keeps its pieces in arrival order and a bitmap of the 8-byte
// units they hold. Fragment offsets count 8-byte units and every piece but
// the last ends on a unit, so a new fragment is a repeat when every unit it
// spans is held, an overlap when some are, and new when none are: each
// fragment costs what its own length does, not what the datagram holds
// (sorted pieces made 8,000 tiny fragments in reverse order quadratic).
type datagram struct {
	first   time.Time
	seq     uint64 // arrival order of the datagram, for eviction
	pieces  []piece
	units   []uint64 // bit u: bytes [8u, 8u+8) are held
	have    int      // data bytes held
	cost    int      // what the datagram counts against Limits.Bytes
	highest int      // end of the furthest piece held
	total   int      // the datagram's data length; -1 until the last fragment arrives
	head    []byte   // IP header(s) from the offset-0 fragment, made ready for the whole packet
	dead    bool     // discarded after an overlap: later fragments are dropped too
}

// Defragmenter reassembles the fragments of one IP version. It is not safe
// for concurrent use.
type Defragmenter struct {
	lim   Limits
	dgs   map[key]*datagram
	bytes int // memory held, as Limits.Bytes counts it
	seq   uint64
	// evicted counts fragments discarded because a limit was reached.
	evicted uint64
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
	v := 6
	if f.Src.Is4() {
		v = 4
	}
	drop := func(res Result, n int, err error) Result {
		res.Dropped += n
		res.Err = fmt.Errorf("IPv%d reassembly: %w", v, err)
		return res
	}
	data, ok := fragmentData(f)
	if !ok {
		return drop(Result{}, 1, ErrMalformed)
	}
	if f.More && len(data)%8 != 0 {
		if v == 6 {
			// RFC 8200 §4.5: discarded (with an ICMP Parameter Problem).
			return drop(Result{}, 1, ErrBadLength)
		}
		// An IPv4 receiver uses the whole 8-byte units and drops the rest.
		data = data[:len(data)&^7]
	}
	if len(data) == 0 && f.More {
		return drop(Result{}, 1, ErrBadLength)
	}
	end := f.Offset + len(data)
	if headLen(f, v)+end > 65535 {
		return drop(Result{}, 1, ErrTooLong)
	}
	k := key{f.Src.As16(), f.Dst.As16(), f.ID, f.Proto}
	dg := d.dgs[k]
	var res Result
	if dg == nil {
		res = d.makeRoom(datagramCost, nil, v)
		d.seq++
		dg = &datagram{first: f.Time, seq: d.seq, total: -1, cost: datagramCost}
		d.dgs[k] = dg
		d.bytes += datagramCost
		d.queue(k, d.seq)
	}
	if dg.dead {
		return drop(res, 1, ErrDiscarded)
	}
	// The last fragment fixes the length: nothing may lie beyond it, and
	// two last fragments must agree. (Linux checks this before looking for
	// duplicates, so a contradicting repeat discards the datagram.)
	switch {
	case !f.More:
		if end < dg.highest || dg.total >= 0 && dg.total != end {
			return d.discard(dg, drop(res, 0, ErrOverlap))
		}
	case dg.total >= 0 && end > dg.total:
		return d.discard(dg, drop(res, 0, ErrOverlap))
	}
	first, last := f.Offset/8, (end+7)/8 // units [first, last)
	switch held := dg.held(first, last); {
	case held == last-first && last > first:
		return drop(res, 1, ErrDuplicate)
	case held > 0:
		return d.discard(dg, drop(res, 0, ErrOverlap))
	}
	// Every fragment is counted against the byte limit as it comes, not
	// only a datagram's first: older datagrams make room, never this one.
	grow := max(0, (last+63)/64-len(dg.units))
	cost := len(data) + pieceCost + 8*grow
	if d.bytes+cost > d.lim.Bytes {
		r := d.makeRoom(cost, dg, v)
		res.Dropped += r.Dropped
		if r.Err != nil {
			res.Err = r.Err
		}
		if d.bytes+cost > d.lim.Bytes {
			d.evicted++
			return drop(res, 1, ErrNoRoom)
		}
	}
	if !f.More {
		dg.total = end
	}
	if f.Offset == 0 {
		dg.head = makeHead(f, v)
	}
	dg.units = append(dg.units, make([]uint64, grow)...)
	for u := first; u < last; u++ {
		dg.units[u/64] |= 1 << (u % 64)
	}
	dg.pieces = append(dg.pieces, piece{f.Offset, append([]byte(nil), data...)})
	dg.have += len(data)
	dg.cost += cost
	dg.highest = max(dg.highest, end)
	d.bytes += cost
	if dg.head == nil || dg.total < 0 || dg.have != dg.total {
		return res
	}
	// No overlaps and every byte of [0, total) held: complete.
	pkt := make([]byte, len(dg.head)+dg.total)
	copy(pkt, dg.head)
	for _, p := range dg.pieces {
		copy(pkt[len(dg.head)+p.off:], p.data)
	}
	if v == 4 {
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		binary.BigEndian.PutUint16(pkt[10:], 0)
		binary.BigEndian.PutUint16(pkt[10:], Checksum(pkt[:len(dg.head)]))
	} else {
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	}
	res.Packet, res.Fragments = pkt, len(dg.pieces)
	d.remove(k, dg)
	return res
}

// held counts the units in [first, last) that pieces already hold.
func (dg *datagram) held(first, last int) int {
	n := 0
	for u := first; u < last && u/64 < len(dg.units); u++ {
		if dg.units[u/64]&(1<<(u%64)) != 0 {
			n++
		}
	}
	return n
}

// fragmentData is the part of the fragment's packet that is the
// datagram's data; false when the header positions do not fit the packet.
func fragmentData(f Fragment) ([]byte, bool) {
	p := f.Packet
	if f.Src.Is4() {
		if !f.Dst.Is4() || f.HdrAt < 20 || f.HdrAt > len(p) || f.Offset < 0 {
			return nil, false
		}
		return p[f.HdrAt:], true
	}
	if !f.Src.Is6() || !f.Dst.Is6() || f.HdrAt < 40 || f.HdrAt+8 > len(p) || f.NHAt < 6 || f.NHAt >= f.HdrAt || f.Offset < 0 {
		return nil, false
	}
	return p[f.HdrAt+8:], true
}

// headLen is how much of the reassembled packet's length limit the
// headers take: IPv4's total length counts its header, IPv6's payload
// length its extension headers but not the fixed header.
func headLen(f Fragment, v int) int {
	if v == 4 {
		return f.HdrAt
	}
	return f.HdrAt - 40
}

// makeHead copies the offset-0 fragment's headers as the whole packet
// will carry them: IPv4 without MF and offset (DF kept); IPv6 with the last
// unfragmentable header naming what the Fragment header named.
func makeHead(f Fragment, v int) []byte {
	h := append([]byte(nil), f.Packet[:f.HdrAt]...)
	if v == 4 {
		h[6] &= 0x40
		h[7] = 0
	} else {
		h[f.NHAt] = f.Packet[f.HdrAt]
	}
	return h
}

// Checksum is the Internet checksum (RFC 1071) of b, as an IPv4 header
// carries it (RFC 791); an odd last byte counts as if padded with a zero.
// plaintext uses it too, for the transport-mode headers it rebuilds.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// discard drops a datagram after an overlap (the new fragment included)
// and keeps a tombstone, so that its remaining fragments are dropped as
// they arrive.
func (d *Defragmenter) discard(dg *datagram, res Result) Result {
	res.Dropped += len(dg.pieces) + 1
	d.bytes -= dg.cost - datagramCost
	dg.cost = datagramCost
	dg.pieces, dg.units, dg.have, dg.head, dg.dead = nil, nil, 0, nil, true
	return res
}

func (d *Defragmenter) remove(k key, dg *datagram) {
	d.bytes -= dg.cost
	delete(d.dgs, k)
}

func (d *Defragmenter) queue(k key, seq uint64) {
	d.order = append(d.order, queued{k, seq})
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

// makeRoom evicts the oldest datagrams, keep aside, until n more bytes fit
// and, for a new datagram (keep nil), the datagram limit allows one more.
func (d *Defragmenter) makeRoom(n int, keep *datagram, v int) Result {
	var res Result
	i := 0 // entries before i are keep's: passed over, not evicted
	for i < len(d.order) && (keep == nil && len(d.dgs) >= d.lim.Datagrams || d.bytes+n > d.lim.Bytes) {
		q := d.order[i]
		dg := d.dgs[q.k]
		live := dg != nil && dg.seq == q.seq
		if live && dg == keep {
			i++
			continue
		}
		// Drop entry i, moving keep's (at most one) up behind it.
		copy(d.order[1:i+1], d.order[:i])
		d.order = d.order[1:]
		if live {
			res.Dropped += len(dg.pieces)
			d.evicted += uint64(len(dg.pieces))
			d.remove(q.k, dg)
		}
	}
	if res.Dropped > 0 {
		res.Err = fmt.Errorf("IPv%d reassembly: %w", v, ErrEvicted)
	}
	return res
}

// Evicted counts the fragments discarded so far because a limit was
// reached (the oldest datagrams' to make room, or a fragment that did not
// fit): what the limits cost.
func (d *Defragmenter) Evicted() uint64 { return d.evicted }

// Limits returns the limits in force.
func (d *Defragmenter) Limits() Limits { return d.lim }

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

// Flush drops every datagram still incomplete, as at the end of the input,
// and returns how many fragments went with them.
func (d *Defragmenter) Flush() int {
	n := d.Pending()
	d.dgs, d.order, d.bytes = map[key]*datagram{}, nil, 0
	return n
}
