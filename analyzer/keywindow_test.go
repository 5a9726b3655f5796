package analyzer

import (
	"net/netip"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// TestKeyEntryReplayWindow: an SA whose key entry gives its own window
// (here 1000 packets; the Config's is 64) checks with it, and the memory
// counted is that window's. After seq 2000, 1100 is inside a 1000-packet
// window (1001..2000) and 900 is left of it; with 64, both would be.
func TestKeyEntryReplayWindow(t *testing.T) {
	ks := &keys.Set{SAs: []keys.SA{{Proto: ipproto.ESP, SPI: 0x100, Dst: netip.MustParsePrefix("10.0.0.1/32"),
		Enc: algo.EncAESCBC, Auth: algo.AuthHMACSHA1_96, NoKeys: true, ReplayWindow: 1000, Origin: "k:1"}}}
	a := New(Config{Keys: ks, ReplayWindow: 64, Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
	for _, seq := range []uint32{2000, 1100, 900} {
		a.Packet(epoch, espPacket("10.0.0.2", "10.0.0.1", 0x100, seq, 100), Ref{})
	}
	// An SA without a key entry keeps the Config's window.
	for _, seq := range []uint32{2000, 1100} {
		a.Packet(epoch, espPacket("10.0.0.3", "10.0.0.1", 0x200, seq, 100), Ref{})
	}
	got := map[uint32]*SA{}
	for _, sa := range a.SAs() {
		got[sa.Key.SPI] = sa
	}
	if sa := got[0x100]; sa == nil || sa.Window.Size() != 1000 || sa.Replayed != 1 {
		t.Errorf("keyed SA: %+v", sa)
	}
	if sa := got[0x200]; sa == nil || sa.Window.Size() != 64 || sa.Replayed != 1 {
		t.Errorf("unkeyed SA: %+v", sa)
	}
	if want := ReplayWindowBytes(1000) + ReplayWindowBytes(64); a.windowBytes != want {
		t.Errorf("window memory %d, want %d", a.windowBytes, want)
	}
}
