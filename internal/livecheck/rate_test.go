package livecheck

import (
	"strings"
	"testing"
)

// capturer models a capture tool that keeps up to keep pps, fed by a
// replay tool that reaches at most send pps, using cpu cores and waiting
// wait of the burst for one.
func capturer(keep, send, cpu, wait float64) func(float64) Trial {
	return func(pps float64) Trial {
		got := min(pps, send)
		t := Trial{Requested: pps, Achieved: got, Sent: 200000, Received: 200000, CPU: cpu, Wait: wait}
		if got > keep {
			t.Dropped = 1000
		}
		return t
	}
}

func TestRateSearch(t *testing.T) {
	s := RateSearch{Start: 50000, Max: 3.2e6, Steps: 2}
	for _, tt := range []struct {
		name            string
		trial           func(float64) Trial
		requested       []float64
		best, firstLoss float64
		senderBound     bool
		limit           string
	}{
		// 50k, 100k, 200k lossless; 400k lossy; then (200k+400k)/2 = 300k
		// lossless, (300k+400k)/2 = 350k lossy.
		{"capturer bound", capturer(320000, 1e9, 0.97, 0.02), []float64{50000, 100000, 200000, 400000, 300000, 350000},
			300000, 350000, false, "the capturer's CPU (97% of a core"},
		// 50k, 100k lossless at the requested rate; 200k reaches 150k only,
		// without loss: the replay tool is the limit.
		{"sender bound", capturer(1e9, 150000, 0.3, 0), []float64{50000, 100000, 200000},
			150000, 0, true, "the replay tool (no loss at its highest rate)"},
		// The same, the capturer at 95% of a core: near its limit too.
		{"sender bound, capturer busy", capturer(1e9, 150000, 0.95, 0), []float64{50000, 100000, 200000},
			150000, 0, true, "the replay tool, short of the rate asked while the capturer used 95% of a core: near its own CPU limit too"},
		// Lossy from the start: 50k lossy, then 25k and 12.5k; half a core
		// and no wait for a CPU: neither its CPU nor the machine.
		{"lossy at once", capturer(20000, 1e9, 0.5, 0.01), []float64{50000, 25000, 12500},
			12500, 25000, false, "the kernel's delivery or the capturer's latency (drops with it at 50% of a core, waiting 0.01 s for a CPU"},
		// 50k, 100k lossless, 200k lossy, 150k lossless, 175k lossy; a
		// third of a core while its threads waited 40% of the burst.
		{"machine load", capturer(160000, 1e9, 0.35, 0.4), []float64{50000, 100000, 200000, 150000, 175000},
			150000, 175000, false, "the machine's other load (the capturer at 35% of a core, its threads waited 0.40 s for a CPU per second of burst"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Run(tt.name, tt.trial)
			var req []float64
			for _, tr := range r.Trials {
				req = append(req, tr.Requested)
			}
			if len(req) != len(tt.requested) {
				t.Fatalf("rates tried %v, want %v", req, tt.requested)
			}
			for i := range req {
				if req[i] != tt.requested[i] {
					t.Fatalf("rates tried %v, want %v", req, tt.requested)
				}
			}
			if r.Best != tt.best || r.FirstLoss != tt.firstLoss || r.SenderBound != tt.senderBound {
				t.Errorf("best %.0f, first loss %.0f, sender bound %v; want %.0f, %.0f, %v", r.Best, r.FirstLoss, r.SenderBound, tt.best, tt.firstLoss, tt.senderBound)
			}
			if !strings.Contains(r.Limit, tt.limit) {
				t.Errorf("limit %q, want %q in it", r.Limit, tt.limit)
			}
		})
	}
}

// Compare claims a ratio only when both searches found their capturer's
// limit; when the replay tool stopped one, a bound (ratios by hand).
func TestCompare(t *testing.T) {
	ref := RateResult{Name: "tcpdump", Best: 200000}
	refSender := RateResult{Name: "tcpdump", Best: 200000, SenderBound: true}
	for _, tt := range []struct {
		name     string
		ref, r   RateResult
		contains string
	}{
		{"both limits", ref, RateResult{Name: "ipsecmon", Best: 150000}, "ipsecmon: 0.75× tcpdump (150000 vs 200000 pps)"},
		{"both sender", refSender, RateResult{Name: "ipsecmon", Best: 190000, SenderBound: true}, "both took all the replay tool sent (190000 vs 200000 pps)"},
		{"both sender, ipsecmon busy", refSender, RateResult{Name: "ipsecmon", Best: 150000, SenderBound: true, CPUAtBest: 0.96},
			"ipsecmon: 150000 pps lossless at 96% of a core, near its CPU limit; tcpdump took all the replay tool sent, 200000 pps: 0.75× it"},
		{"ipsecmon sender", ref, RateResult{Name: "ipsecmon", Best: 300000, SenderBound: true}, "at least 1.50× tcpdump"},
		{"tcpdump sender", refSender, RateResult{Name: "ipsecmon", Best: 100000}, "at most 0.50× it"},
		{"no lossless", ref, RateResult{Name: "ipsecmon"}, "no lossless trial"},
	} {
		if got := Compare(tt.ref, tt.r); !strings.Contains(got, tt.contains) {
			t.Errorf("%s: %q, want %q in it", tt.name, got, tt.contains)
		}
	}
}

func TestCaptureCounts(t *testing.T) {
	rx, drop, err := CaptureCounts([]byte(`{"capture":[{"interface":"rx0","received":200000,"dropped_by_kernel":12,"dropped_by_interface":3}]}`))
	if err != nil || rx != 200000 || drop != 15 {
		t.Errorf("got %d, %d, %v; want 200000, 12+3, nil", rx, drop, err)
	}
	if _, _, err := CaptureCounts([]byte(`{"capture":[]}`)); err == nil {
		t.Error("no capture entry: want an error")
	}
}
