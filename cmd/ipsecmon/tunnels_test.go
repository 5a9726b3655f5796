package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The tunnels view is checked against what the lab's daemons and path said
// (facts.json: testdata/pcaps/lab/README.md) and against edits made to a
// recording here, whose effect is known by construction. Nothing expected
// comes from ipsecmon's own output.

// tunnelFacts is the part of facts.json the tunnel tests read beyond
// labFacts (peers). Fields of the routed topology (sent, path) are absent
// from older recordings.
type tunnelFacts struct {
	labFacts
	ChildSAs []struct {
		ID        string                         `json:"id"`
		Replaces  string                         `json:"replaces"`
		Selectors map[string]map[string][]string `json:"selectors"`
	} `json:"child_sas"`
	SPIs []spiFacts `json:"spis"`
}

// spiFacts is one SA direction of facts.json.
type spiFacts struct {
	SPI      string `json:"spi"`
	From     string `json:"from"`
	Child    string `json:"child"`
	Counters map[string]struct {
		Packets uint64 `json:"packets"`
	} `json:"counters"`
	Sent *struct {
		Packets uint64 `json:"packets"`
	} `json:"sent"`
	Path *struct {
		Dropped     int      `json:"dropped"`
		DroppedSeqs []uint32 `json:"dropped_seqs"`
		Reordered   int      `json:"reordered"`
	} `json:"path"`
}

func readTunnelFacts(t *testing.T, dir string) tunnelFacts {
	b, err := os.ReadFile(filepath.Join(dir, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f tunnelFacts
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// selectorsShown is a facts selector list as the views show it: a single
// address without its prefix length, lists joined by ", ".
func selectorsShown(sel []string) string {
	out := make([]string, len(sel))
	for i, s := range sel {
		out[i] = strings.TrimSuffix(strings.TrimSuffix(s, "/32"), "/128")
	}
	return strings.Join(out, ", ")
}

// expectedTunnel is what the facts say of one tunnel (bob's view: the
// capture is on his link): its child SAs grouped by bob's selectors.
type expectedTunnel struct {
	childSAs, rekeys          int
	packetsIn, packetsOut     uint64
	lostIn, reorderedIn       uint64
	headDrops, oldInteriorMax uint64 // bounds of the rekeys' losses toward bob
}

// captured is how many ESP packets of an SPI crossed bob's link: what the
// sender sent less what the path dropped before the capture point, or,
// in recordings without those facts (direct topology, nothing dropped),
// the larger of the two daemons' counters (libipsec reports 0 for an
// outbound SA replaced by a rekey its host initiated).
func capturedOf(s spiFacts) uint64 {
	if s.Sent != nil {
		n := s.Sent.Packets
		if s.Path != nil {
			n -= uint64(s.Path.Dropped)
		}
		return n
	}
	var n uint64
	for _, c := range s.Counters {
		n = max(n, c.Packets)
	}
	return n
}

func (f tunnelFacts) expected() map[string]*expectedTunnel {
	out := map[string]*expectedTunnel{}
	key := map[string]string{}
	first := map[string]bool{}    // child SAs that replace nothing: the start of a lineage
	replaced := map[string]bool{} // child SAs another one replaced
	for _, c := range f.ChildSAs {
		replaced[c.Replaces] = true
	}
	for _, c := range f.ChildSAs {
		k := selectorsShown(c.Selectors["bob"]["local"]) + " | " + selectorsShown(c.Selectors["bob"]["remote"])
		key[c.ID] = k
		e := out[k]
		if e == nil {
			e = &expectedTunnel{}
			out[k] = e
		}
		e.childSAs++
		if c.Replaces != "" {
			e.rekeys++
		} else {
			first[c.ID] = true
		}
	}
	for _, s := range f.SPIs {
		e := out[key[s.Child]]
		if e == nil {
			continue
		}
		n := capturedOf(s)
		if s.From == "bob" {
			e.packetsOut += n
			continue
		}
		e.packetsIn += n
		if s.Path == nil || s.Sent == nil {
			continue
		}
		e.reorderedIn += uint64(s.Path.Reordered)
		// The sender numbered the SA 1..sent (RFC 4303 §3.3.3); the capture
		// lacks exactly the dropped numbers. Lost: dropped numbers between
		// the lowest and highest captured; below the lowest they are lost
		// across the switch to this SA (when it replaced one).
		dropped := map[uint32]bool{}
		for _, d := range s.Path.DroppedSeqs {
			dropped[d] = true
		}
		lo, hi := uint32(0), uint32(0)
		for q := uint32(1); q <= uint32(s.Sent.Packets); q++ {
			if !dropped[q] {
				if lo == 0 {
					lo = q
				}
				hi = q
			}
		}
		for _, d := range s.Path.DroppedSeqs {
			switch {
			case d > lo && d < hi:
				e.lostIn++
				if replaced[s.Child] {
					e.oldInteriorMax++ // may lie after the switch to its successor
				}
			case d < lo && !first[s.Child]:
				e.headDrops++
			}
		}
	}
	return out
}

func tunnelsJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	jsonOut(t, &rows, append([]string{"tunnels", "-q", "-o", "json"}, args...)...)
	return rows
}

func num(v any) uint64 {
	f, _ := v.(float64)
	return uint64(f)
}

// TestLabTunnels: every recording's tunnels, with the daemons' keys, equal
// the facts: one per set of bob's selectors, its child SAs and rekeys (the
// lineages' replacements), its packets each way on bob's link, and the
// loss and reordering the lab's path injected.
func TestLabTunnels(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readTunnelFacts(t, dir)
			want := f.expected()
			// The recordings made for this (testdata/pcaps/lab/README.md):
			// their facts must hold what the lab injected, or this test
			// would compare zeros.
			for _, e := range want {
				if sc == "ikev2-loss-rekey" && (e.lostIn == 0 || e.rekeys == 0) || sc == "ikev2-reorder" && e.reorderedIn == 0 {
					t.Fatalf("facts: %+v: no injected loss or reordering found", *e)
				}
			}
			rows := tunnelsJSON(t, "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--me", f.link("bob"))
			if len(rows) != len(want) {
				t.Errorf("%d tunnels, facts: %d (%v)", len(rows), len(want), slices.Collect(mapKeys(want)))
			}
			for _, r := range rows {
				k := fmt.Sprint(r["local_ts"]) + " | " + fmt.Sprint(r["remote_ts"])
				e := want[k]
				if e == nil {
					t.Errorf("tunnel %s: not in the facts", k)
					continue
				}
				got := expectedTunnel{childSAs: int(num(r["child_sas"])), rekeys: int(num(r["rekeys"])), packetsIn: num(r["packets_in"]), packetsOut: num(r["packets_out"]),
					lostIn: num(r["lost_in"]), reorderedIn: num(r["reordered_in"])}
				exp := *e
				exp.headDrops, exp.oldInteriorMax = 0, 0
				if got != exp {
					t.Errorf("tunnel %s: %+v\nfacts: %+v", k, got, exp)
				}
				for _, key := range []string{"lost_out", "reordered_out", "duplicates_in", "duplicates_out", "late_in", "late_out"} {
					if num(r[key]) != 0 {
						t.Errorf("tunnel %s: %s = %v, the path touched only alice's packets and dropped or delayed, never copied", k, key, r[key])
					}
				}
				var details []struct {
					Directions []struct {
						Dst  string `json:"dst"`
						Lost uint64 `json:"lost_across_switch"`
					} `json:"directions"`
				}
				b, _ := json.Marshal(r["rekeys_detail"])
				if err := json.Unmarshal(b, &details); err != nil {
					t.Fatal(err)
				}
				if len(details) != e.rekeys {
					t.Errorf("tunnel %s: %d rekeys listed, facts: %d", k, len(details), e.rekeys)
				}
				var lost uint64
				for _, d := range details {
					for _, dir := range d.Directions {
						if dir.Dst == f.link("bob") {
							lost += dir.Lost
						}
					}
				}
				if lost < e.headDrops || lost > e.headDrops+e.oldInteriorMax {
					t.Errorf("tunnel %s: %d lost across the switches toward bob, facts: at least %d (first numbers of new SAs), at most %d more (dropped inside old SAs)",
						k, lost, e.headDrops, e.oldInteriorMax)
				}
			}
		})
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestLabTunnelsWithoutKeys: without keys the rekey recordings' traffic
// still makes one tunnel of 3 child SAs and 2 rekeys, inferred from the
// SPIs that follow one another between the same peers (IKEv2 and IKEv1
// Quick Modes are encrypted: no negotiation links them).
func TestLabTunnelsWithoutKeys(t *testing.T) {
	root, _ := labScenarios(t)
	for _, sc := range []string{"ikev2-rekey", "ikev1-rekey"} {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			if _, err := os.Stat(filepath.Join(dir, "facts.json")); err != nil {
				t.Skip(err)
			}
			f := readTunnelFacts(t, dir)
			want := f.expected()
			if len(want) != 1 {
				t.Fatalf("facts: %d tunnels, the test expects the rekey recordings' one", len(want))
			}
			var e *expectedTunnel
			for _, x := range want {
				e = x
			}
			rows := tunnelsJSON(t, "-r", filepath.Join(dir, "capture.pcap"), "--me", f.link("bob"))
			if len(rows) != 1 {
				t.Fatalf("%d tunnels, want 1", len(rows))
			}
			r := rows[0]
			if int(num(r["child_sas"])) != e.childSAs || int(num(r["rekeys"])) != e.rekeys || num(r["packets_in"]) != e.packetsIn || num(r["packets_out"]) != e.packetsOut ||
				r["lineage"] != "inferred" || r["local_ts"] != nil {
				t.Errorf("tunnel %v/%v child SAs, %v/%v rekeys, packets %v/%v in, %v/%v out, lineage %v, local_ts %v; want the facts, inferred, null",
					r["child_sas"], e.childSAs, r["rekeys"], e.rekeys, r["packets_in"], e.packetsIn, r["packets_out"], e.packetsOut, r["lineage"], r["local_ts"])
			}
		})
	}
}

// espRecord is one frame of a capture, with its ESP SPI and sequence
// number when it is ESP (in UDP 4500 behind no non-ESP marker, or IP
// protocol 50), read with gopacket's layers.
type espRecord struct {
	ci       gopacket.CaptureInfo
	data     []byte
	esp      bool
	src, dst string
	spi, seq uint32
}

func readRecords(t *testing.T, path string) ([]espRecord, layers.LinkType) {
	t.Helper()
	r := openPcap(t, path)
	var out []espRecord
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		rec := espRecord{ci: ci, data: data}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			rec.src, rec.dst = ip.SrcIP.String(), ip.DstIP.String()
			var esp []byte
			if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && (udp.SrcPort == 4500 || udp.DstPort == 4500) {
				if pl := udp.Payload; len(pl) >= 8 && binary.BigEndian.Uint32(pl) != 0 {
					esp = pl
				}
			} else if ip.Protocol == layers.IPProtocolESP {
				esp = ip.Payload
			}
			if len(esp) >= 8 {
				rec.esp, rec.spi, rec.seq = true, binary.BigEndian.Uint32(esp), binary.BigEndian.Uint32(esp[4:])
			}
		}
		out = append(out, rec)
	}
	return out, r.LinkType()
}

func writeRecords(t *testing.T, recs []espRecord, lt layers.LinkType) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edited.pcap")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w := pcapgo.NewWriter(fh)
	if err := w.WriteFileHeader(262144, lt); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(r.ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// spiSpans is the lowest and highest ESP sequence number of every SPI.
func spiSpans(recs []espRecord) map[uint32][2]uint32 {
	out := map[uint32][2]uint32{}
	for _, r := range recs {
		if !r.esp {
			continue
		}
		s, ok := out[r.spi]
		if !ok {
			s = [2]uint32{r.seq, r.seq}
		}
		s[0], s[1] = min(s[0], r.seq), max(s[1], r.seq)
		out[r.spi] = s
	}
	return out
}

// TestTunnelsOnEditedRecording edits the ikev2-rekey recording (3 CHILD SAs
// in one tunnel, every SA's packets numbered from 1 without a gap, checked
// below) and checks each figure against the edit:
//
//   - remove interior packets (neither the lowest nor the highest number of
//     their SPI): lost_in/lost_out = the number removed each way;
//   - remove the first packet of the second SA toward bob: lost_in does not
//     change (it is below the SA's lowest number), but the rekey to that SA
//     lost 1 packet across the switch and is not hitless;
//   - move a packet after the next one of its SPI: reordered_in = the moves;
//   - copy a packet right after itself: duplicates_in = the copies;
//   - with a window of 4, move a packet after the 8th one behind it: late_in
//     = 1, and it is not lost.
func TestTunnelsOnEditedRecording(t *testing.T) {
	root, _ := labScenarios(t)
	dir := filepath.Join(root, "ikev2-rekey")
	if _, err := os.Stat(filepath.Join(dir, "facts.json")); err != nil {
		t.Skip(err)
	}
	f := readTunnelFacts(t, dir)
	bob := f.link("bob")
	recs, lt := readRecords(t, filepath.Join(dir, "capture.pcap"))
	spans := spiSpans(recs)
	count := map[uint32]int{}
	for _, r := range recs {
		if r.esp {
			count[r.spi]++
		}
	}
	// The order of the SAs toward bob, by first packet.
	var toBob []uint32
	for _, r := range recs {
		if r.esp && r.dst == bob && !slices.Contains(toBob, r.spi) {
			toBob = append(toBob, r.spi)
		}
	}
	for spi, s := range spans {
		if s[0] != 1 || int(s[1]) != count[spi] {
			t.Fatalf("SPI 0x%08x: numbers %d..%d in %d packets; the edits below assume 1..n without a gap", spi, s[0], s[1], count[spi])
		}
	}
	if len(toBob) != 3 {
		t.Fatalf("%d SPIs toward bob, the recording has 3 CHILD SAs", len(toBob))
	}
	base := tunnelsJSON(t, "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "--me", bob)
	if len(base) != 1 {
		t.Fatalf("%d tunnels, want 1", len(base))
	}
	run := func(t *testing.T, recs []espRecord, extra ...string) map[string]any {
		t.Helper()
		rows := tunnelsJSON(t, append([]string{"-r", writeRecords(t, recs, lt), "-k", filepath.Join(dir, "keys.txt"), "--me", bob}, extra...)...)
		if len(rows) != 1 {
			t.Fatalf("%d tunnels, want 1", len(rows))
		}
		return rows[0]
	}
	interior := func(r espRecord) bool { s := spans[r.spi]; return r.esp && r.seq > s[0] && r.seq < s[1] }

	t.Run("interior packets removed", func(t *testing.T) {
		var out []espRecord
		removedIn, removedOut := 0, 0
		for _, r := range recs {
			// Every 7th number inside each SA toward bob, every 11th away.
			switch {
			case interior(r) && r.dst == bob && r.seq%7 == 0:
				removedIn++
				continue
			case interior(r) && r.dst != bob && r.seq%11 == 0:
				removedOut++
				continue
			}
			out = append(out, r)
		}
		got := run(t, out)
		if num(got["lost_in"]) != uint64(removedIn) || num(got["lost_out"]) != uint64(removedOut) ||
			num(got["packets_in"]) != num(base[0]["packets_in"])-uint64(removedIn) {
			t.Errorf("lost %v in, %v out, packets in %v; removed %d in, %d out of %v", got["lost_in"], got["lost_out"], got["packets_in"], removedIn, removedOut, base[0]["packets_in"])
		}
		if removedIn == 0 || removedOut == 0 {
			t.Fatal("the edit removed nothing")
		}
	})
	t.Run("first packet of a new SA removed", func(t *testing.T) {
		var out []espRecord
		for _, r := range recs {
			if r.esp && r.spi == toBob[1] && r.seq == 1 {
				continue
			}
			out = append(out, r)
		}
		got := run(t, out)
		if num(got["lost_in"]) != 0 {
			t.Errorf("lost_in %v, want 0: number 1 is below the SA's lowest", got["lost_in"])
		}
		var details []struct {
			Hitless    *bool `json:"hitless"`
			Directions []struct {
				NewSPI string `json:"new_spi"`
				Lost   uint64 `json:"lost_across_switch"`
			} `json:"directions"`
		}
		b, _ := json.Marshal(got["rekeys_detail"])
		if err := json.Unmarshal(b, &details); err != nil {
			t.Fatal(err)
		}
		var lost []string
		for _, d := range details {
			for _, x := range d.Directions {
				if x.Lost > 0 {
					lost = append(lost, fmt.Sprintf("%s:%d hitless=%v", x.NewSPI, x.Lost, *d.Hitless))
				}
			}
		}
		if want := []string{fmt.Sprintf("0x%08x:1 hitless=false", toBob[1])}; !slices.Equal(lost, want) {
			t.Errorf("losses across switches %q, want %q", lost, want)
		}
	})
	t.Run("reordered", func(t *testing.T) {
		out := slices.Clone(recs)
		moved := 0
		done := map[uint32]bool{}
		for i := 0; i+1 < len(out); i++ {
			// Swap numbers 5 and 6 of every SA toward bob (adjacent in the
			// capture: check they are).
			if out[i].esp && out[i].dst == bob && out[i].seq == 5 && !done[out[i].spi] {
				done[out[i].spi] = true
				for j := i + 1; j < len(out); j++ {
					if out[j].esp && out[j].spi == out[i].spi {
						if out[j].seq != 6 {
							t.Fatalf("after 0x%08x #5 comes #%d", out[i].spi, out[j].seq)
						}
						out[i], out[j] = out[j], out[i]
						moved++
						break
					}
				}
			}
		}
		got := run(t, out)
		if num(got["reordered_in"]) != uint64(moved) || num(got["lost_in"]) != 0 || num(got["packets_in"]) != num(base[0]["packets_in"]) || moved != 3 {
			t.Errorf("reordered_in %v, lost_in %v, packets_in %v; moved %d (one per SA toward bob), nothing lost", got["reordered_in"], got["lost_in"], got["packets_in"], moved)
		}
	})
	t.Run("duplicated", func(t *testing.T) {
		var out []espRecord
		copies := 0
		for _, r := range recs {
			out = append(out, r)
			if r.esp && r.dst == bob && r.seq == 3 {
				out = append(out, r)
				copies++
			}
		}
		got := run(t, out)
		if num(got["duplicates_in"]) != uint64(copies) || num(got["packets_in"]) != num(base[0]["packets_in"]) {
			t.Errorf("duplicates_in %v, packets_in %v; %d copies, the same accepted", got["duplicates_in"], got["packets_in"], copies)
		}
	})
	t.Run("late", func(t *testing.T) {
		// With a window of 4, number 2 of the first SA toward bob arriving
		// after number 10 is left of the window (10-2 >= 4).
		var out []espRecord
		var held *espRecord
		for _, r := range recs {
			if r.esp && r.spi == toBob[0] && r.seq == 2 {
				held = &r
				continue
			}
			out = append(out, r)
			if held != nil && r.esp && r.spi == toBob[0] && r.seq == 10 {
				out = append(out, *held)
				held = nil
			}
		}
		got := run(t, out, "--replay-window", "4")
		if num(got["late_in"]) != 1 || num(got["lost_in"]) != 0 || num(got["reordered_in"]) != 0 || num(got["packets_in"]) != num(base[0]["packets_in"])-1 {
			t.Errorf("late_in %v, lost_in %v, reordered_in %v, packets_in %v; want 1, 0 (it arrived), 0, one fewer accepted",
				got["late_in"], got["lost_in"], got["reordered_in"], got["packets_in"])
		}
	})
}
