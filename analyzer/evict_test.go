package analyzer

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"ipsecmon/bounds"
	"ipsecmon/decode"
	"ipsecmon/event"
	"ipsecmon/ipproto"
)

var epoch = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func espPacket(src, dst string, spi, seq uint32, n int) *decode.Packet {
	p := &decode.Packet{Kind: decode.KindIPsec, IPVersion: 4, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), NIPsec: 1}
	p.IPsec[0] = decode.IPsecHeader{Proto: ipproto.ESP, SPI: spi, Seq: seq, WireLen: n}
	return p
}

func TestMaxSAs(t *testing.T) {
	a := New(Config{MaxSAs: 2, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	// Two SAs fill the table; the third SA's 5 packets are untracked, and
	// the first two keep counting.
	for seq := uint32(1); seq <= 5; seq++ {
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x100, seq, 100), Ref{})
		a.Packet(epoch, espPacket("10.0.0.1", "10.0.0.2", 0x200, seq, 100), Ref{})
		a.Packet(epoch, espPacket("10.0.0.3", "10.0.0.1", 0x300, seq, 100), Ref{})
	}
	if n := len(a.SAs()); n != 2 {
		t.Fatalf("%d SAs tracked, want 2", n)
	}
	if c := a.Counts(); c.Untracked != 5 {
		t.Errorf("untracked %d, want 5", c.Untracked)
	}
	s := a.Snapshot()
	if s.Stats[ConfidentialReceived].Value != 500 || s.Stats[ConfidentialSent].Value != 500 {
		t.Errorf("bytes received %d sent %d, want 500 each", s.Stats[ConfidentialReceived].Value, s.Stats[ConfidentialSent].Value)
	}
}

func TestIdleEvictionKeepsTotals(t *testing.T) {
	a := New(Config{IdleTimeout: 10 * time.Second, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	// A sends at 0..2 s, B at 0..30 s. At 30 s A has been idle 28 s > 10 s.
	for i := 0; i <= 30; i++ {
		ts := epoch.Add(time.Duration(i) * time.Second)
		if i <= 2 {
			a.Packet(ts, espPacket("10.0.0.2", "10.0.0.1", 0xa, uint32(i+1), 100), Ref{})
		}
		a.Packet(ts, espPacket("10.0.0.1", "10.0.0.2", 0xb, uint32(i+1), 50), Ref{})
	}
	if n := len(a.SAs()); n != 1 || a.SAs()[0].Key.SPI != 0xb {
		t.Fatalf("tracked %d SAs, want only B", n)
	}
	s := a.Snapshot()
	// A: 3 packets × 100 B received; B: 31 × 50 B sent.
	if got := s.Stats[ConfidentialReceived]; got.Value != 300 {
		t.Errorf("received %d, want 300 (A's totals survive its eviction)", got.Value)
	}
	if got := s.Stats[ConfidentialSent]; got.Value != 1550 {
		t.Errorf("sent %d, want 1550", got.Value)
	}
	if got := s.Stats[ActiveSAs]; got.Value != 2 {
		t.Errorf("active SAs %d, want 2: idle is not deleted", got.Value)
	}
	if c := a.Counts(); c.EvictedSAs != 1 {
		t.Errorf("evicted %d, want 1", c.EvictedSAs)
	}
}

// A flood of random SPIs must not grow memory past the cap, and the SAs that
// were there before keep their figures.
func TestRandomSPIFlood(t *testing.T) {
	const cap, flood = 10_000, 1_000_000
	a := New(Config{MaxSAs: cap, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	for seq := uint32(1); seq <= 10; seq++ {
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x100, seq, 100), Ref{})
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	p := espPacket("10.9.9.9", "10.0.0.1", 0, 1, 60)
	for i := 0; i < flood; i++ {
		// Multiplying by an odd constant permutes uint32: scattered SPIs, none twice.
		p.IPsec[0].SPI = uint32(i+1) * 2654435761
		a.Packet(epoch, p, Ref{})
	}
	for seq := uint32(11); seq <= 20; seq++ {
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x100, seq, 100), Ref{})
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if n := len(a.SAs()); n != cap {
		t.Errorf("%d SAs tracked, want the cap %d", n, cap)
	}
	c := a.Counts()
	if c.Untracked != flood-(cap-1) {
		t.Errorf("untracked %d, want %d", c.Untracked, flood-(cap-1))
	}
	legit := a.sas[SAKey{Dst: netip.MustParseAddr("10.0.0.1"), SPI: 0x100, Proto: ipproto.ESP}]
	if legit == nil || legit.Accepted != 20 || legit.Bytes != 2000 {
		t.Fatalf("the legitimate SA lost its figures: %+v", legit)
	}
	// 500 bytes per tracked SA is the design budget; allow the flood's SAs that.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > cap*500 {
		t.Errorf("heap grew %d bytes for %d SAs, more than 500 per SA", grew, cap)
	}
}

// Windows of 1000 packets take (16 blocks + 1) × 16 = 272 bytes each
// (ReplayWindowBytes, checked against the ring's length in replay_test):
// a budget of 1000 bytes holds three (816 bytes); the fourth SA's packets
// are untracked under replay_window_memory, and an eviction makes room.
func TestReplayMemoryBudget(t *testing.T) {
	var events []Event
	a := New(Config{ReplayWindow: 1000, ReplayMemory: 1000, IdleTimeout: 10 * time.Second, OnEvent: func(e Event) { events = append(events, e) }})
	for spi := uint32(1); spi <= 4; spi++ {
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", spi, 1, 100), Ref{})
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", spi, 2, 100), Ref{})
	}
	if n := len(a.SAs()); n != 3 {
		t.Fatalf("%d SAs tracked, want 3", n)
	}
	if c := a.Counts(); c.Untracked != 2 {
		t.Errorf("untracked %d, want 2", c.Untracked)
	}
	limit := func() bounds.Limit {
		for _, l := range a.Limits() {
			if l.Name == "replay_window_memory" {
				return l
			}
		}
		t.Fatal("no replay_window_memory limit")
		return bounds.Limit{}
	}
	if l := limit(); l.Hits != 2 || l.Cap != 1000 {
		t.Errorf("limit %+v, want 2 hits of cap 1000", l)
	}
	full := 0
	for _, e := range events {
		if e.Kind == event.SATableFull {
			full++
		}
	}
	if full != 1 {
		t.Errorf("%d %s events, want 1", full, event.SATableFull)
	}
	// SA 1 alone stays busy; at 11 s the other three are idle past 10 s and
	// go, their windows with them: a fifth SA fits.
	a.Packet(epoch.Add(5*time.Second), espPacket("10.0.0.2", "10.0.0.1", 1, 3, 100), Ref{})
	a.Packet(epoch.Add(11*time.Second), espPacket("10.0.0.2", "10.0.0.1", 1, 4, 100), Ref{})
	a.Packet(epoch.Add(11*time.Second), espPacket("10.0.0.2", "10.0.0.1", 5, 1, 100), Ref{})
	if n := len(a.SAs()); n != 2 {
		t.Fatalf("%d SAs tracked after eviction, want 2 (SA 1 and SA 5)", n)
	}
	if l := limit(); l.Hits != 2 {
		t.Errorf("limit hits %d after eviction, want still 2", l.Hits)
	}
}

// The evicted totals keep endpoints for 4096 keys (limit evicted_totals):
// 4100 SAs from distinct sources to Me, 100 bytes each, all evicted. By
// hand: the first 4096 keep their endpoints (409,600 bytes received), the
// last 4 lose them and count as transit (400 bytes, 4 SAs), and the limit
// counts those 4.
func TestEvictedTotalsBound(t *testing.T) {
	a := New(Config{IdleTimeout: 5 * time.Second, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	const n = maxEvictedTallies + 4
	for i := range n {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		a.Packet(epoch, espPacket(src.String(), "10.0.0.1", 0x1000+uint32(i), 1, 100), Ref{})
	}
	a.Packet(epoch.Add(20*time.Second), espPacket("10.0.0.2", "10.0.0.1", 0x200, 1, 100), Ref{}) // the sweep
	if c := a.Counts(); c.EvictedSAs != n {
		t.Fatalf("%d SAs evicted, want %d", c.EvictedSAs, n)
	}
	s := a.Snapshot()
	if got := s.Stats[ConfidentialReceived]; got.Value != 409_600+100 || got.Why != WhyTransit || got.N != 400 || got.M != 4 {
		t.Errorf("received %+v, want 409,700 bytes (4096 evicted SAs and the live one), leaving out 400 bytes of 4 SAs as transit", got)
	}
	var lim *bounds.Limit
	for i, l := range s.Limits {
		if l.Name == "evicted_totals" {
			lim = &s.Limits[i]
		}
	}
	if lim == nil || lim.Hits != 4 || lim.Cap != maxEvictedTallies {
		t.Errorf("limit evicted_totals %+v, want 4 hits of a cap of %d", lim, maxEvictedTallies)
	}
}
