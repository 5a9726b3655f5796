//go:build linux

package capture

import (
	"net"
	"os"
	"testing"
	"time"
)

// BenchmarkLiveRead reads the same number of loopback datagrams out of the
// kernel's ring a packet at a time through gopacket (the baseline: what
// live capture did before) and in batches (batch_linux.go). Each pass
// sends them first with the clock stopped and waits until libpcap counts
// them, so only reading is timed; `make bench` prints the ratio. Needs root.
//
// The ring is read after it was filled, so both readers pay for bringing
// each packet's lines in from memory, which here is most of the cost (about
// 300 ns a packet); a live reader close behind the kernel pays less of it,
// and there ipsecmon-lab liverate's trials measured the batches' gain as
// larger (keyed, 1,000-1,050 ns of CPU a packet at 800,000 packets/s against
// 1,150-1,250).
func BenchmarkLiveRead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("live capture needs root")
	}
	for _, bc := range []struct {
		name    string
		batched bool
	}{{"gopacket", false}, {"batched", true}} {
		b.Run(bc.name, func(b *testing.B) { benchLiveRead(b, bc.batched) })
	}
}

func benchLiveRead(b *testing.B, batched bool) {
	const packets, size = 5000, 160 // about 3 MB of ring with loopback's two copies
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 4500})
	if err != nil {
		b.Skipf("UDP 4500 on loopback: %v", err)
	}
	defer conn.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 4500}
	payload := make([]byte, size)
	var f Frame
	var read time.Duration
	for range b.N {
		b.StopTimer()
		src, err := OpenLive(LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and dst host 127.0.0.9", BufferSize: 64 << 20})
		if err != nil {
			b.Skipf("no live capture here: %v", err)
		}
		if !batched {
			if src.batch == nil {
				b.Fatal("no batched reader to compare with")
			}
			src.batch = nil // the handle stays open; src.Close closes it
		}
		for i := range packets {
			payload[0] = byte(i)
			if _, err := conn.WriteToUDP(payload, to); err != nil {
				b.Fatal(err)
			}
		}
		// libpcap counts both loopback copies (it drops the outgoing one).
		for deadline := time.Now().Add(10 * time.Second); ; {
			st, err := src.Stats()
			if err != nil {
				b.Fatal(err)
			}
			if st.Received >= 2*packets || time.Now().After(deadline) {
				if st.Dropped > 0 {
					b.Fatalf("the ring dropped %d of %d", st.Dropped, st.Received)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The ring hands a block over when it is full or when its timeout
		// (libpcap's read timeout) runs out: wait for the last one, so
		// that no read waits.
		time.Sleep(3 * readTimeout)
		start := time.Now()
		b.StartTimer() // ns/op: reading a pass's packets, nothing else
		for i := range packets {
			if err := src.Next(&f); err != nil {
				b.Fatalf("packet %d of %d: %v", i+1, packets, err)
			}
		}
		b.StopTimer()
		read += time.Since(start)
		src.Close()
	}
	b.ReportMetric(float64(read.Nanoseconds())/float64(b.N*packets), "ns/pkt")
}
