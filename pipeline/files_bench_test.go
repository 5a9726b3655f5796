package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/internal/benchgen"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// manyFilesSpec is one host's capture in BenchmarkManyFiles: a quarter of
// the bench capture, 400 SAs of its own addresses.
var manyFilesSpec = benchgen.Spec{Packets: 50_000, Pairs: 200}

// manyFiles holds the hosts' captures, written once per test binary run
// (and removed by TestMain): keyless and keyed, hosts 1 to 4.
var manyFiles struct {
	once           sync.Once
	dir            string
	keyless, keyed []string
	keys           *keys.Set
	frames         int
	err            error
}

func manyFilesInputs(b *testing.B) {
	manyFiles.once.Do(func() {
		m := &manyFiles
		if m.dir, m.err = os.MkdirTemp("", "ipsecmon-bench-files"); m.err != nil {
			return
		}
		m.keys = &keys.Set{}
		for h := 1; h <= 4; h++ {
			s := manyFilesSpec
			s.Host = h
			p := filepath.Join(m.dir, fmt.Sprintf("host%d.pcap", h))
			var n int
			if n, _, m.err = benchgen.Write(p, s); m.err != nil {
				return
			}
			m.frames = n
			m.keyless = append(m.keyless, p)
			p, k := filepath.Join(m.dir, fmt.Sprintf("keyed%d.pcap", h)), filepath.Join(m.dir, fmt.Sprintf("keyed%d.keys", h))
			if _, _, m.err = benchgen.WriteKeyed(p, k, s); m.err != nil {
				return
			}
			m.keyed = append(m.keyed, p)
			ks, err := keys.Load(k)
			if m.err = err; err != nil {
				return
			}
			m.keys.Merge(ks)
		}
	})
	if manyFiles.err != nil {
		b.Fatal(manyFiles.err)
	}
}

// sequentialFiles is what `ipsecmon stats -r a -r b ...` did before
// pipeline.Files, and still does when the files may interact: one run
// reads them in order.
func sequentialFiles(b *testing.B, cfg analyzer.Config, paths []string) *analyzer.Snapshot {
	an := analyzer.New(cfg)
	readInOrder(b, an, paths...)
	return an.Snapshot()
}

func concurrentFiles(b *testing.B, cfg analyzer.Config, paths []string) *analyzer.Snapshot {
	f, _, err := pipeline.Files(cfg, paths, runtime.NumCPU())
	if err != nil {
		b.Fatal(err)
	}
	return f.Snapshot()
}

// BenchmarkManyFiles: 2 and 4 captures of different hosts (50,000 packets,
// 400 SAs each), keyless and keyed, read in order by one run (the
// baseline) and at once by pipeline.Files, both with every core for
// verification (--workers' default). Each pass computes the snapshot too.
func BenchmarkManyFiles(b *testing.B) {
	manyFilesInputs(b)
	for _, set := range []struct {
		name  string
		paths []string
		keys  *keys.Set
	}{{"keyless", manyFiles.keyless, nil}, {"keyed", manyFiles.keyed, manyFiles.keys}} {
		for _, n := range []int{2, 4} {
			cfg := analyzer.Config{Keys: set.keys, Workers: runtime.NumCPU()}
			paths := set.paths[:n]
			seq, conc := sequentialFiles(b, cfg, paths), concurrentFiles(b, cfg, paths)
			if seq.Counts != conc.Counts || seq.SAs != conc.SAs || seq.SAs != n*2*manyFilesSpec.Pairs || seq.NotInspected != conc.NotInspected {
				b.Fatalf("%s, %d files: concurrent %+v (%d SAs), sequential %+v (%d SAs)", set.name, n, conc.Counts, conc.SAs, seq.Counts, seq.SAs)
			}
			for _, mode := range []struct {
				name string
				run  func(*testing.B, analyzer.Config, []string) *analyzer.Snapshot
			}{{"sequential", sequentialFiles}, {"concurrent", concurrentFiles}} {
				b.Run(fmt.Sprintf("%s/files=%d/%s", set.name, n, mode.name), func(b *testing.B) {
					u := startUsage(b)
					for i := 0; i < b.N; i++ {
						mode.run(b, cfg, paths)
					}
					u.report(b, n*manyFiles.frames)
				})
			}
		}
	}
}
