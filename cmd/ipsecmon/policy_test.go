package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ipsecmon/internal/testcorpus"
)

// labConfig is the strongSwan configuration a scenario's daemon ran with.
func labConfig(t *testing.T, scenario, peer string) string {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	p := filepath.Join(root, "testdata", "lab", "scenarios", scenario, peer+".conf")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no lab configuration: %v", err)
	}
	return p
}

// TestLabFilters: bob's swanctl.conf yields generic filters equal to its
// configured traffic selectors, and specific filters equal to those the
// negotiated selectors imply (issue: filters and negotiation policies).
func TestLabFilters(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			conf := labConfig(t, sc, "bob")
			var generic []map[string]any
			jsonOut(t, &generic, "filters", "--generic", "--policy", conf, "-o", "json")
			for _, c := range f.ChildSAs {
				local, remote := bareHosts(c.Selectors["bob"]["local"]), bareHosts(c.Selectors["bob"]["remote"])
				found := false
				for _, g := range generic {
					if g["source"] == strings.Join(local, ", ") && g["destination"] == strings.Join(remote, ", ") &&
						g["inbound_action"] == "negotiate" && g["outbound_action"] == "negotiate" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no generic filter %v -> %v negotiating security in %v", c.ID, local, remote, generic)
				}
			}
			var specific []map[string]any
			jsonOut(t, &specific, "filters", "--specific", "-q", "--policy", conf, "--me", f.link("bob"),
				"-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "-o", "json")
			key := func(r map[string]any) string {
				return fmt.Sprint(r["source"], " ", r["destination"], " ", r["source_port"], " ", r["destination_port"], " ", r["protocol"], " ", r["direction"], " ", r["action"])
			}
			// A configured tunnel endpoint of Any (remote_addrs = %any: the peer
			// comes from behind a NAT) stands for the one negotiated.
			endpoint := func(conf, neg any) bool { return conf == neg || strings.EqualFold(fmt.Sprint(conf), "any") }
			negotiated := 0
			for _, r := range specific {
				if !strings.Contains(fmt.Sprint(r["name"]), "(negotiated)") {
					continue
				}
				negotiated++
				found := false
				for _, c := range specific {
					if !strings.Contains(fmt.Sprint(c["name"]), "(negotiated)") && key(c) == key(r) &&
						endpoint(c["source_tunnel_endpoint"], r["source_tunnel_endpoint"]) && endpoint(c["destination_tunnel_endpoint"], r["destination_tunnel_endpoint"]) {
						found = true
					}
				}
				if !found {
					t.Errorf("negotiated filter %s (tunnel %v -> %v) has no configured equal", key(r), r["source_tunnel_endpoint"], r["destination_tunnel_endpoint"])
				}
			}
			// Each CHILD SA the daemons made gives two (inbound, outbound).
			if negotiated != 2*len(f.ChildSAs) {
				t.Errorf("%d negotiated specific filters, want 2 per CHILD SA (%d)", negotiated, len(f.ChildSAs))
			}
		})
	}
}

// TestLabViolations: the cleartext scenario's datagrams around the tunnel
// are exactly the policy violations; no other scenario has any.
func TestLabViolations(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			want := 0
			script, err := os.ReadFile(filepath.Join(filepath.Dir(labConfig(t, sc, "bob")), "scenario.sh"))
			if err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile(`(?m)^CLEARTEXT_PACKETS=(\d+)`).FindSubmatch(script); m != nil {
				want, _ = strconv.Atoi(string(m[1]))
			}
			if tshark, err := exec.LookPath("tshark"); err == nil {
				// tshark's count of UDP datagrams between the inner addresses that are not ESP.
				out, err := exec.Command(tshark, "-n", "-r", filepath.Join(dir, "capture.pcap"), "-Y", "ip.src==10.1.0.0/16 && ip.dst==10.2.0.0/16 && !esp").Output()
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(out), "\n"); n != want {
					t.Fatalf("tshark sees %d cleartext packets between the protected subnets, the scenario sent %d", n, want)
				}
			}
			var st map[string]any
			jsonOut(t, &st, "stats", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"),
				"--policy", labConfig(t, sc, "bob"), "--me", f.link("bob"), "-o", "json")
			p, _ := st["policy"].(map[string]any)
			if p == nil {
				t.Fatalf("no policy findings in %v", st)
			}
			if p["cleartext_policy_violations"] != float64(want) || p["sas_without_policy"] != 0.0 || p["sas_outside_offers"] != 0.0 {
				t.Errorf("policy findings %v; want %d violations, every SA within policy", p, want)
			}
		})
	}
}

// TestOffersOutsidePolicy: an SA negotiated with a suite the policy does
// not offer is counted (ikev2-tunnel negotiated AES-CBC/SHA2-256; the
// ikev2-rekey configuration offers only AES-GCM-128 for the same selectors).
func TestOffersOutsidePolicy(t *testing.T) {
	root, _ := labScenarios(t)
	dir := filepath.Join(root, "ikev2-tunnel")
	if _, err := os.Stat(dir); err != nil {
		t.Skip(err)
	}
	var st map[string]any
	jsonOut(t, &st, "stats", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"),
		"--policy", labConfig(t, "ikev2-rekey", "bob"), "--me", "198.51.100.2", "-o", "json")
	p, _ := st["policy"].(map[string]any)
	if p == nil || p["sas_outside_offers"] != 1.0 || p["sas_without_policy"] != 0.0 {
		t.Errorf("policy findings %v; want the one SA outside the offers", p)
	}
	b, _ := json.Marshal(p)
	_ = b
}

// TestLabNegotiationPolicies: each configured negotiation policy lists its
// offers in order next to what was negotiated: every CHILD SA the daemons
// made is counted under an offer of its policy, none outside the offers.
func TestLabNegotiationPolicies(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			var got []struct {
				Name       string   `json:"name"`
				Offers     []string `json:"offers"`
				Negotiated int      `json:"negotiated_sa_pairs"`
				PerOffer   []int    `json:"negotiated_per_offer"`
				NotOffered []string `json:"negotiated_not_offered"`
			}
			jsonOut(t, &got, "policies", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"),
				"--policy", labConfig(t, sc, "bob"), "--me", f.link("bob"), "-o", "json")
			total := 0
			for _, p := range got {
				sum := 0
				for _, n := range p.PerOffer {
					sum += n
				}
				if sum != p.Negotiated || len(p.NotOffered) > 0 || len(p.Offers) == 0 {
					t.Errorf("policy %s: offers %v, per offer %v of %d negotiated, not offered %v", p.Name, p.Offers, p.PerOffer, p.Negotiated, p.NotOffered)
				}
				total += p.Negotiated
			}
			if total != len(f.ChildSAs) {
				t.Errorf("%d SA pairs counted under the policies, daemons made %d CHILD SAs", total, len(f.ChildSAs))
			}
		})
	}
}
