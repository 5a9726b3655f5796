package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNegotiatedSideAgrees: the SA view's Me column (inner selectors and
// tunnel endpoint), the filters view's negotiated filters and the policy
// findings take the same side of a CHILD SA, also on a transit row and with
// a prefix --me. (Four places chose the side with three rules; on a transit
// row the SA view showed the responder's selectors beside the initiator's
// tunnel endpoint.)
//
// ikev2-tunnel: alice (198.51.100.1, inner 10.1.0.1) initiates, bob
// (198.51.100.2, inner 10.2.0.1) responds (facts.json); bob.conf's
// selectors are bob's side (TestLabFilters). With bob.conf, bob's side must
// be within policy and its negotiated filters equal configured ones;
// alice's side neither. A transit row presents its first SA, the
// initiator's (the negotiation enters it first), as sent by Me.
func TestNegotiatedSideAgrees(t *testing.T) {
	root, _ := labScenarios(t)
	dir := filepath.Join(root, "ikev2-tunnel")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	const alice, bob = "198.51.100.1", "198.51.100.2"
	inner := map[string]string{alice: "10.1.0.1", bob: "10.2.0.1"}
	conf := labConfig(t, "ikev2-tunnel", "bob")
	keysFile := filepath.Join(dir, "keys.txt")
	for _, tc := range []struct {
		name, me string
		wantMe   string // the SA view's my_tunnel_endpoint
	}{
		{"bob given", bob, bob},
		{"alice given", alice, alice},
		{"transit", "192.0.2.99", alice},
		{"IPv6 --me, transit", "2001:db8::1", alice},
		{"prefix covering both", "198.51.100.0/24", alice},
		{"prefix of bob only", "198.51.100.2/31", bob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", keysFile, "--me", tc.me, "-o", "json"}
			var rows []map[string]any
			jsonOut(t, &rows, append([]string{"sas"}, args...)...)
			if len(rows) != 1 || rows[0]["my_tunnel_endpoint"] != tc.wantMe || rows[0]["me"] != inner[tc.wantMe] {
				t.Fatalf("SA view rows %v; want one with Me %s, tunnel endpoint %s", rows, inner[tc.wantMe], tc.wantMe)
			}
			var st map[string]any
			jsonOut(t, &st, append([]string{"stats", "--policy", conf}, args...)...)
			p, _ := st["policy"].(map[string]any)
			withinPolicy := p != nil && p["sas_without_policy"] == 0.0
			var specific []map[string]any
			jsonOut(t, &specific, append([]string{"filters", "--specific", "--policy", conf}, args...)...)
			key := func(r map[string]any) string {
				return fmt.Sprint(r["source"], " ", r["destination"], " ", r["direction"], " ", r["source_tunnel_endpoint"], " ", r["destination_tunnel_endpoint"])
			}
			configured := map[string]bool{}
			for _, r := range specific {
				if !strings.Contains(fmt.Sprint(r["name"]), "(negotiated)") {
					configured[key(r)] = true
				}
			}
			negotiated, equal := 0, 0
			for _, r := range specific {
				if strings.Contains(fmt.Sprint(r["name"]), "(negotiated)") {
					negotiated++
					if configured[key(r)] {
						equal++
					}
					if r["direction"] == "Outbound" && r["source_tunnel_endpoint"] != tc.wantMe {
						t.Errorf("negotiated outbound filter %s does not leave from %s", key(r), tc.wantMe)
					}
				}
			}
			bobSide := tc.wantMe == bob
			if negotiated != 2 || withinPolicy != bobSide || (equal == negotiated) != bobSide {
				t.Errorf("Me %s: within policy %v, %d of %d negotiated filters configured; want both %v", tc.wantMe, withinPolicy, equal, negotiated, bobSide)
			}
		})
	}
}
