package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"ipsecmon/decode"
)

// BenchmarkSequence is the analyzer's cost per packet of one SA's traffic
// in order (the baseline), with every 10th packet swapped with the next
// (reordered), every 10th missing (lost), every 10th sent twice
// (duplicates), and late packets (every 10th held back 100 numbers, past a
// window of 64): the sequence analysis is one window verdict per packet,
// so each should cost what the baseline costs.
func BenchmarkSequence(b *testing.B) {
	const n = 100_000
	build := func(name string) []uint32 {
		var seqs []uint32
		for i := uint32(1); i <= n; i++ {
			switch {
			case name == "lost" && i%10 == 0:
			case name == "duplicates" && i%10 == 0:
				seqs = append(seqs, i, i)
			case name == "late" && i%10 == 5 && i+100 <= n:
				// held back: sent after i+100
			default:
				seqs = append(seqs, i)
			}
			if name == "late" && i%10 == 5 && i > 100 {
				seqs = append(seqs, i-100)
			}
		}
		if name == "reordered" {
			for j := 0; j+1 < len(seqs); j++ {
				if seqs[j]%10 == 0 {
					seqs[j], seqs[j+1] = seqs[j+1], seqs[j]
					j++
				}
			}
		}
		return seqs
	}
	for _, name := range []string{"in-order", "reordered", "lost", "duplicates", "late"} {
		seqs := build(name)
		pkts := make([]decode.Packet, len(seqs))
		for i, s := range seqs {
			pkts[i] = *espPacket("10.0.0.2", "10.0.0.1", 0x100, s, 100)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				a := New(Config{Me: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}})
				now := time.Unix(0, 0)
				for j := range pkts {
					a.Packet(now, &pkts[j], Ref{})
				}
				if sa := a.sas[SAKey{Dst: netip.MustParseAddr("10.0.0.1"), SPI: 0x100, Proto: 50}]; i == 0 && (name == "lost") != (sa.Lost() > 0) {
					b.Fatalf("%s: lost %d, reordered %d, duplicates %d, late %d", name, sa.Lost(), sa.Reordered(), sa.Duplicates(), sa.Late())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/pkt")
		})
	}
}
