package findings

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	pb "ipsecmon/internal/pktbuild"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestNATMappingChanged: hand-built ESP whose source moved — SPI
// 0x0000a001 in UDP 4500 from 10.0.0.2:4500 (5 packets), then from
// 10.0.0.2:40001 (4 packets), as a NAT that rebuilt its mapping sends it;
// SPI 0x0000b001 in plain ESP from 10.0.0.3 (3 packets) then 10.0.0.4 (2);
// SPI 0x0000c001 from one source throughout. Two findings, on the first
// two SPIs, with those counts.
func TestNATMappingChanged(t *testing.T) {
	me := [4]byte{10, 0, 0, 1}
	var fr []pb.Frame
	add := func(n int, f func(seq uint32) []byte) {
		for i := 0; i < n; i++ {
			fr = append(fr, pb.Frame{Data: f(uint32(len(fr) + 1))})
		}
	}
	encap := func(sport uint16) func(uint32) []byte {
		return func(seq uint32) []byte {
			return pb.Cat(pb.IPv4(17, [4]byte{10, 0, 0, 2}, me, 8+100, 0), pb.UDP(sport, 4500, 100), pb.ESP(0xa001, seq, 92))
		}
	}
	plain := func(spi uint32, src byte) func(uint32) []byte {
		return func(seq uint32) []byte { return pb.ESPPacket([4]byte{10, 0, 0, src}, me, spi, seq, 100) }
	}
	add(5, encap(4500))
	add(3, plain(0xb001, 3))
	add(4, plain(0xc001, 5))
	add(4, encap(40001))
	add(2, plain(0xb001, 4))
	pcap := filepath.Join(t.TempDir(), "nat.pcap")
	if err := pb.WritePcap(pcap, t0, fr); err != nil {
		t.Fatal(err)
	}
	me4 := netip.PrefixFrom(netip.AddrFrom4(me), 32)
	fs, _ := analyse(t, "", analyzer.Config{Me: []netip.Prefix{me4}}, pcap)
	var got []string
	for _, f := range fs {
		if f.Kind == NATMappingChanged {
			got = append(got, f.Detail)
		}
	}
	want := []string{
		"SPI 0x0000a001 to 10.0.0.1 arrived from 10.0.0.2:4500 (5 packets from 03:04:05.000), then 10.0.0.2:40001 (4 packets from 03:04:17.000).",
		"SPI 0x0000b001 to 10.0.0.1 arrived from 10.0.0.3 (5 packets from 03:04:10.000); 2 packets came from another address than the SA's first.",
	}
	if len(got) != len(want) {
		t.Fatalf("findings %q, want 2", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], strings.TrimSuffix(want[i], ".")) {
			t.Errorf("finding %d:\n got %s\nwant %s ...", i, got[i], want[i])
		}
	}
}

// TestBadSPIBursts: a key file declared complete for 10.0.0.1 lists SPI
// 0x00000100 only, so every packet to 10.0.0.1 on another SPI is Bad SPI
// (one second apart, as pktbuild writes them). SPI 0x0000dead: 12 packets
// in a row, a burst; 0x0000beef: 5 packets, too few; 0x0000f00d: 5, then
// 11 s of other traffic, then 5 more: two runs of 5, neither a burst.
func TestBadSPIBursts(t *testing.T) {
	me := [4]byte{10, 0, 0, 1}
	peer := [4]byte{10, 0, 0, 2}
	dir := t.TempDir()
	good := pb.Sealer{SPI: 0x100, Key: pb.Seq(1, 16), AuthKey: pb.Seq(2, 32)}
	keyFile := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(keyFile, []byte(fmt.Sprintf("esp spi=0x00000100 dst=10.0.0.1 enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x\n", good.Key, good.AuthKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	var fr []pb.Frame
	goodSeq := uint64(0)
	add := func(n int, spi uint32) {
		for i := 0; i < n; i++ {
			if spi == 0x100 {
				goodSeq++
				esp := good.Seal(goodSeq, pb.InnerICMP(peer, me, 8), 4, pb.NoFault)
				fr = append(fr, pb.Frame{Data: pb.Cat(pb.IPv4(50, peer, me, len(esp), 0), esp)})
				continue
			}
			fr = append(fr, pb.Frame{Data: pb.ESPPacket(peer, me, spi, uint32(i+1), 100)})
		}
	}
	add(1, 0x100)
	add(12, 0xdead)
	add(5, 0xbeef)
	add(5, 0xf00d)
	add(11, 0x100)
	add(5, 0xf00d)
	pcap := filepath.Join(dir, "badspi.pcap")
	if err := pb.WritePcap(pcap, t0, fr); err != nil {
		t.Fatal(err)
	}
	me4 := netip.PrefixFrom(netip.AddrFrom4(me), 32)
	fs, in := analyse(t, keyFile, analyzer.Config{Me: []netip.Prefix{me4}, CompleteKeys: true}, pcap)
	if n := in.Snap.Stats[analyzer.BadSPIPackets].Value; n != 27 {
		t.Fatalf("%d Bad SPI packets, want 12+5+10", n)
	}
	var got []Finding
	for _, f := range fs {
		if f.Kind == BadSPIBurst {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].SPIIn != 0xdead || !got[0].HasIn || got[0].Severity != Medium ||
		!got[0].Time.Equal(t0.Add(1*time.Second)) || !got[0].Until.Equal(t0.Add(12*time.Second)) ||
		!strings.HasPrefix(got[0].Detail, "12 packets from 10.0.0.2 to 10.0.0.1 on SPI 0x0000dead between 03:04:06.000 and 03:04:17.000") {
		t.Errorf("bursts %+v, want one of 12 packets on 0x0000dead", got)
	}
}
