package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"ipsecmon/filters"
	"ipsecmon/policy"
)

// TestFilterProtocolNames: the Filters views name protocols as every view
// does (ipproto.Name: "Any", "UDP", "ESP", the number when unnamed), where
// they showed numbers.
func TestFilterProtocolNames(t *testing.T) {
	anyAddr := policy.Addr{Kind: policy.AddrAny}
	var spec []filters.SpecificFilter
	for _, p := range []uint8{0, 17, 50, 132, 99} {
		spec = append(spec, filters.SpecificFilter{Name: "f", Src: anyAddr, Dst: anyAddr, Proto: p})
	}
	out := render(t, JSON, func(b *bytes.Buffer, f Format) error { return WriteSpecificFilters(b, spec, nil, false, f) })
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	want := []string{"Any", "UDP", "ESP", "SCTP", "99"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i, r := range rows {
		if r["protocol"] != want[i] {
			t.Errorf("protocol %d: %v, want %s", spec[i].Proto, r["protocol"], want[i])
		}
	}
}
