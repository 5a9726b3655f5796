package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// The analyzer's record of negotiated pairs follows the IKE tracker's
// (limit ike_sa_pairs): 40 CREATE_CHILD_SA exchanges on one IKE SA (plus
// IKE_AUTH's pair) with the tracker capped at 8 pairs. By the tracker's
// rule (over the cap it keeps three quarters of it: 6), the analyzer holds
// fewer than 16 records (twice the cap, where it drops those the tracker
// forgot), every pair the tracker still keeps among them; and the last
// pair's REKEY_SA still finds its predecessor.
func TestNegotiatedPairsFollowTracker(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	frames := v2IKESA(0, A1, A2, 0x11111111, 0x22222222)
	const n = 40
	for i := uint32(0); i < n; i++ {
		frames = append(frames, v2Child(1+float64(i), A1, A2, 2+i, 0, 0x30000000+i, 0x40000000+i)...)
	}
	// A rekey of the last pair (A receives on 0x30000000+n-1).
	frames = append(frames, v2Child(100, A1, A2, 2+n, 0x30000000+n-1, 0x50000000, 0x60000000)...)
	a := New(Config{Me: prefixes(hostA), Keys: ks})
	l := a.tracker.Limits()
	l.Children = 8
	a.tracker.SetLimits(l)
	feed(t, a, frames...)
	a.Finish()

	if len(a.ikeChildren) >= 2*l.Children {
		t.Errorf("%d negotiated pairs recorded, want fewer than %d", len(a.ikeChildren), 2*l.Children)
	}
	kept := a.tracker.ChildSAs()
	if f := a.tracker.Forgotten().Children; int(f)+len(kept) != n+2 {
		t.Errorf("tracker: %d pairs forgotten + %d kept, want %d negotiated", f, len(kept), n+2)
	}
	for _, c := range kept {
		if a.ikeChildren[c.ID] == nil {
			t.Errorf("pair %d (SPIs %08x/%08x) is kept by the tracker but not by the analyzer", c.ID, c.SPIInitiator, c.SPIResponder)
		}
	}
	sa := a.sas[SAKey{Dst: netip.MustParseAddr(hostB), SPI: 0x60000000, Proto: 50}]
	if sa == nil || sa.prev == nil || sa.prev.Key.SPI != 0x40000000+n-1 {
		t.Errorf("the rekey's new SA A→B %v does not follow 0x%08x", sa, 0x40000000+n-1)
	}
}

// An evicted SA leaves its pair's record: the record keeps only the
// figures a later rekey needs (TestRekeyOfEvictedPair checks the rekey).
func TestEvictedSALeavesPairRecord(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	frames := cat(
		v2IKESA(0, A1, A2, 0x11111111, 0x22222222),
		repeat(1, 3, func(s uint32) []byte { return esp4(hostA, hostB, 0x22222222, s, 100) }),
		[]frame{{20, esp4(hostB, hostA, 0x99999999, 1, 100)}}, // time passes: the sweep evicts the pair
	)
	a := run(t, Config{Me: prefixes(hostA), Keys: ks, IdleTimeout: 5 * time.Second}, frames...)
	if c := a.Counts(); c.EvictedSAs != 2 {
		t.Fatalf("%d SAs evicted, want the pair's 2", c.EvictedSAs)
	}
	if len(a.ikeChildren) != 1 {
		t.Fatalf("%d pair records, want 1", len(a.ikeChildren))
	}
	for _, p := range a.ikeChildren {
		if p.sas[0] != nil || p.sas[1] != nil {
			t.Errorf("the record still holds an evicted SA: %v", p.sas)
		}
		if p.gone[0] == nil || p.gone[1] == nil || p.gone[0].spi != 0x22222222 || p.gone[1].spi != 0x11111111 {
			t.Errorf("the record's figures %+v %+v, want the SPIs 0x22222222 and 0x11111111", p.gone[0], p.gone[1])
		}
	}
}
