package pipeline_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// New keys (a live run's SIGHUP) reach the IKE tracker too: messages after
// the reload decrypt. ikev2-rekey: keys arrive after frame 4 (IKE_SA_INIT
// and IKE_AUTH, read without keys); the daemons report 2 CHILD SAs created
// after that, both rekeys. The IKE_AUTH child stays unread, so figures it
// could change (deletions: it ends with its IKE SA) must stay unknown. With
// two workers, the verification workers start at the reload: the figures
// are the same.
func TestSetKeysReachesIKE(t *testing.T) {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(root, "testdata", "pcaps", "lab", "ikev2-rekey")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	ks, err := keys.Load(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var stats [2][analyzer.NumStats]analyzer.Figure
	for i, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			stats[i] = setKeysAfterFrame4(t, dir, ks, workers)
		})
	}
	if stats[0] != stats[1] {
		t.Errorf("statistics with 1 worker %+v, with 2 %+v", stats[0], stats[1])
	}
}

func setKeysAfterFrame4(t *testing.T, dir string, ks *keys.Set, workers int) [analyzer.NumStats]analyzer.Figure {
	an := analyzer.New(analyzer.Config{Workers: workers})
	run := pipeline.New(an, pipeline.Options{})
	src, err := capture.Open(filepath.Join(dir, "capture.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var f capture.Frame
	for {
		err := src.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		run.Frame(&f)
		if f.Index == 4 {
			an.SetKeys(ks)
		}
	}
	run.Finish()
	s := an.Snapshot()
	if f := s.Stats[analyzer.Rekeys]; !f.Known || f.Value != 2 {
		t.Errorf("rekeys = %+v, want 2", f)
	}
	if f := s.Stats[analyzer.KeyDeletions]; f.Known {
		t.Errorf("key deletions = %d presented as known, although the IKE_AUTH child was never read", f.Value)
	}
	negotiated := 0
	for _, r := range s.Rows {
		if r.Pairing == "negotiated" {
			negotiated++
			for _, sa := range r.SAs() {
				if !sa.Keyed() && sa.Negotiation().Child.KeysReason == "" {
					t.Errorf("SA 0x%08x negotiated after the reload has no keys", sa.Key.SPI)
				}
			}
		}
	}
	if negotiated != 2 {
		t.Errorf("%d negotiated SA pairs, want the 2 created after the keys arrived", negotiated)
	}
	return s.Stats
}
