package findings

import (
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
