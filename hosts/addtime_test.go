package hosts

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestInstalledBefore: an install time given to the second covers that
// second; the SA is before t only when the whole second is.
func TestInstalledBefore(t *testing.T) {
	add := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t            time.Time
		before, okay bool
	}{
		{add.Add(-time.Second), false, true},
		{add, false, true},
		{add.Add(500 * time.Millisecond), false, true}, // the same second: it may have come after t
		{add.Add(999 * time.Millisecond), false, true},
		{add.Add(time.Second), true, true},
		{add.Add(time.Hour), true, true},
	} {
		sa := SA{AddTime: add}
		if before, ok := sa.InstalledBefore(tc.t); before != tc.before || ok != tc.okay {
			t.Errorf("added %v, t %v: before %v ok %v", add, tc.t, before, ok)
		}
	}
	if _, ok := (&SA{}).InstalledBefore(add); ok {
		t.Error("an SA without an install time says when it was installed")
	}
}

// TestXfrmAddTimeInLocalZone: iproute2 prints the install time in local
// time (strxf_time, localtime(3)). The test runs itself again with TZ set
// to zones east and west of UTC (India has a half-hour offset) and reads
// the tunnel dump's "add 2019-01-10 11:11:54" there.
func TestXfrmAddTimeInLocalZone(t *testing.T) {
	if zone := os.Getenv("IPSECMON_TZ_CHILD"); zone != "" {
		s, err := Load("testdata/linux-ip-s-xfrm-state-tunnel.txt")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{
			"Asia/Kolkata":     time.Date(2019, 1, 10, 5, 41, 54, 0, time.UTC),  // UTC+5:30
			"America/New_York": time.Date(2019, 1, 10, 16, 11, 54, 0, time.UTC), // EST, UTC-5
		}[zone]
		if got := s.SAs[0].AddTime; !got.Equal(want) {
			t.Errorf("TZ=%s: add time %v, want %v", zone, got.UTC(), want)
		}
		return
	}
	for _, zone := range []string{"Asia/Kolkata", "America/New_York"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestXfrmAddTimeInLocalZone$", "-test.v")
		cmd.Env = append(os.Environ(), "TZ="+zone, "IPSECMON_TZ_CHILD="+zone)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestXfrmAddTimeInLocalZone") {
			t.Errorf("TZ=%s: %v\n%s", zone, err, out)
		}
	}
}
