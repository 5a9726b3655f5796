package pipeline_test

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode"
	"ipsecmon/internal/benchgen"
	"ipsecmon/ipproto"
	"ipsecmon/pipeline"
	"ipsecmon/report"
)

var (
	benchOnce   sync.Once
	benchPath   string
	benchFrames int
	benchBytes  int64
	benchErr    error
)

// benchCapture writes the synthetic capture once per test binary run.
func benchCapture(b *testing.B) (string, int, int64) {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipsecmon-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchPath = filepath.Join(dir, "bench.pcap")
		benchFrames, benchBytes, benchErr = benchgen.Write(benchPath, benchgen.Default)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	st, err := os.Stat(benchPath)
	if err != nil {
		b.Fatal(err)
	}
	return benchPath, benchFrames, st.Size()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPath != "" {
		os.RemoveAll(filepath.Dir(benchPath))
	}
	if manyFiles.dir != "" {
		os.RemoveAll(manyFiles.dir)
	}
	for _, in := range []*keyedInput{keyedBench, mixedBench} {
		if in.dir != "" {
			os.RemoveAll(in.dir)
		}
	}
	os.Exit(code)
}

func report1(b *testing.B, frames int) {
	b.ReportMetric(float64(frames)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkBareRead is the baseline: the fastest way gopacket reads the
// same file, touching each packet's bytes and nothing more.
func BenchmarkBareRead(b *testing.B) {
	path, frames, size := benchCapture(b)
	b.SetBytes(size)
	var sum byte
	u := startUsage(b)
	for i := 0; i < b.N; i++ {
		n := eachFrame(b, path, func(data []byte) bool {
			sum += data[len(data)-1]
			return true
		})
		if n != frames {
			b.Fatalf("read %d frames, want %d", n, frames)
		}
	}
	u.report(b, frames)
}

// eachFrame is the baselines' read loop: gopacket's zero-copy pcap reader
// over path, fn called on every frame; it returns how many fn accepted.
func eachFrame(b *testing.B, path string, fn func(data []byte) bool) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		if fn(data) {
			n++
		}
	}
}

// readInOrder reads the captures into an through one run, finishes it,
// and returns its account of the input.
func readInOrder(tb testing.TB, an *analyzer.Analyzer, paths ...string) *pipeline.InputStats {
	tb.Helper()
	run := pipeline.New(an, pipeline.Options{})
	for _, p := range paths {
		src, err := capture.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		if err := run.Source(src); err != nil {
			tb.Fatal(err)
		}
		src.Close()
	}
	run.Finish()
	return run.Stats()
}

// statsOnce is one `ipsecmon stats` run of path through an, minus process
// start: open, decode, analyse, snapshot and render.
func statsOnce(tb testing.TB, an *analyzer.Analyzer, path string) *analyzer.Snapshot {
	tb.Helper()
	input := readInOrder(tb, an, path)
	snap := an.Snapshot()
	if err := report.WriteStats(io.Discard, report.Run{Snap: snap, Input: input}, report.Table); err != nil {
		tb.Fatal(err)
	}
	return snap
}

// BenchmarkStats is `ipsecmon stats` on the same file, minus process start:
// open, decode, analyse, snapshot and render, with the command's default
// --workers (every core), which a keyless run must not pay for.
func BenchmarkStats(b *testing.B) {
	path, frames, size := benchCapture(b)
	b.SetBytes(size)
	u := startUsage(b)
	for i := 0; i < b.N; i++ {
		an := analyzer.New(analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}, Workers: runtime.NumCPU()})
		snap := statsOnce(b, an, path)
		if snap.SAs != 2*benchgen.Default.Pairs || an.Counts().IPsecPackets != uint64(frames) {
			b.Fatalf("%d SAs, %d IPsec packets; want %d, %d", snap.SAs, an.Counts().IPsecPackets, 2*benchgen.Default.Pairs, frames)
		}
	}
	u.report(b, frames)
}

// BenchmarkSAMemory reports the heap bytes each tracked SA costs, map entry included.
func BenchmarkSAMemory(b *testing.B) {
	const n = 100_000
	var perSA float64
	for i := 0; i < b.N; i++ {
		pkts := make([]decode.Packet, n)
		for j := range pkts {
			p := &pkts[j]
			p.Kind, p.IPVersion, p.NIPsec = decode.KindIPsec, 4, 1
			p.Src = netip.AddrFrom4([4]byte{10, 0, 0, 1})
			p.Dst = netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)})
			p.IPsec[0] = decode.IPsecHeader{Proto: ipproto.ESP, SPI: uint32(j) + 1, Seq: 1, WireLen: 100}
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		an := analyzer.New(analyzer.Config{})
		now := time.Now()
		for j := range pkts {
			an.Packet(now, &pkts[j], analyzer.Ref{})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSA = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(an)
		runtime.KeepAlive(pkts)
		if len(an.SAs()) != n {
			b.Fatalf("%d SAs", len(an.SAs()))
		}
	}
	b.ReportMetric(perSA, "B/SA")
}
