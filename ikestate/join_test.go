package ikestate

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecmon/decode/ike/iketest"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/keys"
)

// TestJoinLab: trackers that each read one lab recording, joined, show
// what one tracker reading the recordings one after another shows (the
// oracle: the tracker the rest of this package's tests check against the
// lab's daemons). Each recording is between other gateways: its
// 198.51.100.0/24 addresses are moved to a /24 of its own, so that only
// what Join checks can couple them.
func TestJoinLab(t *testing.T) {
	root := filepath.Dir(testcorpus.LabRecordings(t)[0])
	for _, c := range []struct {
		names []string
		keyed bool
	}{
		{[]string{"ikev1-rekey", "ikev2-rekey"}, true}, // a rekeyed IKE SA's reason names a shifted ID
		{[]string{"ikev2-rekey", "ikev1-rekey"}, false},
		{[]string{"ikev2-child-delete", "ikev1-main", "ikev2-pending", "ikev2-weak"}, true},
		{[]string{"ikev2-fail-transport", "ikev2-weak", "ikev1-aggressive"}, false},
	} {
		t.Run(strings.Join(c.names, "+")+map[bool]string{true: " keyed"}[c.keyed], func(t *testing.T) {
			ks := &keys.Set{}
			var inputs [][]Message
			var end time.Time
			for i, name := range c.names {
				dir := filepath.Join(root, name)
				if c.keyed {
					k, err := iketest.Native(filepath.Join(dir, "keys.txt"))
					if err != nil {
						t.Fatal(err)
					}
					ks.IKEv1 = append(ks.IKEv1, k.IKEv1...)
					ks.IKEv2 = append(ks.IKEv2, k.IKEv2...)
				}
				msgs, _, err := iketest.Read(filepath.Join(dir, "capture.pcap"))
				if err != nil {
					t.Fatal(err)
				}
				var in []Message
				for _, m := range msgs {
					in = append(in, Message{Time: m.Time, Src: moveAddr(m.Src, i), Dst: moveAddr(m.Dst, i), Data: m.Data, Frame: FrameRef{Source: name, Index: m.Frame}})
					end = later(end, m.Time)
				}
				inputs = append(inputs, in)
			}
			one := New(ks)
			var parts []*Tracker
			for _, in := range inputs {
				p := New(ks)
				for _, m := range in {
					one.Handle(m)
					p.Handle(m)
				}
				parts = append(parts, p)
			}
			one.Finish(end)
			for _, p := range parts {
				p.Finish(end)
			}
			j, err := Join(parts)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := j.Counters, one.Counters(); got != want {
				t.Errorf("counters\n got  %+v\n want %+v", got, want)
			}
			if got, want := j.IKESAs, one.IKESAs(); !reflect.DeepEqual(got, want) {
				t.Errorf("IKE SAs\n got  %+v\n want %+v", got, want)
			}
			if got, want := j.Negotiations, one.Negotiations(); !reflect.DeepEqual(got, want) {
				t.Errorf("negotiations\n got  %+v\n want %+v", got, want)
			}
			if got, want := j.Policies, one.Policies(); !reflect.DeepEqual(got, want) {
				t.Errorf("policies\n got  %+v\n want %+v", got, want)
			}
			// The pairs, as the caller shifts them (keys compared by origin).
			var got []ChildSA
			for i, p := range parts {
				for _, ch := range p.ChildSAs() {
					j.Offsets[i].ChildSA(&ch)
					got = append(got, ch)
				}
			}
			want := one.ChildSAs()
			if len(got) != len(want) {
				t.Fatalf("%d pairs, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if w.KeysIR != nil && ChildKeyOrigin(g.IKESA.ID, g.ID) != w.KeysIR.Origin {
					t.Errorf("pair %d: keys from %q, want %q", w.ID, ChildKeyOrigin(g.IKESA.ID, g.ID), w.KeysIR.Origin)
				}
				g.KeysIR, g.KeysRI, w.KeysIR, w.KeysRI = nil, nil, nil, nil
				if !reflect.DeepEqual(g, w) {
					t.Errorf("pair %d\n got  %+v\n want %+v", i, g, w)
				}
			}
			// The history: the same changes, so the same counts at any time.
			h := one.History()
			for _, at := range append([]Change{{Time: end}}, h.Changes...) {
				for k := TallyAddition; k <= TallyExpiration; k++ {
					a, _ := j.History.CountAt(k, at.Time)
					b, _ := h.CountAt(k, at.Time)
					if a != b {
						t.Errorf("tally %d at %v: %d, want %d", k, at.Time, a, b)
					}
				}
			}
			if len(j.History.Changes) != len(h.Changes) {
				t.Errorf("%d changes, want %d", len(j.History.Changes), len(h.Changes))
			}
			if c.keyed && j.Counters.Decrypted == 0 {
				t.Error("keyed, nothing decrypted")
			}
		})
	}
}

// moveAddr moves an address of 198.51.100.0/24 to 100.64.i.0/24.
func moveAddr(a netip.AddrPort, i int) netip.AddrPort {
	b := a.Addr().As4()
	if b[0] == 198 && b[1] == 51 && b[2] == 100 {
		b[0], b[1], b[2] = 100, 64, byte(i)
	}
	return netip.AddrPortFrom(netip.AddrFrom4(b), a.Port())
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestJoinCoupled: what Join refuses, on trackers built by hand (a
// REKEY_SA naming another input's pair is not in any recording).
func TestJoinCoupled(t *testing.T) {
	sa := func(id int, spi byte) *ikeSA {
		return &ikeSA{ref: IKESARef{ID: id, Version: 2, ISPI: [8]byte{spi}}, seen: map[[32]byte]*seenMsg{}}
	}
	tracker := func(s *ikeSA, children ...ChildSA) *Tracker {
		t := New(nil)
		t.finished = true
		t.sas = []*ikeSA{s}
		t.nextSAID = s.ref.ID
		for _, c := range children {
			t.children = append(t.children, &childSA{ChildSA: c, sa: s})
		}
		t.nextChildID = len(children)
		return t
	}
	rekeyed := tracker(sa(1, 2), ChildSA{ID: 1, SPIInitiator: 12, SPIResponder: 13, RekeyOfSPI: 99})
	rekeyed.sas[0].setState(IKESARekeyed, "", time.Time{})
	rekeyed.sas[0].replacedBy = 2
	rekeyed.sas = append(rekeyed.sas, sa(2, 3))
	rekeyed.nextSAID = 2
	for _, c := range []struct {
		name string
		ts   []*Tracker
		why  string
	}{
		{"apart", []*Tracker{tracker(sa(1, 1), ChildSA{ID: 1, SPIInitiator: 10, SPIResponder: 11}), rekeyed}, ""},
		{"IKE SPI", []*Tracker{tracker(sa(1, 1)), tracker(sa(1, 1))}, "IKE SPI 0100000000000000 is in inputs 1 and 2"},
		{"pair SPI", []*Tracker{tracker(sa(1, 1), ChildSA{ID: 1, SPIInitiator: 10, SPIResponder: 11}), tracker(sa(1, 2), ChildSA{ID: 1, SPIInitiator: 11, SPIResponder: 12})}, "SPI 0000000b is negotiated in inputs 1 and 2"},
		{"rekey", []*Tracker{tracker(sa(1, 1), ChildSA{ID: 1, SPIInitiator: 10, SPIResponder: 11}), tracker(sa(1, 2), ChildSA{ID: 1, SPIInitiator: 12, SPIResponder: 13, RekeyOfSPI: 10})}, "input 2 rekeys SPI 0000000a, negotiated in input 1"},
	} {
		j, err := Join(c.ts)
		switch {
		case c.why == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.why == "":
			if ids := []int{j.Offsets[0].IKESAs, j.Offsets[1].IKESAs, j.Offsets[1].Children}; !slices.Equal(ids, []int{0, 1, 1}) {
				t.Errorf("%s: offsets %v", c.name, j.Offsets)
			}
			// Input 2's IKE SA 1 was replaced by its IKE SA 2: the run's 2 and 3.
			if k := j.IKESAs[1]; k.ID != 2 || k.StateReason != "replaced by IKE SA 3" || k.ReplacedBy != 3 {
				t.Errorf("%s: input 2's rekeyed IKE SA is %d, %q", c.name, k.ID, k.StateReason)
			}
		case !errors.Is(err, ErrCoupled) || !strings.Contains(err.Error(), c.why):
			t.Errorf("%s: %v, want %q", c.name, err, c.why)
		}
	}
}
