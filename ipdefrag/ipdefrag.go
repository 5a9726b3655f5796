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
	"sort"
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
	Bytes     int // fragment data held, over all datagrams
}

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

type datagram struct {
	first   time.Time
	seq     uint64 // arrival order of the datagram, for eviction
	pieces  []piece
	have    int    // data bytes held
	highest int    // end of the furthest piece held
	total   int    // the datagram's data length; -1 until the last fragment arrives
	head    []byte // IP header(s) from the offset-0 fragment, made ready for the whole packet
	dead    bool   // discarded after an overlap: later fragments are dropped too
}

// Defragmenter reassembles the fragments of one IP version. It is not safe
// for concurrent use.
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
		res = d.makeRoom(len(data))
		if res.Err != nil {
			res.Err = fmt.Errorf("IPv%d reassembly: %w", v, res.Err)
		}
		d.seq++
		dg = &datagram{first: f.Time, seq: d.seq, total: -1}
		d.dgs[k] = dg
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
	// Pieces [i, j) share bytes with the new one.
	i := sort.Search(len(dg.pieces), func(n int) bool { return dg.pieces[n].off+len(dg.pieces[n].data) > f.Offset })
	j := i
	for j < len(dg.pieces) && dg.pieces[j].off < end {
		j++
	}
	if i < j {
		if covered(dg.pieces[i:j], f.Offset, end) {
			return drop(res, 1, ErrDuplicate)
		}
		return d.discard(dg, drop(res, 0, ErrOverlap))
	}
	if !f.More {
		dg.total = end
	}
	if f.Offset == 0 {
		dg.head = makeHead(f, v)
	}
	dg.pieces = append(dg.pieces, piece{})
	copy(dg.pieces[i+1:], dg.pieces[i:])
	dg.pieces[i] = piece{f.Offset, append([]byte(nil), data...)}
	dg.have += len(data)
	dg.highest = max(dg.highest, end)
	d.bytes += len(data)
	if dg.head == nil || dg.total < 0 || dg.have != dg.total {
		return res
	}
	// No overlaps and every byte of [0, total) held: complete.
	pkt := make([]byte, 0, len(dg.head)+dg.total)
	pkt = append(pkt, dg.head...)
	for _, p := range dg.pieces {
		pkt = append(pkt, p.data...)
	}
	if v == 4 {
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		binary.BigEndian.PutUint16(pkt[10:], 0)
		binary.BigEndian.PutUint16(pkt[10:], checksum(pkt[:len(dg.head)]))
	} else {
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	}
	res.Packet, res.Fragments = pkt, len(dg.pieces)
	d.remove(k, dg)
	return res
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

// covered tells whether ps, which all touch [start, end), hold every byte
// of it without a gap.
func covered(ps []piece, start, end int) bool {
	if ps[0].off > start || ps[len(ps)-1].off+len(ps[len(ps)-1].data) < end {
		return false
	}
	for n := 0; n < len(ps)-1; n++ {
		if ps[n].off+len(ps[n].data) != ps[n+1].off {
			return false
		}
	}
	return true
}

// checksum is the IPv4 header checksum (RFC 791, RFC 1071).
func checksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// discard drops a datagram after an overlap (the new fragment included)
// and keeps a tombstone, so that its remaining fragments are dropped as
// they arrive.
func (d *Defragmenter) discard(dg *datagram, res Result) Result {
	res.Dropped += len(dg.pieces) + 1
	d.bytes -= dg.have
	dg.pieces, dg.have, dg.head, dg.dead = nil, 0, nil, true
	return res
}

func (d *Defragmenter) remove(k key, dg *datagram) {
	d.bytes -= dg.have
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
