package pipeline_test

import (
	"errors"
	"fmt"
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

// TestMergeTwoIKE: inputs that both carry IKE are merged when their IKE
// trackers could not have met, with the run's numbering, and refused when
// they could: an IKE SPI in both (the same recording twice), IKE SAs that
// fit the tracker's cap apart but not together. The IKE SAs are counted
// and named from the lab's keys.txt (charon's log): ikev2-rekey has 2 IKE
// SAs, ikev1-rekey 1. (Merge does not look at addresses, which these two
// recordings share: pipeline.Files does.)
func TestMergeTwoIKE(t *testing.T) {
	lab := filepath.Join("..", "testdata", "pcaps", "lab")
	ispis := map[string]bool{"77c72bf6fe673f19": true, "41feb766790bd0d2": true} // ikev2-rekey's keys.txt
	for _, c := range []struct {
		names  []string
		maxIKE int
		why    string
	}{
		{[]string{"ikev2-rekey", "ikev1-rekey"}, 3, ""},
		{[]string{"ikev2-rekey", "ikev1-rekey"}, 2, "3 IKE SAs together exceed the IKE tracker's limit of 2"},
		{[]string{"ikev2-rekey", "ikev2-rekey"}, 0, "is in inputs 1 and 2"},
	} {
		var parts []*analyzer.Analyzer
		for _, name := range c.names {
			an := analyzer.New(analyzer.Config{MaxIKESAs: c.maxIKE})
			readInOrder(t, an, filepath.Join(lab, name, "capture.pcap"))
			parts = append(parts, an)
		}
		f, err := analyzer.Merge(parts)
		switch {
		case c.why != "":
			if !errors.Is(err, analyzer.ErrInteract) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("%v, cap %d: %v, want %q", c.names, c.maxIKE, err, c.why)
			} else if spi, ok := strings.CutPrefix(err.Error(), analyzer.ErrInteract.Error()+": IKE SPI "); ok && !ispis[strings.Fields(spi)[0]] {
				t.Errorf("%v: %v names an SPI not in keys.txt", c.names, err)
			}
		case err != nil:
			t.Errorf("%v, cap %d: %v", c.names, c.maxIKE, err)
		default:
			s := f.Snapshot()
			var got []string
			for _, k := range s.IKESAs {
				got = append(got, fmt.Sprintf("%d v%d", k.ID, k.Version))
			}
			if want := "1 v2,2 v2,3 v1"; strings.Join(got, ",") != want {
				t.Errorf("%v: IKE SAs %v, want %s", c.names, got, want)
			}
		}
	}
}
