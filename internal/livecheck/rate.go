package livecheck

import (
	"fmt"
	"io"
	"strings"
)

// Trial is one burst replayed at a requested rate into a capturing
// interface, and what the capturer said about it.
type Trial struct {
	Requested float64 `json:"requested_pps"`
	Achieved  float64 `json:"achieved_pps"` // what the replay tool reached
	Sent      uint64  `json:"sent"`
	Received  uint64  `json:"received"` // libpcap's count (ps_recv), drops included
	Dropped   uint64  `json:"dropped"`  // by the kernel (ring full) and the interface
	// CPU is the capturer's CPU time over the burst's wall time (1 = one
	// core busy all along); -1 when unknown.
	CPU float64 `json:"cpu"`
	// Wait is the time the capturer's threads spent runnable but waiting
	// for a CPU (schedstat's run delay, summed over threads) over the
	// burst's wall time: the machine's other load; -1 when unknown.
	Wait float64 `json:"run_queue_wait"`
	Err  string  `json:"error,omitempty"`
}

// Lossless reports a trial whose every sent packet was received and none dropped.
func (t Trial) Lossless() bool {
	return t.Err == "" && t.Dropped == 0 && t.Received == t.Sent && t.Sent > 0
}

// senderShort reports a trial in which the replay tool fell short of the
// requested rate by more than a tenth: it, not the capturer, set the pace.
func (t Trial) senderShort() bool { return t.Achieved < 0.9*t.Requested }

// RateSearch finds the highest rate a capturer takes without a drop: it
// doubles from Start until a burst loses packets or the replay tool cannot
// go faster, then halves the interval between the last lossless and the
// first lossy rate Steps times. A handful of short bursts, not a sweep, so
// that live-check stays short.
type RateSearch struct {
	Start, Max float64
	Steps      int
}

// RateResult is a search's outcome for one capturer.
type RateResult struct {
	Name   string  `json:"name"`
	Trials []Trial `json:"trials"`
	// Best is the highest achieved rate of a lossless trial (0: none was).
	Best float64 `json:"best_pps"`
	// FirstLoss is the lowest requested rate that lost packets (0: none did).
	FirstLoss float64 `json:"first_loss_pps"`
	// SenderBound is set when no trial lost packets at the replay tool's
	// highest rate: the capturer was not the limit.
	SenderBound bool   `json:"sender_bound"`
	Limit       string `json:"limit"`
	// CPUAtBest is the capturer's CPU (cores) at Best; Ceiling the rate at
	// which that would fill one core, the capturer's reading goroutine
	// being one (an estimate when the replay tool is the limit).
	CPUAtBest float64 `json:"cpu_at_best"`
	Ceiling   float64 `json:"one_core_ceiling_pps"`
	// Stages is where the capturer's CPU went in more bursts at
	// ProfiledAt (requested pps), from its CPU profile (ipsecmon only).
	ProfiledAt float64      `json:"profiled_at_pps,omitempty"`
	Stages     []StageShare `json:"cpu_by_stage,omitempty"`
}

// BestRequested is the requested rate of the trial that reached Best (0:
// none did).
func (r RateResult) BestRequested() float64 {
	for _, t := range r.Trials {
		if t.Lossless() && t.Achieved == r.Best {
			return t.Requested
		}
	}
	return 0
}

// Run searches with trial, which replays one burst at the requested rate.
func (s RateSearch) Run(name string, trial func(pps float64) Trial) RateResult {
	r := RateResult{Name: name}
	try := func(pps float64) Trial {
		t := trial(pps)
		r.Trials = append(r.Trials, t)
		if t.Lossless() && t.Achieved > r.Best {
			r.Best, r.CPUAtBest, r.Ceiling = t.Achieved, t.CPU, 0
			if t.CPU > 0 {
				r.Ceiling = t.Achieved / t.CPU
			}
		}
		return t
	}
	lo, hi := 0.0, 0.0 // last lossless requested rate, first lossy one
	for pps := s.Start; pps <= s.Max; pps *= 2 {
		t := try(pps)
		if t.Err != "" {
			r.Limit = "trial failed: " + t.Err
			return r
		}
		if !t.Lossless() {
			hi = pps
			break
		}
		lo = pps
		if t.senderShort() {
			r.SenderBound = true
			break
		}
	}
	if hi > 0 {
		for i := 0; i < s.Steps; i++ {
			mid := (lo + hi) / 2
			if lo == 0 {
				mid = hi / 2
			}
			t := try(mid)
			if t.Err != "" {
				break
			}
			if t.Lossless() {
				lo = mid
			} else {
				hi = mid
			}
		}
		r.FirstLoss = hi
	}
	r.Limit = r.limit()
	return r
}

// limit says what held the rate: the replay tool when the capturer never
// lost a packet below the tool's own ceiling, the capturer's CPU when it
// was busy all along at the first lossy rate, the machine's other load
// when it had CPU to spare but its threads waited for one a tenth of the
// burst or more (its ring filled while it was not scheduled), otherwise
// the kernel's delivery.
func (r RateResult) limit() string {
	if r.FirstLoss == 0 {
		if r.SenderBound && r.nearCPU() {
			// On a machine of few cores the tool and the capturer share
			// them: the tool's shortfall is the capturer's load too.
			return fmt.Sprintf("the replay tool, short of the rate asked while the capturer used %.0f%% of a core: near its own CPU limit too", 100*r.CPUAtBest)
		}
		if r.SenderBound {
			return "the replay tool (no loss at its highest rate)"
		}
		return "none found up to the highest rate tried"
	}
	var lossy *Trial
	for i := range r.Trials {
		if t := &r.Trials[i]; !t.Lossless() && t.Requested == r.FirstLoss {
			lossy = t
		}
	}
	if lossy != nil && lossy.CPU >= 0.9 {
		return fmt.Sprintf("the capturer's CPU (%.0f%% of a core at the first lossy rate)", 100*lossy.CPU)
	}
	if lossy != nil && lossy.CPU >= 0 && lossy.Wait >= 0.1 {
		return fmt.Sprintf("the machine's other load (the capturer at %.0f%% of a core, its threads waited %.2f s for a CPU per second of burst, summed)", 100*lossy.CPU, lossy.Wait)
	}
	if lossy != nil && lossy.CPU >= 0 {
		wait := "unknown"
		if lossy.Wait >= 0 {
			wait = fmt.Sprintf("%.2f s", lossy.Wait)
		}
		return fmt.Sprintf("the kernel's delivery or the capturer's latency (drops with it at %.0f%% of a core, waiting %s for a CPU per second of burst)", 100*lossy.CPU, wait)
	}
	return "unknown"
}

// nearCPU reports a capturer busy 90% of a core or more at its best rate:
// its reading goroutine, one core, is near full.
func (r RateResult) nearCPU() bool { return r.CPUAtBest >= 0.9 }

// WriteRates prints the results side by side, as live-check shows them.
func WriteRates(w io.Writer, rs []RateResult) {
	fmt.Fprintf(w, "  %-40s %-15s %-17s %-26s %s\n", "capturer", "lossless (pps)", "first loss (pps)", "its CPU there (1-core ceil)", "what limits it")
	for _, r := range rs {
		loss := "-"
		if r.FirstLoss > 0 {
			loss = fmt.Sprintf("%.0f", r.FirstLoss)
		}
		cpu := "-"
		if r.CPUAtBest >= 0 && r.Best > 0 {
			cpu = fmt.Sprintf("%.2f cores (%.0f pps)", r.CPUAtBest, r.Ceiling)
		}
		fmt.Fprintf(w, "  %-40s %-15.0f %-17s %-26s %s\n", r.Name, r.Best, loss, cpu, r.Limit)
	}
	for _, r := range rs {
		var ts []string
		for _, t := range r.Trials {
			ts = append(ts, fmt.Sprintf("%.0f→%.0f pps %d/%d dropped %d cpu %.2f wait %.2f", t.Requested, t.Achieved, t.Received, t.Sent, t.Dropped, t.CPU, t.Wait))
		}
		fmt.Fprintf(w, "  %s trials: %s\n", r.Name, strings.Join(ts, "; "))
	}
	for _, r := range rs {
		if len(r.Stages) > 0 {
			fmt.Fprintf(w, "  %s: its CPU by stage in more bursts at %.0f pps (CPU profiles): %s\n", r.Name, r.ProfiledAt, FormatStages(r.Stages))
		}
	}
}

// Compare says how a capturer's lossless rate stands against the
// reference's (tcpdump's) from searches of the same capture: a ratio when
// both found their limit, a bound when the replay tool stopped one of them
// first (its ceiling moves with the machine's load between searches).
func Compare(ref, r RateResult) string {
	switch {
	case ref.Best == 0 || r.Best == 0:
		return fmt.Sprintf("%s: no lossless trial to compare (%.0f vs %.0f pps)", r.Name, r.Best, ref.Best)
	case r.SenderBound && ref.SenderBound && r.nearCPU():
		return fmt.Sprintf("%s: %.0f pps lossless at %.0f%% of a core, near its CPU limit; %s took all the replay tool sent, %.0f pps: %.2f× it", r.Name, r.Best, 100*r.CPUAtBest, ref.Name, ref.Best, r.Best/ref.Best)
	case r.SenderBound && ref.SenderBound:
		return fmt.Sprintf("%s: both took all the replay tool sent (%.0f vs %.0f pps): neither limit reached", r.Name, r.Best, ref.Best)
	case r.SenderBound:
		return fmt.Sprintf("%s: at least %.2f× %s (%.0f pps, the replay tool's ceiling, vs %.0f)", r.Name, r.Best/ref.Best, ref.Name, r.Best, ref.Best)
	case ref.SenderBound:
		return fmt.Sprintf("%s: %.0f pps lossless; %s took all the replay tool sent, %.0f pps: at most %.2f× it", r.Name, r.Best, ref.Name, ref.Best, r.Best/ref.Best)
	}
	return fmt.Sprintf("%s: %.2f× %s (%.0f vs %.0f pps)", r.Name, r.Best/ref.Best, ref.Name, r.Best, ref.Best)
}

// CaptureCounts reads a live `ipsecmon stats -o json`: what libpcap
// received on its one interface, and what the kernel and the interface
// dropped.
func CaptureCounts(stats []byte) (received, dropped uint64, err error) {
	st, err := parseCapture(stats)
	if err != nil {
		return 0, 0, err
	}
	if len(st.Capture) != 1 {
		return 0, 0, fmt.Errorf("stats JSON: %d capture entries, want 1", len(st.Capture))
	}
	c := st.Capture[0]
	return c.Received, c.DroppedByKernel + c.DroppedByInterface, nil
}
