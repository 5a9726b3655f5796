package analyzer

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// A rekey without IKE in the capture, worked out by hand. A (me) and B:
//
//	0.00-0.04 s  B→A 0x100 #1-5, A→B 0x200 #1-5
//	10.0 s       B→A 0x300 #3-6 (#1 and #2 never arrive), A→B 0x400 #1-4
//	10.1-10.3 s  B→A 0x100 #6, #7, #9 (#8 never arrives)
//	35 s, 60 s   B→A 0x300 #7, #8; A→B 0x400 #5, #6
//
// One tunnel (same endpoints), 2 child SAs, 1 rekey (inferred). In: 8 + 6
// = 14 packets, lost 1 (#8 of 0x100; 0x300's #1-2 lie below its lowest
// number). Out: 5 + 6 = 11. Without IKE the pairs are not known (the SA
// view cannot pair 0x100, whose traffic overlaps both A→B SAs): the rekey
// is listed per direction. B→A: 3 packets on 0x100 after 0x300's first
// (overlap 0.3 s), lost across the switch 1 (#8, above 0x100's highest
// number at the switch, 5) + 2 (0x300's #1-2) = 3: not hitless; A→B clean
// and hitless.
//
// With an idle timeout of 30 s, 0x200 leaves the table at 35 s and 0x100
// at 60 s: the tunnel's figures must not change, and each direction's
// rekey event is sent then.
func TestInferredRekey(t *testing.T) {
	var frames []frame
	for i := uint32(1); i <= 5; i++ {
		frames = append(frames, frame{float64(i-1) / 100, esp4(hostB, hostA, 0x100, i, 100)}, frame{float64(i-1) / 100, esp4(hostA, hostB, 0x200, i, 100)})
	}
	for i := uint32(0); i < 4; i++ {
		frames = append(frames, frame{10 + float64(i)/1000, esp4(hostB, hostA, 0x300, 3+i, 100)}, frame{10 + float64(i)/1000, esp4(hostA, hostB, 0x400, 1+i, 100)})
	}
	for i, s := range []uint32{6, 7, 9} {
		frames = append(frames, frame{10.1 + float64(i)/10, esp4(hostB, hostA, 0x100, s, 100)})
	}
	frames = append(frames, frame{35, esp4(hostB, hostA, 0x300, 7, 100)}, frame{35, esp4(hostA, hostB, 0x400, 5, 100)},
		frame{60, esp4(hostB, hostA, 0x300, 8, 100)}, frame{60, esp4(hostA, hostB, 0x400, 6, 100)})

	for _, idle := range []time.Duration{0, 30 * time.Second} {
		t.Run("idle timeout "+idle.String(), func(t *testing.T) {
			var events []Event
			cfg := me(hostA)
			cfg.IdleTimeout = idle
			cfg.OnEvent = func(e Event) {
				if e.Rekey != nil {
					events = append(events, e)
				}
			}
			a := run(t, cfg, frames...)
			s := a.Snapshot()
			if idle > 0 && len(s.Rows) != 1 { // the new SAs, paired now
				t.Fatalf("%d rows after eviction, want 1", len(s.Rows))
			}
			if len(s.Tunnels) != 1 {
				t.Fatalf("%d tunnels, want 1", len(s.Tunnels))
			}
			tu := s.Tunnels[0]
			if tu.Local != netip.MustParseAddr(hostA) || tu.ChildSAs != 2 || tu.Rekeys != 1 || !tu.Inferred ||
				tu.In.Packets != 14 || tu.Out.Packets != 11 || tu.In.Bytes != 1400 || tu.In.Lost != 1 || tu.Out.Lost != 0 {
				t.Errorf("tunnel %v: %d pairs, %d rekeys (inferred %v), packets %d/%d, bytes in %d, lost %d/%d; want %s, 2, 1 (true), 14/11, 1400, 1/0",
					tu.Local, tu.ChildSAs, tu.Rekeys, tu.Inferred, tu.In.Packets, tu.Out.Packets, tu.In.Bytes, tu.In.Lost, tu.Out.Lost, hostA)
			}
			if len(tu.RekeyDetails) != 2 || len(events) != 2 {
				t.Fatalf("%d rekey details, %d rekey events; want 2 and 2 (one per direction)", len(tu.RekeyDetails), len(events))
			}
			for _, k := range []*Rekey{tu.RekeyDetails[0], tu.RekeyDetails[1], events[0].Rekey, events[1].Rekey} {
				if len(k.Directions) != 1 {
					t.Fatalf("rekey with %d directions, want 1", len(k.Directions))
				}
				d := k.Directions[0]
				want := RekeyDirection{Src: netip.MustParseAddr(hostA), Dst: netip.MustParseAddr(hostB), OldSPI: 0x200, NewSPI: 0x400, Switched: true}
				if d.OldSPI == 0x100 {
					want = RekeyDirection{Src: netip.MustParseAddr(hostB), Dst: netip.MustParseAddr(hostA), OldSPI: 0x100, NewSPI: 0x300, Switched: true,
						Overlap: 300 * time.Millisecond, OldPacketsAfter: 3, Lost: 3}
				}
				if d.Overlap-want.Overlap < time.Microsecond && want.Overlap-d.Overlap < time.Microsecond {
					d.Overlap = want.Overlap // float seconds of the frame times
				}
				if d != want {
					t.Errorf("direction %+v\nwant %+v", d, want)
				}
				hitless := want.Lost == 0
				if k.How != RelationInferred || !k.Time.Equal(at(10)) || k.Hitless == nil || *k.Hitless != hitless {
					t.Errorf("rekey of 0x%x: %v at %v, hitless %v; want inferred at 10 s, hitless %v", d.OldSPI, k.How, k.Time, k.Hitless, hitless)
				}
			}
			if idle > 0 {
				for _, e := range events {
					if e.Detail != "figures final: the old SA left the table" {
						t.Errorf("rekey event sent because %q, want when the old SA left the table", e.Detail)
					}
				}
			}
		})
	}
}

// The IKEv2 messages of the tunnel tests, between A (initiator) and B,
// SK payloads in the clear (the tests' keys say ENCR_NULL without
// integrity); every pair has these selectors.
var v2Selectors = []pktbuild.Payload{{T: ike.PayloadTSi, B: pktbuild.TSv4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: pktbuild.TSv4("10.2.0.0", "10.2.255.255")}}

func v2FromA(msg []byte) []byte { return ike4(hostA, hostB, msg) }
func v2FromB(msg []byte) []byte { return ike4(hostB, hostA, msg) }

// v2IKESA is IKE_SA_INIT and IKE_AUTH from at on, the pair of IKE_AUTH
// receiving on spiA at A and spiB at B.
func v2IKESA(at float64, si, sr ike.SPI, spiA, spiB uint32) []frame {
	var zero ike.SPI
	const I, R = ike.FlagInitiator, ike.FlagResponse
	return []frame{
		{at, v2FromA(pktbuild.V2Msg(si, zero, ike.ExchangeIKESAInit, I, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xa0, 16))))},
		{at + 0.1, v2FromB(pktbuild.V2Msg(si, sr, ike.ExchangeIKESAInit, R, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xb0, 16))))},
		{at + 0.2, v2FromA(pktbuild.V2SK(si, sr, ike.ExchangeIKEAuth, I, 1, append([]pktbuild.Payload{pktbuild.IDv2(ike.PayloadIDi, "a"), pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(spiA, 0))}, v2Selectors...)...))},
		{at + 0.3, v2FromB(pktbuild.V2SK(si, sr, ike.ExchangeIKEAuth, R, 1, append([]pktbuild.Payload{pktbuild.IDv2(ike.PayloadIDr, "b"), pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(spiB, 0))}, v2Selectors...)...))},
	}
}

// v2Child is a CREATE_CHILD_SA (message mid) from A, with REKEY_SA of
// rekey when it is not 0.
func v2Child(at float64, si, sr ike.SPI, mid uint32, rekey, spiA, spiB uint32) []frame {
	const I, R = ike.FlagInitiator, ike.FlagResponse
	var req []pktbuild.Payload
	if rekey != 0 {
		req = append(req, pktbuild.NotifyV2(ike.ProtoESP, pktbuild.U32(rekey), ike.NotifyRekeySA))
	}
	req = append(req, pktbuild.SAv2(pktbuild.ESPProposalV2(spiA, 0)), pktbuild.NonceV2(pktbuild.Seq(0xc0, 16)))
	return []frame{
		{at, v2FromA(pktbuild.V2SK(si, sr, ike.ExchangeCreateChildSA, I, mid, append(req, v2Selectors...)...))},
		{at + 0.1, v2FromB(pktbuild.V2SK(si, sr, ike.ExchangeCreateChildSA, R, mid, append([]pktbuild.Payload{pktbuild.SAv2(pktbuild.ESPProposalV2(spiB, 0)), pktbuild.NonceV2(pktbuild.Seq(0xd0, 16))}, v2Selectors...)...))},
	}
}

// v2Delete is A's Delete of spiA and B's answer deleting spiB (message mid).
func v2Delete(at float64, si, sr ike.SPI, mid uint32, spiA, spiB uint32) []frame {
	const I, R = ike.FlagInitiator, ike.FlagResponse
	return []frame{
		{at, v2FromA(pktbuild.V2SK(si, sr, ike.ExchangeInformationalV2, I, mid, pktbuild.DeleteV2(ike.ProtoESP, spiA)))},
		{at + 0.1, v2FromB(pktbuild.V2SK(si, sr, ike.ExchangeInformationalV2, R, mid, pktbuild.DeleteV2(ike.ProtoESP, spiB)))},
	}
}

// IKEv2 between A and B, all with the same selectors (keys without SK_d:
// ESP stays unverified):
//
//	IKE SA 1, IKE_AUTH: pair 1 (A 0x11111111, B 0x22222222).
//	CREATE_CHILD_SA without REKEY_SA: pair 2 (0x33333333, 0x44444444), a
//	  second SA of the same tunnel (RFC 9611 per-CPU SAs): not a rekey.
//	IKE SA 2 (reauthentication, RFC 7296 §2.8.3), IKE_AUTH: pair 3
//	  (0x55555555, 0x66666666) while the others live: it replaces pair 2,
//	  the latest.
//	CREATE_CHILD_SA on IKE SA 2 with REKEY_SA(0x55555555): pair 4.
//
// By hand: one tunnel, 4 pairs, 2 replacements (a reauthentication and a
// rekey); pair 2 replaces nothing.
func TestTunnelReauthAndPerCPU(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	B1, B2 := pktbuild.SPI8("0303030303030303"), pktbuild.SPI8("0404040404040404")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{
		{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256},
		{SPIi: B1, SPIr: B2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256},
	}}
	frames := cat(
		v2IKESA(0, A1, A2, 0x11111111, 0x22222222),
		v2Child(1, A1, A2, 2, 0, 0x33333333, 0x44444444),
		v2IKESA(2, B1, B2, 0x55555555, 0x66666666),
		v2Child(3, B1, B2, 2, 0x55555555, 0x77777777, 0x88888888),
	)
	a := run(t, Config{Me: prefixes(hostA), Keys: ks}, frames...)
	s := a.Snapshot()
	if len(s.Tunnels) != 1 {
		t.Fatalf("%d tunnels, want 1", len(s.Tunnels))
	}
	tu := s.Tunnels[0]
	if tu.ChildSAs != 4 || tu.Rekeys != 2 || tu.Inferred {
		t.Errorf("%d pairs, %d replacements (inferred %v); want 4, 2, false", tu.ChildSAs, tu.Rekeys, tu.Inferred)
	}
	var got []string
	for _, k := range tu.RekeyDetails {
		for _, d := range k.Directions {
			if d.Src == netip.MustParseAddr(hostA) {
				got = append(got, fmt.Sprintf("%s %08x>%08x", k.How, d.OldSPI, d.NewSPI))
			}
		}
	}
	want := []string{"reauthentication 44444444>66666666", "rekey 66666666>88888888"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("replacements (A→B) %q, want %q", got, want)
	}
	if tu.LocalTS == nil || tu.LocalTS[0].Text != "10.1.0.0-10.1.255.255" && tu.LocalTS[0].Prefix.String() != "10.1.0.0/16" {
		t.Errorf("local selectors %+v, want A's 10.1.0.0/16", tu.LocalTS)
	}
}

// An IKEv2 rekey then its Delete (A deletes 0x11111111 at 11 s, B answers
// for 0x22222222 at 11.1 s); A keeps sending on the old 0x22222222 (#4 at
// 13 s, #5 at 17 s) after the new SA's first packet (12 s). Peers keep a
// rekeyed SA's inbound half 5 s past the Delete (strongSwan's
// delete_rekeyed_delay; the lab's ikev2-loss-rekey has such a packet, which
// its receiver counted): #4 (1.9 s after) is accepted, #5 (5.9 s after) is a
// Bad SPI. With no delay both are. By hand, A→B's rekey: with the delay 1
// packet on the old SA after the switch (overlap 13 - 12 = 1 s) and 1 Bad
// SPI; without, none and 2.
func TestRekeyedDeleteDelay(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	frames := cat(
		v2IKESA(0, A1, A2, 0x11111111, 0x22222222),
		repeat(1, 3, func(s uint32) []byte { return esp4(hostA, hostB, 0x22222222, s, 100) }),
		v2Child(10, A1, A2, 2, 0x11111111, 0x33333333, 0x44444444),
		v2Delete(11, A1, A2, 3, 0x11111111, 0x22222222),
		[]frame{
			{12, esp4(hostA, hostB, 0x44444444, 1, 100)},
			{13, esp4(hostA, hostB, 0x22222222, 4, 100)},
			{17, esp4(hostA, hostB, 0x22222222, 5, 100)},
		},
	)
	for _, tc := range []struct {
		delay                    time.Duration
		oldPackets, after, bad   uint64
		overlap                  time.Duration
		badSPIPackets, sentBytes uint64
	}{
		{0, 4, 1, 1, time.Second, 1, 500},
		{-1, 3, 0, 2, 0, 2, 400},
	} {
		t.Run(tc.delay.String(), func(t *testing.T) {
			a := run(t, Config{Me: prefixes(hostA), Keys: ks, RekeyedDeleteDelay: tc.delay}, frames...)
			s := a.Snapshot()
			checkStats(t, s, map[Stat]want{BadSPIPackets: value(tc.badSPIPackets), ConfidentialSent: value(tc.sentBytes)})
			if len(s.Tunnels) != 1 || len(s.Tunnels[0].RekeyDetails) != 1 {
				t.Fatalf("%d tunnels, want 1 with 1 rekey", len(s.Tunnels))
			}
			var d RekeyDirection
			for _, x := range s.Tunnels[0].RekeyDetails[0].Directions {
				if x.OldSPI == 0x22222222 {
					d = x
				}
			}
			if d.OldPacketsAfter != tc.after || d.BadSPI != tc.bad || d.Overlap != tc.overlap || s.Tunnels[0].Out.Packets != tc.oldPackets+1 {
				t.Errorf("A→B: %d on the old SA after the switch, %d Bad SPI, overlap %v, %d packets out; want %d, %d, %v, %d",
					d.OldPacketsAfter, d.BadSPI, d.Overlap, s.Tunnels[0].Out.Packets, tc.after, tc.bad, tc.overlap, tc.oldPackets+1)
			}
		})
	}
}

// A pair idle past --sa-idle-timeout (5 s here) leaves the table before
// IKE rekeys it (20 s): the new pair still replaces it, from the figures
// it left. By hand: 2 child SAs (one evicted), 1 rekey 0x22222222 →
// 0x44444444 A→B, and A's 3 packets on the old SA counted.
func TestRekeyOfEvictedPair(t *testing.T) {
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256}}}
	frames := cat(
		v2IKESA(0, A1, A2, 0x11111111, 0x22222222),
		repeat(1, 3, func(s uint32) []byte { return esp4(hostA, hostB, 0x22222222, s, 100) }),
		v2Child(20, A1, A2, 2, 0x11111111, 0x33333333, 0x44444444),
		[]frame{{21, esp4(hostA, hostB, 0x44444444, 1, 100)}},
	)
	a := run(t, Config{Me: prefixes(hostA), Keys: ks, IdleTimeout: 5 * time.Second}, frames...)
	s := a.Snapshot()
	if c := a.Counts(); c.EvictedSAs != 2 {
		t.Fatalf("%d SAs evicted, want the old pair's 2", c.EvictedSAs)
	}
	if len(s.Tunnels) != 1 {
		t.Fatalf("%d tunnels, want 1", len(s.Tunnels))
	}
	tu := s.Tunnels[0]
	if tu.ChildSAs != 2 || tu.Rekeys != 1 || tu.Out.Packets != 4 || len(tu.RekeyDetails) != 1 {
		t.Fatalf("%d child SAs, %d rekeys, %d packets out, %d details; want 2, 1, 4, 1", tu.ChildSAs, tu.Rekeys, tu.Out.Packets, len(tu.RekeyDetails))
	}
	var got []string
	for _, d := range tu.RekeyDetails[0].Directions {
		got = append(got, fmt.Sprintf("%08x>%08x", d.OldSPI, d.NewSPI))
	}
	if !slices.Contains(got, "22222222>44444444") || tu.RekeyDetails[0].How != RelationRekey {
		t.Errorf("rekey %v %q, want rekey 22222222>44444444", tu.RekeyDetails[0].How, got)
	}
}
