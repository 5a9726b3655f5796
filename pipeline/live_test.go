package pipeline_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/pipeline"
)

// The -w file holds what was captured within about a second, while the
// run goes on: a crash or an OOM kill must not take the whole capture with
// it (it was written only at exit). 20 ESP-in-UDP datagrams on loopback;
// the file is read back after 1.5 s with the run still live. (127.0.0.3:
// tests of other packages use 127.0.0.1:4500 at the same time.)
func TestLiveWriterFlushesEverySecond(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	const port, sent = 4500, 20
	src, err := capture.OpenLive(capture.LiveOptions{Interface: "lo", Filter: "udp dst port 4500 and host 127.0.0.3"})
	if err != nil {
		t.Skipf("no live capture here: %v", err)
	}
	defer src.Close()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3), Port: port})
	if err != nil {
		t.Skipf("UDP %d on loopback: %v", port, err)
	}
	defer conn.Close()
	path := filepath.Join(t.TempDir(), "w.pcapng")
	w, err := capture.NewWriter(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	live := pipeline.New(analyzer.New(analyzer.Config{}), pipeline.Options{}).StartLive([]*capture.LiveSource{src}, pipeline.LiveOptions{Writer: w})
	defer func() { live.Stop(); <-live.Done() }()
	for i := range sent {
		conn.WriteToUDP([]byte{1, 2, 3, 4, 0, 0, 0, byte(i + 1), 9, 9, 9, 9}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3), Port: port})
	}
	time.Sleep(pipeline.FlushInterval + 500*time.Millisecond)
	r, err := capture.Open(path)
	if err != nil {
		t.Fatalf("-w file after %v: %v", pipeline.FlushInterval+500*time.Millisecond, err)
	}
	defer r.Close()
	var f capture.Frame
	n := 0
	for {
		err := r.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != sent {
		t.Errorf("-w file holds %d of %d datagrams while the run goes on", n, sent)
	}
}
