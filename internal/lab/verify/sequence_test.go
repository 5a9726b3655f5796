package verify

import (
	"strings"
	"testing"

	"ipsecmon/internal/lab/facts"
)

// TestCheckSequence: sequence numbers as tshark reads them in capture
// order, against what facts say the path did (worked out by hand).
func TestCheckSequence(t *testing.T) {
	path := &facts.SPIPath{DroppedSeqs: []uint32{3}, ReorderedPackets: []facts.ReorderedESP{{Seq: 4, Overtaken: 2}}}
	sf := facts.SPI{SPI: "0x1", From: "alice", Sent: facts.Amount{Packets: 7}, Path: path}
	tests := []struct {
		name string
		seqs []uint32
		want string // "" or a problem substring
	}{
		{"as injected", []uint32{1, 2, 5, 6, 4, 7}, ""},
		{"a gap too many", []uint32{1, 5, 6, 4, 7}, "missing from the capture [2 3]"},
		{"not reordered", []uint32{1, 2, 4, 5, 6, 7}, "captured after a higher one []"},
		{"overtaken by one", []uint32{1, 2, 5, 4, 6, 7}, "captured after 1 higher ones, facts say 2"},
		{"beyond what was sent", []uint32{1, 2, 5, 6, 4, 7, 8}, "sequence number 8, but alice sent 7"},
		{"twice", []uint32{1, 2, 5, 6, 4, 7, 7}, "captured twice"},
	}
	for _, tt := range tests {
		res := &Result{}
		checkSequence(res, sf, tt.seqs)
		got := strings.Join(res.Problems, "; ")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// Without a path nothing may be missing or late.
	res := &Result{}
	checkSequence(res, facts.SPI{SPI: "0x2", From: "bob", Sent: facts.Amount{Packets: 4}}, []uint32{1, 3, 2})
	if len(res.Problems) != 2 {
		t.Errorf("no path: %v", res.Problems)
	}
}

func TestSubsequence(t *testing.T) {
	p := func(s string) []byte { return []byte(s) }
	long := [][]byte{p("a"), p("b"), p("c"), p("d")}
	d := tunnelDir{peer: "bob"}
	res := &Result{}
	if n := subsequence(res, d, [][]byte{p("a"), p("c")}, long); n != 2 || len(res.Problems) != 0 {
		t.Errorf("in order: %d %v", n, res.Problems)
	}
	if subsequence(res, d, [][]byte{p("c"), p("a")}, long); len(res.Problems) != 1 {
		t.Errorf("out of order: %v", res.Problems)
	}
	res = &Result{}
	if n := sameMultiset(res, d, [][]byte{p("c"), p("a"), p("b")}, [][]byte{p("a"), p("c")}); n != 1 || len(res.Problems) != 0 {
		t.Errorf("multiset: %d %v", n, res.Problems)
	}
	if sameMultiset(res, d, [][]byte{p("a")}, [][]byte{p("a"), p("z")}); len(res.Problems) != 1 {
		t.Errorf("a wire packet not on the device: %v", res.Problems)
	}
}
