package capture

import (
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestLiveLoopback captures UDP 4500 datagrams this test sends to itself on
// the loopback interface. Capturing needs root (CI runs as root).
func TestLiveLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	src, err := OpenLive(LiveOptions{Interface: "lo", Immediate: true, Filter: "udp port 4500 and host 127.0.0.1"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4500})
	if err != nil {
		t.Skipf("UDP 4500 on loopback: %v", err)
	}
	defer conn.Close()
	// Three ESP-in-UDP datagrams (SPI 0x01020304, seq 1..3) and one keepalive.
	payloads := [][]byte{{1, 2, 3, 4, 0, 0, 0, 1, 9, 9}, {1, 2, 3, 4, 0, 0, 0, 2, 9, 9}, {1, 2, 3, 4, 0, 0, 0, 3, 9, 9}, {0xff}}
	go func() {
		time.Sleep(100 * time.Millisecond)
		for _, p := range payloads {
			conn.WriteToUDP(p, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4500})
		}
	}()
	deadline := time.AfterFunc(5*time.Second, src.Stop)
	defer deadline.Stop()
	var f Frame
	for i, want := range payloads {
		if err := src.Next(&f); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if got := f.Data[len(f.Data)-len(want):]; string(got) != string(want) {
			t.Errorf("frame %d ends %x, want %x", i+1, got, want)
		}
	}
	st, err := src.Stats()
	if err != nil || st.Received < uint64(len(payloads)) {
		t.Errorf("stats %+v, %v: want at least %d received", st, err, len(payloads))
	}
	src.Stop()
	if err := src.Next(&f); err == nil {
		t.Error("Next after Stop returned a frame")
	}
}

// TestLiveDrainOnStop: packets the kernel captured before Stop are still
// read (SIGTERM must not discard what libpcap holds), then io.EOF, and
// nothing is counted as unread. 200 datagrams are sent and left unread
// until after Stop.
func TestLiveDrainOnStop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	const port, sent = 4500, 200
	src, err := OpenLive(LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and host 127.0.0.4"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 4), Port: port})
	if err != nil {
		t.Skipf("UDP %d on loopback: %v", port, err)
	}
	defer conn.Close()
	for i := range sent {
		conn.WriteToUDP([]byte{1, 2, 3, 4, 0, 0, 0, byte(i + 1), 9, 9}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 4), Port: port})
	}
	time.Sleep(300 * time.Millisecond) // in the kernel's buffer, not read
	src.Stop()
	start := time.Now()
	var f Frame
	n := 0
	for src.Next(&f) == nil {
		n++
	}
	st, err := src.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if n != sent || st.Unread != 0 {
		t.Errorf("read %d of %d datagrams after Stop, %d counted unread (stats %+v)", n, sent, st.Unread, st)
	}
	if d := time.Since(start); d > DrainTimeout {
		t.Errorf("draining took %v, more than %v", d, DrainTimeout)
	}
}

// TestLiveBatches reads loopback datagrams large enough that a batch's
// arena fills after a few dozen of them, so batches end early (libpcap is
// told to stop mid ring block) as well as at the frame limit: every
// datagram must come through once, whole, in order, with its lengths and
// a timestamp of this moment.
func TestLiveBatches(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	const port, sent, size = 4500, 120, 60000
	src, err := OpenLive(LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and host 127.0.0.5", BufferSize: 64 << 20})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	if src.batch == nil && runtime.GOOS == "linux" {
		t.Fatal("live capture reads a packet at a time: gopacket's Handle no longer has the pcap_t the batched reader needs")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 5), Port: port})
	if err != nil {
		t.Skipf("UDP %d on loopback: %v", port, err)
	}
	defer conn.Close()
	start := time.Now()
	payload := make([]byte, size)
	for i := range sent {
		for j := range payload {
			payload[j] = byte(i + j)
		}
		if _, err := conn.WriteToUDP(payload, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 5), Port: port}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.AfterFunc(10*time.Second, src.Stop)
	defer deadline.Stop()
	// Ethernet 14 + IPv4 20 + UDP 8 in front of the payload on lo.
	const wire = 14 + 20 + 8 + size
	var f Frame
	for i := range sent {
		if err := src.Next(&f); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if f.CI.Length != wire || f.CI.CaptureLength != wire || len(f.Data) != wire {
			t.Fatalf("datagram %d: length %d, captured %d, %d bytes; want %d each", i, f.CI.Length, f.CI.CaptureLength, len(f.Data), wire)
		}
		got := f.Data[wire-size:]
		for j := range got {
			if got[j] != byte(i+j) {
				t.Fatalf("datagram %d: byte %d is %d, want %d (a datagram lost, repeated or overwritten)", i, j, got[j], byte(i+j))
			}
		}
		if d := f.CI.Timestamp.Sub(start); d < -time.Second || d > 10*time.Second {
			t.Fatalf("datagram %d: timestamp %v, %v from when it was sent", i, f.CI.Timestamp, d)
		}
	}
}

// TestLiveSnaplen: a packet longer than the snapshot length comes with its
// wire length and the snapshot's worth of bytes.
func TestLiveSnaplen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	src, err := OpenLive(LiveOptions{Interface: "lo", Snaplen: 128, Immediate: true, Filter: "udp dst port 4500 and host 127.0.0.6"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 6), Port: 4500})
	if err != nil {
		t.Skipf("UDP 4500 on loopback: %v", err)
	}
	defer conn.Close()
	if _, err := conn.WriteToUDP(make([]byte, 1000), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 6), Port: 4500}); err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(5*time.Second, src.Stop)
	defer deadline.Stop()
	var f Frame
	if err := src.Next(&f); err != nil {
		t.Fatal(err)
	}
	if f.CI.Length != 14+20+8+1000 || f.CI.CaptureLength != 128 || len(f.Data) != 128 {
		t.Errorf("length %d, captured %d, %d bytes; want 1042, 128, 128", f.CI.Length, f.CI.CaptureLength, len(f.Data))
	}
}

// TestLiveCloseWhileReading: Close from another goroutine while Next waits
// in libpcap ends the reads with an error, not a crash in freed memory.
func TestLiveCloseWhileReading(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	src, err := OpenLive(LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and host 127.0.0.7"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		var f Frame
		for {
			if err := src.Next(&f); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(250 * time.Millisecond) // Next is waiting in libpcap
	src.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Next after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting 5 s after Close")
	}
}

// TestLiveIdleWaits: with nothing to read, Next waits in the kernel. (The
// handle is non-blocking; a batched read that did not poll for the next
// packet turned a quiet link into a core at 100%.) A second of waiting
// must cost far less than a second of CPU.
func TestLiveIdleWaits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	src, err := OpenLive(LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and host 127.0.0.8"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before := cpu()
	stop := time.AfterFunc(time.Second, src.Stop)
	defer stop.Stop()
	var f Frame
	if err := src.Next(&f); err != io.EOF {
		t.Fatalf("Next on an idle link: %v, want io.EOF after Stop", err)
	}
	if used := cpu() - before; used > 500*time.Millisecond {
		t.Errorf("a second of waiting for packets used %v of CPU", used)
	}
}
