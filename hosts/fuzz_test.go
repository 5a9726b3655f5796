package hosts

import (
	"os"
	"path/filepath"
	"testing"
)

// One fuzz target per parser, seeded with the samples of its format: bad
// input must return an error, never panic.

func fuzzFormat(f *testing.F, format string) {
	files, _ := filepath.Glob("testdata/*")
	for _, file := range files {
		if sampleFormats[filepath.Base(file)] == format {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseFormat(format, "fuzz", data)
		_, _ = Parse("fuzz", data)
	})
}

func FuzzXfrmState(f *testing.F)        { fuzzFormat(f, FormatXfrmState) }
func FuzzXfrmStat(f *testing.F)         { fuzzFormat(f, FormatXfrmStat) }
func FuzzSwanctl(f *testing.F)          { fuzzFormat(f, FormatSwanctl) }
func FuzzSwanctlRaw(f *testing.F)       { fuzzFormat(f, FormatSwanctlRaw) }
func FuzzSwanctlCounters(f *testing.F)  { fuzzFormat(f, FormatSwanctlCounters) }
func FuzzStatusAll(f *testing.F)        { fuzzFormat(f, FormatStatusAll) }
func FuzzLibreswanTraffic(f *testing.F) { fuzzFormat(f, FormatLibreswanTraffic) }
func FuzzWindowsQMSA(f *testing.F)      { fuzzFormat(f, FormatWindowsQMSA) }
func FuzzTypeperf(f *testing.F)         { fuzzFormat(f, FormatTypeperfCSV) }
func FuzzGetCounter(f *testing.F)       { fuzzFormat(f, FormatGetCounter) }
func FuzzNetsh(f *testing.F)            { fuzzFormat(f, FormatNetshStats) }
