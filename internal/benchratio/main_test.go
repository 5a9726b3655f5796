package main

import (
	"io"
	"strings"
	"testing"
)

// Two passes of a made-up run; every expected figure is worked out by hand
// in the comments.
const sample = `goos: linux
cpu: Test CPU
BenchmarkBareRead-2   10  100000000 ns/op  100.0 cpu-ms/op
BenchmarkStats-2      10  110000000 ns/op  105.0 cpu-ms/op
BenchmarkKeyed/baseline-2   10  100000000 ns/op  100.0 cpu-ms/op  0 runq-ms/op  1.0 cores-busy
BenchmarkKeyed/workers=1-2  10  110000000 ns/op  104.0 cpu-ms/op  0 runq-ms/op  1.0 cores-busy
BenchmarkKeyed/workers=2-2  10   50000000 ns/op  110.0 cpu-ms/op  1 runq-ms/op  1.9 cores-busy  20 main-ms/op  60 verify-ms/op  0 runtime-ms/op  110 xcore-rtt-ns
BenchmarkBareRead-2   10  100000000 ns/op  100.0 cpu-ms/op
BenchmarkStats-2      10  120000000 ns/op  111.0 cpu-ms/op
BenchmarkKeyed/baseline-2   10  200000000 ns/op  100.0 cpu-ms/op  0 runq-ms/op  1.0 cores-busy
BenchmarkKeyed/workers=1-2  10  220000000 ns/op  106.0 cpu-ms/op  0 runq-ms/op  1.0 cores-busy
BenchmarkKeyed/workers=2-2  10  120000000 ns/op  110.0 cpu-ms/op  1 runq-ms/op  1.9 cores-busy  20 main-ms/op  60 verify-ms/op  0 runtime-ms/op  470 xcore-rtt-ns
BenchmarkLiveRead/gopacket-2  10  2000000 ns/op  400 ns/pkt
BenchmarkLiveRead/batched-2   10  1500000 ns/op  300 ns/pkt
BenchmarkLiveRead/gopacket-2  10  1000000 ns/op  200 ns/pkt
BenchmarkLiveRead/batched-2   10   900000 ns/op  180 ns/pkt
`

func TestSummary(t *testing.T) {
	p, err := parse(strings.NewReader(sample), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	summarise(&out, p, 2, "")
	s := out.String()
	for _, want := range []string{
		"2 cores (GOMAXPROCS 2), Test CPU; 2 runs",
		// 110/100 and 120/100: median 1.15, range 1.10–1.20; CPU 1.05, 1.11.
		"keyless stats / bare read of the same file: 1.15× (1.10–1.20) wall, 1.08× (1.05–1.11) CPU",
		// 1.5/2 and 0.9/1: median 0.825, range 0.75–0.90; ns a packet: medians of 300,180 and 400,200.
		"batches / a packet per gopacket call: 0.82× (0.75–0.90) wall (240 and 300 ns a packet)",
		// Floor: median of 100 and 200 ms wall; 100 ms CPU.
		"150 ms wall, 100 ms CPU per pass",
		// 1 worker: 1.10 and 1.10 wall; CPU 1.04, 1.06, its projection their median.
		"1.10× (1.10–1.10)      1.05× (1.04–1.06)",
		"1.05× (its CPU)",
		// 2 workers: 50/100 and 120/200: 0.50, 0.60 → 0.55; projection
		// max(20, 80/2) / 100 = 0.40.
		"0.55× (0.50–0.60)",
		"0.40×\n",
		// 4 workers: max(20, 80/4) / 100 = 0.20; 8: max(20, 10) / 100 = 0.20.
		"  4        -                      -                      -          -                0.20×",
		"  8        -                      -                      -          -                0.20×",
		"the caller's share bounds it at 0.20× the floor",
		"target: 2 workers ≤ 0.6× the floor: met",
		// Round trips 110 and 470 ns: median 290.
		"round trip between two cores, before each 2-worker run: 290 ns (110–470)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

// A miss while other processes held the CPU is called the machine's; one
// that the projection shares is called the design's; one the projection
// does not share, with no load, is the idle cores'.
func TestVerdict(t *testing.T) {
	for _, tt := range []struct {
		name, runq, main, want string
	}{
		{"load", "900", "20", "missed on this machine by its load"},
		{"design", "0", "70", "missed by design (projection 0.70×)"},
		// max(20, 80/2) / 100 = 0.40 ≤ 0.6, no load: the cores idled.
		{"waits", "0", "20", "missed by waits (the CPU spent projects 0.40×, but the cores were busy 50% of the time)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := "BenchmarkKeyed/baseline-2 10 100000000 ns/op 100 cpu-ms/op\n" +
				"BenchmarkKeyed/workers=2-2 10 80000000 ns/op 110 cpu-ms/op " + tt.runq + " runq-ms/op 1.0 cores-busy " + tt.main + " main-ms/op 60 verify-ms/op 0 runtime-ms/op\n"
			p, err := parse(strings.NewReader(in), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			summarise(&out, p, 2, "")
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, out.String())
			}
		})
	}
}

// Many files: each set at once against the same set in order, pass by pass.
func TestManyFiles(t *testing.T) {
	const in = `BenchmarkManyFiles/keyless/files=2/sequential-2  10  100000000 ns/op  100 cpu-ms/op  1 runq-ms/op  1.0 cores-busy
BenchmarkManyFiles/keyless/files=2/concurrent-2  10   60000000 ns/op  104 cpu-ms/op  2 runq-ms/op  1.7 cores-busy
BenchmarkManyFiles/keyless/files=2/sequential-2  10  200000000 ns/op  100 cpu-ms/op  3 runq-ms/op  1.0 cores-busy
BenchmarkManyFiles/keyless/files=2/concurrent-2  10  100000000 ns/op  110 cpu-ms/op  4 runq-ms/op  1.9 cores-busy
`
	p, err := parse(strings.NewReader(in), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	summarise(&out, p, 2, "0.50 0.40 0.30 1/100 42")
	s := out.String()
	for _, want := range []string{
		// 60/100 and 100/200: 0.60, 0.50 → 0.55; CPU 1.04, 1.10 → 1.07.
		"keyless/files=2          0.55× (0.50–0.60)      1.07× (1.04–1.10)",
		// Cores busy: medians 1.0 and 1.8; lost: medians 2 of 150 ms, 3 of 80 ms.
		"1.00, 1.80", "2 of 150 ms, 3 of 80 ms",
		"load average at the end (1, 5, 15 min; running/threads; last pid): 0.50 0.40 0.30 1/100 42",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}
