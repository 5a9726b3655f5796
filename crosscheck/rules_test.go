package crosscheck_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/crosscheck"
	"ipsecmon/hosts"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
	"ipsecmon/pipeline"
)

// Each rule of the comparison on hand-built inputs: what the capture shows
// (analyzer SAs and figures) and what a host says, with the verdict and the
// reason worked out by hand from the rule. The host is "me", 192.0.2.1; its
// peer 192.0.2.2. No Recorder: every host is compared with the capture as
// it stands at its end.

var (
	me    = netip.MustParseAddr("192.0.2.1")
	peer  = netip.MustParseAddr("192.0.2.2")
	other = netip.MustParseAddr("198.51.100.9")
	t0    = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
)

func p(v uint64) *uint64 { return &v }

// captured is an SA the capture saw from src to dst with n accepted packets.
func captured(spi uint32, src, dst netip.Addr, n uint64) *analyzer.SA {
	return &analyzer.SA{Key: analyzer.SAKey{Dst: dst, SPI: spi, Proto: ipproto.ESP}, Src: src, Accepted: n,
		FirstSeen: t0.UnixNano(), LastSeen: t0.Add(time.Second).UnixNano()}
}

func snapOf(sas ...*analyzer.SA) *analyzer.Snapshot {
	s := &analyzer.Snapshot{First: t0, Last: t0.Add(time.Second)}
	for _, sa := range sas {
		q := &analyzer.QuickModeSA{Out: sa, MyAddr: sa.Src, PeerAddr: sa.Key.Dst}
		if sa.Key.Dst == me {
			q = &analyzer.QuickModeSA{In: sa, MyAddr: me, PeerAddr: sa.Src}
		}
		s.Rows = append(s.Rows, q)
	}
	return s
}

// listed is an SA as the host lists it (an ip -s xfrm state entry).
func listed(spi uint32, dir hosts.Direction, packets *uint64) hosts.SA {
	s := hosts.SA{Proto: ipproto.ESP, SPI: spi, Src: peer, Dst: me, Dir: dir, Packets: packets}
	if dir == hosts.DirOut {
		s.Src, s.Dst = me, peer
	}
	return s
}

func listing(sas ...hosts.SA) *hosts.Snapshot {
	return &hosts.Snapshot{Source: "host", Format: hosts.FormatXfrmState, SAs: sas}
}

// want is one expected row: "sa|figure|verdict|ipsecmon|host|reason", the
// numbers '-' when unknown, the reason a part of it (” for none at all).
type want string

func show(r crosscheck.Row) string {
	n := func(v *uint64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s", r.SA, r.Figure, r.Verdict, n(r.Analyzer), n(r.HostVal), r.Reason)
}

func (w want) matches(r crosscheck.Row) bool {
	f := strings.SplitN(string(w), "|", 6)
	g := strings.SplitN(show(r), "|", 6)
	if strings.Join(f[:5], "|") != strings.Join(g[:5], "|") {
		return false
	}
	if f[5] == "" {
		return g[5] == ""
	}
	return strings.Contains(g[5], f[5])
}

// check compares and finds each wanted row among those for its SA and figure.
func check(t *testing.T, in crosscheck.Input, h crosscheck.Host, tol crosscheck.Tolerance, wants ...want) []crosscheck.Row {
	t.Helper()
	rows := crosscheck.Compare(in, []crosscheck.Host{h}, tol)
	for _, w := range wants {
		key := strings.Join(strings.SplitN(string(w), "|", 3)[:2], "|")
		found := false
		for _, r := range rows {
			if strings.HasPrefix(show(r), key+"|") {
				found = true
				if !w.matches(r) {
					t.Errorf("row %s\n  want %s", show(r), w)
				}
			}
		}
		if !found {
			var all []string
			for _, r := range rows {
				all = append(all, show(r))
			}
			t.Errorf("no row %s in\n  %s", key, strings.Join(all, "\n  "))
		}
	}
	return rows
}

func inputOf(s *analyzer.Snapshot) crosscheck.Input {
	return crosscheck.Input{Snap: s, BadSPIByDst: s.BadSPIByDst, SAKnowledgeComplete: s.SAKnowledgeComplete}
}

func TestPerSARules(t *testing.T) {
	const notReported = "the host does not report it"
	for _, tc := range []struct {
		name  string
		snap  *analyzer.Snapshot
		host  crosscheck.Host
		tol   string
		wants []want
	}{
		{"same count agrees", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))}, "0",
			[]want{"esp 0x00000100 in|packets|agree|10|10|"}},
		{"another count differs", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(12)))}, "0",
			[]want{"esp 0x00000100 in|packets|differs|10|12|"}},
		// |10-12| = 2 is within 2 packets, not within 10% of 12 (1.2), within 20% (2.4).
		{"within an absolute tolerance", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(12)))}, "2",
			[]want{"esp 0x00000100 in|packets|agree|10|12|"}},
		{"beyond a relative tolerance", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(12)))}, "10%",
			[]want{"esp 0x00000100 in|packets|differs|10|12|"}},
		{"within a relative tolerance", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(12)))}, "20%",
			[]want{"esp 0x00000100 in|packets|agree|10|12|"}},
		{"a count the host does not give", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, nil))}, "0",
			[]want{"esp 0x00000100 in|packets|not comparable|10|-|" + notReported}},
		{"strongSwan's rekeyed outbound SA", snapOf(captured(0x200, me, peer, 7)),
			crosscheck.Host{After: listing(func() hosts.SA { s := listed(0x200, hosts.DirOut, nil); s.State = "REKEYED"; return s }())}, "0",
			[]want{"esp 0x00000200 out|packets|not comparable|7|-|strongSwan drops a rekeyed outbound SA's counters"}},
		// 15 after - 5 before = 10 during the capture.
		{"the snapshot before is subtracted", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(15))), Before: listing(listed(0x100, hosts.DirIn, p(5)))}, "0",
			[]want{"esp 0x00000100 in|packets|agree|10|10|"}},
		{"a counter that went down", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(3))), Before: listing(listed(0x100, hosts.DirIn, p(5)))}, "0",
			[]want{"esp 0x00000100 in|packets|not comparable|10|-|the host's counter went down between the snapshots"}},
		{"installed before the capture, no snapshot before", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(func() hosts.SA { s := listed(0x100, hosts.DirIn, p(30)); s.AddTime = t0.Add(-time.Minute); return s }())}, "0",
			[]want{"esp 0x00000100 in|packets|not comparable|10|30|SA installed before the capture started (give --host-before)"}},
		// The capture saw no packet of it: 0 against the host's 5.
		{"an SA the capture never saw", snapOf(),
			crosscheck.Host{After: listing(listed(0x300, hosts.DirIn, p(5)))}, "0",
			[]want{"esp 0x00000300 in|packets|differs|0|5|"}},
		// The host names its own (private) address; the capture saw the
		// SA to its public one: matched by SPI and protocol alone.
		{"behind a NAT, matched by SPI", snapOf(captured(0x100, peer, other, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))}, "0",
			[]want{"esp 0x00000100 in|packets|agree|10|10|"}},
		{"an SA at the host it does not list", snapOf(captured(0x100, peer, me, 10), captured(0x200, me, peer, 4)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))}, "0",
			[]want{"esp 0x00000100 in|packets|agree|10|10|", "esp 0x00000200 out|packets|differs|4|-|the host does not list this SA"}},
		{"an SA that ended before the host's snapshot", snapOf(captured(0x100, peer, me, 10), func() *analyzer.SA {
			s := captured(0x200, me, peer, 4)
			s.State = analyzer.StateDeleted
			return s
		}()),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))}, "0",
			[]want{"esp 0x00000200 out|packets|not comparable|4|-|SA deleted before the host's snapshot"}},
		{"bytes of an unknown basis", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))}, "0",
			[]want{"esp 0x00000100 in|bytes (unknown)|not comparable|-|-|the host's byte basis is unknown"}},
		{"plaintext bytes need keys", snapOf(captured(0x100, peer, me, 10)),
			crosscheck.Host{After: listing(func() hosts.SA {
				s := listed(0x100, hosts.DirIn, p(10))
				s.Bytes, s.ByteBasis = p(840), hosts.BasisInnerIP
				return s
			}())}, "0",
			[]want{"esp 0x00000100 in|bytes (inner-ip)|not comparable|-|840|needs keys: the host counts plaintext bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tol, err := crosscheck.ParseTolerance(tc.tol)
			if err != nil {
				t.Fatal(err)
			}
			check(t, inputOf(tc.snap), tc.host, tol, tc.wants...)
		})
	}
}

func TestParseTolerance(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want crosscheck.Tolerance
		err  bool
	}{
		{"0", crosscheck.Tolerance{}, false},
		{"3", crosscheck.Tolerance{Abs: 3}, false},
		{"0.5%", crosscheck.Tolerance{Relative: 0.005}, false},
		{"-1", crosscheck.Tolerance{}, true},
		{"-1%", crosscheck.Tolerance{}, true},
		{"x%", crosscheck.Tolerance{}, true},
		{"", crosscheck.Tolerance{}, true},
	} {
		got, err := crosscheck.ParseTolerance(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTolerance(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestHostWideRules(t *testing.T) {
	const unknownHost = "the host's own addresses are unknown"
	isMe := func(a netip.Addr) bool { return a == me }
	// 3 replayed packets arrived at me, 5 at another host (not counted).
	replays := func() *analyzer.Snapshot {
		a, b := captured(0x100, peer, me, 10), captured(0x400, peer, other, 1)
		a.Replayed, b.Replayed = 3, 5
		return snapOf(a, b)
	}
	counters := func(g hosts.Counters) *hosts.Snapshot {
		return &hosts.Snapshot{Source: "xfrm_stat", Format: hosts.FormatXfrmStat, Global: g}
	}
	known := func(s *analyzer.Snapshot) *analyzer.Snapshot { s.SAKnowledgeComplete = true; return s }
	for _, tc := range []struct {
		name  string
		snap  *analyzer.Snapshot
		me    func(netip.Addr) bool
		host  crosscheck.Host
		wants []want
	}{
		// No address is the host's: nothing arrived "at it" (0), and that
		// 0 is not compared.
		{"counters alone: the host's addresses are unknown", replays(), nil,
			crosscheck.Host{After: counters(hosts.Counters{ReplayFailed: p(3)})},
			[]want{"|packets_with_replay_detection|not comparable|0|3|" + unknownHost}},
		{"counters alone with --me", replays(), isMe,
			crosscheck.Host{After: counters(hosts.Counters{ReplayFailed: p(3)})},
			[]want{"|packets_with_replay_detection|agree|3|3|"}},
		{"the listing gives the host's addresses", replays(), nil,
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))},
			[]want{"esp 0x00000100 in|packets|agree|10|10|"}},
		{"Bad SPI the capture cannot tell", replays(), isMe,
			crosscheck.Host{After: counters(hosts.Counters{BadSPI: p(4)})},
			[]want{"|bad_spi_packets|not comparable|-|4|the capture cannot tell Bad SPI"}},
		// Only the Bad SPI packets to me count: 4, not 4+7.
		{"Bad SPI at this host", func() *analyzer.Snapshot {
			s := replays()
			s.BadSPIByDst = map[netip.Addr]uint64{me: 4, other: 7}
			return s
		}(), isMe,
			crosscheck.Host{After: counters(hosts.Counters{BadSPI: p(4)})},
			[]want{"|bad_spi_packets|agree|4|4|"}},
		{"integrity failures need keys", replays(), isMe,
			crosscheck.Host{After: counters(hosts.Counters{ProtoError: p(2)})},
			[]want{"|packets_not_authenticated + packets_not_decrypted|not comparable|-|2|needs keys"}},
		// Linux's per-SA replay counters: 2 duplicates + 1 left of the window.
		{"per-SA replay counters summed", replays(), nil,
			crosscheck.Host{After: listing(func() hosts.SA {
				s := listed(0x100, hosts.DirIn, p(10))
				s.ReplayDrops, s.ReplayWindowDrops, s.IntegrityFailed = p(2), p(1), p(1)
				return s
			}())},
			[]want{"|packets_with_replay_detection (per-SA sum)|agree|3|3|", "|packets_not_authenticated (per-SA sum)|not comparable|-|1|needs keys"}},
		{"a global replay counter wins over the per-SA sum", replays(), nil,
			crosscheck.Host{After: &hosts.Snapshot{Source: "host", Format: hosts.FormatXfrmState + "+" + hosts.FormatXfrmStat,
				SAs:    []hosts.SA{func() hosts.SA { s := listed(0x100, hosts.DirIn, p(10)); s.ReplayDrops = p(9); return s }()},
				Global: hosts.Counters{ReplayFailed: p(4)}}},
			[]want{"|packets_with_replay_detection|differs|3|4|"}},
		{"Active SAs while SAs may be invisible", replays(), nil,
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)))},
			[]want{"|active_security_associations|not comparable|1|1|SAs that carried no packet are invisible"}},
		// Listed: 0x100 (installed) and 0x500 (deleting: no longer counts);
		// at me the capture has 0x100 alive.
		{"Active SAs from the listing", known(snapOf(captured(0x100, peer, me, 10))), nil,
			crosscheck.Host{After: listing(listed(0x100, hosts.DirIn, p(10)), func() hosts.SA {
				s := listed(0x500, hosts.DirIn, p(0))
				s.State = "DELETING"
				return s
			}())},
			[]want{"|active_security_associations|agree|1|1|"}},
		{"Active SAs as the host counts them", known(snapOf(captured(0x100, peer, me, 10))), isMe,
			crosscheck.Host{After: counters(hosts.Counters{ActiveSAs: p(3)})},
			[]want{"|active_security_associations|differs|1|3|"}},
		{"Active SAs from counters that give neither", known(snapOf(captured(0x100, peer, me, 10))), isMe,
			crosscheck.Host{After: counters(hosts.Counters{ReplayFailed: p(0)})},
			[]want{"|active_security_associations|not comparable|1|0|the host's sources give neither its SAs nor a count of them"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputOf(tc.snap)
			in.Me = tc.me
			check(t, in, tc.host, crosscheck.Tolerance{}, tc.wants...)
		})
	}
}

func TestDaemonRules(t *testing.T) {
	snap := snapOf(captured(0x100, peer, me, 10))
	snap.Stats[analyzer.KeyAdditions] = analyzer.Figure{Value: 2, Known: true}
	daemon := func(adds, dels uint64) *hosts.Snapshot {
		s := listing(listed(0x100, hosts.DirIn, p(10)))
		s.Daemon = &hosts.DaemonCounters{KeyAdditions: p(adds), KeyDeletions: p(dels)}
		return s
	}
	// Key additions: 2 in the capture, 5 - 3 = 2 on the daemon during it.
	// Key deletions: the capture cannot tell (not Known).
	check(t, inputOf(snap), crosscheck.Host{After: daemon(5, 1), Before: daemon(3, 0)}, crosscheck.Tolerance{},
		"|key_additions|agree|2|2|",
		"|key_deletions|not comparable|-|1|needs the decrypted IKE negotiations")
}

// Rules that need the analyzer's keyed figures (plaintext bytes, integrity
// failures) run on SAs the analyzer built from sealed packets, since only
// it can key an SA.
func TestKeyedRules(t *testing.T) {
	encKey, authKey := bytes.Repeat([]byte{0x21}, 16), bytes.Repeat([]byte{0x22}, 32)
	in4, out4 := [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}
	rx := pktbuild.Sealer{SPI: 0x100, Key: encKey, AuthKey: authKey}
	tx := pktbuild.Sealer{SPI: 0x200, Key: encKey, AuthKey: authKey}
	payload := make([]byte, 40) // a 40-byte transport payload (next header 17)
	var frames [][]byte
	seal := func(s *pktbuild.Sealer, src, dst [4]byte, seq uint64, f pktbuild.Fault) {
		b := s.Seal(seq, payload, 17, f)
		frames = append(frames, pktbuild.Cat(pktbuild.IPv4(50, src, dst, len(b), 0), b))
	}
	// In: 4 good, then one whose ICV fails and one whose padding is bad.
	for seq := uint64(1); seq <= 4; seq++ {
		seal(&rx, out4, in4, seq, pktbuild.NoFault)
	}
	seal(&rx, out4, in4, 5, pktbuild.FlipICV)
	seal(&rx, out4, in4, 6, pktbuild.BadPadding)
	// Out: 3 good.
	for seq := uint64(1); seq <= 3; seq++ {
		seal(&tx, in4, out4, seq, pktbuild.NoFault)
	}
	keyText := fmt.Sprintf(`src 192.0.2.2 dst 192.0.2.1
	proto esp spi 0x00000100 reqid 1 mode transport
	replay-window 64
	auth-trunc hmac(sha256) 0x%[1]s 128
	enc cbc(aes) 0x%[2]s
src 192.0.2.1 dst 192.0.2.2
	proto esp spi 0x00000200 reqid 1 mode transport
	replay-window 64
	auth-trunc hmac(sha256) 0x%[1]s 128
	enc cbc(aes) 0x%[2]s
`, hex.EncodeToString(authKey), hex.EncodeToString(encKey))
	ks, err := keys.Parse("keys.txt", []byte(keyText))
	if err != nil {
		t.Fatal(err)
	}
	an := analyzer.New(analyzer.Config{Keys: ks, Me: []netip.Prefix{netip.PrefixFrom(me, 32)}})
	run := pipeline.New(an, pipeline.Options{})
	for i, f := range frames {
		run.Frame(&capture.Frame{Data: f, LinkType: layers.LinkTypeRaw, Index: i + 1,
			CI: gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f), Length: len(f)}})
	}
	run.Finish()
	snap := an.Snapshot()

	host := &hosts.Snapshot{Source: "host", Format: hosts.FormatXfrmState + "+" + hosts.FormatXfrmStat,
		SAs: []hosts.SA{
			// Linux in: the decapsulated payload, 4 × 40 = 160 bytes.
			{Proto: ipproto.ESP, SPI: 0x100, Src: peer, Dst: me, Dir: hosts.DirIn, Packets: p(4), Bytes: p(160), ByteBasis: hosts.BasisLinuxXfrmIn},
			// Linux out: IPv4 header 20 + ESP header 8 + IV 16 + payload 40
			// = 84 per packet, 3 × 84 = 252.
			{Proto: ipproto.ESP, SPI: 0x200, Src: me, Dst: peer, Dir: hosts.DirOut, Packets: p(3), Bytes: p(252), ByteBasis: hosts.BasisLinuxXfrmOut},
		},
		// One ICV failure and one bad padding: XfrmInStateProtoError 2.
		Global: hosts.Counters{ProtoError: p(2)}}
	check(t, inputOf(snap), crosscheck.Host{After: host}, crosscheck.Tolerance{},
		"esp 0x00000100 in|packets|agree|4|4|",
		"esp 0x00000100 in|bytes (linux-xfrm-in)|agree|160|160|",
		"esp 0x00000200 out|packets|agree|3|3|",
		"esp 0x00000200 out|bytes (linux-xfrm-out)|agree|252|252|",
		"|packets_not_authenticated + packets_not_decrypted|agree|2|2|")
}
