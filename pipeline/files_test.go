package pipeline_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/internal/benchgen"
	"ipsecmon/pipeline"
)

// TestFilesLimits: files that each fit a cap but together exceed it are
// read in order (one run would have refused SAs), and a cap they fit
// together changes nothing. Each host's capture has 2×12 SAs (benchgen).
func TestFilesLimits(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for h := 1; h <= 2; h++ {
		p := filepath.Join(dir, string(rune('a'+h))+".pcap")
		if _, _, err := benchgen.Write(p, benchgen.Spec{Packets: 500, Pairs: 12, Host: h}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, c := range []struct {
		maxSAs int
		why    string
	}{
		{47, "48 SAs together exceed --max-sas 47"},
		{48, ""},
		{0, ""},
	} {
		f, st, err := pipeline.Files(analyzer.Config{MaxSAs: c.maxSAs}, paths, 2)
		switch {
		case c.why != "" && (!errors.Is(err, analyzer.ErrInteract) || !strings.Contains(err.Error(), c.why)):
			t.Errorf("--max-sas %d: %v, want %q", c.maxSAs, err, c.why)
		case c.why == "" && err != nil:
			t.Errorf("--max-sas %d: %v", c.maxSAs, err)
		case c.why == "":
			if s := f.Snapshot(); s.SAs != 48 || s.Counts.Packets != 1000 || st.Frames != 1000 || len(st.Files) != 2 {
				t.Errorf("--max-sas %d: %d SAs, %d packets, %d frames in %d files; want 48, 1000, 1000, 2", c.maxSAs, s.SAs, s.Counts.Packets, st.Frames, len(st.Files))
			}
		}
	}
}

// TestMergeTwoIKE: one IKE tracker numbers and groups a run's
// negotiations, so inputs that both carry IKE are not merged (whatever
// their addresses: Merge does not look at them).
func TestMergeTwoIKE(t *testing.T) {
	lab := filepath.Join("..", "testdata", "pcaps", "lab")
	var parts []*analyzer.Analyzer
	for _, name := range []string{"ikev2-rekey", "ikev1-rekey"} {
		an := analyzer.New(analyzer.Config{})
		readInOrder(t, an, filepath.Join(lab, name, "capture.pcap"))
		parts = append(parts, an)
	}
	if _, err := analyzer.Merge(parts); !errors.Is(err, analyzer.ErrInteract) || !strings.Contains(err.Error(), "inputs 1 and 2 both carry IKE") {
		t.Errorf("Merge: %v", err)
	}
}
