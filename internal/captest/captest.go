// Package captest runs capture files through the analysis pipeline, for
// tests that need what the analyzer makes of a real recording.
package captest

import (
	"path/filepath"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// Analyze reads the pcaps in order through one pipeline with cfg and
// finishes the run (IKE negotiations still open are closed, final events
// sent).
func Analyze(t testing.TB, cfg analyzer.Config, pcaps ...string) *analyzer.Analyzer {
	t.Helper()
	an := analyzer.New(cfg)
	run := pipeline.New(an, pipeline.Options{})
	for _, p := range pcaps {
		src, err := capture.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = run.Source(src)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	run.Finish()
	return an
}

// Recording analyses a lab recording (capture.pcap) with its keys.txt.
func Recording(t testing.TB, dir string, cfg analyzer.Config) *analyzer.Analyzer {
	t.Helper()
	ks, err := keys.Load(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = ks
	return Analyze(t, cfg, filepath.Join(dir, "capture.pcap"))
}
