package ipdefrag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	pb "ipsecmon/internal/pktbuild"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// original is the packet a sender fragments: IPv6, optionally a
// Destination Options header before fragmentation, then ESP of n bytes.
func original(dstOpts bool, n int) (pkt []byte, unfrag, nhAt int) {
	esp := pb.ESP(0xc0ffee, 7, n-8)
	for i := 8; i < len(esp); i++ {
		esp[i] = byte(i * 7) // distinct bytes: a misplaced piece shows
	}
	if dstOpts {
		opts := []byte{50, 0, 1, 4, 0, 0, 0, 0}
		return pb.Cat(pb.IPv6(60, pb.V6A, pb.V6B, len(opts)+len(esp)), opts, esp), 48, 40
	}
	return pb.Cat(pb.IPv6(50, pb.V6A, pb.V6B, len(esp)), esp), 40, 6
}

// frag turns one packet of pb.FragmentIPv6 into a Fragment, reading the
// offset and M flag from its bytes.
func frag(p []byte, unfrag, nhAt int, at time.Duration) Fragment {
	fo := int(p[unfrag+2])<<8 | int(p[unfrag+3])
	return Fragment{
		Src: netip.AddrFrom16(pb.V6A), Dst: netip.AddrFrom16(pb.V6B),
		ID:     uint32(p[unfrag+4])<<24 | uint32(p[unfrag+5])<<16 | uint32(p[unfrag+6])<<8 | uint32(p[unfrag+7]),
		Packet: p, HdrAt: unfrag, NHAt: nhAt, Offset: fo &^ 7, More: fo&1 == 1, Time: t0.Add(at),
	}
}

// original4 is an IPv4 packet carrying ESP of n bytes, with the
// identification its fragments will carry.
func original4(n int, id uint16) []byte {
	esp := pb.ESP(0x4004, 7, n-8)
	for i := 8; i < len(esp); i++ {
		esp[i] = byte(i * 5)
	}
	p := pb.Cat(pb.IPv4(50, pb.IPv4Addr(2), pb.IPv4Addr(1), len(esp), 0), esp)
	binary.BigEndian.PutUint16(p[4:], id)
	return p
}

func frag4(p []byte, at time.Duration) Fragment {
	fo := binary.BigEndian.Uint16(p[6:])
	return Fragment{
		Src: netip.AddrFrom4(pb.IPv4Addr(2)), Dst: netip.AddrFrom4(pb.IPv4Addr(1)),
		ID: uint32(binary.BigEndian.Uint16(p[4:])), Proto: p[9],
		Packet: p, HdrAt: 20, Offset: int(fo&0x1fff) * 8, More: fo&0x2000 != 0, Time: t0.Add(at),
	}
}

// TestReassemblyIPv4: the whole packet is the sender's, but for what a
// reassembler must set itself: no MF or offset, the total length, and a
// header checksum that verifies (RFC 1071: the header sums to 0xffff).
func TestReassemblyIPv4(t *testing.T) {
	orig := original4(1208, 0x77)
	fs := pb.FragmentIPv4(orig, 0x77, 512, 512)
	odd := append(append([]byte(nil), fs[0]...), 1, 2, 3) // 3 bytes past a multiple of 8, M set
	binary.BigEndian.PutUint16(odd[2:], uint16(len(odd)))
	otherProto := append([]byte(nil), fs[1]...)
	otherProto[9] = 51
	tests := []struct {
		name  string
		order [][]byte
		done  int // fragments in the packet
		drop  int
	}{
		{"in order", [][]byte{fs[0], fs[1], fs[2]}, 3, 0},
		{"reverse", [][]byte{fs[2], fs[1], fs[0]}, 3, 0},
		{"repeat of held bytes", [][]byte{fs[0], fs[1], fs[0], fs[2]}, 3, 1},
		{"extra bytes past the 8-byte units are dropped", [][]byte{odd, fs[1], fs[2]}, 3, 0},
		{"another protocol is another datagram", [][]byte{fs[0], otherProto, fs[2]}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(DefaultLimits)
			var res Result
			dropped := 0
			for n, f := range tt.order {
				res = d.Add(frag4(f, time.Duration(n)))
				dropped += res.Dropped
			}
			if dropped != tt.drop {
				t.Errorf("dropped %d, want %d", dropped, tt.drop)
			}
			if tt.done == 0 {
				if res.Packet != nil || d.Pending() != len(tt.order) {
					t.Errorf("completed %x, pending %d", res.Packet, d.Pending())
				}
				return
			}
			if res.Fragments != tt.done || len(res.Packet) != len(orig) {
				t.Fatalf("%d fragments, %d bytes; want %d, %d", res.Fragments, len(res.Packet), tt.done, len(orig))
			}
			var sum uint32
			for i := 0; i < 20; i += 2 {
				sum += uint32(binary.BigEndian.Uint16(res.Packet[i:]))
			}
			for sum > 0xffff {
				sum = sum&0xffff + sum>>16
			}
			if sum != 0xffff {
				t.Errorf("header checksum does not verify: sum %#x", sum)
			}
			got := append([]byte(nil), res.Packet...)
			got[10], got[11] = 0, 0 // pktbuild leaves checksums 0
			if !bytes.Equal(got, orig) {
				t.Errorf("packet\n%x\nwant\n%x", got, orig)
			}
		})
	}
}

func TestReassembly(t *testing.T) {
	type step struct {
		i       int // fragment index; -1: a crafted one
		crafted func(fs [][]byte, unfrag, nhAt int) Fragment
		dropped int
		err     error
		done    int // fragments in the completed packet; 0: not complete
	}
	overlapping := func(fs [][]byte, unfrag, nhAt int) Fragment {
		// The second fragment shifted back 8 bytes into the first.
		f := frag(fs[1], unfrag, nhAt, 0)
		f.Offset -= 8
		return f
	}
	lastTooShort := func(fs [][]byte, unfrag, nhAt int) Fragment {
		// A second "last" fragment ending 8 bytes before the first one did.
		f := frag(fs[2], unfrag, nhAt, 0)
		f.Packet = f.Packet[:len(f.Packet)-8]
		return f
	}
	oddLength := func(fs [][]byte, unfrag, nhAt int) Fragment {
		f := frag(fs[0], unfrag, nhAt, 0)
		f.Packet = f.Packet[:len(f.Packet)-3]
		return f
	}
	tests := []struct {
		name    string
		dstOpts bool
		sizes   []int // fragmentable bytes per fragment
		steps   []step
		pending int
	}{
		{"in order", false, []int{48, 48}, []step{{i: 0}, {i: 1}, {i: 2, done: 3}}, 0},
		{"reverse order", false, []int{48, 48}, []step{{i: 2}, {i: 1}, {i: 0, done: 3}}, 0},
		{"destination options stay unfragmentable", true, []int{64, 16}, []step{{i: 1}, {i: 0}, {i: 2, done: 3}}, 0},
		{"duplicate is dropped, the datagram completes", false, []int{48, 48}, []step{{i: 0}, {i: 0, dropped: 1, err: ErrDuplicate}, {i: 1}, {i: 2, done: 3}}, 0},
		{"overlap discards the datagram and its later fragments", false, []int{48, 48}, []step{
			{i: 0}, {i: -1, crafted: overlapping, dropped: 2, err: ErrOverlap},
			{i: 1, dropped: 1, err: ErrDiscarded}, {i: 2, dropped: 1, err: ErrDiscarded}}, 0},
		{"two different last fragments", false, []int{48, 48}, []step{
			{i: 2}, {i: -1, crafted: lastTooShort, dropped: 2, err: ErrOverlap}}, 0},
		{"M set on a length not a multiple of 8", false, []int{48, 48}, []step{{i: -1, crafted: oddLength, dropped: 1, err: ErrBadLength}}, 0},
		{"a missing middle leaves the rest pending", false, []int{48, 48}, []step{{i: 0}, {i: 2}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt, unfrag, nhAt := original(tt.dstOpts, 120)
			fs := pb.FragmentIPv6(pkt, unfrag, nhAt, 0x1234, tt.sizes...)
			if len(fs) != 3 {
				t.Fatalf("%d fragments, want 3", len(fs))
			}
			d := New(DefaultLimits)
			for n, s := range tt.steps {
				var f Fragment
				if s.i >= 0 {
					f = frag(fs[s.i], unfrag, nhAt, time.Duration(n)*time.Millisecond)
				} else {
					f = s.crafted(fs, unfrag, nhAt)
				}
				r := d.Add(f)
				if r.Dropped != s.dropped || !errors.Is(r.Err, s.err) && !(r.Err == nil && s.err == nil) {
					t.Fatalf("step %d: dropped %d (%v), want %d (%v)", n, r.Dropped, r.Err, s.dropped, s.err)
				}
				if s.done == 0 {
					if r.Packet != nil {
						t.Fatalf("step %d: complete too early", n)
					}
					continue
				}
				if r.Fragments != s.done || !bytes.Equal(r.Packet, pkt) {
					t.Fatalf("step %d: %d fragments, packet\n%x\nwant the original\n%x", n, r.Fragments, r.Packet, pkt)
				}
			}
			if got := d.Pending(); got != tt.pending {
				t.Errorf("pending %d, want %d", got, tt.pending)
			}
			if got := d.DiscardOlderThan(t0.Add(time.Hour)); got != tt.pending {
				t.Errorf("discarded %d on timeout, want %d", got, tt.pending)
			}
			if d.Pending() != 0 || d.bytes != 0 {
				t.Errorf("after the timeout: %d fragments, %d bytes held", d.Pending(), d.bytes)
			}
		})
	}
}

func TestTooLong(t *testing.T) {
	pkt, unfrag, nhAt := original(false, 120)
	f := frag(pb.FragmentIPv6(pkt, unfrag, nhAt, 1, 48)[1], unfrag, nhAt, 0)
	f.Offset = 65528 // + 72 bytes of data > 65,535
	if r := New(DefaultLimits).Add(f); r.Dropped != 1 || !errors.Is(r.Err, ErrTooLong) {
		t.Errorf("dropped %d (%v), want 1 (%v)", r.Dropped, r.Err, ErrTooLong)
	}
}

// TestEviction: at the datagram limit the oldest incomplete datagram makes
// room; the others complete untouched.
func TestEviction(t *testing.T) {
	d := New(Limits{Datagrams: 2, Bytes: 1 << 20})
	pkt, unfrag, nhAt := original(false, 120)
	var fs [3][][]byte
	for id := range fs {
		fs[id] = pb.FragmentIPv6(pkt, unfrag, nhAt, uint32(id), 64)
	}
	for id := range fs {
		r := d.Add(frag(fs[id][0], unfrag, nhAt, 0))
		want := 0
		if id == 2 {
			want = 1 // datagram 0's one fragment
		}
		if r.Dropped != want || (want > 0) != errors.Is(r.Err, ErrEvicted) {
			t.Fatalf("datagram %d: dropped %d (%v), want %d", id, r.Dropped, r.Err, want)
		}
	}
	for _, id := range []int{1, 2} {
		if r := d.Add(frag(fs[id][1], unfrag, nhAt, 0)); !bytes.Equal(r.Packet, pkt) {
			t.Errorf("datagram %d did not complete", id)
		}
	}
	// Datagram 0's second half arrives alone: it waits, incomplete.
	if r := d.Add(frag(fs[0][1], unfrag, nhAt, 0)); r.Packet != nil || r.Dropped != 0 || d.Pending() != 1 {
		t.Errorf("evicted datagram's last fragment: %+v, pending %d", r, d.Pending())
	}
}

// TestBytesLimit: a flood of first fragments that never complete stays
// under the byte limit, however many arrive.
func TestBytesLimit(t *testing.T) {
	d := New(Limits{Datagrams: 1 << 20, Bytes: 64 << 10})
	pkt, unfrag, nhAt := original(false, 1200)
	dropped := 0
	for id := 0; id < 10000; id++ {
		f := frag(pb.FragmentIPv6(pkt, unfrag, nhAt, uint32(id), 1024)[0], unfrag, nhAt, 0)
		r := d.Add(f)
		dropped += r.Dropped
		if d.bytes > 64<<10 {
			t.Fatalf("after %d datagrams: %d bytes held", id+1, d.bytes)
		}
	}
	if dropped+d.Pending() != 10000 {
		t.Errorf("dropped %d + pending %d != 10000 fragments", dropped, d.Pending())
	}
	if len(d.order) > 2*len(d.dgs)+64 {
		t.Errorf("eviction queue of %d entries for %d datagrams", len(d.order), len(d.dgs))
	}
}

func FuzzAdd(f *testing.F) {
	pkt, unfrag, nhAt := original(false, 120)
	fs := pb.FragmentIPv6(pkt, unfrag, nhAt, 5, 48, 48)
	f.Add(bytes.Join(fs, []byte{0xff}))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(Limits{Datagrams: 4, Bytes: 4096})
		// Each chunk between 0xff separators is one fragment's packet;
		// its first byte picks the offset, M flag and header position.
		for _, p := range bytes.Split(data, []byte{0xff}) {
			if len(p) < 1 {
				continue
			}
			ctl := p[0]
			f := Fragment{
				Src: netip.AddrFrom16(pb.V6A), Dst: netip.AddrFrom16(pb.V6B), ID: uint32(ctl & 3),
				Packet: p, HdrAt: 40 + int(ctl>>6)*8, NHAt: 6, Offset: int(ctl>>2&7) * 8, More: ctl&32 != 0,
			}
			r := d.Add(f)
			if r.Packet != nil {
				if len(r.Packet) < 40 || int(r.Packet[4])<<8|int(r.Packet[5]) != len(r.Packet)-40 {
					t.Fatalf("reassembled packet of %d bytes with payload length %x", len(r.Packet), r.Packet[4:6])
				}
			}
			if d.bytes < 0 || d.bytes > 4096+65535 {
				t.Fatalf("%d bytes held", d.bytes)
			}
		}
	})
}

// TestBytesCheckedOnEveryFragment: datagrams that keep growing (every
// fragment but the last arrives) stay under the byte limit too; the limit
// was once checked only when a datagram began, and 4096 datagrams of 44
// fragments held 260 MB. Every fragment is either held or counted as
// dropped, and Evicted counts the ones the limit cost.
func TestBytesCheckedOnEveryFragment(t *testing.T) {
	const limit = 16 << 10
	d := New(Limits{Datagrams: 1000, Bytes: limit})
	sent, dropped := 0, 0
	for id := uint16(0); id < 20; id++ {
		orig := original4(8*1024, id)
		fs := pb.FragmentIPv4(orig, id, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512)
		for _, f := range fs[:len(fs)-1] { // the last never comes
			r := d.Add(frag4(f, 0))
			sent++
			dropped += r.Dropped
			if d.bytes > limit {
				t.Fatalf("datagram %d: %d bytes held, limit %d", id, d.bytes, limit)
			}
		}
	}
	if dropped+d.Pending() != sent {
		t.Errorf("dropped %d + pending %d != %d fragments sent", dropped, d.Pending(), sent)
	}
	if d.Evicted() != uint64(dropped) || dropped == 0 {
		t.Errorf("evicted %d, dropped %d: every drop here is the limit's", d.Evicted(), dropped)
	}
}

// TestTinyFragmentsCounted: bookkeeping counts, not only data: 8-byte
// fragments cost 8 + 64 bytes each against the limit, plus a datagram's
// 256 and its bitmap, so a 64 KiB limit holds fewer than 65536/72 of them.
func TestTinyFragmentsCounted(t *testing.T) {
	d := New(Limits{Datagrams: 1 << 20, Bytes: 64 << 10})
	hdr := pb.IPv4(17, pb.IPv4Addr(2), pb.IPv4Addr(1), 8, 0)
	pkt := append(hdr, make([]byte, 8)...)
	for i := range 20_000 {
		d.Add(Fragment{Src: netip.AddrFrom4(pb.IPv4Addr(2)), Dst: netip.AddrFrom4(pb.IPv4Addr(1)), ID: uint32(i / 4000), Proto: 17,
			Packet: pkt, HdrAt: 20, Offset: 8 * (i % 4000), More: true})
	}
	if p := d.Pending(); p*(8+64) > 64<<10 || p == 0 {
		t.Errorf("%d fragments of 8 bytes held under a 64 KiB limit", p)
	}
}

// TestReverseTinyFragments: 8,000 fragments of 8 bytes, last first, make
// the packet their sender cut (the bytes are distinct, so a misplaced
// piece shows).
func TestReverseTinyFragments(t *testing.T) {
	orig, fs := tinyFragments()
	d := New(DefaultLimits)
	for i := len(fs) - 1; i >= 0; i-- {
		r := d.Add(frag4(fs[i], 0))
		if r.Dropped != 0 {
			t.Fatalf("fragment %d dropped: %v", i, r.Err)
		}
		if i > 0 && r.Packet != nil || i == 0 && !bytes.Equal(r.Packet, withChecksum(orig)) {
			t.Fatalf("fragment %d: packet %d bytes", i, len(r.Packet))
		}
	}
}

// tinyFragments is a 64,000-byte IPv4 packet cut into 8-byte fragments
// (the last takes the rest).
func tinyFragments() (orig []byte, fs [][]byte) {
	orig = original4(64000, 9)
	sizes := make([]int, 7999)
	for i := range sizes {
		sizes[i] = 8
	}
	return orig, pb.FragmentIPv4(orig, 9, sizes...)
}

// withChecksum is orig with its IPv4 header checksum set (RFC 1071): what
// a reassembler writes into the whole packet.
func withChecksum(orig []byte) []byte {
	p := append([]byte(nil), orig...)
	binary.BigEndian.PutUint16(p[10:], Checksum(p[:20]))
	return p
}

// Reverse order costs what order does per fragment (same-run baseline:
// compare the two figures).
func BenchmarkTinyFragments(b *testing.B) {
	_, fs := tinyFragments()
	for _, reverse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reverse=%v", reverse), func(b *testing.B) {
			for range b.N {
				d := New(DefaultLimits)
				for i := range fs {
					if reverse {
						i = len(fs) - 1 - i
					}
					d.Add(frag4(fs[i], 0))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(fs)), "ns/fragment")
		})
	}
}

// The checksum of RFC 1071's example (§3: 00 01 f2 03 f4 f5 f6 f7 sums to
// ddf2, whose complement is 220d).
func TestChecksumRFC1071(t *testing.T) {
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != 0x220d {
		t.Errorf("checksum %04x, want 220d", got)
	}
}
