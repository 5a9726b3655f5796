package report

import "testing"

// TestBitRate: the throughput axis reads "50 kbit/s", not "50.0 kbit/s";
// a tooltip keeps its tenth. Worked out by hand: 30,800 bit/s is 30.8
// kbit/s, 1,500,000 is 1.5 Mbit/s, 2e9 is 2 Gbit/s.
func TestBitRate(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{999, "999 bit/s"},
		{50e3, "50 kbit/s"},
		{100e3, "100 kbit/s"},
		{30800, "30.8 kbit/s"},
		{1.5e6, "1.5 Mbit/s"},
		{2e9, "2 Gbit/s"},
	} {
		if got := bitRate(c.v); got != c.want {
			t.Errorf("bitRate(%g) = %q, want %q", c.v, got, c.want)
		}
	}
}
