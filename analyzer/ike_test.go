package analyzer

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// An IKEv2 life between A (initiator) and B, readable with the IKE SA's
// keys (ENCR_NULL, no integrity, so the test can write the messages; no
// SK_d, so the ESP keys are not derived and ESP stays unverified):
//
//	IKE_AUTH creates pair 1: A receives on 0x11111111, B on 0x22222222.
//	3 packets of 100 bytes each way on it.
//	CREATE_CHILD_SA with REKEY_SA(0x11111111) creates pair 2 (A 0x33333333, B 0x44444444).
//	A deletes 0x11111111, B answers with 0x22222222: pair 1 is deleted once.
//	2 packets of 100 bytes each way on pair 2.
//	1 late packet from A on 0x22222222, 5.9 s after the Delete: B no longer
//	has that SA (Bad SPI; peers keep a rekeyed SA 5 s, TestRekeyedDeleteDelay).
//
// Expected, by hand: 2 additions, 1 rekey, 1 deletion, nothing pending;
// 2 active SAs (pair 2); 500 bytes sent and 500 received, all in tunnels
// (the negotiated mode); 1 active tunnel; 1 Bad SPI packet, known because
// the negotiations were decrypted; two rows paired by IKE.
func TestIKELifecycle(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	const I, R, IR = ike.FlagInitiator, ike.FlagResponse, ike.FlagInitiator | ike.FlagResponse
	var zero ike.SPI
	ts := []pktbuild.Payload{{T: ike.PayloadTSi, B: pktbuild.TSv4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: pktbuild.TSv4("10.2.0.0", "10.2.255.255")}}
	withTS := func(ps ...pktbuild.Payload) []pktbuild.Payload { return append(ps, ts...) }
	sk := func(ex ike.ExchangeType, flags uint8, mid uint32, ps ...pktbuild.Payload) []byte {
		return pktbuild.V2SK(A1, A2, ex, flags, mid, ps...)
	}
	fromA := func(msg []byte) []byte { return ike4(hostA, hostB, msg) }
	fromB := func(msg []byte) []byte { return ike4(hostB, hostA, msg) }
	frames := cat([]frame{
		{0, fromA(pktbuild.V2Msg(A1, zero, ike.ExchangeIKESAInit, I, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xa0, 16))))},
		{0.1, fromB(pktbuild.V2Msg(A1, A2, ike.ExchangeIKESAInit, R, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xb0, 16))))},
		{0.2, fromA(sk(ike.ExchangeIKEAuth, I, 1, withTS(pktbuild.IDv2(ike.PayloadIDi, "a"), pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(0x11111111, 0)))...))},
		{0.3, fromB(sk(ike.ExchangeIKEAuth, R, 1, withTS(pktbuild.IDv2(ike.PayloadIDr, "b"), pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(0x22222222, 0)))...))}},
		repeat(1, 3, func(s uint32) []byte { return esp4(hostA, hostB, 0x22222222, s, 100) }),
		repeat(1, 3, func(s uint32) []byte { return esp4(hostB, hostA, 0x11111111, s, 100) }),
		[]frame{
			{10, fromA(sk(ike.ExchangeCreateChildSA, I, 2, withTS(pktbuild.NotifyV2(ike.ProtoESP, pktbuild.U32(0x11111111), ike.NotifyRekeySA),
				pktbuild.SAv2(pktbuild.ESPProposalV2(0x33333333, 0)), pktbuild.NonceV2(pktbuild.Seq(0xc0, 16)))...))},
			{10.1, fromB(sk(ike.ExchangeCreateChildSA, R, 2, withTS(pktbuild.SAv2(pktbuild.ESPProposalV2(0x44444444, 0)), pktbuild.NonceV2(pktbuild.Seq(0xd0, 16)))...))},
			{11, fromA(sk(ike.ExchangeInformationalV2, I, 3, pktbuild.DeleteV2(ike.ProtoESP, 0x11111111)))},
			{11.1, fromB(sk(ike.ExchangeInformationalV2, R, 3, pktbuild.DeleteV2(ike.ProtoESP, 0x22222222)))},
		},
		repeat(12, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x44444444, s, 100) }),
		repeat(12, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x33333333, s, 100) }),
		[]frame{{17, esp4(hostA, hostB, 0x22222222, 4, 100)}},
	)
	var kinds []string
	var rekey *Event
	cfg := Config{Me: prefixes(hostA), Keys: ks, OnEvent: func(e Event) {
		kinds = append(kinds, e.Kind.String())
		if e.Rekey != nil {
			rekey = &e
		}
	}}
	a := run(t, cfg, frames...)
	s := a.Snapshot()
	checkStats(t, s, map[Stat]want{
		ActiveSAs: value(2), KeyAdditions: value(2), Rekeys: value(1), KeyDeletions: value(1), PendingKeyOps: value(0),
		ConfidentialSent: value(500), ConfidentialReceived: value(500), TunnelSent: value(500), TunnelReceived: value(500),
		TransportSent: value(0), ActiveTunnels: value(1), BadSPIPackets: value(1),
	})
	var rows []string
	for _, r := range s.Rows {
		rows = append(rows, rowText(r))
	}
	if want := []string{"11111111/22222222 negotiated", "33333333/44444444 negotiated"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if st := s.Rows[0].In.State; st != StateDeleted {
		t.Errorf("pair 1 is %v, want deleted", st)
	}
	// The analyzer's events, in order (IKE messages themselves are not
	// events without Config.IKEMessageEvents).
	want := []string{
		"negotiation_started", "ike_sa_established", "child_sa_negotiated",
		"negotiation_started", "child_sa_rekeyed", "child_sa_deleted",
		"bad_spi",
		"rekey", // at the end of the input: its figures are final then
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %q, want %q", kinds, want)
	}
	if c := a.Counts(); c.IKEv2Messages != 8 || c.BadSPI != 1 {
		t.Errorf("%d IKEv2 messages, %d Bad SPI; want 8 and 1", c.IKEv2Messages, c.BadSPI)
	}
	// The tunnel, by hand: one (same peers and selectors), 2 pairs, 1
	// rekey (REKEY_SA), 5 packets each way (3 + 2). The rekey at 10.1 s
	// (the answer completes it): A→B moved from 0x22222222 to 0x44444444
	// (new SA from number 1, nothing on the old one after 12 s, but the
	// late packet at 17 s is a Bad SPI after the Delete: not hitless);
	// B→A from 0x11111111 to 0x33333333, clean.
	if len(s.Tunnels) != 1 {
		t.Fatalf("%d tunnels, want 1", len(s.Tunnels))
	}
	tu := s.Tunnels[0]
	if tu.Local != netip.MustParseAddr(hostA) || tu.ChildSAs != 2 || tu.Rekeys != 1 || tu.In.Packets != 5 || tu.Out.Packets != 5 || tu.In.Lost != 0 || tu.State != "active" {
		t.Errorf("tunnel %v: %d pairs, %d rekeys, %d/%d packets, lost %d, %s; want %v, 2, 1, 5/5, 0, active",
			tu.Local, tu.ChildSAs, tu.Rekeys, tu.In.Packets, tu.Out.Packets, tu.In.Lost, tu.State, hostA)
	}
	if rekey == nil {
		t.Fatal("no rekey event")
	}
	for _, k := range []*Rekey{rekey.Rekey, tu.RekeyDetails[0]} {
		if k.How != RelationRekey || k.Time != epoch.Add(10100*time.Millisecond) || k.Hitless == nil || *k.Hitless {
			t.Errorf("rekey %v at %v, hitless %v; want rekey at 10.1 s, not hitless", k.How, k.Time, k.Hitless)
		}
		got := map[uint32]RekeyDirection{}
		for _, d := range k.Directions {
			got[d.OldSPI] = d
		}
		want := map[uint32]RekeyDirection{
			0x22222222: {Src: netip.MustParseAddr(hostA), Dst: netip.MustParseAddr(hostB), OldSPI: 0x22222222, NewSPI: 0x44444444, Switched: true, BadSPI: 1},
			0x11111111: {Src: netip.MustParseAddr(hostB), Dst: netip.MustParseAddr(hostA), OldSPI: 0x11111111, NewSPI: 0x33333333, Switched: true},
		}
		if !maps.Equal(got, want) {
			t.Errorf("rekey directions %+v, want %+v", got, want)
		}
	}
}
