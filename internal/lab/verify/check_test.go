package verify

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func labDir(t *testing.T) string {
	t.Helper()
	d, err := RecordingsDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func scenarios(t *testing.T) []string {
	t.Helper()
	dir := labDir(t)
	m, err := filepath.Glob(filepath.Join(dir, "*", "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatalf("no recorded scenarios (*/facts.json) under %s", dir)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Dir(p))
	}
	return out
}

// TestRecordingsAgreeWithTShark is acceptance criterion 2 of the lab: for
// every recorded scenario, tshark decrypts every ESP packet (ICV good) and
// every encrypted IKE message with the recorded keys, and the per-SPI packet
// and byte counts in the capture equal both daemons' counters.
func TestRecordingsAgreeWithTShark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (apt-get install tshark); the recordings cannot be cross-checked")
	}
	for _, dir := range scenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			res, err := Check(context.Background(), tshark, dir, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Problems {
				t.Error(p)
			}
			if res.ESPPackets == 0 {
				t.Error("no ESP packet in the capture")
			}
			t.Logf("%d frames: %d ESP (%d with empty padding checked with Go's crypto), %d/%d encrypted IKE decrypted, %d IKEv1 retransmissions, %d repeats, %d keepalives",
				res.Frames, res.ESPPackets, res.ESPZeroPadding, res.IKEDecrypted, res.IKEEncrypted, res.IKEv1Retransmissions, res.Duplicates, res.Keepalives)
		})
	}
}
