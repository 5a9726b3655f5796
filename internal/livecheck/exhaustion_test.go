package livecheck

import (
	"fmt"
	"strings"
	"testing"
)

func TestExhaustionApart(t *testing.T) {
	// The first three cases are the figures of a CI run's ikev2-rekey SA
	// (31 packets each way, highest sequence number 31): the bound is
	// 2e-6*(4294967295-31)/30+1 = 287.3 s by hand.
	row := func(exIn, exOut string) string {
		return fmt.Sprintf(`{"spi_in":"0x1","highest_seq_in":31,"packets_in":31,"seq_exhaustion_in":%s,`+
			`"highest_seq_out":31,"packets_out":31,"seq_exhaustion_out":%s}`, exIn, exOut)
	}
	for _, c := range []struct {
		name    string
		a, b    string
		problem string // "" when none
	}{
		{"equal", row("23133769", "23093843"), row("23133769", "23093843"), ""},
		{"CI run's µs difference", row("26271678", "26388183"), row("26271837", "26388040"), ""},
		{"just inside", row("1000", "1000"), row("1287", "1000"), ""},
		{"outside", row("1000", "1000"), row("1288", "1000"), "seq_exhaustion_in: 1000 vs 1288"},
		{"one side without", row("1000", "null"), row("1000", "5"), "seq_exhaustion_out: null vs 5"},
		{"both without", row("null", "null"), row("null", "null"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := exhaustionApart([]byte("["+c.a+"]"), []byte("["+c.b+"]"))
			if err != nil {
				t.Fatal(err)
			}
			if c.problem == "" && len(got) != 0 || c.problem != "" && (len(got) != 1 || !strings.Contains(got[0], c.problem)) {
				t.Errorf("got %q, want %q", got, c.problem)
			}
		})
	}
	if !isExhaustion("[3].seq_exhaustion_out") || isExhaustion("[3].highest_seq_out") {
		t.Error("isExhaustion picks the wrong columns")
	}
}
