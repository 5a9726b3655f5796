package analyzer

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// Hosts of the pairing and --me tests (RFC 5737 documentation addresses).
const (
	hostA = "192.0.2.1"
	hostB = "198.51.100.2"
	hostC = "203.0.113.3"
	hostD = "203.0.113.4"
)

// rowText writes a row as "in/out pairing": SPIs in hex, "-" for a missing
// direction, plus "transit" for a row between other hosts.
func rowText(r *QuickModeSA) string {
	spi := func(s *SA) string {
		if s == nil {
			return "-"
		}
		return fmt.Sprintf("%x", s.Key.SPI)
	}
	s := spi(r.In) + "/" + spi(r.Out) + " " + r.Pairing
	if r.Transit {
		s += " transit"
	}
	return s
}

// Without IKE, two SAs form a row only when each is the other's only
// candidate: opposite addresses, same protocol, mirrored UDP ports, and —
// among several successive SAs between the same hosts — the only one in use
// at the same time. Rows come in the order their first SA was seen; In is
// the SA towards me.
func TestPairing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cfg    Config
		frames []frame
		want   []string
	}{
		{"lone SA", me(hostA), repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			[]string{"100/- "}},
		{"one SA each way is a pair", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) })),
			[]string{"100/200 inferred"}},
		{"two candidates at once: no pair", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x300, s, 100) })),
			[]string{"100/- ", "-/200 ", "-/300 "}},
		// Two connections ten seconds apart: each SA overlaps in time with
		// exactly one SA the other way.
		{"successive connections pair by time", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) }),
			repeat(10, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x300, s, 100) }),
			repeat(10, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x400, s, 100) })),
			[]string{"100/200 inferred", "300/400 inferred"}},
		{"mirrored NAT-T ports pair", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return espUDP4(hostB, hostA, 4500, 4501, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return espUDP4(hostA, hostB, 4501, 4500, 0x200, s, 100) })),
			[]string{"100/200 inferred"}},
		{"ports that do not mirror do not pair", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return espUDP4(hostB, hostA, 4500, 4500, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return espUDP4(hostA, hostB, 4501, 4500, 0x200, s, 100) })),
			[]string{"100/- ", "-/200 "}},
		{"ESP and AH do not pair", me(hostA), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return ah4(hostA, hostB, 0x200, s, 6, 100) })),
			[]string{"100/- ", "-/200 "}},
		// Neither end is mine: the first SA seen is shown outbound.
		{"transit", me(hostC), cat(
			repeat(0, 2, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
			repeat(0, 2, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) })),
			[]string{"200/100 inferred transit"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.cfg, tt.frames...).Snapshot()
			var got []string
			for _, r := range s.Rows {
				got = append(got, rowText(r))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}

// A transit row's "me" side is the source of its first SA.
func TestTransitRowAddresses(t *testing.T) {
	s := run(t, me(hostC), cat(
		repeat(0, 1, func(s uint32) []byte { return esp4(hostB, hostA, 0x100, s, 100) }),
		repeat(0, 1, func(s uint32) []byte { return esp4(hostA, hostB, 0x200, s, 100) }))...).Snapshot()
	if len(s.Rows) != 1 {
		t.Fatalf("%d rows", len(s.Rows))
	}
	if r := s.Rows[0]; r.MyAddr.String() != hostB || r.PeerAddr.String() != hostA {
		t.Errorf("my %v peer %v, want %s and %s", r.MyAddr, r.PeerAddr, hostB, hostA)
	}
}

// Without --me, "me" is the address that is an endpoint of the most SAs;
// a tie goes to the receiver of the first SA seen.
func TestChooseMe(t *testing.T) {
	esp := func(src, dst string, spi uint32) frame { return frame{0, esp4(src, dst, spi, 1, 100)} }
	const h6, p6 = "2001:db8::1", "2001:db8::2"
	for _, tt := range []struct {
		name    string
		cfg     Config
		frames  []frame
		want    []string
		chosen  bool
		transit int // rows between other hosts
	}{
		// A is an endpoint of 3 SAs, B of 2, C of 1.
		{"most SAs", Config{}, []frame{esp(hostA, hostB, 1), esp(hostB, hostA, 2), esp(hostA, hostC, 3)},
			[]string{hostA}, true, 0},
		// A and B are endpoints of 2 SAs each; B received the first one.
		{"tie: receiver of the first SA", Config{}, []frame{esp(hostA, hostB, 1), esp(hostB, hostA, 2)},
			[]string{hostB}, true, 0},
		// Four endpoints of one SA each: B received the first.
		{"all tied", Config{}, []frame{esp(hostA, hostB, 1), esp(hostC, hostD, 2)},
			[]string{hostB}, true, 1},
		// A dual-stack host is an endpoint of 4 SAs over IPv4 (two peers)
		// and 2 over IPv6: only its IPv4 address is chosen, and its IPv6
		// pair counts as between other hosts. --me with both says otherwise.
		{"dual stack: one address is chosen", Config{}, []frame{
			esp(hostA, hostC, 1), esp(hostC, hostA, 2), esp(hostA, hostD, 3), esp(hostD, hostA, 4),
			{0, esp6(h6, p6, 5, 1, 100)}, {0, esp6(p6, h6, 6, 1, 100)}},
			[]string{hostA}, true, 1},
		{"dual stack with --me", me(hostA, h6), []frame{
			esp(hostA, hostC, 1), esp(hostC, hostA, 2), esp(hostA, hostD, 3), esp(hostD, hostA, 4),
			{0, esp6(h6, p6, 5, 1, 100)}, {0, esp6(p6, h6, 6, 1, 100)}},
			[]string{hostA, h6}, false, 0},
		// A prefix is no single address to show, but decides direction.
		{"--me prefix", me("192.0.2.0/24"), []frame{esp(hostA, hostB, 1), esp(hostB, hostA, 2)},
			nil, false, 0},
		{"no IPsec", Config{}, nil, nil, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.cfg, tt.frames...).Snapshot()
			var got []string
			for _, a := range s.Me {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) || s.MeChosen != tt.chosen {
				t.Errorf("me %v chosen %v, want %v %v", got, s.MeChosen, tt.want, tt.chosen)
			}
			transit := 0
			for _, r := range s.Rows {
				if r.Transit {
					transit++
				}
			}
			if transit != tt.transit {
				t.Errorf("%d transit rows, want %d", transit, tt.transit)
			}
		})
	}
}

// The prefix --me decides which SA of a pair is inbound.
func TestMePrefixDirection(t *testing.T) {
	s := run(t, me("192.0.2.0/24"), frame{0, esp4(hostA, hostB, 1, 1, 100)}, frame{0, esp4(hostB, hostA, 2, 1, 100)}).Snapshot()
	if len(s.Rows) != 1 || s.Rows[0].In == nil || s.Rows[0].In.Key.Dst != netip.MustParseAddr(hostA) {
		t.Errorf("rows %v: want the SA to %s inbound", s.Rows, hostA)
	}
}

// A --me prefix over both ends of a pair: the sender of the first SA seen
// between them is taken as mine (as a transit row presents its first SA as
// sent), so the pair keeps its outbound SA (both went In, and the SA view
// lost spi_out), and sent and received each count one SA's bytes (ESP of
// 100 bytes from the SPI on, 3 packets each way).
func TestMeCoversBothEnds(t *testing.T) {
	s := run(t, me("203.0.113.0/24"), cat(
		repeat(0, 3, func(q uint32) []byte { return esp4(hostC, hostD, 0x100, q, 100) }),
		repeat(1, 3, func(q uint32) []byte { return esp4(hostD, hostC, 0x200, q, 100) }))...).Snapshot()
	if len(s.Rows) != 1 || rowText(s.Rows[0]) != "200/100 inferred" {
		t.Fatalf("rows %v, want 200/100 inferred", s.Rows)
	}
	if r := s.Rows[0]; r.MyAddr != netip.MustParseAddr(hostC) || r.PeerAddr != netip.MustParseAddr(hostD) {
		t.Errorf("row Me %v Peer %v; want %s (sender of the first SA seen) and %s", r.MyAddr, r.PeerAddr, hostC, hostD)
	}
	if st := s.Stats; st[ConfidentialSent] != known(300) || st[ConfidentialReceived] != known(300) {
		t.Errorf("confidential bytes sent %+v received %+v, want 300 each", st[ConfidentialSent], st[ConfidentialReceived])
	}
	want := []EndpointPair{{Me: netip.MustParseAddr(hostC), Peer: netip.MustParseAddr(hostD), SAs: 2}}
	if !slices.Equal(s.MeBothEnds, want) {
		t.Errorf("MeBothEnds %v, want %v", s.MeBothEnds, want)
	}
	// One end only: nothing ambiguous.
	if s := run(t, me(hostC), frame{0, esp4(hostC, hostD, 1, 1, 100)}).Snapshot(); len(s.MeBothEnds) != 0 || s.MeUnmatched {
		t.Errorf("--me %s: MeBothEnds %v, unmatched %v", hostC, s.MeBothEnds, s.MeUnmatched)
	}
}

// A --me that is no SA's endpoint (an inner address, as the SA view's Me
// column shows selectors) is reported with the endpoints it could name,
// the busiest first: here A is the end of 3 SAs, B of 2, C of 1.
func TestMeUnmatched(t *testing.T) {
	s := run(t, me("10.1.0.1"),
		frame{0, esp4(hostA, hostB, 1, 1, 100)}, frame{0, esp4(hostB, hostA, 2, 1, 100)},
		frame{0, esp4(hostC, hostA, 3, 1, 100)}).Snapshot()
	want := []MeEndpoint{{netip.MustParseAddr(hostA), 3}, {netip.MustParseAddr(hostB), 2}, {netip.MustParseAddr(hostC), 1}}
	if !s.MeUnmatched || !slices.Equal(s.MeCandidates, want) {
		t.Errorf("unmatched %v, candidates %v; want true, %v", s.MeUnmatched, s.MeCandidates, want)
	}
}
