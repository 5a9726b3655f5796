package pipeline_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runDelay is the time the process's threads have spent runnable but
// waiting for a CPU, summed over its threads (Linux schedstat, second
// field; threads that have exited are not counted, and the Go runtime
// keeps its threads). 0 where schedstat is missing.
func runDelay() time.Duration {
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		sum += v
	}
	return time.Duration(sum)
}

// cpuByLabel sums a CPU profile's samples by the value of one label ("" for
// samples without it: the runtime's own goroutines, the garbage collector's
// background workers among them).
func cpuByLabel(prof *bytes.Buffer, key string) (map[string]time.Duration, error) {
	p, err := profile.Parse(prof)
	if err != nil {
		return nil, err
	}
	vi := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	out := map[string]time.Duration{}
	if vi < 0 {
		return out, nil
	}
	for _, s := range p.Sample {
		l := ""
		if v := s.Label[key]; len(v) > 0 {
			l = v[0]
		}
		out[l] += time.Duration(s.Value[vi])
	}
	return out, nil
}
