package findings

import (
	"fmt"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
	"ipsecmon/timeline"
)

// analyse runs captures through the pipeline as the CLI does, with the
// timeline recorded, and audits the result.
func analyse(t *testing.T, keyFile string, cfg analyzer.Config, pcaps ...string) ([]Finding, Input) {
	t.Helper()
	if keyFile != "" {
		ks, err := keys.Load(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Keys = ks
	}
	rec := timeline.New(timeline.Limits{})
	cfg.OnAccepted = rec.Accepted
	cfg.OnEvent = rec.Event
	an := analyzer.New(cfg)
	run := pipeline.New(an, pipeline.Options{})
	for _, p := range pcaps {
		src, err := capture.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Source(src); err != nil {
			t.Fatal(err)
		}
		src.Close()
	}
	run.Finish()
	in := Input{Snap: an.Snapshot(), Timeline: rec.Timeline()}
	return Audit(in), in
}

// spis names a finding's SA as "in/out" in 0x%08x ("-" for a missing side).
func spis(f Finding) string {
	s := func(v uint32, ok bool) string {
		if !ok {
			return "-"
		}
		return fmt.Sprintf("0x%08x", v)
	}
	return s(f.SPIIn, f.HasIn) + "/" + s(f.SPIOut, f.HasOut)
}
