package analyzer

import (
	"net/netip"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

// want is what a test expects of one figure: its value when known, or why
// it is missing; why, n and m also for a known figure that is partial.
type want struct {
	v        uint64
	known    bool
	inferred bool
	why      Why
	n, m     uint64
}

func value(v uint64) want  { return want{v: v, known: true} }
func missing(why Why) want { return want{why: why} }
func partial(v uint64, why Why, n, m uint64) want {
	return want{v: v, known: true, why: why, n: n, m: m}
}

// statIDs name the statistics in test messages, as the constants do.
var statIDs = [NumStats]string{"ActiveSAs", "OffloadedSAs", "PendingKeyOps", "KeyAdditions", "KeyDeletions", "Rekeys",
	"ActiveTunnels", "BadSPIPackets", "NotDecrypted", "NotAuthenticated", "ReplayDetected", "ConfidentialSent",
	"ConfidentialReceived", "AuthenticatedSent", "AuthenticatedReceived", "TransportSent", "TransportReceived",
	"TunnelSent", "TunnelReceived", "OffloadedSent", "OffloadedReceived"}

func checkStats(t *testing.T, s *Snapshot, exp map[Stat]want) {
	t.Helper()
	for st, w := range exp {
		f := s.Stats[st]
		got := want{known: f.Known, inferred: f.Inferred, why: f.Why, n: f.N, m: f.M}
		if f.Known || f.Inferred {
			got.v = f.Value
		}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", statIDs[st], got, w)
		}
	}
}

// sealed is a keyed ESP SA from src to dst: AES-CBC-128 with
// HMAC-SHA2-256-128, carrying an inner IPv4 ICMP packet (tunnel mode).
// Inner packet 20+8+56 = 84 bytes; ESP pads it to 84+10+2 = 96, so each
// ESP packet is 8 (SPI, seq) + 16 (IV) + 96 + 16 (ICV) = 136 bytes.
type sealed struct {
	pktbuild.Sealer
	src, dst string
}

const sealedLen = 136

func newSealed(spi uint32, src, dst string) sealed {
	return sealed{pktbuild.Sealer{SPI: spi, Key: pktbuild.Seq(0x10, 16), AuthKey: pktbuild.Seq(0x40, 32)}, src, dst}
}

func (s sealed) packet(seq uint32, f pktbuild.Fault) []byte {
	inner := pktbuild.InnerICMP(v4("10.1.0.1"), v4("10.2.0.1"), 56)
	b := s.Seal(uint64(seq), inner, 4, f)
	return pktbuild.Cat(pktbuild.IPv4(50, v4(s.src), v4(s.dst), len(b), 0), b)
}

func (s sealed) key() keys.SA {
	return keys.SA{Proto: 50, Src: prefixes(s.src)[0], Dst: prefixes(s.dst)[0], SPI: s.SPI,
		Enc: algo.EncAESCBC, EncKey: s.Key, Auth: algo.AuthHMACSHA256_128, AuthKey: s.AuthKey, Origin: "test"}
}

// Each statistic's value, or the reason it has none, on small captures
// whose figures are worked out in the comments.
func TestStatistics(t *testing.T) {
	keyed := newSealed(0x1001, hostB, hostA)
	A1, A2 := pktbuild.SPI8("0101010101010101"), pktbuild.SPI8("0202020202020202")
	const I, R = ike.FlagInitiator, ike.FlagResponse
	var zero ike.SPI
	ts := []pktbuild.Payload{{T: ike.PayloadTSi, B: pktbuild.TSv4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: pktbuild.TSv4("10.2.0.0", "10.2.255.255")}}
	for _, tt := range []struct {
		name   string
		cfg    Config
		frames []frame
		want   map[Stat]want
	}{
		// B→A: 3 packets of 100 bytes; A→B: 2 of 120. Without keys or IKE
		// only the byte sums, the SA count and replay are known.
		{"ESP without keys or IKE", me(hostA), cat(
			repeat(0, 3, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 120) })),
			map[Stat]want{
				ActiveSAs: value(2), OffloadedSAs: missing(WhyOffload),
				PendingKeyOps: missing(WhyNoIKE), KeyAdditions: missing(WhyNoIKE), KeyDeletions: missing(WhyNoIKE), Rekeys: missing(WhyNoIKE),
				ActiveTunnels: missing(WhyModeNeedsKeys), BadSPIPackets: missing(WhyBadSPINeedsSAList),
				NotDecrypted: missing(WhyNeedsKeys), NotAuthenticated: missing(WhyNeedsKeys), ReplayDetected: value(0),
				ConfidentialSent: value(240), ConfidentialReceived: value(300), AuthenticatedSent: value(0), AuthenticatedReceived: value(0),
				TransportSent: missing(WhyModeNeedsKeys), TransportReceived: missing(WhyModeNeedsKeys),
				TunnelSent: missing(WhyModeNeedsKeys), TunnelReceived: missing(WhyModeNeedsKeys),
				OffloadedSent: missing(WhyOffload), OffloadedReceived: missing(WhyOffload),
			}},
		// C→D (3 × 50 bytes of ESP) is neither sent nor received by A:
		// excluded, and said so on the ESP (Confidential) figures; no AH
		// was left out of the Authenticated ones.
		{"traffic between other hosts", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 3, func(s uint32) []byte { return esp4(hostC, hostD, 0x300, s, 50) })),
			map[Stat]want{
				ActiveSAs:        value(2),
				ConfidentialSent: partial(0, WhyTransit, 150, 1), ConfidentialReceived: partial(200, WhyTransit, 150, 1),
				AuthenticatedSent: value(0), AuthenticatedReceived: value(0),
				TunnelReceived: missing(WhyModeNeedsKeys),
			}},
		// AH is readable without keys: B→A carries TCP (transport), 2 ×
		// 100 bytes. The ESP SA A→B (3 × 80 bytes) has no visible mode: the
		// mode figures are known for AH and say what they leave out. AH
		// and ESP do not pair: two rows, one of unknown mode.
		{"AH shows its mode, ESP without keys does not", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return ah4(hostB, hostA, 0x100, s, 6, 100) }),
			repeat(0, 3, func(s uint32) []byte { return esp4(hostA, hostB, 0x300, s, 80) })),
			map[Stat]want{
				AuthenticatedReceived: value(200), ConfidentialSent: value(240),
				TransportReceived: partial(200, WhyUnknownMode, 240, 1), TransportSent: partial(0, WhyUnknownMode, 240, 1),
				TunnelReceived: partial(0, WhyUnknownMode, 240, 1), TunnelSent: partial(0, WhyUnknownMode, 240, 1),
				ActiveTunnels: partial(0, WhyUnknownModePairs, 1, 0),
			}},
		// Keys for B→A only: seq 1 and 2 pass, 3 has a flipped ICV bit, 4
		// bad padding under a valid ICV. A→B (2 × 100 bytes) has no keys:
		// its 2 accepted packets were not inspected. The keyed SA is
		// tunnel mode (inner IPv4), 2 × 136 bytes received.
		{"keys for one SA of two", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{keyed.key()}}}, []frame{
			{0, keyed.packet(1, pktbuild.NoFault)}, {0, keyed.packet(2, pktbuild.NoFault)},
			{0, keyed.packet(3, pktbuild.FlipICV)}, {0, keyed.packet(4, pktbuild.BadPadding)},
			{0, esp4(hostA, hostB, 0x200, 1, 100)}, {0, esp4(hostA, hostB, 0x200, 2, 100)}},
			map[Stat]want{
				NotAuthenticated: partial(1, WhyNotInspected, 2, 1), NotDecrypted: partial(1, WhyNotInspected, 2, 1),
				ConfidentialReceived: value(2 * sealedLen), ConfidentialSent: value(200),
				TunnelReceived: partial(2*sealedLen, WhyUnknownMode, 200, 1), TunnelSent: partial(0, WhyUnknownMode, 200, 1),
			}},
		// --me names no SA endpoint (an inner address): every SA is between
		// other hosts. This computer sent and received nothing in either
		// mode (0), and the note says what the 3 × 100 + 2 × 120 bytes
		// between the others were; not "needs keys", which is not why.
		{"--me that is no SA's endpoint", me("10.1.0.1"), cat(
			repeat(0, 3, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 120) })),
			map[Stat]want{
				ConfidentialSent: partial(0, WhyTransit, 540, 2), ConfidentialReceived: partial(0, WhyTransit, 540, 2),
				TransportSent: partial(0, WhyNoneMine, 540, 2), TransportReceived: partial(0, WhyNoneMine, 540, 2),
				TunnelSent: partial(0, WhyNoneMine, 540, 2), TunnelReceived: partial(0, WhyNoneMine, 540, 2),
				ActiveTunnels: missing(WhyModeNeedsKeys),
			}},
		// Keys are given, but for SPI 0x1001, not the 0x100 of the
		// traffic: the mode is unknown because no key is for it.
		{"keys for other SAs", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{keyed.key()}}},
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			map[Stat]want{
				TransportReceived: missing(WhyModeNoKeyMatches), TunnelReceived: missing(WhyModeNoKeyMatches),
				ActiveTunnels: missing(WhyModeNoKeyMatches),
			}},
		// The key is for the SA, but every packet fails its ICV (wrong
		// keys): no packet decrypted, so no mode; the 1 keyed SA is named.
		{"keys that decrypt nothing", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{keyed.key()}}}, []frame{
			{0, keyed.packet(1, pktbuild.FlipICV)}, {0, keyed.packet(2, pktbuild.FlipICV)}},
			map[Stat]want{
				NotAuthenticated:  value(2),
				TransportReceived: {why: WhyModeKeysFailed, n: 1}, TunnelReceived: {why: WhyModeKeysFailed, n: 1},
				ActiveTunnels: {why: WhyModeKeysFailed, n: 1},
			}},
		// An SA list that names the SA but holds no keys for it (an ip
		// xfrm state dump without -s keys, say): the entry is the SA's,
		// not usable to decrypt.
		{"a key entry without keys", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{{Proto: 50, Dst: prefixes(hostA)[0], SPI: 0x100, NoKeys: true, Origin: "test"}}}},
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			map[Stat]want{TunnelReceived: {why: WhyModeKeysUnusable, n: 1}, ActiveTunnels: {why: WhyModeKeysUnusable, n: 1}}},
		// No IPsec at all: nothing was sent in either mode.
		{"no SA", me(hostA), nil,
			map[Stat]want{TransportSent: value(0), TunnelReceived: value(0), ActiveTunnels: value(0), ConfidentialSent: value(0)}},
		// IKEv2 without keys: IKE_SA_INIT in clear, IKE_AUTH's two
		// encrypted messages unread. The answered IKE_AUTH implies one
		// pair (inferred); IKE_AUTH never rekeys (RFC 7296 §1.3), so
		// Rekeys is known; what the encrypted messages held (Deletes?) is
		// not, and the 2 SAs seen may have ended.
		{"IKEv2 without keys", me(hostA), cat([]frame{
			{0, ike4(hostA, hostB, pktbuild.V2Msg(A1, zero, ike.ExchangeIKESAInit, I, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xa0, 16))))},
			{0.1, ike4(hostB, hostA, pktbuild.V2Msg(A1, A2, ike.ExchangeIKESAInit, R, 0, pktbuild.SAv2(pktbuild.IKEProposalV2(nil)), pktbuild.KEv2(14), pktbuild.NonceV2(pktbuild.Seq(0xb0, 16))))},
			{0.2, ike4(hostA, hostB, pktbuild.V2SK(A1, A2, ike.ExchangeIKEAuth, I, 1, append([]pktbuild.Payload{pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(0x100, 0))}, ts...)...))},
			{0.3, ike4(hostB, hostA, pktbuild.V2SK(A1, A2, ike.ExchangeIKEAuth, R, 1, append([]pktbuild.Payload{pktbuild.AuthV2(), pktbuild.SAv2(pktbuild.ESPProposalV2(0x200, 0))}, ts...)...))}},
			repeat(1, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) }),
			repeat(1, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) })),
			map[Stat]want{
				ActiveSAs:     {v: 2, inferred: true, why: WhyIKEUndecrypted, n: 2, m: 2},
				KeyAdditions:  {v: 1, inferred: true, why: WhyIKEInferred, n: 1},
				Rekeys:        value(0),
				KeyDeletions:  missing(WhyIKENeedsKeys),
				PendingKeyOps: value(0),
				BadSPIPackets: missing(WhyBadSPINeedsSAList),
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkStats(t, run(t, tt.cfg, tt.frames...).Snapshot(), tt.want)
		})
	}
}

// A packet for an SPI that a complete SA list does not have is Bad SPI;
// without a complete list nothing can be called Bad SPI.
func TestBadSPI(t *testing.T) {
	listed := keys.SA{Proto: 50, Src: prefixes(hostB)[0], Dst: prefixes(hostA)[0], SPI: 0x100, Enc: algo.EncNull, Auth: algo.AuthNone, NoKeys: true, Origin: "test"}
	frames := []frame{
		{0, esp4(hostB, hostA, 0x100, 1, 100)},
		{0, esp4(hostB, hostA, 0x999, 1, 100)}, // to A: A's list is complete
		{0, esp4(hostB, hostA, 0x999, 2, 100)},
		{0, esp4(hostA, hostB, 0x998, 1, 100)}, // to B: nothing lists B's SAs
	}
	for _, tt := range []struct {
		name    string
		cfg     Config
		want    want
		sas     int
		byDst   map[netip.Addr]uint64
		badSeen int // bad_spi events
	}{
		{"authoritative list", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{listed}, Authoritative: true}},
			value(2), 2, map[netip.Addr]uint64{netip.MustParseAddr(hostA): 2}, 1},
		{"--complete-keys", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{listed}}, CompleteKeys: true},
			value(2), 2, map[netip.Addr]uint64{netip.MustParseAddr(hostA): 2}, 1},
		{"keys that are not a complete list", Config{Me: prefixes(hostA), Keys: &keys.Set{SAs: []keys.SA{listed}}},
			missing(WhyBadSPINeedsSAList), 3, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var events int
			tt.cfg.OnEvent = func(e Event) {
				if e.Kind.String() == "bad_spi" {
					events++
				}
			}
			a := run(t, tt.cfg, frames...)
			s := a.Snapshot()
			checkStats(t, s, map[Stat]want{BadSPIPackets: tt.want})
			if s.SAs != tt.sas {
				t.Errorf("%d SAs tracked, want %d", s.SAs, tt.sas)
			}
			if len(s.BadSPIByDst) != len(tt.byDst) {
				t.Errorf("by destination %v, want %v", s.BadSPIByDst, tt.byDst)
			}
			for k, v := range tt.byDst {
				if s.BadSPIByDst[k] != v {
					t.Errorf("by destination %v, want %v", s.BadSPIByDst, tt.byDst)
				}
			}
			// Both Bad SPI packets fall within one second: one event
			// when the first comes, the second reported at the end.
			if events != 2*tt.badSeen {
				t.Errorf("%d bad_spi events, want %d", events, 2*tt.badSeen)
			}
		})
	}
}

// RFC 4303 §3.4.3 with a 64-packet window: after 1, 2, 3, 70 the window
// covers 7..70, so a repeated 2 and 3 and a late 5 are replays; 69 is new.
func TestReplay(t *testing.T) {
	var events []Event
	cfg := me(hostA)
	cfg.OnEvent = func(e Event) { events = append(events, e) }
	var frames []frame
	for _, seq := range []uint32{1, 2, 3, 2, 3, 70, 5, 69} {
		frames = append(frames, frame{0, esp4(hostB, hostA, 0x100, seq, 100)})
	}
	a := run(t, cfg, frames...)
	sa := a.SAs()[0]
	if sa.Accepted != 5 || sa.Replayed != 3 || sa.MinSeq != 1 || sa.MaxSeq != 70 {
		t.Errorf("accepted %d replayed %d seq %d..%d, want 5, 3, 1..70", sa.Accepted, sa.Replayed, sa.MinSeq, sa.MaxSeq)
	}
	// 70 - 1 + 1 = 70 numbers in the span, 5 accepted: 65 never arrived.
	if g := sa.Gaps(); g != 65 {
		t.Errorf("gaps %d, want 65", g)
	}
	checkStats(t, a.Snapshot(), map[Stat]want{ReplayDetected: value(3), ConfidentialReceived: value(500)})
	// All within one second: the first replay is reported at once, the
	// other two at the end of the input with their count.
	var counts []uint64
	for _, e := range events {
		if e.Kind.String() == "replay" {
			counts = append(counts, e.Count)
		}
	}
	if len(counts) != 2 || counts[0] != 1 || counts[1] != 2 {
		t.Errorf("replay events with counts %v, want [1 2]", counts)
	}
}
