package analyzer

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"ipsecmon/bounds"
	"ipsecmon/event"
)

// replays sends, for each SPI in order, packet 1 and then packet 1 again
// (a replay) at time at: the first replay of each SA is reported at once,
// the second (sent twice) waits for the end of the input.
func replays(a *Analyzer, at time.Time, spis []uint32) {
	for _, spi := range spis {
		a.Packet(at, espPacket("10.0.0.2", "10.0.0.1", spi, 1, 100), Ref{})
		a.Packet(at, espPacket("10.0.0.2", "10.0.0.1", spi, 1, 100), Ref{})
	}
}

// The counts still pending at the end come out in the order of their
// latest occurrence, the same in every run (they came out in map order).
func TestFlushBurstsOrder(t *testing.T) {
	spis := []uint32{0x30, 0x10, 0x50, 0x20, 0x40, 0x60, 0x70, 0x05}
	for run := range 20 {
		var got []string
		a := New(Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}, OnEvent: func(e Event) {
			if e.Kind == event.Replay && e.Count == 2 {
				got = append(got, e.SA.SPI)
			}
		}})
		replays(a, epoch, spis)
		// Second replays, SPIs in reverse: each is pending (within the second).
		for i := len(spis) - 1; i >= 0; i-- {
			a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", spis[i], 1, 100), Ref{})
			a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", spis[i], 1, 100), Ref{})
		}
		a.Finish()
		var want []string
		for i := len(spis) - 1; i >= 0; i-- {
			want = append(want, fmt.Sprintf("0x%08x", spis[i]))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("run %d: pending replay counts for %v, want %v", run, got, want)
		}
	}
}

// 5000 SAs with a replay within one second: 4096 keep counters of their
// own, the other 904 replays are counted together without their SA, and
// every replay is in exactly one event. A second later, idle counters make
// room again.
func TestAnomalyEventsBound(t *testing.T) {
	var total, named, unnamed uint64
	a := New(Config{OnEvent: func(e Event) {
		if e.Kind != event.Replay {
			return
		}
		total += e.Count
		if e.SA == nil {
			unnamed += e.Count
		} else {
			named += e.Count
		}
	}})
	spis := make([]uint32, 5000)
	for i := range spis {
		spis[i] = 0x1000 + uint32(i)
	}
	replays(a, epoch, spis)
	later := uint32(0x9999)
	replays(a, epoch.Add(2*time.Second), []uint32{later})
	a.Finish()
	if total != 5001 || named != maxBursts+1 || unnamed != 5000-maxBursts {
		t.Errorf("replays in events: %d (named %d, unnamed %d), want 5001 (%d named, %d not)", total, named, unnamed, maxBursts+1, 5000-maxBursts)
	}
	// The limit is shown, with what it discarded, by the analyzer and by a
	// frozen copy of it (which drops the callback: a snapshot reports no
	// events of its own).
	for name, ls := range map[string][]bounds.Limit{"analyzer": a.Limits(), "frozen": a.Freeze().Snapshot().Limits} {
		found := false
		for _, l := range ls {
			if l.Name == "anomaly_events" {
				found = true
				if l.Hits != 5000-maxBursts {
					t.Errorf("%s: anomaly_events hits %d, want %d", name, l.Hits, 5000-maxBursts)
				}
			}
		}
		if !found {
			t.Errorf("%s: no anomaly_events limit among %d", name, len(ls))
		}
	}
	if len(a.bursts) > maxBursts+1 {
		t.Errorf("%d burst counters kept", len(a.bursts))
	}
}
