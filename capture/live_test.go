package capture

import (
	"net"
	"os"
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
