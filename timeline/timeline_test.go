package timeline

import (
	"slices"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/event"
)

// TestBins: packets of 100 bytes at seconds 0, 1, 1, 5 and 9 of a run, in
// bins of 1 s while 4 bins hold the run, then of 2 s and 4 s: worked out
// by hand.
func TestBins(t *testing.T) {
	r := New(Limits{Bins: 4})
	sa := &analyzer.SA{Key: analyzer.SAKey{SPI: 1, Proto: 50}}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	for _, s := range []int64{0, 1, 1, 5, 9} {
		sa.Bytes += 100
		r.Accepted(sa, t0+s*int64(time.Second))
	}
	tl := r.Timeline()
	// Second 5 needs 6 bins of 1 s: 2 s bins [0,2) [2,4) [4,6); second 9
	// needs 5 of those: 4 s bins [0,4) [4,8) [8,12).
	if tl.Width != 4*time.Second || tl.Start.UnixNano() != t0 {
		t.Fatalf("width %v start %v", tl.Width, tl.Start)
	}
	s := tl.Series[0]
	if want := []uint64{3, 1, 1}; !equal(s.Packets, want) {
		t.Errorf("packets %v, want %v", s.Packets, want)
	}
	if want := []uint64{300, 100, 100}; !equal(s.Bytes, want) {
		t.Errorf("bytes %v, want %v", s.Bytes, want)
	}
	if !tl.End().Equal(tl.Start.Add(12 * time.Second)) {
		t.Errorf("end %v", tl.End())
	}
}

// TestCaps: series and anomalies past their caps are counted, not kept.
func TestCaps(t *testing.T) {
	r := New(Limits{SAs: 1, Anomalies: 1})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for spi := uint32(1); spi <= 3; spi++ {
		r.Accepted(&analyzer.SA{Key: analyzer.SAKey{SPI: spi}, Bytes: 10}, now.UnixNano())
	}
	r.Event(analyzer.Event{Time: now, Kind: event.BadSPI, Count: 4})
	r.Event(analyzer.Event{Time: now, Kind: event.BadSPI, Count: 6})
	r.Event(analyzer.Event{Time: now, Kind: event.SAAdded}) // not an anomaly: not kept
	tl := r.Timeline()
	if len(tl.Series) != 1 || len(tl.Anomalies) != 1 || tl.Limits[0].Hits != 2 || tl.Limits[1].Hits != 6 {
		t.Errorf("%d series, %d anomalies, limits %v", len(tl.Series), len(tl.Anomalies), tl.Limits)
	}
}

func equal(a, b []uint64) bool { return slices.Equal(a, b) }
