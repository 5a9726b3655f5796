package findings

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/decode/ike"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
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

// ikeFrame is an IKE message in UDP 500 between two 10.0.0.x hosts.
func ikeFrame(src, dst byte, msg []byte) pb.Frame {
	return pb.Frame{Data: pb.Cat(pb.IPv4(17, [4]byte{10, 0, 0, src}, [4]byte{10, 0, 0, dst}, 8+len(msg), 0), pb.UDP(500, 500, len(msg)), msg)}
}

// TestRekeyCollision: both peers rekey the IKE_AUTH pair at once (RFC 7296
// §2.8.1), hand-built IKEv2 between A (10.0.0.1, initiator) and B
// (10.0.0.2) whose SK payloads are in the clear (the key entry says
// ENCR_NULL without integrity): A's CREATE_CHILD_SA (message 2) names
// REKEY_SA 0x11111111, A's inbound SPI of the pair, and makes the pair
// 0x33333333/0x44444444; B's own (its message 0) names REKEY_SA
// 0x22222222, its inbound SPI, and makes 0x55555555/0x66666666. One
// rekey_collision, naming both new pairs (SPIs as A, this host, sees them:
// inbound/outbound) at their answers, frames 7 and 8 (6 and 7 s after the
// first, as pktbuild spaces them).
func TestRekeyCollision(t *testing.T) {
	si, sr := pb.SPI8("a1a1a1a1a1a1a1a1"), pb.SPI8("b2b2b2b2b2b2b2b2")
	var zero ike.SPI
	const I, R = ike.FlagInitiator, ike.FlagResponse
	sel := []pb.Payload{{T: ike.PayloadTSi, B: pb.TSv4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: pb.TSv4("10.2.0.0", "10.2.255.255")}}
	child := func(lead ...pb.Payload) []pb.Payload { return append(lead, sel...) }
	rekey := func(spi uint32) pb.Payload { return pb.NotifyV2(ike.ProtoESP, pb.U32(spi), ike.NotifyRekeySA) }
	nonce := func(b byte) pb.Payload { return pb.NonceV2(pb.Seq(b, 16)) }
	frames := []pb.Frame{
		ikeFrame(1, 2, pb.V2Msg(si, zero, ike.ExchangeIKESAInit, I, 0, pb.SAv2(pb.IKEProposalV2(nil)), pb.KEv2(14), nonce(0xa0))),
		ikeFrame(2, 1, pb.V2Msg(si, sr, ike.ExchangeIKESAInit, R, 0, pb.SAv2(pb.IKEProposalV2(nil)), pb.KEv2(14), nonce(0xb0))),
		ikeFrame(1, 2, pb.V2SK(si, sr, ike.ExchangeIKEAuth, I, 1, child(pb.IDv2(ike.PayloadIDi, "a"), pb.AuthV2(), pb.SAv2(pb.ESPProposalV2(0x11111111, 0)))...)),
		ikeFrame(2, 1, pb.V2SK(si, sr, ike.ExchangeIKEAuth, R, 1, child(pb.IDv2(ike.PayloadIDr, "b"), pb.AuthV2(), pb.SAv2(pb.ESPProposalV2(0x22222222, 0)))...)),
		ikeFrame(1, 2, pb.V2SK(si, sr, ike.ExchangeCreateChildSA, I, 2, child(rekey(0x11111111), pb.SAv2(pb.ESPProposalV2(0x33333333, 0)), nonce(0xc0))...)),
		ikeFrame(2, 1, pb.V2SK(si, sr, ike.ExchangeCreateChildSA, 0, 0, child(rekey(0x22222222), pb.SAv2(pb.ESPProposalV2(0x55555555, 0)), nonce(0xd0))...)),
		ikeFrame(2, 1, pb.V2SK(si, sr, ike.ExchangeCreateChildSA, R, 2, child(pb.SAv2(pb.ESPProposalV2(0x44444444, 0)), nonce(0xc1))...)),
		ikeFrame(1, 2, pb.V2SK(si, sr, ike.ExchangeCreateChildSA, I|R, 0, child(pb.SAv2(pb.ESPProposalV2(0x66666666, 0)), nonce(0xd1))...)),
	}
	pcap := filepath.Join(t.TempDir(), "collision.pcap")
	if err := pb.WritePcap(pcap, t0, frames); err != nil {
		t.Fatal(err)
	}
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: si, SPIr: sr, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	me := netip.MustParsePrefix("10.0.0.1/32")
	fs, _ := analyse(t, "", analyzer.Config{Me: []netip.Prefix{me}, Keys: ks}, pcap)
	var got []string
	for _, f := range fs {
		if f.Kind == RekeyCollision {
			got = append(got, f.Detail)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "2 pairs replace it (0x33333333/0x44444444 at 03:04:11.000, 0x66666666/0x55555555 at 03:04:12.000)") {
		t.Errorf("collisions %q", got)
	}
}

// TestESNNeeded: SA 0x0000e001's sequence numbers rise from 1 to 2^31 over
// 11 packets 2 s apart (pktbuild spaces frames 1 s apart, and they
// alternate with SA 0x0000e002's): 2^31-1 numbers in 20 s, and 2^32-1 -
// 2^31 = 2^31-1 left, 20 s to exhaustion. SA 0x0000e002 numbers 1 to 11
// in the same 20 s: centuries left. One esn_needed, on the first.
func TestESNNeeded(t *testing.T) {
	me, peer := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	var fr []pb.Frame
	for i := uint32(0); i <= 10; i++ {
		seq := 1 + i*((1<<31-1)/10)
		if i == 10 {
			seq = 1 << 31
		}
		fr = append(fr, pb.Frame{Data: pb.ESPPacket(peer, me, 0xe001, seq, 100)}, pb.Frame{Data: pb.ESPPacket(me, peer, 0xe002, i+1, 100)})
	}
	pcap := filepath.Join(t.TempDir(), "esn.pcap")
	if err := pb.WritePcap(pcap, t0, fr); err != nil {
		t.Fatal(err)
	}
	fs, _ := analyse(t, "", analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}, pcap)
	var got []string
	for _, f := range fs {
		if f.Kind == ESNNeeded {
			got = append(got, f.Detail)
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "SA 0x0000e001 (10.0.0.2→10.0.0.1) numbered its packets from 1 to 2,147,483,648 in 20.0 s, 107,374,182 a second: at that rate its 32-bit sequence space runs out in 20.0 s.") {
		t.Errorf("esn_needed %q", got)
	}
}

// TestMTU: 10.0.0.2 sends SA 0x0000f001 to this host, 10.0.0.1: two ESP
// packets of 1600 bytes (IP length) cut into fragments of 1500 and 120
// bytes (RFC 791), then one of 120 bytes whole; this host sends SA
// 0x0000f002 back (4 packets, the pair's other half) and router
// 10.0.0.254 answers two of them with ICMP fragmentation needed, next-hop
// MTU 1400 then 1380 (RFC 1191); it also quotes an IKE message from
// 10.0.0.1:500. One finding for the pair (fragments of 0x0000f001, the
// ICMP about 0x0000f002, the smaller MTU), one for IKE.
func TestMTU(t *testing.T) {
	me, peer, router := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, [4]byte{10, 0, 0, 254}
	icmp := func(mtu uint16, quoted []byte) pb.Frame {
		msg := pb.Cat([]byte{3, 4, 0, 0, 0, 0}, pb.U16(mtu), quoted[:48])
		return pb.Frame{Data: pb.Cat(pb.IPv4(1, router, me, len(msg), 0), msg)}
	}
	var fr []pb.Frame
	for seq := uint32(1); seq <= 2; seq++ {
		for _, f := range pb.FragmentIPv4(pb.ESPPacket(peer, me, 0xf001, seq, 1580), uint16(seq), 1480) {
			fr = append(fr, pb.Frame{Data: f})
		}
		fr = append(fr, pb.Frame{Data: pb.ESPPacket(me, peer, 0xf002, seq, 1480)})
	}
	fr = append(fr, pb.Frame{Data: pb.ESPPacket(peer, me, 0xf001, 3, 100)}, pb.Frame{Data: pb.ESPPacket(me, peer, 0xf002, 3, 100)})
	fr = append(fr, icmp(1400, pb.ESPPacket(me, peer, 0xf002, 1, 1480)), icmp(1380, pb.ESPPacket(me, peer, 0xf002, 2, 1480)))
	ike := pb.Cat(pb.IPv4(17, me, peer, 8+28, 0), pb.UDP(500, 500, 28), pb.IKEHeader(0x20, 35, 8, 1, 28))
	fr = append(fr, icmp(1280, ike), pb.Frame{Data: pb.ESPPacket(me, peer, 0xf002, 4, 100)})
	pcap := filepath.Join(t.TempDir(), "mtu.pcap")
	if err := pb.WritePcap(pcap, t0, fr); err != nil {
		t.Fatal(err)
	}
	fs, _ := analyse(t, "", analyzer.Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}, pcap)
	var got []Finding
	for _, f := range fs {
		if f.Kind == MTUFragmentation {
			got = append(got, f)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d mtu_fragmentation findings, want 2: %+v", len(got), got)
	}
	want := []string{
		"2 of the 3 packets of SA 0x0000f001 (10.0.0.2→10.0.0.1) arrived in IP fragments, 1600 bytes long reassembled at most; 10.0.0.254 (first 03:04:13.000) reported 2 time(s) that packets of SA 0x0000f002 from 10.0.0.1 to 10.0.0.2 did not fit a next-hop MTU of 1380 bytes: ",
		"10.0.0.254 (first 03:04:15.000) reported 1 time(s) that IKE messages from 10.0.0.1 to 10.0.0.2 did not fit a next-hop MTU of 1280 bytes. ",
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Detail, w) {
			t.Errorf("finding %d:\n got %s\nwant %s...", i, got[i].Detail, w)
		}
	}
	if spis(got[0]) != "0x0000f001/0x0000f002" {
		t.Errorf("first finding on %s", spis(got[0]))
	}
}

// TestIKESuiteFindings: IKEv2 IKE SAs whose responders chose what Suricata
// flags (its IKE events NoDh, NoAuth, MultipleServerProposal), hand-built
// IKE_SA_INIT exchanges between 10.0.0.1 and 10.0.0.2 with the IANA
// transform IDs of RFC 7296 §3.3.2 (ENCR_AES_CBC 12, ENCR_AES_GCM_16 20,
// PRF_HMAC_SHA2_256 5, AUTH_HMAC_SHA2_256_128 12, group 14 MODP-2048):
//   - 0x11…: AES-CBC-128, PRF, integrity, no D-H: weak_crypto_no_dh
//     (RFC 7296 §3.3.3: IKE SAs need a D-H transform);
//   - 0x22…: AES-CBC-128, PRF, D-H, no integrity: weak_crypto_no_auth
//     (a non-AEAD cipher needs one);
//   - 0x33…: an answer with two proposals: multiple_server_proposal
//     (RFC 7296 §3.3: the responder chooses one);
//   - 0x44…: AES-GCM-16-128, PRF, D-H and no integrity, which an AEAD
//     cipher needs none of: nothing.
func TestIKESuiteFindings(t *testing.T) {
	var zero ike.SPI
	const I, R = ike.FlagInitiator, ike.FlagResponse
	// Transform IDs by letter; pktbuild marks the last substructure in
	// place, so every message gets substructures of its own.
	ids := map[byte][3]int{'c': {int(ike.TransformENCR), 12, 128}, 'g': {int(ike.TransformENCR), 20, 128},
		'p': {int(ike.TransformPRF), 5, 0}, 'i': {int(ike.TransformINTEG), 12, 0}, 'd': {int(ike.TransformDH), 14, 0}}
	sa := func(props ...string) pb.Payload {
		var out [][]byte
		for n, p := range props {
			var trs [][]byte
			for _, l := range []byte(p) {
				trs = append(trs, pb.TransformV2(ike.TransformType(ids[l][0]), ids[l][1], ids[l][2]))
			}
			out = append(out, pb.ProposalV2(uint8(n+1), ike.ProtoISAKMP, nil, trs...))
		}
		return pb.SAv2(out...)
	}
	cases := []struct {
		spi   string
		props []string // the responder's answer
		want  Kind
	}{
		{"1111111111111111", []string{"cpi"}, WeakCryptoNoDH},
		{"2222222222222222", []string{"cpd"}, WeakCryptoNoAuth},
		{"3333333333333333", []string{"cpid", "gpd"}, MultipleServerProposal},
		{"4444444444444444", []string{"gpd"}, Invalid},
	}
	var frames []pb.Frame
	for _, c := range cases {
		si, sr := pb.SPI8(c.spi), pb.SPI8("b"+c.spi[1:])
		frames = append(frames,
			ikeFrame(1, 2, pb.V2Msg(si, zero, ike.ExchangeIKESAInit, I, 0, sa(c.props...), pb.KEv2(14), pb.NonceV2(pb.Seq(0xa0, 16)))),
			ikeFrame(2, 1, pb.V2Msg(si, sr, ike.ExchangeIKESAInit, R, 0, sa(c.props...), pb.KEv2(14), pb.NonceV2(pb.Seq(0xb0, 16)))))
	}
	pcap := filepath.Join(t.TempDir(), "suites.pcap")
	if err := pb.WritePcap(pcap, t0, frames); err != nil {
		t.Fatal(err)
	}
	fs, _ := analyse(t, "", analyzer.Config{}, pcap)
	got := map[string][]Kind{}
	for _, f := range fs {
		if f.IKESA == nil {
			t.Errorf("%s on no IKE SA: %s", f.Kind, f.Detail)
			continue
		}
		got[f.IKESA.ISPI.String()[:16]] = append(got[f.IKESA.ISPI.String()[:16]], f.Kind)
		if !strings.Contains(f.Detail, "RFC") {
			t.Errorf("%s: the detail cites no RFC: %s", f.Kind, f.Detail)
		}
	}
	for _, c := range cases {
		var want []Kind
		if c.want != Invalid {
			want = []Kind{c.want}
		}
		if g := got[c.spi]; !slices.Equal(g, want) {
			t.Errorf("IKE SA %s: %v, want %v", c.spi, g, want)
		}
	}
}
