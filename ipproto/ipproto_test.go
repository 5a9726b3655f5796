package ipproto

import "testing"

// TestNames: numbers from the IANA "Assigned Internet Protocol Numbers"
// registry; display names as the views have shown them.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		p    uint8
		want string
	}{
		{0, "Any"}, {1, "ICMP"}, {6, "TCP"}, {17, "UDP"}, {47, "GRE"}, {50, "ESP"}, {51, "AH"},
		{58, "ICMPv6"}, {89, "OSPF"}, {132, "SCTP"},
		{2, "2"}, {41, "41"}, {108, "108"}, {255, "255"},
	} {
		if got := Name(tc.p); got != tc.want {
			t.Errorf("Name(%d) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint8
		err  bool
	}{
		{"", 0, false}, {"any", 0, false}, {"%any", 0, false}, {"ALL", 0, false}, {"0", 0, false},
		{"tcp", 6, false}, {" UDP ", 17, false}, {"esp", 50, false}, {"AH", 51, false},
		{"icmp6", 58, false}, {"ipv6-icmp", 58, false}, {"IcmpV6", 58, false},
		{"ipip", 4, false}, {"ipencap", 4, false}, {"l2tp", 115, false}, {"sctp", 132, false},
		{"132", 132, false}, {"255", 255, false},
		{"256", 0, true}, {"-1", 0, true}, {"tcpx", 0, true}, {"6/tcp", 0, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	// Every name a view shows reads back as its number.
	for p, n := range names {
		if got, err := Parse(n); err != nil || got != p {
			t.Errorf("Parse(Name(%d) = %q) = %d, %v", p, n, got, err)
		}
	}
}
