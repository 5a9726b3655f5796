package pipeline_test

import (
	"path/filepath"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/internal/benchgen"
	"ipsecmon/keys"
)

// The mixed capture's packets are sealed by benchgen with the standard
// library, apart from espcrypto: every packet of every suite must verify
// and decrypt, with any number of workers, to the same figures.
func TestMixedCaptureVerifies(t *testing.T) {
	dir := t.TempDir()
	path, keyFile := filepath.Join(dir, "m.pcap"), filepath.Join(dir, "k.txt")
	spec := benchgen.Spec{Packets: 3000, Pairs: 2 * len(benchgen.MixedSuites)}
	frames, _, err := benchgen.WriteMixed(path, keyFile, spec, benchgen.MixedGap)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	bySuite := map[[2]string]uint64{}
	var want []analyzer.SA
	for _, w := range []int{1, 2} {
		an := analyzer.New(analyzer.Config{Keys: ks, Workers: w})
		statsOnce(t, an, path)
		var verified uint64
		var got []analyzer.SA
		for _, sa := range an.SAs() {
			verified += sa.Accepted - sa.Unverified
			if sa.Packets() != sa.Accepted {
				t.Errorf("%d workers: %v: %d packets, %d accepted", w, sa.Key, sa.Packets(), sa.Accepted)
			}
			if k := sa.Keys(); w == 1 && k != nil {
				bySuite[[2]string{k.Enc.String(), k.Auth.String()}] += sa.Accepted - sa.Unverified
			}
			got = append(got, *sa)
		}
		if verified != uint64(frames) {
			t.Errorf("%d workers: %d of %d packets verified", w, verified, frames)
		}
		if w == 1 {
			want = got
			continue
		}
		for i := range want {
			if got[i].Accepted != want[i].Accepted || got[i].PlainBytes != want[i].PlainBytes || got[i].Bytes != want[i].Bytes {
				t.Errorf("SA %d differs between 1 and %d workers", i, w)
			}
		}
	}
	// 7 suites; AES-CBC appears with SHA1 and SHA2-256.
	if len(bySuite) != len(benchgen.MixedSuites) {
		t.Errorf("suites verified: %v, want %d", bySuite, len(benchgen.MixedSuites))
	}
	for s, n := range bySuite {
		if n == 0 {
			t.Errorf("suite %v: nothing verified", s)
		}
	}
}
