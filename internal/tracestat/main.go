// Command tracestat reads a Go execution trace (go test -trace) and says
// why cores were idle: for how much of the time, summed over the Ps, no
// goroutine was runnable (the program had no work for them: its design),
// and for how much goroutines were runnable but not running (the
// scheduler's or the kernel's delay). Wall time on a shared machine mixes
// both with other processes' load; these shares come from the program's
// own goroutine states.
//
//	go test -run '^$' -bench 'Keyed/workers=2$' -benchtime 5x -trace t.out ./pipeline
//	go run ./internal/tracestat t.out
//
// Only the spans between the benchmarks' "ipsecmon-bench" start and stop
// log events count (the whole trace when there are none).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/exp/trace"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracestat TRACE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracestat:", err)
		os.Exit(1)
	}
	defer f.Close()
	s, err := read(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracestat:", err)
		os.Exit(1)
	}
	fmt.Print(s)
}

// stats accumulates goroutine counts over time.
type stats struct {
	procs        int
	wall         float64         // ns inside the marked spans
	byRunning    map[int]float64 // ns with k goroutines running
	idleNoWork   float64         // P-ns idle with nothing runnable
	idleWithWork float64         // P-ns idle while goroutines were runnable
}

func (s *stats) String() string {
	if s.wall == 0 {
		return "no events in the marked spans\n"
	}
	pt := s.wall * float64(s.procs)
	out := fmt.Sprintf("%.0f ms traced on %d Ps: P time idle with no goroutine runnable %.1f%%, idle while one was runnable %.1f%%\n",
		s.wall/1e6, s.procs, 100*s.idleNoWork/pt, 100*s.idleWithWork/pt)
	for k := 0; k <= s.procs; k++ {
		out += fmt.Sprintf("  %d goroutines running: %.1f%% of the time\n", k, 100*s.byRunning[k]/s.wall)
	}
	return out
}

func read(r io.Reader) (*stats, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	s := &stats{byRunning: map[int]float64{}}
	running, runnable := 0, 0
	marked, inSpan := false, true
	var last trace.Time
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		t := ev.Time()
		if last != 0 && inSpan && s.procs > 0 {
			d := float64(t - last)
			s.wall += d
			s.byRunning[running] += d
			if free := s.procs - running; free > 0 {
				if runnable == 0 {
					s.idleNoWork += d * float64(free)
				} else {
					s.idleWithWork += d * float64(min(free, runnable))
				}
			}
		}
		last = t
		switch ev.Kind() {
		case trace.EventLog:
			if l := ev.Log(); l.Category == "ipsecmon-bench" {
				if !marked {
					// Marks exist: only their spans count.
					marked = true
					s.wall, s.idleNoWork, s.idleWithWork = 0, 0, 0
					clear(s.byRunning)
				}
				inSpan = l.Message == "start"
			}
		case trace.EventMetric:
			if m := ev.Metric(); m.Name == "/sched/gomaxprocs:threads" {
				s.procs = int(m.Value.Uint64())
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			from, to := st.Goroutine()
			if from == trace.GoRunning {
				running--
			}
			if to == trace.GoRunning {
				running++
			}
			if from == trace.GoRunnable {
				runnable--
			}
			if to == trace.GoRunnable {
				runnable++
			}
		}
	}
	return s, nil
}
