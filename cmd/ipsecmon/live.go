package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/ikestate"
	"ipsecmon/inputstats"
	"ipsecmon/metrics"
	"ipsecmon/pipeline"
	"ipsecmon/report"
)

// liveFlags configure capturing from interfaces and what a long run needs.
type liveFlags struct {
	ifaces            []string
	filter            string
	snaplen           int
	noPromisc         bool
	immediate         bool
	bufferSize        string
	count             uint64
	duration          time.Duration
	metricsListen     string
	metricsMaxTunnels int
	write             string
	rotateSize        string
	maxSAs            int
	maxIKESAs         int
	idleTimeout       time.Duration
	evictEnded        time.Duration
	cpuProfile        string

	// Set by apply from the flags above.
	bufBytes, rotateBytes uint64
	bpf                   *capture.BPF // -f on capture files
	allFrames             bool         // no capture filter at all unless -f gives one (decrypt --all)
}

func (f *liveFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.ifaces, "interface", "i", nil, "capture live on this interface (repeatable; 'any' for all); needs root or CAP_NET_RAW")
	fs.StringVarP(&f.filter, "filter", "f", "", "BPF filter, as tcpdump's: on files only the frames it selects are read; live it replaces the default ("+capture.DefaultFilter+"; without the vlan part on interfaces other than Ethernet, e.g. any)")
	fs.IntVar(&f.snaplen, "snaplen", 262144, "bytes to capture per packet (0: 262144)")
	fs.BoolVar(&f.noPromisc, "no-promisc", false, "do not put the interface into promiscuous mode")
	// Immediate mode makes libpcap use fixed ring slots of the snap length
	// (64 KiB each): a 2 MB buffer then holds 32 packets. Without it the
	// kernel packs packets into blocks, delivered within the 100 ms read
	// timeout, which is soon enough for every view.
	fs.BoolVar(&f.immediate, "immediate", false, "deliver each packet at once (libpcap immediate mode; fixed-size ring slots: raise --buffer-size)")
	fs.StringVar(&f.bufferSize, "buffer-size", "32MiB", "kernel capture buffer")
	fs.Uint64VarP(&f.count, "count", "c", 0, "stop after this many packets (those -f selects; over all files)")
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long, e.g. 30s")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics on ADDR at /metrics, and the stats and sas JSON at /stats.json and /sas.json (host:port; ':9477' binds 127.0.0.1)")
	fs.IntVar(&f.metricsMaxTunnels, "metrics-max-tunnels", metrics.DefaultMaxTunnelSeries, "metric series for at most this many tunnels (active ones first, then those already exported, negotiated, busiest); the others are counted in ipsecmon_tunnel_series_omitted")
	// The per-SA series it capped are gone (they were labelled by SPI);
	// it now caps the tunnels.
	fs.IntVar(&f.metricsMaxTunnels, "metrics-max-sas", metrics.DefaultMaxTunnelSeries, "")
	fs.MarkDeprecated("metrics-max-sas", "use --metrics-max-tunnels (series are per tunnel, not per SA)")
	fs.StringVarP(&f.write, "write", "w", "", "write the frames read (those -f selects, or live the default filter) to this pcapng file")
	fs.StringVar(&f.rotateSize, "rotate-size", "", "start a new -w file at about this size, e.g. 100MB")
	fs.IntVar(&f.maxSAs, "max-sas", 100000, "track at most this many SAs; packets of further SAs are counted as untracked (0: no cap)")
	fs.IntVar(&f.maxIKESAs, "max-ike-sas", ikestate.DefaultLimits.IKESAs, "keep at most this many IKE SAs; half-open ones are forgotten first, then the oldest (0: no cap)")
	fs.DurationVar(&f.idleTimeout, "sa-idle-timeout", 0, "evict SAs idle this long, keeping their totals (0: never; live default 30m)")
	fs.DurationVar(&f.evictEnded, "evict-ended", 0, "evict deleted and expired SAs this long after their end (0: never; live default 5m)")
	// For ipsecmon-lab liverate, which says where the CPU of a live run
	// goes; not for operators.
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the live run to FILE")
	fs.MarkHidden("cpuprofile")
}

func (f *liveFlags) live() bool { return len(f.ifaces) > 0 }

// liveOnly are the flags that only a capture on an interface can use.
var liveOnly = []string{"snaplen", "no-promisc", "immediate", "buffer-size", "duration", "metrics-listen", "metrics-max-tunnels", "metrics-max-sas", "cpuprofile"}

// apply checks the flags before any input is read (a flag that cannot
// apply to the input is refused, not ignored) and sets the analyzer's
// memory bounds; live runs get defaults that keep a days-long capture flat.
func (f *liveFlags) apply(cfg *analyzer.Config, fs *pflag.FlagSet) error {
	live := f.live()
	for _, name := range liveOnly {
		if !live && fs.Changed(name) {
			return fmt.Errorf("--%s applies to live capture (-i IFACE) only", name)
		}
	}
	var err error
	switch {
	case f.snaplen < 0:
		return fmt.Errorf("--snaplen %d: want a number of bytes, or 0 for 262144", f.snaplen)
	case fs.Changed("count") && f.count == 0:
		return fmt.Errorf("-c 0: want 1 or more packets")
	case f.duration < 0:
		return fmt.Errorf("--duration %v: want a positive duration such as 30s", f.duration)
	case fs.Changed("rotate-size") && f.write == "":
		return fmt.Errorf("--rotate-size applies to the file -w writes: give -w FILE")
	}
	for _, name := range []string{"metrics-max-tunnels", "metrics-max-sas"} {
		switch {
		case fs.Changed(name) && f.metricsListen == "":
			return fmt.Errorf("--%s applies to the metrics --metrics-listen serves", name)
		case fs.Changed(name) && f.metricsMaxTunnels < 0:
			return fmt.Errorf("--%s %d: want 0 or more", name, f.metricsMaxTunnels)
		}
	}
	if f.bufBytes, err = parseSize("--buffer-size", f.bufferSize); err != nil {
		return err
	}
	if f.rotateBytes, err = parseSize("--rotate-size", f.rotateSize); err != nil {
		return err
	}
	if f.metricsListen != "" {
		if _, err := metricsAddr(f.metricsListen); err != nil {
			return err
		}
	}
	if !live && f.filter != "" {
		if f.bpf, err = capture.NewBPF(f.filter); err != nil {
			return fmt.Errorf("-f: %w", err)
		}
	}
	cfg.MaxSAs = f.maxSAs
	cfg.MaxIKESAs = f.maxIKESAs
	if f.maxIKESAs == 0 {
		cfg.MaxIKESAs = -1 // no cap
	}
	cfg.IdleTimeout, cfg.EvictEnded = f.idleTimeout, f.evictEnded
	if live {
		if !fs.Changed("sa-idle-timeout") {
			cfg.IdleTimeout = 30 * time.Minute
		}
		if !fs.Changed("evict-ended") {
			cfg.EvictEnded = 5 * time.Minute
		}
		if !fs.Changed("workers") {
			cfg.Workers = liveWorkers(runtime.NumCPU())
		}
	}
	return nil
}

// liveWorkers is the default --workers of a live run on cores cores: all
// but one, which the kernel needs to deliver the packets (softirq, the
// capture ring; on a gateway also its own IPsec). On 2 cores that is
// inline verification: handing batches to a worker that shares the
// reader's core cost more than it saved (ipsecmon-lab liverate, keyed
// capture at 400,000 pps: 0.74 cores inline, 0.96 with 2 workers).
func liveWorkers(cores int) int { return max(1, cores-1) }

// parseSize reads a size such as 32MiB or 100MB ("" is 0).
func parseSize(flag, s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a size such as 32MiB or 100MB", flag, s)
	}
	return n, nil
}

// openWriter creates the -w file (nil without -w).
func (f *liveFlags) openWriter() (*capture.Writer, error) {
	if f.write == "" {
		return nil, nil
	}
	w, err := capture.NewWriter(f.write, int64(min(f.rotateBytes, 1<<62)))
	if err != nil {
		return nil, fmt.Errorf("-w %s: %w", f.write, unwrapPathError(err))
	}
	return w, nil
}

// metricsAddr binds loopback when no host is given: metrics of a gateway are
// not for everyone unless the operator says so.
func metricsAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if _, perr := strconv.ParseUint(s, 10, 16); perr == nil {
			return "", fmt.Errorf("--metrics-listen %q: give the port as :%s (or HOST:%s)", s, s, s)
		}
		return "", fmt.Errorf("--metrics-listen %q: want HOST:PORT or :PORT, e.g. :9477", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("--metrics-listen %q: the port must be a number from 0 to 65535", s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// liveSession is a running live capture with its metrics server.
type liveSession struct {
	reload  func() // on SIGHUP
	live    *pipeline.Live
	run     *pipeline.Run
	srv     *http.Server
	writer  *capture.Writer
	sources []*capture.LiveSource
	profile *os.File // --cpuprofile

	sampleMu sync.Mutex // one snapshot at a time; the last one is shared
	last     *metrics.Sample
	lastAt   time.Time
}

// sampleMaxAge: a view refresh and a scrape that come within this of each
// other share one snapshot. A snapshot of 100,000 SAs costs a few tenths
// of a second of CPU, which the capture path needs.
const sampleMaxAge = 500 * time.Millisecond

func (f *liveFlags) start(run *pipeline.Run, stderr io.Writer) (*liveSession, error) {
	s := &liveSession{run: run}
	for _, name := range f.ifaces {
		src, err := capture.OpenLive(capture.LiveOptions{Interface: name, Filter: f.filter, AllFrames: f.allFrames, Snaplen: f.snaplen,
			Promisc: !f.noPromisc, Immediate: f.immediate, BufferSize: int(min(f.bufBytes, 1<<31-1))})
		if err != nil {
			s.closeSources()
			return nil, err
		}
		s.sources = append(s.sources, src)
	}
	w, err := f.openWriter()
	if err != nil {
		s.closeSources()
		return nil, err
	}
	s.writer = w
	if f.cpuProfile != "" {
		if s.profile, err = startCPUProfile(f.cpuProfile); err != nil {
			s.stop()
			return nil, err
		}
	}
	s.live = run.StartLive(s.sources, pipeline.LiveOptions{Count: f.count, Duration: f.duration, Writer: s.writer})
	if f.metricsListen != "" {
		addr, err := metricsAddr(f.metricsListen)
		if err != nil {
			s.stop()
			return nil, err
		}
		reg := metrics.NewRegistry(metrics.NewCollector(s.sample, f.metricsMaxTunnels), version)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/", metrics.LandingPage(version, []metrics.Link{
			{Path: "/metrics", Text: "Prometheus metrics"},
			{Path: "/stats.json", Text: "the Quick Mode statistics (stats -o json)"},
			{Path: "/sas.json", Text: "the security associations (sas -o json)"},
			{Path: "/tunnels.json", Text: "the tunnels (tunnels -o json)"},
		}))
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		// The same figures as `stats -o json` and `sas -o json`, from one
		// snapshot, for scripts and for checking the metrics against them.
		mux.HandleFunc("/stats.json", func(w http.ResponseWriter, _ *http.Request) {
			smp := s.sample()
			b, err := report.StatsJSON(report.Run{Snap: smp.Snap, Input: s.inputStats(), Capture: captureStats(smp.Interfaces)})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		})
		mux.HandleFunc("/sas.json", func(w http.ResponseWriter, _ *http.Request) {
			b, err := report.SARowsJSON(s.sample().Snap.Rows)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		})
		mux.HandleFunc("/tunnels.json", func(w http.ResponseWriter, _ *http.Request) {
			b, err := report.TunnelColumns.JSON(s.sample().Snap.Tunnels, report.TunnelColumns.All)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		})
		s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.srv.Serve(ln)
		fmt.Fprintf(stderr, "ipsecmon: metrics on http://%s/metrics\n", ln.Addr())
	}
	return s, nil
}

// sample returns a consistent snapshot for the metrics and the watch view,
// taken now or at most sampleMaxAge ago.
func (s *liveSession) sample() metrics.Sample {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	if s.last != nil && time.Since(s.lastAt) < sampleMaxAge {
		return *s.last
	}
	smp := s.takeSample()
	s.last, s.lastAt = &smp, time.Now()
	return smp
}

// takeSample takes a snapshot. Only the copy of the state holds the
// capture path; the snapshot is computed from it while packets keep
// coming.
func (s *liveSession) takeSample() metrics.Sample {
	var smp metrics.Sample
	var frozen *analyzer.Frozen
	var in inputstats.Stats
	s.live.With(func(r *pipeline.Run) {
		frozen = r.Analyzer().Freeze()
		in = copyInputStats(r.Stats())
	})
	smp.Snap = frozen.Snapshot()
	smp.Limits = report.Limits(report.Run{Snap: smp.Snap, Input: &in})
	for i, st := range s.live.CaptureStats() {
		smp.Interfaces = append(smp.Interfaces, metrics.Interface{Name: s.sources[i].Name(), Received: st.Received, Dropped: st.Dropped, IfDropped: st.IfDropped, Unread: st.Unread})
	}
	return smp
}

// inputStats copies the run's input statistics under the lock.
func (s *liveSession) inputStats() *inputstats.Stats {
	var in inputstats.Stats
	s.live.With(func(r *pipeline.Run) { in = copyInputStats(r.Stats()) })
	return &in
}

// copyInputStats copies what the capture path goes on changing.
func copyInputStats(st *inputstats.Stats) inputstats.Stats {
	in := *st
	in.Skipped = maps.Clone(in.Skipped)
	in.Files = slices.Clone(in.Files)
	return in
}

// wait blocks until the capture ends by itself or by SIGINT/SIGTERM.
func (s *liveSession) wait(tick time.Duration, onTick func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	var t <-chan time.Time
	if tick > 0 {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		t = tk.C
	}
	for {
		select {
		case g := <-sig:
			// Every signal first puts the -w file on disk, whatever follows.
			s.live.FlushWriter()
			if g == syscall.SIGHUP {
				if s.reload != nil {
					s.reload()
				}
				continue
			}
			s.live.Stop()
		case <-t:
			onTick()
		case <-s.live.Done():
			return
		}
	}
}

// finish ends the session and returns what the final report needs.
func (s *liveSession) finish(stderr io.Writer) (report.Run, []metrics.Interface) {
	s.live.Stop()
	<-s.live.Done()
	smp := s.takeSample()
	s.stop()
	for _, err := range s.live.Errors() {
		fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
	}
	s.run.Finish()
	smp.Snap = s.run.Analyzer().Snapshot()
	return report.Run{Snap: smp.Snap, Input: s.run.Stats()}, smp.Interfaces
}

func (s *liveSession) stop() {
	if s.live != nil {
		s.live.Stop()
		<-s.live.Done()
	}
	if s.srv != nil {
		// A scrape already being answered gets its answer; a scraper that
		// keeps going past that is refused, and the deadline keeps a stuck
		// client from holding up the exit.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if s.srv.Shutdown(ctx) != nil {
			s.srv.Close()
		}
		cancel()
	}
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "ipsecmon: -w: %v\n", err)
		}
		s.writer = nil
	}
	s.closeSources()
	if s.profile != nil {
		pprof.StopCPUProfile()
		if err := s.profile.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "ipsecmon: --cpuprofile: %v\n", err)
		}
		s.profile = nil
	}
}

// startCPUProfile profiles at pprof's 100 Hz. (Raising the rate with
// runtime.SetCPUProfileRate first left most of the CPU time unsampled: 297
// ms of samples where 100 Hz had 1110 ms, as /proc counted.)
func startCPUProfile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", unwrapPathError(err))
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return f, nil
}

func (s *liveSession) closeSources() {
	for _, src := range s.sources {
		src.Close()
	}
	s.sources = nil
}

func captureStats(ifs []metrics.Interface) []report.CaptureStats {
	out := make([]report.CaptureStats, len(ifs))
	for i, in := range ifs {
		out[i] = report.CaptureStats{Interface: in.Name, Received: in.Received, Dropped: in.Dropped, IfDropped: in.IfDropped, NotAnalysed: in.Unread}
	}
	return out
}

var errBothInputs = errors.New("give capture files (-r) or interfaces (-i), not both")
