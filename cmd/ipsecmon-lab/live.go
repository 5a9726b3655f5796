package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ipsecmon/internal/benchgen"
	"ipsecmon/internal/lab/facts"
	"ipsecmon/internal/lab/keytables"
	"ipsecmon/internal/lab/replay"
	"ipsecmon/internal/livecheck"
)

// keysCmd writes the keys of every SA a running scenario negotiated so far,
// in ipsecmon's native format, from both daemons' logs (the same extraction
// as extract, with "now" as the capture's end). The file is replaced
// atomically so that a reader never sees half of it.
func keysCmd(args []string) error {
	fs := flag.NewFlagSet("keys", flag.ExitOnError)
	work := fs.String("work", "", "the running scenario's work directory")
	scenario := fs.String("scenario", "", "scenario name")
	topology := fs.String("topology", "direct", "direct or nat")
	out := fs.String("o", "", "key file to write (mode 0600)")
	fs.Parse(args)
	if *work == "" || *scenario == "" || *out == "" {
		return errors.New("-work, -scenario and -o are required")
	}
	in, err := facts.LoadRunning(*work, *scenario, *topology, time.Now())
	if err != nil {
		return err
	}
	_, set, err := facts.Build(in)
	if err != nil {
		return err
	}
	b, err := keytables.NativeFile(set)
	if err != nil {
		return err
	}
	return writeSecret(*out, b)
}

// writeSecret replaces path with b, mode 0600 (keys are secrets).
func writeSecret(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// replayCmd injects capture files into an interface as fast as possible.
func replayCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	iface := fs.String("i", "", "interface to send on")
	loops := fs.Int("loops", 1, "send the files this many times")
	out := fs.String("o", "", "write the JSON report here (default stdout)")
	rate := fs.Float64("rate", 0, "frames per second at most (0: as fast as the kernel takes them)")
	batched := fs.Bool("batched", false, "hand the kernel 64 frames per system call (sendmmsg on a packet socket) instead of one per pcap_sendpacket: a faster sender")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ipsecmon-lab replay -i IFACE [-loops N] [-rate PPS] [-batched] [-o REPORT] CAPTURE.pcap...")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if *iface == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("-i and a capture file are required")
	}
	run := replay.RunAt
	if *batched {
		run = replay.RunBatched
	}
	rep, err := run(ctx, *iface, fs.Args(), *loops, *rate)
	if werr := writeJSON(*out, rep); werr != nil && err == nil {
		err = werr
	}
	return err
}

// benchgenCmd writes the benchmarks' synthetic capture (internal/benchgen).
func benchgenCmd(args []string) error {
	fs := flag.NewFlagSet("benchgen", flag.ExitOnError)
	out := fs.String("o", "", "capture file to write")
	packets := fs.Int("packets", benchgen.Default.Packets, "packets")
	pairs := fs.Int("pairs", benchgen.Default.Pairs, "SA pairs (twice as many SAs)")
	keyFile := fs.String("keys", "", "write the keyed capture (real AES-GCM and AES-CBC+HMAC) and its keys to this file")
	fs.Parse(args)
	if *out == "" {
		return errors.New("-o is required")
	}
	spec := benchgen.Spec{Packets: *packets, Pairs: *pairs}
	write := func(path string, s benchgen.Spec) (int, int64, error) { return benchgen.Write(path, s) }
	if *keyFile != "" {
		write = func(path string, s benchgen.Spec) (int, int64, error) { return benchgen.WriteKeyed(path, *keyFile, s) }
	}
	frames, bytes, err := write(*out, spec)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d frames, %d bytes, %d SAs\n", *out, frames, bytes, 2**pairs)
	return nil
}

// rssCmd samples a process's VmRSS until it ends (or until stopped).
func rssCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	pid := fs.Int("pid", 0, "process to sample")
	every := fs.Duration("every", 100*time.Millisecond, "sampling interval")
	out := fs.String("o", "", "sample file: one \"MILLISECONDS BYTES\" line per sample")
	fs.Parse(args)
	if *pid <= 0 || *out == "" {
		return errors.New("-pid and -o are required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	var werr error
	_, err = livecheck.SampleRSS(ctx, *pid, *every, func(s livecheck.RSSSample) {
		if _, e := f.WriteString(livecheck.FormatRSSSample(s)); e != nil && werr == nil {
			werr = e
		}
	})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if err != nil {
		return err
	}
	return werr
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// livecheckCmd runs the Go side of testdata/lab/live-check.sh: it compares
// what live ipsecmon instances reported with sources other than ipsecmon.
func livecheckCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ipsecmon-lab livecheck lab|replay|flood|fleet [flags]")
	}
	var rep *livecheck.Report
	var err error
	switch args[0] {
	case "lab":
		fs := flag.NewFlagSet("livecheck lab", flag.ExitOnError)
		var c livecheck.LabConfig
		fs.StringVar(&c.Recording, "rec", "", "the scenario's recording directory")
		fs.StringVar(&c.Live, "live", "", "the live hooks' output for the scenario")
		fs.StringVar(&c.Ipsecmon, "ipsecmon", "ipsecmon", "ipsecmon binary for the offline runs")
		fs.StringVar(&c.Tshark, "tshark", "tshark", "tshark binary")
		fs.IntVar(&c.LateRound, "late", 0, "LIVE_LATE_ROUND of the run")
		fs.IntVar(&c.CheckRound, "check", 0, "LIVE_CHECK_ROUND of the run")
		fs.Parse(args[1:])
		if c.Recording == "" || c.Live == "" {
			return errors.New("-rec and -live are required")
		}
		rep, err = livecheck.Lab(ctx, c)
	case "replay":
		fs := flag.NewFlagSet("livecheck replay", flag.ExitOnError)
		var c livecheck.ReplayConfig
		fs.StringVar(&c.Dir, "dir", "", "the replay check's output directory")
		fs.DurationVar(&c.Warmup, "warmup", 3*time.Second, "RSS samples before this are the warm-up")
		var bound string
		fs.StringVar(&bound, "rss-bound", "4MiB", "largest RSS growth allowed after the warm-up")
		fs.Uint64Var(&c.MinPackets, "min-packets", 200000, "replayed packets needed")
		fs.Parse(args[1:])
		if c.Dir == "" {
			return errors.New("-dir is required")
		}
		if c.RSSBound, err = parseBytes(bound); err != nil {
			return fmt.Errorf("-rss-bound: %w", err)
		}
		rep, err = livecheck.Replay(c)
	case "flood":
		fs := flag.NewFlagSet("livecheck flood", flag.ExitOnError)
		var c livecheck.FloodConfig
		fs.StringVar(&c.Dir, "dir", "", "the flood check's output directory")
		fs.DurationVar(&c.Interval, "interval", time.Second, "watch's --interval")
		fs.DurationVar(&c.ExitIn, "exit-in", 5*time.Second, "longest time from SIGTERM to exit")
		fs.Parse(args[1:])
		if c.Dir == "" {
			return errors.New("-dir is required")
		}
		rep, err = livecheck.Flood(c)
	case "fleet":
		rep, err = livecheckFleet(ctx, args[1:])
	default:
		return fmt.Errorf("unknown livecheck %q: lab, replay, flood or fleet", args[0])
	}
	if err != nil {
		return err
	}
	rep.Write(os.Stdout)
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("%d assertion(s) failed", n)
	}
	return nil
}

// parseBytes reads "4MiB", "512KiB" or a plain number of bytes.
func parseBytes(s string) (uint64, error) {
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		m      uint64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.m
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}
