package livecheck

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"
)

// A profile written by the pprof library with known stacks: each sample's
// stage follows from its frames as the comments say, so the shares are
// counted by hand.
func TestCPUByStage(t *testing.T) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     1000000,
	}
	fns := map[string]*profile.Function{}
	loc := func(names ...string) *profile.Location {
		l := &profile.Location{ID: uint64(len(p.Location) + 1)}
		for _, n := range names {
			f := fns[n]
			if f == nil {
				f = &profile.Function{ID: uint64(len(p.Function) + 1), Name: n}
				fns[n] = f
				p.Function = append(p.Function, f)
			}
			l.Line = append(l.Line, profile.Line{Function: f})
		}
		p.Location = append(p.Location, l)
		return l
	}
	read := loc("ipsecmon/pipeline.(*Live).read")
	sample := func(ms int64, locs ...*profile.Location) {
		p.Sample = append(p.Sample, &profile.Sample{Location: append(locs, read), Value: []int64{ms, ms * 1e6}})
	}
	// 40 ms hashing: SHA-256 under espcrypto.
	sample(40, loc("crypto/internal/fips140/sha256.blockSHANI"), loc("ipsecmon/espcrypto.(*Transform).openESP"), loc("ipsecmon/analyzer.open"))
	// 20 ms in libpcap's C code: the Go stack starts at the cgo call.
	sample(20, loc("runtime.cgocall"), loc("github.com/gopacket/gopacket/pcap._Cfunc_pcap_next_ex"), loc("ipsecmon/capture.(*LiveSource).Next"))
	// 15 ms: memmove inlined into decode is decode.
	sample(15, loc("runtime.memmove", "ipsecmon/decode.(*Decoder).fill"))
	// 10 ms: an allocation in the analyzer is analysis, and so is the
	// compiler's equality function of one of its types.
	sample(6, loc("runtime.mallocgc"), loc("ipsecmon/analyzer.(*Analyzer).lookupSA"))
	sample(2, loc("memeqbody"), loc("type:.eq.ipsecmon/analyzer.SAKey"), loc("runtime.mapaccess1"), loc("ipsecmon/analyzer.(*Analyzer).lookupSA"))
	sample(2, loc("aeshashbody"), loc("type:.hash.ipsecmon/analyzer.SAKey"), loc("runtime.mapaccess1"), loc("ipsecmon/analyzer.(*Analyzer).lookupSA"))
	// 10 ms gopacket's layers are decode.
	sample(10, loc("github.com/gopacket/gopacket/layers.(*IPv4).DecodeFromBytes"), loc("ipsecmon/decode.(*Decoder).decodeLayers"))
	// 5 ms: the GC's worker, no stage of ours.
	p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc("runtime.scanblock"), loc("runtime.gcBgMarkWorker")}, Value: []int64{5, 5e6}})
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	// The same profile twice: the seconds double, the shares stay.
	got, err := CPUByStage(bytes.NewReader(b.Bytes()), bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := []StageShare{
		{StageCrypto, 0.080, 0.40},
		{StageDecode, 0.050, 0.25},
		{StageCapture, 0.040, 0.20},
		{StageAnalysis, 0.020, 0.10},
		{StageRuntime, 0.010, 0.05},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Stage != w.Stage || abs(g.Seconds-w.Seconds) > 1e-9 || abs(g.Share-w.Share) > 1e-9 {
			t.Errorf("%d: got %+v, want %+v", i, g, w)
		}
	}
	if s := FormatStages(got); s != "verification and decryption 40%, decode 25%, capture (libpcap, its copy and cgo call) 20%, analysis (SA lookup, replay window, counters) 10%, Go runtime (GC, scheduler) 5% (200 ms sampled)" {
		t.Errorf("FormatStages: %s", s)
	}
	if _, err := CPUByStage(bytes.NewReader([]byte("not a profile"))); err == nil {
		t.Error("garbage: no error")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
