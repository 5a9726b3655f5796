package crosscheck

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/hosts"
)

func sp(from, to int64) span { return span{from, to} }

// The runs each case expects were worked out by hand from the spans.
func TestSweep(t *testing.T) {
	for _, tc := range []struct {
		name string
		cs   [][]span
		fits int
		runs []span
	}{
		{"one SA", [][]span{{sp(10, 20)}}, 1, []span{sp(10, 20)}},
		{"overlap", [][]span{{sp(10, 20)}, {sp(15, 30)}}, 2, []span{sp(15, 20)}},
		{"touching spans do not overlap", [][]span{{sp(10, 20)}, {sp(20, 30)}}, 1, []span{sp(10, 30)}},
		{"open ends", [][]span{{sp(always, 20)}, {sp(5, never)}}, 2, []span{sp(5, 20)}},
		{"an unlisted SA's two pieces", [][]span{{sp(always, 10), sp(20, never)}, {sp(0, 30)}}, 2, []span{sp(0, 10), sp(20, 30)}},
		{"no overlap: the closest", [][]span{{sp(0, 5)}, {sp(10, 20)}, {sp(12, 30)}}, 2, []span{sp(12, 20)}},
		{"an SA that allows nothing", [][]span{nil, {sp(0, 5)}}, 1, []span{sp(0, 5)}},
		{"nothing allowed", [][]span{nil}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []constraint
			for i, s := range tc.cs {
				cs = append(cs, constraint{sa: fmt.Sprint(i), spans: s})
			}
			f := sweep(cs)
			if f.fits != tc.fits || fmt.Sprint(f.runs) != fmt.Sprint(tc.runs) {
				t.Errorf("fits %d runs %v, want %d %v", f.fits, f.runs, tc.fits, tc.runs)
			}
		})
	}
}

func TestAlign(t *testing.T) {
	cs := []constraint{
		{sa: "esp 0x1 in", spans: []span{sp(100, 200)}, why: "a"},
		{sa: "esp 0x2 out", spans: []span{sp(150, never)}, why: "b"},
	}
	m := align(cs, time.Time{})
	if m.How != "aligned" || m.t != 199 || m.from != 150 || m.to != 200 || m.Fits != 2 {
		t.Errorf("%+v", m)
	}
	// The latest run wins, and it reaches the end: compared at the end.
	cs[0].spans = append(cs[0].spans, sp(300, never))
	if m := align(cs, time.Time{}); m.How != "aligned" || m.t != never || m.Others != 1 || !strings.Contains(m.text(), "compared at the capture's end") {
		t.Errorf("%+v %s", m, m.text())
	}
	// No moment fits: every closest run names what rules it out.
	cs = []constraint{
		{sa: "esp 0x1 in", spans: []span{sp(0, 10)}, why: "a"},
		{sa: "esp 0x2 out", spans: []span{sp(20, 30)}, why: "b"},
	}
	m = align(cs, time.Time{})
	if m.How != "capture end" || m.t != never || len(m.Closest) != 2 || m.Fits != 1 ||
		fmt.Sprint(m.Closest[0].RuledOut) != "[esp 0x2 out: b]" || fmt.Sprint(m.Closest[1].RuledOut) != "[esp 0x1 in: a]" {
		t.Errorf("%+v", m)
	}
	// Given a moment: how many fit it.
	m = align(cs, time.Unix(0, 5))
	if m.How != "given" || m.t != 5 || m.Fits != 1 || fmt.Sprint(m.RuledOut) != "[esp 0x2 out: b]" {
		t.Errorf("%+v", m)
	}
	if m := align(nil, time.Time{}); m.How != "capture end" || m.Of != 0 {
		t.Errorf("%+v", m)
	}
}

// TestRecorder: the marks of one SA's counts as packets are accepted.
func TestRecorder(t *testing.T) {
	dst := netip.MustParseAddr("192.0.2.1")
	n := uint64(2)
	h := Host{After: &hosts.Snapshot{SAs: []hosts.SA{{Proto: 50, SPI: 7, Dst: dst, Packets: &n}}}}
	r := NewRecorder([]Host{h})
	sa := &analyzer.SA{Key: analyzer.SAKey{Dst: dst, SPI: 7, Proto: 50}}
	other := &analyzer.SA{Key: analyzer.SAKey{Dst: dst, SPI: 8, Proto: 50}}
	for i, at := range []int64{10, 20, 30, 40} {
		sa.Accepted, sa.PlainBytes = uint64(i+1), uint64(100*(i+1))
		r.Observe(sa, at)
		other.Accepted = uint64(i + 1)
		r.Observe(other, at)
	}
	if m := r.mark(sa.Key, 2); m.reached != 20 || m.next != 30 || m.plain != 200 {
		t.Errorf("mark %+v, want the 2nd packet at 20, the 3rd at 30, 200 bytes", m)
	}
	if w := r.sas[other.Key]; w != nil {
		t.Errorf("an SA no host lists is watched: %+v", w)
	}
	if m := r.mark(other.Key, 2); m.reached != never {
		t.Errorf("mark of an unwatched SA %+v", m)
	}
}

// BenchmarkAlign: sweeping n SAs' constraints (two spans each, as an
// unlisted SA gives) costs n log n: the ns/op of 10x the SAs is about 10x
// (plus a log factor), never 100x.
func BenchmarkAlign(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		cs := make([]constraint, n)
		for i := range cs {
			x := int64(i * 7919 % n)
			cs[i] = constraint{sa: "x", spans: []span{sp(always, x), sp(x+int64(n), never)}}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				align(cs, time.Time{})
			}
		})
	}
}
