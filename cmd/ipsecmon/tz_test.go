package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/capture"
)

// TestMain reads host dumps as if this machine were in UTC, the zone their
// add times are written for here, unless a test runs itself again with TZ
// set (IPSECMON_TZ_CHILD) to try another zone.
func TestMain(m *testing.M) {
	if os.Getenv("IPSECMON_TZ_CHILD") == "" {
		time.Local = time.UTC
	}
	os.Exit(m.Run())
}

// TestCheckHostTimesInLocalZone: `ip -s xfrm state` prints an SA's install
// time in the local time of the host (iproute2 strxf_time, localtime(3)),
// to the second. check judges from it whether an SA was installed before
// the capture started (then its counters are not comparable without
// --host-before). The test runs itself again with TZ east and west of UTC
// and gives every SA of hostXfrm an install time written in that zone's
// wall clock (hand-computed: the capture starts 2026-11-27 09:00:00 UTC,
// 14:30 in India, UTC+5:30, and 04:00 in New York, EST, UTC-5).
func TestCheckHostTimesInLocalZone(t *testing.T) {
	zone := os.Getenv("IPSECMON_TZ_CHILD")
	if zone == "" {
		for _, z := range []string{"Asia/Kolkata", "America/New_York"} {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCheckHostTimesInLocalZone$", "-test.v")
			cmd.Env = append(os.Environ(), "TZ="+z, "IPSECMON_TZ_CHILD="+z)
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestCheckHostTimesInLocalZone") {
				t.Errorf("TZ=%s: %v\n%s", z, err, out)
			}
		}
		return
	}
	wall := map[string]map[string]string{
		"Asia/Kolkata":     {"before": "2026-11-27 14:20:00", "after": "2026-11-27 14:40:00", "same second": "2026-11-27 14:30:00"},
		"America/New_York": {"before": "2026-11-27 03:50:00", "after": "2026-11-27 04:10:00", "same second": "2026-11-27 04:00:00"},
	}[zone]
	if wall == nil {
		t.Fatalf("zone %q", zone)
	}
	whole := keyedFaultCapture(t) // first packet at 09:00:00.000 UTC
	half := shiftCapture(t, whole, 500*time.Millisecond)
	xfrm := writeKeys(t, "keys.txt", xfrmKeys())
	for _, tc := range []struct {
		name, capture string
		before        bool
	}{
		{"before", whole, true},
		{"after", whole, false},
		// Installed within 09:00:00 UTC, the capture starts at 09:00:00.5:
		// perhaps after it, so not before.
		{"same second", half, false},
	} {
		dump := strings.ReplaceAll(hostXfrm(4, true, ""), "add 2026-11-27 09:00:00", "add "+wall[tc.name])
		after := writeKeys(t, "after.txt", dump)
		rows, _ := checkRows(t, "-r", tc.capture, "-k", xfrm, "--me", "10.0.0.1", "--host", after)
		n := 0
		for _, r := range rows {
			if r["figure"] != "packets" || !strings.HasPrefix(fmt.Sprint(r["sa"]), "esp 0x0000") {
				continue
			}
			n++
			if got := strings.Contains(fmt.Sprint(r["reason"]), "installed before the capture"); got != tc.before {
				t.Errorf("TZ=%s, installed %s (%s local): %s judged installed before: %v (%v)", zone, tc.name, wall[tc.name], r["sa"], got, r)
			}
		}
		if n != 3 {
			t.Errorf("%s: %d per-SA packet rows, want 3: %v", tc.name, n, rows)
		}
	}
}

// shiftCapture copies a capture with every timestamp moved by d.
func shiftCapture(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	src, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "shifted.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	var fr capture.Frame
	for src.Next(&fr) == nil {
		fr.CI.Timestamp = fr.CI.Timestamp.Add(d)
		if err := w.WritePacket(fr.CI, fr.Data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
