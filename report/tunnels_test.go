package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// tunnelRun is one tunnel built by hand: negotiated selectors, two rekeys
// (one hitless, one that lost 2 packets toward me and had 3 on the old SA
// after the switch), plaintext known only outbound.
func tunnelRun() Run {
	yes, no := true, false
	t0 := time.Date(2026, 11, 27, 3, 27, 0, 0, time.UTC)
	tu := &analyzer.Tunnel{
		Key:   analyzer.TunnelKey{A: meAddr, B: peerAddr, Proto: ipproto.ESP, SelA: "10.1.0.0/16", SelB: "10.2.0.0/16"},
		Local: meAddr, Remote: peerAddr,
		LocalTS:  []ikestate.Selector{{Text: "10.1.0.0/16"}},
		RemoteTS: []ikestate.Selector{{Text: "10.2.0.0/16"}},
		ChildSAs: 3, Rekeys: 2,
		In:    analyzer.TunnelTraffic{Packets: 100, Bytes: 12000, Lost: 2, Reordered: 1},
		Out:   analyzer.TunnelTraffic{Packets: 90, Bytes: 9000, PlainBytes: 7000, PlainKnown: true},
		First: t0, Last: t0.Add(time.Minute), State: "active",
		RekeyDetails: []*analyzer.Rekey{
			{Time: t0.Add(10 * time.Second), How: analyzer.RelationRekey, Hitless: &yes, Directions: []analyzer.RekeyDirection{
				{Src: peerAddr, Dst: meAddr, OldSPI: 0x100, NewSPI: 0x300, Switched: true}}},
			{Time: t0.Add(20 * time.Second), How: analyzer.RelationRekey, Hitless: &no, Directions: []analyzer.RekeyDirection{
				{Src: peerAddr, Dst: meAddr, OldSPI: 0x300, NewSPI: 0x500, Switched: true, Lost: 2, OldPacketsAfter: 3, Overlap: 1500 * time.Millisecond}}},
		},
	}
	return Run{Snap: &analyzer.Snapshot{Tunnels: []*analyzer.Tunnel{tu}}}
}

func TestTunnelsView(t *testing.T) {
	r := tunnelRun()
	all := TunnelColumns.All
	write := func(b *bytes.Buffer, f Format) error {
		cols, err := TunnelColumns.Select(nil, f == JSON)
		if err != nil {
			return err
		}
		return Tunnels{Columns: cols}.Write(b, r, f)
	}
	rows := tableRows(t, render(t, Table, write))
	wantCells(t, "table", rows[0], "192.0.2.1", "192.0.2.2", "10.1.0.0/16", "10.2.0.0/16", "3", "2", "100", "90", "12 kB", "9.0 kB", "2", "0", "active")

	var got []map[string]any
	if err := json.Unmarshal([]byte(render(t, JSON, write)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0]) != len(all) {
		t.Fatalf("JSON: %d rows, %d keys; want 1 row with every column (%d)", len(got), len(got[0]), len(all))
	}
	o := got[0]
	for k, v := range map[string]any{"plaintext_bytes_in": nil, "plaintext_bytes_out": 7000.0, "lost_in": 2.0, "reordered_in": 1.0, "local_id": nil, "lineage": "negotiated", "protocol": "ESP"} {
		if o[k] != v {
			t.Errorf("JSON %s = %v, want %v", k, o[k], v)
		}
	}
	details, _ := o["rekeys_detail"].([]any)
	if len(details) != 2 {
		t.Fatalf("rekeys_detail %v, want 2 records", o["rekeys_detail"])
	}
	d := details[1].(map[string]any)
	dir := d["directions"].([]any)[0].(map[string]any)
	if d["hitless"] != false || d["how"] != "rekey" || dir["old_spi"] != "0x00000300" || dir["new_spi"] != "0x00000500" ||
		dir["lost_across_switch"] != 2.0 || dir["old_packets_after_switch"] != 3.0 || dir["overlap_seconds"] != 1.5 {
		t.Errorf("second rekey %v", d)
	}

	// CSV: the detail as compact JSON; the table: one summary per rekey.
	cols, _ := TunnelColumns.Select([]string{"local", "rekeys_detail"}, false)
	var b bytes.Buffer
	if err := (Tunnels{Columns: cols}).Write(&b, r, CSV); err != nil {
		t.Fatal(err)
	}
	csv := csvRows(t, b.String())
	if !strings.HasPrefix(csv[1][1], `[{"time":"2026-11-27T03:27:10Z","how":"rekey","hitless":true`) {
		t.Errorf("CSV rekeys_detail %q", csv[1][1])
	}
	b.Reset()
	if err := (Tunnels{Columns: cols}).Write(&b, r, Table); err != nil {
		t.Fatal(err)
	}
	wantCells(t, "table detail", tableRows(t, b.String())[0], "192.0.2.1", "03:27:10.000 rekey hitless; 03:27:20.000 rekey 2 lost, 3 on old after")
}

// An SA at 100,000 numbers a second without ESN is warned about (12 h
// left); one at 1,000 a second (49 days) and one with ESN are not.
func TestExhaustionWarnings(t *testing.T) {
	sec := int64(time.Second)
	sa := func(spi uint32, max uint64, esn bool) *analyzer.SA {
		return &analyzer.SA{Key: analyzer.SAKey{Dst: meAddr, SPI: spi, Proto: ipproto.ESP}, Src: peerAddr,
			Accepted: max, MinSeq: 1, MaxSeq: max + 1, FirstAccepted: sec, LastSeen: 2 * sec, ESN: esn}
	}
	snap := &analyzer.Snapshot{Rows: []*analyzer.QuickModeSA{
		{In: sa(0x100, 100000, false)}, {In: sa(0x200, 1000, false)}, {In: sa(0x300, 100000, true)},
	}}
	w := ExhaustionWarnings(snap)
	if len(w) != 1 || !strings.Contains(w[0], "0x00000100") || !strings.Contains(w[0], "in 11h55m") {
		t.Errorf("warnings %q, want one for 0x00000100 in 11h55m ((2^32-1 - 100001) / 100000 s = 42,948 s)", w)
	}
	cols, _ := SAColumns.Select([]string{"spi_in", "seq_exhaustion_in"}, false)
	var b bytes.Buffer
	if err := (SAs{Columns: cols}).Write(&b, Run{Snap: snap}, Table); err != nil {
		t.Fatal(err)
	}
	rows := tableRows(t, b.String())
	wantCells(t, "fast", rows[0], "0x00000100", "11h55m (!)")
	wantCells(t, "slow", rows[1], "0x00000200", "49d17h") // (2^32-1 - 1001) / 1000 s = 4,294,966 s = 49 d + 61,366 s
	wantCells(t, "ESN", rows[2], "0x00000300", "-")
}
