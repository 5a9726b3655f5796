package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ipsecmon/internal/lab/replay"
	"ipsecmon/internal/livecheck"
)

// liverateCmd finds the highest packet rate each capturer takes without a
// drop at the same kernel buffer: tcpdump -w /dev/null, and ipsecmon stats
// -i keyless and keyed, each on the capture it is measured with. The
// replay runs in the sending namespace, the capturer in the receiving one.
func liverateCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("liverate", flag.ExitOnError)
	var c rateConfig
	fs.StringVar(&c.txNS, "tx", "", "network namespace of the sending end")
	fs.StringVar(&c.txIf, "txif", "tx0", "sending interface")
	fs.StringVar(&c.rxNS, "rx", "", "network namespace of the capturing end")
	fs.StringVar(&c.rxIf, "rxif", "rx0", "capturing interface")
	fs.StringVar(&c.ipsecmon, "ipsecmon", "ipsecmon", "ipsecmon binary")
	keyless := fs.String("capture", "", "keyless capture (benchgen)")
	keyed := fs.String("keyed", "", "keyed capture (benchgen -keys)")
	keyFile := fs.String("keys", "", "the keyed capture's keys")
	fs.IntVar(&c.bufferKiB, "buffer-kib", 32768, "kernel buffer of every capturer, KiB (ipsecmon's default --buffer-size is 32MiB)")
	out := fs.String("o", "", "directory for each trial's outputs and rates.json")
	var s livecheck.RateSearch
	fs.Float64Var(&s.Start, "start", 50000, "first rate tried, frames/s")
	fs.Float64Var(&s.Max, "max", 3.2e6, "highest rate tried")
	fs.IntVar(&s.Steps, "steps", 2, "bisection steps after the doubling")
	fs.Parse(args)
	if c.txNS == "" || c.rxNS == "" || *keyless == "" || *out == "" {
		return errors.New("usage: ipsecmon-lab liverate -tx NS -rx NS -capture FILE [-keyed FILE -keys FILE] -o DIR")
	}
	c.dir = *out
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c.lab = self
	type run struct {
		name, capture string
		argv          func(port int) []string
		profile       bool // one more burst at the best rate with --cpuprofile
	}
	tcpdump := func(int) []string {
		return []string{"tcpdump", "-i", c.rxIf, "-n", "-B", strconv.Itoa(c.bufferKiB), "-w", "/dev/null"}
	}
	ipsecmon := func(keys string) func(int) []string {
		return func(port int) []string {
			a := []string{c.ipsecmon, "stats", "-i", c.rxIf, "-q", "-o", "json", "--buffer-size", fmt.Sprintf("%dKiB", c.bufferKiB),
				"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", port)}
			if keys != "" {
				a = append(a, "-k", keys)
			}
			return a
		}
	}
	runs := []run{
		{"tcpdump -w /dev/null (keyless capture)", *keyless, tcpdump, false},
		{"ipsecmon stats -i (keyless)", *keyless, ipsecmon(""), true},
	}
	if *keyed != "" {
		runs = append(runs,
			run{"tcpdump -w /dev/null (keyed capture)", *keyed, tcpdump, false},
			run{"ipsecmon stats -i -k (keyed)", *keyed, ipsecmon(*keyFile), true})
	}
	var results []livecheck.RateResult
	for i, r := range runs {
		n := 0
		res := s.Run(r.name, func(pps float64) livecheck.Trial {
			n++
			return c.trial(ctx, filepath.Join(c.dir, fmt.Sprintf("%d-%d", i, n)), r.capture, pps, r.argv(9480+i))
		})
		if pps := res.BestRequested(); r.profile && pps > 0 {
			// Where the CPU goes: profiles of a few more bursts, apart
			// from the search (profiling costs a little CPU itself).
			var profs []io.Reader
			for k := 1; k <= profileBursts; k++ {
				dir := filepath.Join(c.dir, fmt.Sprintf("%d-profile-%d", i, k))
				prof := filepath.Join(dir, "cpu.pprof")
				t := c.trial(ctx, dir, r.capture, pps, append(r.argv(9480+i), "--cpuprofile", prof))
				if t.Err != "" {
					return fmt.Errorf("%s: the profiled trial at %.0f pps failed: %s", r.name, pps, t.Err)
				}
				b, err := os.ReadFile(prof)
				if err != nil {
					return err
				}
				profs = append(profs, bytes.NewReader(b))
			}
			var err error
			if res.Stages, err = livecheck.CPUByStage(profs...); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			res.ProfiledAt = pps
		}
		results = append(results, res)
		fmt.Fprintf(os.Stderr, "liverate: %s: %.0f pps lossless (%s)\n", r.name, res.Best, res.Limit)
	}
	burst := uint64(0)
	if len(results) > 0 && len(results[0].Trials) > 0 {
		burst = results[0].Trials[0].Sent
	}
	fmt.Printf("highest rate without a drop, %d KiB kernel buffer each, bursts of %d packets replayed into a veth by ipsecmon-lab replay -batched:\n", c.bufferKiB, burst)
	livecheck.WriteRates(os.Stdout, results)
	// Each ipsecmon search follows tcpdump's on the same capture.
	for i := 1; i < len(results); i += 2 {
		fmt.Println("  " + livecheck.Compare(results[i-1], results[i]))
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(filepath.Join(c.dir, "rates.json"), b, 0o644); err != nil {
		return err
	}
	for _, r := range results {
		for _, t := range r.Trials {
			if t.Err != "" {
				return fmt.Errorf("%s: a trial at %.0f pps failed: %s", r.Name, t.Requested, t.Err)
			}
		}
	}
	return nil
}

// profileBursts are profiled per ipsecmon search: Go's profiler samples
// at 100 Hz, about 20 samples in a burst of 200,000 packets at 1,000,000
// pps.
const profileBursts = 4

type rateConfig struct {
	txNS, txIf, rxNS, rxIf string
	ipsecmon, lab          string
	bufferKiB              int
	dir                    string
}

// trial starts the capturer, replays the capture once at pps, stops the
// capturer and reads its counters.
func (c *rateConfig) trial(ctx context.Context, dir, capture string, pps float64, argv []string) (t livecheck.Trial) {
	t.Requested, t.CPU, t.Wait = pps, -1, -1
	fail := func(err error) livecheck.Trial { t.Err = err.Error(); return t }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", c.rxNS}, argv...)...)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	defer func() {
		os.WriteFile(filepath.Join(dir, "stdout"), stdout.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "stderr"), []byte(stderr.String()), 0o644)
	}()
	stop := func() error {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			return errors.New("capturer did not stop within 15 s of SIGINT")
		}
	}
	ready := "listening on"
	if !strings.Contains(argv[0], "tcpdump") {
		ready = "metrics on"
	}
	for i := 0; ; i++ {
		if strings.Contains(stderr.String(), ready) {
			break
		}
		if i == 100 {
			stop()
			return fail(fmt.Errorf("capturer not ready after 5 s: %s", stderr.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cpu0, wait0 := procCPU(cmd.Process.Pid), runDelay(cmd.Process.Pid)
	rep := filepath.Join(dir, "replay.json")
	send := exec.CommandContext(ctx, "ip", "netns", "exec", c.txNS, c.lab, "replay", "-batched", "-i", c.txIf, "-rate", strconv.FormatFloat(pps, 'f', 0, 64), "-o", rep, capture)
	if b, err := send.CombinedOutput(); err != nil {
		stop()
		return fail(fmt.Errorf("replay: %v: %s", err, b))
	}
	var sent replay.Report
	if b, err := os.ReadFile(rep); err != nil || json.Unmarshal(b, &sent) != nil {
		stop()
		return fail(fmt.Errorf("replay report %s unreadable", rep))
	}
	if cpu1 := procCPU(cmd.Process.Pid); cpu0 >= 0 && cpu1 >= 0 && sent.Seconds > 0 {
		t.CPU = (cpu1 - cpu0).Seconds() / sent.Seconds
	}
	if wait1 := runDelay(cmd.Process.Pid); wait0 >= 0 && wait1 >= 0 && sent.Seconds > 0 {
		t.Wait = (wait1 - wait0).Seconds() / sent.Seconds
	}
	t.Sent, t.Achieved = sent.Packets, float64(sent.Packets)/max(sent.Seconds, 1e-9)
	time.Sleep(300 * time.Millisecond) // the capturer empties its ring
	if err := stop(); err != nil && !strings.Contains(argv[0], "tcpdump") {
		return fail(fmt.Errorf("capturer: %v: %s", err, stderr.String()))
	}
	var err error
	if strings.Contains(argv[0], "tcpdump") {
		var st livecheck.TcpdumpStats
		st, err = livecheck.ParseTcpdumpStats(strings.NewReader(stderr.String()), "tcpdump")
		t.Received, t.Dropped = st.ReceivedByFilter, st.DroppedByKernel
	} else {
		t.Received, t.Dropped, err = livecheck.CaptureCounts(stdout.Bytes())
	}
	if err != nil {
		return fail(err)
	}
	return t
}

// procCPU is a process's user and system CPU time (-1 when unreadable).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which may hold spaces: state is 3,
	// utime 14 and stime 15 (proc(5)); clock ticks of 1/100 s on Linux.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// runDelay is the time a process's threads spent runnable, waiting for a
// CPU: the second field of each thread's schedstat (nanoseconds; the
// kernel's Documentation/scheduler/sched-stats.rst), summed; -1 when
// unreadable. A thread that ended between two readings takes its share
// with it, which only understates the wait.
func runDelay(pid int) time.Duration {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return -1
	}
	var sum time.Duration
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return -1
		}
		ns, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return -1
		}
		sum += time.Duration(ns)
	}
	return sum
}

// lockedBuffer is a capturer's stderr, read while exec's goroutine writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
