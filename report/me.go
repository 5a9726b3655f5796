package report

import (
	"fmt"
	"strings"

	"ipsecmon/analyzer"
)

// meGiven writes --me as given: addresses alone, prefixes with their length.
func meGiven(s *analyzer.Snapshot) string {
	parts := make([]string, len(s.MeGiven))
	for i, p := range s.MeGiven {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ", ")
}

// meEndpoints lists the SAs' endpoints --me could name, busiest first.
func meEndpoints(s *analyzer.Snapshot) string {
	var parts []string
	for i, c := range s.MeCandidates {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(s.MeCandidates)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d SAs)", c.Addr, c.SAs))
	}
	return strings.Join(parts, ", ")
}

// MeWarnings says what is wrong with a --me that decides sent, received,
// Me and Peer on grounds the user did not mean: one that is no SA's
// endpoint (the SA view's Me column shows traffic selectors, which users
// then pass), and one that covers both ends of SAs.
func MeWarnings(s *analyzer.Snapshot) []string {
	var out []string
	if s.MeUnmatched {
		out = append(out, fmt.Sprintf("--me %s is not an endpoint of any SA, so every SA counts as between other hosts; --me wants this computer's outer (tunnel) addresses, not the traffic selectors the Me column shows. The SAs' endpoints: %s",
			meGiven(s), meEndpoints(s)))
	}
	if n := len(s.MeBothEnds); n > 0 {
		var pairs []string
		var sas uint64
		for i, p := range s.MeBothEnds {
			sas += p.SAs
			if i < 3 {
				pairs = append(pairs, fmt.Sprintf("%s with %s", p.Me, p.Peer))
			}
		}
		if n > 3 {
			pairs = append(pairs, fmt.Sprintf("and %d more", n-3))
		}
		out = append(out, fmt.Sprintf("--me %s covers both endpoints of %d SAs, so which side is this computer is ambiguous there; the sender of the first SA seen is taken as Me: %s. Give this computer's address alone",
			meGiven(s), sas, strings.Join(pairs, ", ")))
	}
	return out
}
