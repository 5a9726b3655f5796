package livecheck

import (
	"strings"
	"testing"
	"time"
)

// watch's stdout off a terminal: refresh lines, then the final JSON.
func TestParseWatchOutput(t *testing.T) {
	out := "2026-12-06T16:16:45Z active_security_associations=2 bad_spi_packets=null\n" +
		"2026-12-06T16:16:47Z active_security_associations=4\n" +
		"{\n  \"capture\": [{\"interface\": \"rx0\", \"received\": 10, \"dropped_by_kernel\": 2}],\n  \"input\": {\"frames\": 7}\n}\n"
	lines, final, err := ParseWatchOutput([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[1].Sub(lines[0]) != 2*time.Second {
		t.Fatalf("lines %v", lines)
	}
	st, err := parseCapture(final)
	if err != nil || st.Capture[0].Received != 10 || st.Input.Frames != 7 {
		t.Fatalf("final %+v, %v", st, err)
	}
	// 10 received = 7 analysed + 2 dropped + 1 not analysed.
	if p := accounting(&floodRun{final: st, unread: 1}); p != nil {
		t.Errorf("accounting: %v", p)
	}
	if p := accounting(&floodRun{final: st}); len(p) != 1 {
		t.Errorf("a packet missing from the accounting went unnoticed: %v", p)
	}
	if _, _, err := ParseWatchOutput([]byte("2026-12-06T16:16:45Z x=1\n")); err == nil {
		t.Error("output without a final report accepted")
	}
	if _, _, err := ParseWatchOutput([]byte("not a time x=1\n{}\n")); err == nil {
		t.Error("a line without a time accepted")
	}
}

func TestRefreshGaps(t *testing.T) {
	at := func(s ...int) []time.Time {
		var out []time.Time
		for _, x := range s {
			out = append(out, time.Unix(int64(x), 0))
		}
		return out
	}
	for _, tc := range []struct {
		lines []int
		flood float64
		probs int
	}{
		{[]int{0, 1, 2, 3, 4}, 5, 0},
		{[]int{0, 2, 2, 3, 4}, 5, 0}, // a refresh at .99 and the next at 2.01 s
		{[]int{0, 1, 4, 5}, 5, 1},    // 3 s without a refresh
		{[]int{0, 1}, 8, 1},          // too few for 8 s
	} {
		if p := refreshGaps(at(tc.lines...), time.Second, tc.flood); len(p) != tc.probs {
			t.Errorf("lines %v over %.0f s: %v, want %d problems", tc.lines, tc.flood, p, tc.probs)
		}
	}
}

func TestParseScrapes(t *testing.T) {
	s, err := ParseScrapes(strings.NewReader("1.5 1.75 200\n\n2.5 3.0 000\n"), "x")
	if err != nil || len(s) != 2 || s[1].code != 0 || s[0].end-s[0].start != 0.25 {
		t.Fatalf("%+v, %v", s, err)
	}
	if _, err := ParseScrapes(strings.NewReader("1.5 200\n"), "x"); err == nil {
		t.Error("a line of two fields accepted")
	}
}

func FuzzParseWatchOutput(f *testing.F) {
	f.Add([]byte("2026-12-06T16:16:45Z a=1\n{\"capture\":[]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseWatchOutput(b) })
}

func FuzzParseScrapes(f *testing.F) {
	f.Add("1.5 1.75 200\n")
	f.Fuzz(func(t *testing.T, s string) { ParseScrapes(strings.NewReader(s), "fuzz") })
}

// Limits both runs list must agree; those only one lists (the live run's
// eviction limits) are not compared.
func TestSharedLimitsDiffer(t *testing.T) {
	live := `{"limits":[{"name":"sa_table","cap":10,"hits":1},{"name":"retired_tunnels","cap":4,"hits":0}]}`
	off := `{"limits":[{"name":"sa_table","cap":10,"hits":1}]}`
	if p := sharedLimitsDiffer([]byte(live), []byte(off)); p != nil {
		t.Errorf("agreeing limits: %v", p)
	}
	off = `{"limits":[{"name":"sa_table","cap":10,"hits":2}]}`
	if p := sharedLimitsDiffer([]byte(live), []byte(off)); len(p) != 1 {
		t.Errorf("differing hits: %v", p)
	}
}

func TestScrapeProblems(t *testing.T) {
	ok := func(start float64) scrape { return scrape{start, start + 0.1, 200} }
	every := func(n int) []scrape {
		var s []scrape
		for i := range n {
			s = append(s, ok(float64(i)))
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		scrapes []scrape
		term    float64
		probs   int
		excused int
	}{
		{"one a second", every(8), 9, 0, 0},
		{"refused before SIGTERM", append(every(8), scrape{8.2, 8.3, 0}), 9, 1, 0},
		{"cut by the shutdown", append(every(8), scrape{8.9, 9.05, 0}), 9, 0, 1},
		{"SIGTERM time unknown", append(every(8), scrape{8.9, 9.05, 0}), 0, 1, 0},
		{"too few answered", append(every(3), scrape{3, 3.1, 500}), 9, 2, 0},
		{"slow", append(every(7), scrape{7, 9.5, 200}), 10, 1, 0},
	} {
		probs, _, excused := scrapeProblems(tc.scrapes, tc.term, 8, time.Second)
		if len(probs) != tc.probs || excused != tc.excused {
			t.Errorf("%s: %v, %d excused; want %d problems, %d excused", tc.name, probs, excused, tc.probs, tc.excused)
		}
	}
}
