package verify

import (
	"fmt"
	"slices"

	"ipsecmon/internal/lab/facts"
)

// checkSequence compares the ESP sequence numbers tshark read for one SPI,
// in capture order, with what facts.json says happened to the SPI's
// packets. libipsec numbers each SA's outbound packets 1, 2, 3, ... (RFC
// 4303 §3.3.3), so the sender's outbound count is the highest number it
// used (facts: sent); the numbers missing from the capture must be exactly the ones the
// path dropped, and the numbers that arrived after a higher one exactly the
// ones the path reordered.
func checkSequence(res *Result, sf facts.SPI, seqs []uint32) {
	sent := sf.Sent.Packets
	seen := map[uint32]bool{}
	var late []uint32
	overtaken := map[uint32]int{}
	var max uint32
	bad := 0
	for i, q := range seqs {
		if seen[q] {
			res.problem("SPI %s: sequence number %d captured twice", sf.SPI, q)
		}
		seen[q] = true
		if q < max {
			late = append(late, q)
			for _, p := range seqs[:i] {
				if p > q {
					overtaken[q]++
				}
			}
		}
		if q > max {
			max = q
		}
		if (uint64(q) > sent || q == 0) && bad == 0 {
			bad++
			res.problem("SPI %s: sequence number %d, but %s sent %d packets", sf.SPI, q, sf.From, sent)
		}
	}
	var missing []uint32
	for q := uint64(1); q <= sent; q++ {
		if !seen[uint32(q)] {
			missing = append(missing, uint32(q))
		}
	}
	wantMissing, wantLate := []uint32{}, []uint32{}
	if sf.Path != nil {
		wantMissing = sf.Path.DroppedSeqs
		for _, r := range sf.Path.ReorderedPackets {
			if !slices.Contains(sf.Path.DroppedSeqs, r.Seq) {
				wantLate = append(wantLate, r.Seq)
			}
		}
	}
	if fmt.Sprint(sorted(missing)) != fmt.Sprint(sorted(wantMissing)) {
		res.problem("SPI %s: sequence numbers missing from the capture %v, facts say the path dropped %v", sf.SPI, short(missing), short(wantMissing))
	}
	if fmt.Sprint(sorted(late)) != fmt.Sprint(sorted(wantLate)) {
		res.problem("SPI %s: sequence numbers captured after a higher one %v, facts say the path reordered %v", sf.SPI, short(late), short(wantLate))
	}
	if sf.Path != nil && sf.Path.Dropped == 0 {
		for _, r := range sf.Path.ReorderedPackets {
			if overtaken[r.Seq] != r.Overtaken {
				res.problem("SPI %s: sequence number %d captured after %d higher ones, facts say %d", sf.SPI, r.Seq, overtaken[r.Seq], r.Overtaken)
			}
		}
	}
	res.Reordered += len(late)
	res.Missing += len(missing)
}

func sorted(s []uint32) []uint32 {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// short keeps problem messages readable.
func short(s []uint32) string {
	if len(s) > 12 {
		return fmt.Sprintf("%v... (%d)", s[:12], len(s))
	}
	return fmt.Sprint(s)
}
