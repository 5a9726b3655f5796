package livecheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ParseVmRSS reads the VmRSS line of a /proc/<pid>/status file (proc(5):
// "VmRSS:    123456 kB") and returns the resident set size in bytes.
func ParseVmRSS(r io.Reader, name string) (uint64, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s:%d: VmRSS %q: want \"N kB\"", name, n, strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: VmRSS: %w", name, n, err)
		}
		if kb > 1<<44 {
			return 0, fmt.Errorf("%s:%d: VmRSS %d kB is not plausible", name, n, kb)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	return 0, fmt.Errorf("%s: no VmRSS line (a kernel thread, or the process is a zombie)", name)
}

// ErrGone means the process ended (its /proc entry is gone or has no memory).
var ErrGone = errors.New("process gone")

// ReadVmRSS reads pid's resident set size in bytes.
func ReadVmRSS(pid int) (uint64, error) {
	name := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrProcessDone) {
		return 0, fmt.Errorf("%s: %w", name, ErrGone)
	}
	if err != nil {
		return 0, err
	}
	if !bytes.Contains(b, []byte("VmRSS:")) {
		return 0, fmt.Errorf("%s: %w", name, ErrGone)
	}
	return ParseVmRSS(bytes.NewReader(b), name)
}

// RSSSample is one reading: the time since sampling started and the RSS.
type RSSSample struct {
	At  time.Duration
	RSS uint64
}

// SampleRSS reads pid's RSS every interval until the process ends or ctx
// is done; each sample is also handed to each (e.g. to write it out).
func SampleRSS(ctx context.Context, pid int, every time.Duration, each func(RSSSample)) ([]RSSSample, error) {
	var out []RSSSample
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rss, err := ReadVmRSS(pid)
		if errors.Is(err, ErrGone) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		s := RSSSample{At: time.Since(start), RSS: rss}
		out = append(out, s)
		if each != nil {
			each(s)
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-t.C:
		}
	}
}

// FormatRSSSample is one line of a sample file: milliseconds and bytes.
func FormatRSSSample(s RSSSample) string {
	return fmt.Sprintf("%d %d\n", s.At.Milliseconds(), s.RSS)
}

// ParseRSSSamples reads a sample file written with FormatRSSSample.
func ParseRSSSamples(r io.Reader, name string) ([]RSSSample, error) {
	var out []RSSSample
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"MILLISECONDS BYTES\", got %q", name, n, line)
		}
		ms, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
			return nil, fmt.Errorf("%s:%d: time %q: want milliseconds within a day", name, n, f[0])
		}
		rss, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: RSS: %w", name, n, err)
		}
		at := time.Duration(ms) * time.Millisecond
		if len(out) > 0 && at < out[len(out)-1].At {
			return nil, fmt.Errorf("%s:%d: time %d ms goes back", name, n, ms)
		}
		out = append(out, RSSSample{At: at, RSS: rss})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	return out, nil
}

// RSSGrowth summarises samples after a warm-up: the RSS at the first sample
// at or after warmup (Base), the largest RSS from then on (Peak), and how
// many samples that covers. Memory that is flat has Peak close to Base.
type RSSGrowth struct {
	Base, Peak, First, Max uint64
	Samples                int           // samples after the warm-up
	Span                   time.Duration // time they cover
}

// Growth is Peak - Base.
func (g RSSGrowth) Growth() uint64 { return g.Peak - g.Base }

// Grow summarises samples (in time order) after warmup.
func Grow(samples []RSSSample, warmup time.Duration) (RSSGrowth, error) {
	var g RSSGrowth
	if len(samples) == 0 {
		return g, errors.New("no RSS samples")
	}
	g.First = samples[0].RSS
	i := 0
	for i < len(samples) && samples[i].At < warmup {
		i++
	}
	for _, s := range samples {
		g.Max = max(g.Max, s.RSS)
	}
	if i == len(samples) {
		return g, fmt.Errorf("no RSS sample after the %v warm-up (last at %v)", warmup, samples[len(samples)-1].At)
	}
	g.Base = samples[i].RSS
	g.Peak = g.Base
	for _, s := range samples[i:] {
		g.Peak = max(g.Peak, s.RSS)
	}
	g.Samples = len(samples) - i
	g.Span = samples[len(samples)-1].At - samples[i].At
	return g, nil
}
