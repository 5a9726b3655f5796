package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/event"
	"ipsecmon/ipproto"
)

// Two samples 2 s apart; every rate below is the difference over 2 s,
// worked out by hand.
func watchSamples() (first, second WatchSample) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	sample := func(active, replays, sent, saBytes uint64, t time.Time) WatchSample {
		s := &analyzer.Snapshot{}
		s.Stats[analyzer.ActiveSAs] = analyzer.Figure{Value: active, Known: true}
		s.Stats[analyzer.ReplayDetected] = analyzer.Figure{Value: replays, Known: true}
		s.Stats[analyzer.ConfidentialSent] = analyzer.Figure{Value: sent, Known: true}
		sa := &analyzer.SA{Key: analyzer.SAKey{Dst: peerAddr, SPI: 0x200, Proto: ipproto.ESP}, Src: meAddr, Bytes: saBytes, Replayed: 1}
		s.Rows = []*analyzer.QuickModeSA{{Out: sa, MyAddr: meAddr, PeerAddr: peerAddr}}
		return WatchSample{Snap: s, At: t, Capture: []CaptureStats{{Interface: "eth0", Received: 100, Dropped: 1}}}
	}
	return sample(2, 10, 1000, 1000, at), sample(3, 14, 5000, 5000, at.Add(2*time.Second))
}

func TestWatchLines(t *testing.T) {
	first, second := watchSamples()
	v := &Watch{Top: 5, Interval: time.Second}
	var b bytes.Buffer
	for _, s := range []WatchSample{first, second} {
		if err := v.Write(&b, s); err != nil {
			t.Fatal(err)
		}
	}
	const rest = " bad_spi_packets=null packets_not_authenticated=null"
	const tail = " confidential_bytes_received=null authenticated_bytes_sent=null authenticated_bytes_received=null eth0_received=100 eth0_dropped=1 eth0_ifdropped=0\n"
	want := "" +
		// No rates from the first sample.
		"2026-11-27T09:00:00Z active_security_associations=2 packets_with_replay_detection=10" + rest + " confidential_bytes_sent=1000" + tail +
		// (14-10)/2 s = 2.0/s; (5000-1000)/2 s = 2.0 kB/s; Active SAs is a
		// level: no rate.
		"2026-11-27T09:00:02Z active_security_associations=3 packets_with_replay_detection=14(2.0/s)" + rest + " confidential_bytes_sent=5000(2.0kB/s)" + tail
	if b.String() != want {
		t.Errorf("lines\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWatchScreen(t *testing.T) {
	first, second := watchSamples()
	second.Events = []analyzer.Event{{Time: second.At, Kind: event.Replay, Count: 3, Detail: "seq 5",
		SA: &analyzer.EventSA{Protocol: "esp", SPI: "0x00000200", Src: "192.0.2.1", Dst: "192.0.2.2"}}}
	v := &Watch{Top: 5, TTY: true, Interval: time.Second}
	var b bytes.Buffer
	v.Write(&b, first)
	b.Reset()
	v.Write(&b, second)
	out := b.String()
	for _, want := range []string{
		"\033[H\033[2J", // redrawn from the top
		"Capture eth0: 100 received, 1 dropped by the kernel, 0 by the interface\n",
		"Packets With Replay Detection                    14          2.0/s\n",
		"Confidential Bytes Sent" + strings.Repeat(" ", 9+1+12) + "5.0 kB" + strings.Repeat(" ", 1+6) + "2.0 kB/s\n", // %-32s %18s %14s
		"Bytes Sent In Tunnels                           n/a               \n",
		// The SA's 4000 bytes over 2 s.
		"  ESP  0x00000200 192.0.2.1",
		"     2.0 kB/s       5.0 kB          1\n",
		"\nRecent events\n  09:00:02.000 replay esp 0x00000200 192.0.2.1→192.0.2.2 ×3 seq 5\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q:\n%s", want, out)
		}
	}
}
