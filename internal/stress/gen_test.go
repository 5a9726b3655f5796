package stress

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode/ike"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// Each generator's capture, read by ipsecmon's own pipeline at a small
// size: the frames must be what the generator's comment promises, or the
// stress figures would measure something else. Expected counts follow from
// the generators' parameters (n, 44 fragments per datagram, 15 of 16 SKF
// fragments, ...), worked out by hand.
func TestGenerators(t *testing.T) {
	type want struct {
		frames, ipsec, ikev2, ikeErrors, sas, ikeSAs, badSPI int
		fragmentsHeld                                        int
	}
	tests := []struct {
		gen  Generator
		n    int
		keys bool
		want want
	}{
		{genPairs, 50, false, want{frames: 100, ipsec: 100, sas: 100}},
		{genLoneSAs, 50, false, want{frames: 50, ipsec: 50, sas: 50}},
		// The key file is the gateway's complete SA list: every packet is Bad SPI.
		{genBadSPI, 50, true, want{frames: 50, ipsec: 50, badSPI: 50}},
		// 4000 packets per SPI: 8000 packets are 2 SAs; 16,001 are 4 SAs
		// of 4000 and the first SA's fifth SPI with one packet.
		{genReplay, 8000, false, want{frames: 8000, ipsec: 8000, sas: 2}},
		{genReplay, 16_001, false, want{frames: 16_001, ipsec: 16_001, sas: 5}},
		{genFragments, 3, false, want{frames: 3 * 44, fragmentsHeld: 3 * 44}},
		{genIKEInit, 40, false, want{frames: 40, ikev2: 40, ikeSAs: 40}},
		{genIKEResponders, 40, false, want{frames: 40, ikev2: 40, ikeSAs: 40}},
		{genIKEMessages, 40, false, want{frames: 40, ikev2: 40, ikeSAs: 1}},
		{genIKEFragments, 40, false, want{frames: 40, ikev2: 40, ikeSAs: 1}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		keyPath := filepath.Join(t.TempDir(), "keys")
		frames, err := tt.gen(&buf, tt.n, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg := analyzer.Config{}
		if tt.keys {
			ks, err := keys.Load(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Keys = ks
		}
		run := readAll(t, &buf, cfg)
		snap := run.Analyzer().Snapshot()
		c := snap.Counts
		got := want{frames: frames, ipsec: int(c.IPsecPackets), ikev2: int(c.IKEv2Messages), ikeErrors: int(c.IKEErrors),
			sas: snap.SAs, badSPI: int(c.BadSPI), fragmentsHeld: int(run.Stats().FragmentsUnanalysed)}
		if snap.IKE != nil {
			got.ikeSAs = snap.IKE.IKESAs
		}
		if got != tt.want {
			t.Errorf("n=%d: got %+v, want %+v", tt.n, got, tt.want)
		}
		if sk := run.Stats().SkippedTotal(); sk != 0 {
			t.Errorf("n=%d: %d frames skipped: %v", tt.n, sk, run.Stats().Skipped)
		}
	}
}

// The IKE_SA_INIT offer is one IKE proposal of four transforms, as a
// daemon would send it (RFC 7296 §3.3.2).
func TestSAInitOffer(t *testing.T) {
	ps, err := ike.ParseSA(saInitOffer)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || len(ps[0].Transforms) != 4 {
		t.Fatalf("got %+v, want one proposal of 4 transforms", ps)
	}
	if tr := ps[0].Transforms[0]; tr.KeyLen() != 256 {
		t.Errorf("encryption key length %d, want 256", tr.KeyLen())
	}
}

// 100 interleaved datagrams of 44 fragments (8 + 43 × 1480 bytes of data
// each, 6.4 MB) do not fit reassembly's 4 MiB: the limit bites, and every
// fragment is either dropped under ipv4_reassembly or left over at the end.
func TestFragmentFloodLimit(t *testing.T) {
	var buf bytes.Buffer
	frames, err := genFragments(&buf, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	st := readAll(t, &buf, analyzer.Config{}).Stats()
	var hits uint64
	for _, l := range st.Limits {
		if l.Name == "ipv4_reassembly" {
			hits = l.Hits
		}
	}
	dropped := st.Skipped["IPv4 fragments dropped by reassembly"]
	if hits == 0 || hits != dropped || hits+st.FragmentsUnanalysed != uint64(frames) {
		t.Errorf("limit hits %d, dropped %d, left over %d, of %d fragments", hits, dropped, st.FragmentsUnanalysed, frames)
	}
}

// readAll reads a generated capture through ipsecmon's pipeline to its end.
func readAll(t *testing.T, capt io.Reader, cfg analyzer.Config) *pipeline.Run {
	t.Helper()
	run := pipeline.New(analyzer.New(cfg), pipeline.Options{})
	src, err := capture.NewReader("gen", capt)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Source(src); err != nil {
		t.Fatal(err)
	}
	run.Finish()
	return run
}

// 40 IKE_SA_INIT requests with room for 10 IKE SAs: 30 are forgotten, all
// half-open, and the snapshot's limits say so; the figure of IKE SAs seen
// still counts all 40.
func TestIKEFloodLimit(t *testing.T) {
	var buf bytes.Buffer
	if _, err := genIKEInit(&buf, 40, ""); err != nil {
		t.Fatal(err)
	}
	snap := readAll(t, &buf, analyzer.Config{MaxIKESAs: 10}).Analyzer().Snapshot()
	var hits uint64 = 1 << 63
	for _, l := range snap.Limits {
		if l.Name == "ike_sas" {
			hits = l.Hits
		}
	}
	if hits != 30 || snap.IKE == nil || snap.IKE.IKESAs != 40 || len(snap.IKESAs) != 10 {
		t.Errorf("ike_sas hits %d, IKE SAs counted %v, listed %d; want 30, 40, 10", hits, snap.IKE, len(snap.IKESAs))
	}
}
