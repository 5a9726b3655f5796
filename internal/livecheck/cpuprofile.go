package livecheck

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// Stage is a part of ipsecmon's live path that a CPU sample is charged to.
type Stage string

const (
	StageCapture  Stage = "capture (libpcap, its copy and cgo call)"
	StageDecode   Stage = "decode"
	StageCrypto   Stage = "verification and decryption"
	StageAnalysis Stage = "analysis (SA lookup, replay window, counters)"
	StageRuntime  Stage = "Go runtime (GC, scheduler)"
	StageOther    Stage = "other"
)

// stagePrefixes charge a frame to a stage by its function's name. A
// sample goes to the first frame from the leaf up that is not the
// runtime's: memmove under decode is decode, an allocation in the analyzer
// is analysis; a sample with no such frame (GC workers, sysmon, the
// scheduler) is the runtime's.
var stagePrefixes = []struct {
	prefix string
	stage  Stage
}{
	{"github.com/gopacket/gopacket/pcap.", StageCapture},
	{"ipsecmon/capture.", StageCapture},
	{"ipsecmon/decode.", StageDecode},
	{"github.com/gopacket/gopacket", StageDecode},
	{"ipsecmon/espcrypto.", StageCrypto},
	{"ipsecmon/aesmac.", StageCrypto},
	{"crypto/", StageCrypto},
	{"golang.org/x/crypto/", StageCrypto},
	{"ipsecmon/", StageAnalysis},
}

// runtimeFrame reports frames that belong to no stage of their own.
func runtimeFrame(fn string) bool {
	for _, p := range []string{"runtime.", "runtime/", "internal/", "sync.", "sync/", "syscall.", "time.", "unique.", "weak.", "iter.", "maps.", "slices."} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return !strings.Contains(fn, ".") // C functions, or unnamed code
}

func stageOf(s *profile.Sample) Stage {
	for _, loc := range s.Location {
		// Lines are innermost first (inlined calls, then their caller).
		for _, ln := range loc.Line {
			if ln.Function == nil {
				continue
			}
			// The compiler's equality and hash functions of a type
			// belong with the type's package.
			fn := strings.TrimPrefix(strings.TrimPrefix(ln.Function.Name, "type:.eq."), "type:.hash.")
			if runtimeFrame(fn) {
				continue
			}
			for _, p := range stagePrefixes {
				if strings.HasPrefix(fn, p.prefix) {
					return p.stage
				}
			}
			return StageOther
		}
	}
	return StageRuntime
}

// StageShare is a stage's part of a profile's CPU time.
type StageShare struct {
	Stage   Stage   `json:"stage"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"` // of the profile's CPU time
}

// CPUByStage reads Go CPU profiles (pprof's format) and charges each
// sample to a stage of the live path; the largest first.
func CPUByStage(profiles ...io.Reader) ([]StageShare, error) {
	ns := map[Stage]int64{}
	var total int64
	for _, r := range profiles {
		p, err := profile.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		vi := -1
		for i, st := range p.SampleType {
			if st.Type == "cpu" && st.Unit == "nanoseconds" {
				vi = i
			}
		}
		if vi < 0 {
			return nil, fmt.Errorf("cpu profile: no cpu/nanoseconds samples")
		}
		for _, s := range p.Sample {
			ns[stageOf(s)] += s.Value[vi]
			total += s.Value[vi]
		}
	}
	var out []StageShare
	for st, v := range ns {
		out = append(out, StageShare{Stage: st, Seconds: float64(v) / 1e9, Share: float64(v) / float64(max(total, 1))})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seconds != out[j].Seconds {
			return out[i].Seconds > out[j].Seconds
		}
		return out[i].Stage < out[j].Stage
	})
	return out, nil
}

// FormatStages is one line: each stage's share, the largest first, and
// the CPU time the profile's samples hold.
func FormatStages(ss []StageShare) string {
	var parts []string
	var total float64
	for _, s := range ss {
		total += s.Seconds
	}
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", s.Stage, 100*s.Share))
	}
	return fmt.Sprintf("%s (%.0f ms sampled)", strings.Join(parts, ", "), 1e3*total)
}
