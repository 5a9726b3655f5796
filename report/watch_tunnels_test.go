package report

import (
	"bytes"
	"strings"
	"testing"

	"ipsecmon/analyzer"
	"ipsecmon/ipproto"
)

// The watch screen lists tunnels with their rates since the previous
// sample: 4000 bytes in and 2000 out over 2 s are 2.0 and 1.0 kB/s.
func TestWatchTunnels(t *testing.T) {
	first, second := watchSamples()
	tunnel := func(in, out uint64) []*analyzer.Tunnel {
		return []*analyzer.Tunnel{{Key: analyzer.TunnelKey{A: meAddr, B: peerAddr, Proto: ipproto.ESP}, Local: meAddr, Remote: peerAddr,
			ChildSAs: 3, Rekeys: 2, Inferred: true, In: analyzer.TunnelTraffic{Bytes: in, Lost: 7}, Out: analyzer.TunnelTraffic{Bytes: out}, State: "active"}}
	}
	first.Snap.Tunnels, second.Snap.Tunnels = tunnel(1000, 500), tunnel(5000, 2500)
	v := &Watch{Top: 5, TTY: true}
	var b bytes.Buffer
	v.Write(&b, first)
	b.Reset()
	v.Write(&b, second)
	i := strings.Index(b.String(), "\nTunnels (1)\n")
	if i < 0 {
		t.Fatalf("no tunnels section:\n%s", b.String())
	}
	rows := tableRows(t, strings.TrimPrefix(b.String()[i:], "\nTunnels (1)\n"))
	wantCells(t, "tunnel", rows[0], "192.0.2.1", "192.0.2.2", "-", "-", "3", "2*", "2.0 kB/s", "1.0 kB/s", "7", "0", "active")
}
