package metrics_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecmon/analyzer"
	"ipsecmon/metrics"
)

// A scrape of a gateway with n tunnels (a spoofed-pair flood makes one per
// pair): the series stay at the cap, and the time grows as n log n (compare
// the sizes' ns/op: 10x the tunnels should cost about 10-13x).
func BenchmarkCollectTunnels(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			me := netip.MustParseAddr("192.0.2.1")
			snap := &analyzer.Snapshot{}
			for i := range n {
				p := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				snap.Tunnels = append(snap.Tunnels, &analyzer.Tunnel{Key: analyzer.TunnelKey{A: me, B: p, Proto: 50}, Local: me, Remote: p,
					In: analyzer.TunnelTraffic{Bytes: uint64(i * 7919 % 100_000)}, State: "active", Inferred: true})
			}
			c := metrics.NewCollector(func() metrics.Sample { return metrics.Sample{Snap: snap} }, metrics.DefaultMaxTunnelSeries)
			ch := make(chan prometheus.Metric, 4096)
			done := make(chan int)
			go func() {
				k := 0
				for range ch {
					k++
				}
				done <- k
			}()
			b.ResetTimer()
			for range b.N {
				c.Collect(ch)
			}
			b.StopTimer()
			close(ch)
			if k := <-done; k > b.N*(metrics.SeriesPerTunnel*metrics.DefaultMaxTunnelSeries+10) {
				b.Errorf("%d series per scrape, more than the cap allows", k/b.N)
			}
		})
	}
}
