package analyzer

import (
	"math"
	"testing"
	"time"
)

func seqRange(from, to uint32) []uint32 {
	var s []uint32
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func seqs(parts ...[]uint32) []uint32 {
	var s []uint32
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

// TestSequenceAnalysis feeds one SA's sequence numbers in the order given
// and checks each figure against its definition, worked out by hand in
// each case's comment.
func TestSequenceAnalysis(t *testing.T) {
	type figures struct{ accepted, reordered, duplicates, late, replayed, gaps, lost, highest uint64 }
	for _, tc := range []struct {
		name   string
		window int
		seq    []uint32
		want   figures
	}{
		{"in order", 64, seqRange(1, 10), figures{accepted: 10, highest: 10}},
		// 4 and 7 never come: 2 of the 10 numbers from 1 to 10.
		{"two lost", 64, seqs(seqRange(1, 3), seqRange(5, 6), seqRange(8, 10)), figures{accepted: 8, gaps: 2, lost: 2, highest: 10}},
		// 3 arrives after 4, inside the window: accepted, reordered, not lost.
		{"reordered", 64, []uint32{1, 2, 4, 3, 5}, figures{accepted: 5, reordered: 1, highest: 5}},
		// 3 twice, inside the window: a duplicate (and a replay).
		{"duplicate", 64, []uint32{1, 2, 3, 3, 4}, figures{accepted: 4, duplicates: 1, replayed: 1, highest: 4}},
		// Window 4: when 3 comes, 8 is the highest and 8-3 = 5 >= 4: late.
		// The span 1..8 misses only 3 (gaps 1), which arrived: lost 0.
		{"late, counted lost, then not", 4, seqs([]uint32{1, 2}, seqRange(4, 8), []uint32{3}), figures{accepted: 7, late: 1, replayed: 1, gaps: 1, highest: 8}},
		// 3 is missing while 4..70 arrive (window 64: 70-3 = 67 >= 64), then
		// comes: late; lost 1 until then, 0 after.
		{"late after a long gap", 64, seqs(seqRange(1, 2), seqRange(4, 70), []uint32{3}), figures{accepted: 69, late: 1, replayed: 1, gaps: 1, highest: 70}},
		// A late copy of 2, already accepted: the window cannot tell (left of
		// it); the figure that subtracts it floors at 0, nothing was lost.
		{"late copy", 4, seqs(seqRange(1, 8), []uint32{2}), figures{accepted: 8, late: 1, replayed: 1, highest: 8}},
		// A capture that starts mid-SA at 100: 50 is late, but below the
		// lowest accepted number, so it fills no gap (there is none).
		{"late below the span", 4, seqs(seqRange(100, 110), []uint32{50}), figures{accepted: 11, late: 1, replayed: 1, highest: 110}},
		// 5 missing from 1..10 and 3 late (window 4, top 10): gaps 2 (3, 5),
		// 3 arrived: lost 1.
		{"one lost, one late", 4, seqs(seqRange(1, 2), []uint32{4}, seqRange(6, 10), []uint32{3}), figures{accepted: 8, late: 1, replayed: 1, gaps: 2, lost: 1, highest: 10}},
		// Sequence number 0 is never sent (RFC 4303 §3.3.3): a replay, but
		// neither a duplicate nor late.
		{"zero", 64, []uint32{0, 1, 2}, figures{accepted: 2, replayed: 1, highest: 2}},
		// A large window (ring of blocks) classifies the same way: 501 after
		// 502 is reordered, its copy a duplicate; at the end (top 1600,
		// window 601..1600) 700 is a duplicate and 10 late.
		{"large window", 1000, seqs(seqRange(1, 500), []uint32{502, 501, 501}, seqRange(503, 1600), []uint32{700, 10}), figures{accepted: 1600, reordered: 1, duplicates: 2, late: 1, replayed: 3, highest: 1600}},
		// A window kept as a list of numbers (sparse): 11 after 12 reordered,
		// 11 again and 5 duplicates.
		{"list window", 100000, seqs(seqRange(1, 10), []uint32{12, 11, 11, 5}), figures{accepted: 12, reordered: 1, duplicates: 2, replayed: 2, highest: 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var frames []frame
			for i, s := range tc.seq {
				frames = append(frames, frame{float64(i) / 100, esp4(hostB, hostA, 0x100, s, 100)})
			}
			cfg := me(hostA)
			cfg.ReplayWindow = tc.window
			a := run(t, cfg, frames...)
			sa := a.SAs()[0]
			got := figures{sa.Accepted, sa.Reordered(), sa.Duplicates(), sa.Late(), sa.Replayed, sa.Gaps(), sa.Lost(), sa.MaxSeq}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestExhaustion: the time to the end of the 32-bit sequence space at the
// rate observed, worked out by hand.
func TestExhaustion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		last    uint32  // the highest number, sent 1 s after number 1
		want    float64 // seconds; 0: no figure
		warning bool
	}{
		// 1000 numbers a second: (2^32-1 - 1001) / 1000 s.
		{"slow", 1001, float64(math.MaxUint32-1001) / 1000, false},
		// 100,000 a second: (2^32-1 - 100001) / 100000 = 42,948.67 s, under a day.
		{"fast", 100001, float64(math.MaxUint32-100001) / 100000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := run(t, me(hostA), frame{0, esp4(hostB, hostA, 0x100, 1, 100)}, frame{1, esp4(hostB, hostA, 0x100, tc.last, 100)})
			d, ok := a.SAs()[0].Exhaustion()
			if !ok || math.Abs(d.Seconds()-tc.want) > 0.001 {
				t.Errorf("exhaustion %v (%v), want %.3f s", d, ok, tc.want)
			}
			if (d < ExhaustionWarning) != tc.warning {
				t.Errorf("below the warning: %v, want %v", d < ExhaustionWarning, tc.warning)
			}
		})
	}
	// One packet gives no rate; extended sequence numbers never run out.
	a := run(t, me(hostA), frame{0, esp4(hostB, hostA, 0x100, 1, 100)})
	if d, ok := a.SAs()[0].Exhaustion(); ok {
		t.Errorf("one packet: exhaustion %v, want none", d)
	}
	sa := &SA{ESN: true, Accepted: 2, MinSeq: 1, MaxSeq: 1001, FirstAccepted: 1, LastSeen: 1 + int64(time.Second)}
	if d, ok := sa.Exhaustion(); ok {
		t.Errorf("ESN: exhaustion %v, want none", d)
	}
}
