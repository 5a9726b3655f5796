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
	src, conn, to := onLoopback(t, 1, LiveOptions{Immediate: true})
	// Three ESP-in-UDP datagrams (SPI 0x01020304, seq 1..3) and one keepalive.
	payloads := [][]byte{{1, 2, 3, 4, 0, 0, 0, 1, 9, 9}, {1, 2, 3, 4, 0, 0, 0, 2, 9, 9}, {1, 2, 3, 4, 0, 0, 0, 3, 9, 9}, {0xff}}
	go func() {
		time.Sleep(100 * time.Millisecond)
		for _, p := range payloads {
			conn.WriteToUDP(p, to)
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
	const sent = 200
	src, conn, to := onLoopback(t, 4, LiveOptions{})
	for i := range sent {
		conn.WriteToUDP([]byte{1, 2, 3, 4, 0, 0, 0, byte(i + 1), 9, 9}, to)
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
	const sent, size = 120, 60000
	src, conn, to := onLoopback(t, 5, LiveOptions{BufferSize: 64 << 20})
	if src.batch == nil && runtime.GOOS == "linux" {
		t.Fatal("live capture reads a packet at a time: gopacket's Handle no longer has the pcap_t the batched reader needs")
	}
	start := time.Now()
	payload := make([]byte, size)
	for i := range sent {
		for j := range payload {
			payload[j] = byte(i + j)
		}
		if _, err := conn.WriteToUDP(payload, to); err != nil {
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
	src, conn, to := onLoopback(t, 6, LiveOptions{Snaplen: 128, Immediate: true})
	if _, err := conn.WriteToUDP(make([]byte, 1000), to); err != nil {
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
	src, _, _ := onLoopback(t, 7, LiveOptions{})
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
	src, _, _ := onLoopback(t, 8, LiveOptions{})
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

// onLoopback opens a live source on lo for UDP datagrams to 127.0.0.last
// port 4500 (o's interface and filter are set here) and the socket they
// are sent to; both close when the test ends. It skips where live capture
// cannot run (not root, no libpcap).
func onLoopback(tb testing.TB, last byte, o LiveOptions) (*LiveSource, *net.UDPConn, *net.UDPAddr) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("live capture needs root")
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, last), Port: 4500}
	o.Interface, o.Filter = "lo", "udp dst port 4500 and dst host "+to.IP.String()
	src, err := OpenLive(o)
	if err != nil {
		tb.Skipf("no live capture here: %v", err)
	}
	tb.Cleanup(func() { src.Close() })
	conn, err := net.ListenUDP("udp", to)
	if err != nil {
		tb.Skipf("UDP 4500 on loopback: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	return src, conn, to
}
