package livecheck

import (
	"strings"
	"testing"
	"time"
)

// A /proc/<pid>/status excerpt as Linux 6.x prints it (proc(5)).
const procStatus = `Name:	ipsecmon
Umask:	0022
State:	S (sleeping)
Pid:	27782
VmPeak:	 1261776 kB
VmSize:	 1261776 kB
VmHWM:	   26016 kB
VmRSS:	   25984 kB
RssAnon:	   12288 kB
Threads:	9
`

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name, in string
		want     uint64
		err      string
	}{
		{"status", procStatus, 25984 * 1024, ""},
		{"zombie", "Name:\tx\nState:\tZ (zombie)\n", 0, "no VmRSS"},
		{"no unit", "VmRSS:\t123\n", 0, "want"},
		{"not a number", "VmRSS:\t12x3 kB\n", 0, "VmRSS"},
		{"huge", "VmRSS:\t99999999999999999 kB\n", 0, "plausible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS(strings.NewReader(tt.in), "status")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestReadVmRSSGone(t *testing.T) {
	// PID 0 never has a /proc entry of its own.
	if _, err := ReadVmRSS(0); err == nil {
		t.Error("no error for PID 0")
	}
}

func TestParseRSSSamplesAndGrow(t *testing.T) {
	in := "# ms bytes\n0 1000\n100 1500\n200 3000\n300 2900\n400 3100\n500 3050\n"
	s, err := ParseRSSSamples(strings.NewReader(in), "rss.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 6 || s[2].At != 200*time.Millisecond || s[2].RSS != 3000 {
		t.Fatalf("samples %+v", s)
	}
	// Warm-up 200 ms: the base is the sample at 200 ms (3000), the peak
	// after it 3100 (at 400 ms): growth 100 over 300 ms, 4 samples.
	g, err := Grow(s, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := RSSGrowth{Base: 3000, Peak: 3100, First: 1000, Max: 3100, Samples: 4, Span: 300 * time.Millisecond}
	if g != want || g.Growth() != 100 {
		t.Errorf("got %+v, want %+v", g, want)
	}
	if _, err := Grow(s, time.Second); err == nil {
		t.Error("no error for a warm-up longer than the samples")
	}
	if _, err := Grow(nil, 0); err == nil {
		t.Error("no error without samples")
	}
	for _, bad := range []string{"1 2 3\n", "x 2\n", "5 -1\n", "100 1\n50 1\n", "-3 1\n"} {
		if _, err := ParseRSSSamples(strings.NewReader(bad), "rss.txt"); err == nil || !strings.Contains(err.Error(), "rss.txt:") {
			t.Errorf("%q: error %v, want one naming the line", bad, err)
		}
	}
	// What SampleRSS writes, ParseRSSSamples reads.
	line := FormatRSSSample(RSSSample{At: 1234 * time.Millisecond, RSS: 42})
	if s, err := ParseRSSSamples(strings.NewReader(line), "x"); err != nil || len(s) != 1 || s[0] != (RSSSample{1234 * time.Millisecond, 42}) {
		t.Errorf("round trip of %q: %+v %v", line, s, err)
	}
}

func TestParseReloads(t *testing.T) {
	in := "2026-11-27T03:49:13.378449Z initiated-alice-net 0xbef30927 0x0b17f0c6 \n" +
		"2026-11-27T03:49:35.048481Z round-end-3 0xbef30927 0x0b17f0c6 0x62b7f3ac\n"
	rl, err := ParseReloads(strings.NewReader(in), "reloads.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(rl) != 2 || rl[1].Why != "round-end-3" || len(rl[1].SPIs) != 3 || !rl[1].SPIs["0x62b7f3ac"] || len(rl[0].SPIs) != 2 {
		t.Errorf("%+v", rl)
	}
	for _, bad := range []string{
		"2026-11-27T03:49:13Z\n",
		"yesterday step 0x1\n",
		"2026-11-27T03:49:13Z step 12345678\n",
		"2026-11-27T03:49:13Z step 0x123456789\n",
		"2026-11-27T03:49:13Z a\n2026-11-27T03:49:12Z b\n",
	} {
		if _, err := ParseReloads(strings.NewReader(bad), "reloads.log"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestParseTsharkESP: bytes per README: ip.len - header - 8 for ESP in UDP
// (148 - 20 - 8 = 120), ip.len - header for plain ESP (100 - 24 = 76).
func TestParseTsharkESP(t *testing.T) {
	in := "0xbef30927\t148\t20\t128\n0xbef30927\t1068\t20\t1048\n0x00000100\t100\t24\t\n"
	got, err := ParseTsharkESP(strings.NewReader(in), "tshark")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Count{"0xbef30927": {2, 120 + 1040}, "0x00000100": {1, 76}}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %+v, want %+v", k, got[k], v)
		}
	}
	for _, bad := range []string{"0x1\t148\t20\n", "zz\t148\t20\t128\n", "0x1\t10\t20\t\n", "0x1\t24\t20\t12\n", "0x1\t148\t4\t\n"} {
		if _, err := ParseTsharkESP(strings.NewReader(bad), "tshark"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseTcpdumpStats(t *testing.T) {
	// tcpdump 4.99's closing lines on stderr.
	in := "tcpdump: listening on rx0, link-type EN10MB (Ethernet), snapshot length 128 bytes\n" +
		"2000000 packets captured\n2000000 packets received by filter\n0 packets dropped by kernel\n"
	got, err := ParseTcpdumpStats(strings.NewReader(in), "tcpdump.stderr")
	if err != nil || got != (TcpdumpStats{2000000, 2000000, 0}) {
		t.Errorf("%+v %v", got, err)
	}
	if _, err := ParseTcpdumpStats(strings.NewReader("5 packets captured\n"), "tcpdump.stderr"); err == nil {
		t.Error("incomplete statistics: no error")
	}
	one := "1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n"
	if got, err := ParseTcpdumpStats(strings.NewReader(one), "x"); err != nil || got.Captured != 1 {
		t.Errorf("singular: %+v %v", got, err)
	}
}

// A `swanctl --list-sas --raw` line from bob in the ikev2-rekey scenario
// (strongSwan 5.9.8): two CHILD SAs, the counters read off it.
const listing = `list-sa event {ike {uniqueid=1 version=2 state=ESTABLISHED initiator-spi=9b161d49390f35e1 responder-spi=f63c480b1ee2aa7f child-sas {net-2 {name=net uniqueid=2 state=DELETED spi-in=e683113a spi-out=6427d1f1 bytes-in=2386 packets-in=19 bytes-out=2380 packets-out=18 local-ts=[10.2.0.1/32] remote-ts=[10.1.0.1/32]} net-3 {name=net uniqueid=3 state=INSTALLED spi-in=62b7f3ac spi-out=871b8032 bytes-in=0 packets-in=0 bytes-out=0 packets-out=0 local-ts=[10.2.0.1/32] remote-ts=[10.1.0.1/32]}}}}
list-sas reply {}
`

func TestListingCounters(t *testing.T) {
	got, err := ListingCounters(strings.NewReader(listing), "bob-list-sas-round3-raw.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Count{"0xe683113a": {19, 2386}, "0x6427d1f1": {18, 2380}, "0x62b7f3ac": {}, "0x871b8032": {}}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if c, ok := got[k]; !ok || c != v {
			t.Errorf("%s: %+v, want %+v", k, c, v)
		}
	}
	bad := strings.Replace(listing, "packets-in=19", "packets-in=x", 1)
	if _, err := ListingCounters(strings.NewReader(bad), "l.txt"); err == nil || !strings.Contains(err.Error(), "l.txt:1") {
		t.Errorf("error %v, want one naming l.txt:1", err)
	}
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add(procStatus)
	f.Add("VmRSS: 1 kB\n")
	f.Fuzz(func(t *testing.T, s string) { ParseVmRSS(strings.NewReader(s), "f") })
}

func FuzzParseRSSSamples(f *testing.F) {
	f.Add("0 1000\n100 1500\n")
	f.Fuzz(func(t *testing.T, s string) { ParseRSSSamples(strings.NewReader(s), "f") })
}

func FuzzParseReloads(f *testing.F) {
	f.Add("2026-11-27T03:49:13.378449Z initiated-alice-net 0xbef30927 0x0b17f0c6\n")
	f.Fuzz(func(t *testing.T, s string) { ParseReloads(strings.NewReader(s), "f") })
}

func FuzzParseTsharkESP(f *testing.F) {
	f.Add("0xbef30927\t148\t20\t128\n0x00000100\t100\t24\t\n")
	f.Fuzz(func(t *testing.T, s string) { ParseTsharkESP(strings.NewReader(s), "f") })
}

func FuzzParseTcpdumpStats(f *testing.F) {
	f.Add("2 packets captured\n2 packets received by filter\n0 packets dropped by kernel\n")
	f.Fuzz(func(t *testing.T, s string) { ParseTcpdumpStats(strings.NewReader(s), "f") })
}

func FuzzListingCounters(f *testing.F) {
	f.Add(listing)
	f.Fuzz(func(t *testing.T, s string) { ListingCounters(strings.NewReader(s), "f") })
}
