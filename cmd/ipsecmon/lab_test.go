package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/internal/testcorpus"
)

// The strongSwan lab's recordings: facts.json holds what the daemons said
// (testdata/pcaps/lab/README.md), never what ipsecmon computed.

type labFacts struct {
	Scenario string `json:"scenario"`
	Capture  struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"capture"`
	Peers []struct {
		Name        string `json:"name"`
		LinkAddress string `json:"link_address"`
	} `json:"peers"`
	ChildSAs []struct {
		ID    string                       `json:"id"`
		Mode  string                       `json:"mode"`
		SPIs  map[string]map[string]string `json:"spis"`
		Suite struct {
			Enc        string `json:"enc"`
			EncKeyBits int    `json:"enc_key_bits"`
			Integ      string `json:"integ"`
			PFSGroup   string `json:"pfs_group"`
		} `json:"suite"`
		Selectors map[string]map[string][]string `json:"selectors"`
		Created   time.Time                      `json:"created"`
		Replaces  string                         `json:"replaces"`
		Deleted   *struct {
			Time time.Time `json:"time"`
		} `json:"deleted"`
	} `json:"child_sas"`
	SPIs []struct {
		SPI      string `json:"spi"`
		Counters map[string]struct {
			Side    string `json:"side"`
			Packets uint64 `json:"packets"`
			Bytes   uint64 `json:"bytes"`
		} `json:"counters"`
	} `json:"spis"`
	// CountsSplitByTiming: traffic crossed rekeys or a frozen peer, so the
	// daemons' per-SA readings lag what crossed the link, and a packet can
	// follow the Delete naming its SPI (testdata/pcaps/lab/README.md).
	CountsSplitByTiming bool `json:"counts_split_by_timing"`
	Negotiations        struct {
		ChildCompleted int            `json:"child_completed"`
		ChildRekeyed   int            `json:"child_rekeyed"`
		ChildDeleted   map[string]int `json:"child_deleted"`
		ChildAlive     int            `json:"child_alive_at_end"`
		Pending        int            `json:"pending"`
		Failed         int            `json:"failed"`
	} `json:"negotiations"`
}

func labScenarios(t *testing.T) (string, []string) {
	dir := os.Getenv("IPSECMON_LAB_DIR")
	if dir == "" {
		root, err := testcorpus.RepoRoot()
		if err != nil {
			t.Skip(err)
		}
		dir = filepath.Join(root, "testdata", "pcaps", "lab")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no lab recordings: %v", err)
	}
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "facts.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		t.Skipf("no lab recordings in %s", dir)
	}
	return dir, out
}

func readFacts(t *testing.T, dir string) labFacts {
	b, err := os.ReadFile(filepath.Join(dir, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f labFacts
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f labFacts) link(peer string) string {
	for _, p := range f.Peers {
		if p.Name == peer {
			return p.LinkAddress
		}
	}
	return ""
}

// ikeOnlyKeys writes the scenario's keys.txt without its esp/ah lines: only
// the IKE keys (with SKEYID_d / SK_d) remain.
func ikeOnlyKeys(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "esp ") && !strings.HasPrefix(l, "ah ") {
			keep = append(keep, l)
		}
	}
	return writeKeys(t, "ike-keys.txt", strings.Join(keep, "\n"))
}

func jsonOut(t *testing.T, v any, args ...string) {
	out, errOut, code := runCmd(t, args...)
	if code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

func encDisplay(name string, bits int) string {
	e, err := algo.ParseEnc(name)
	if err != nil {
		return name
	}
	base, _, _ := strings.Cut(e.Display(), " (")
	if e == algo.EncNull {
		return base
	}
	return fmt.Sprintf("%s-%d", base, bits)
}

// TestLabStatistics: the lifecycle counters equal what the daemons logged,
// with keys; and without keys IKEv1's additions and pending stay right while
// IKEv2's are not claimed.
func TestLabStatistics(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			capture := filepath.Join(dir, "capture.pcap")
			var st map[string]any
			jsonOut(t, &st, "stats", "-q", "-r", capture, "-k", filepath.Join(dir, "keys.txt"), "--me", f.link("bob"), "-o", "json")
			n := f.Negotiations
			want := map[string]float64{
				"key_additions":                 float64(n.ChildCompleted),
				"rekeys":                        float64(n.ChildRekeyed),
				"key_deletions":                 float64(n.ChildDeleted["delete"] + n.ChildDeleted["with-ike-sa"] + n.ChildDeleted["expiry"]),
				"pending_key_operations":        float64(n.Pending),
				"active_security_associations":  float64(2 * n.ChildAlive),
				"bad_spi_packets":               0,
				"packets_not_authenticated":     0,
				"packets_not_decrypted":         0,
				"packets_with_replay_detection": 0,
			}
			if f.CountsSplitByTiming {
				// Traffic crossed rekeys: a packet sent on an old SA can
				// follow the Delete naming it (its receiver may still count
				// it), so Bad SPI packets are not known to be 0.
				delete(want, "bad_spi_packets")
			}
			for k, v := range want {
				if st[k] != v {
					t.Errorf("%s = %v, daemons: %v", k, st[k], v)
				}
			}
			// ESP with NULL encryption is still ESP (the seed's Confidential
			// Bytes): its bytes are apart as well, all of them where the
			// daemons negotiated NULL for every CHILD SA (ikev2-encap).
			keyed := st
			allNull := len(f.ChildSAs) > 0
			for _, c := range f.ChildSAs {
				allNull = allNull && c.Suite.Enc == "null"
			}
			io, _ := st["analysis"].(map[string]any)["integrity_only_esp"].(map[string]any)
			if allNull && (io["bytes_sent"] != st["confidential_bytes_sent"] || io["bytes_received"] != st["confidential_bytes_received"] || st["confidential_bytes_received"] == 0.0) ||
				!allNull && (io["bytes_sent"] != 0.0 || io["bytes_received"] != 0.0) {
				t.Errorf("integrity-only ESP %v, confidential bytes %v / %v (NULL encryption everywhere: %v)", io, st["confidential_bytes_sent"], st["confidential_bytes_received"], allNull)
			}
			jsonOut(t, &st, "stats", "-q", "-r", capture, "--me", f.link("bob"), "-o", "json")
			for _, k := range []string{"confidential_bytes_sent", "confidential_bytes_received", "authenticated_bytes_sent", "authenticated_bytes_received"} {
				if st[k] != keyed[k] {
					t.Errorf("%s: %v without keys, %v with: keys must not change what the packets show", k, st[k], keyed[k])
				}
			}
			// Without keys the Delete payloads are unreadable: the SAs seen
			// may have ended, so Active SAs is not presented as a fact.
			if st["active_security_associations"] != nil {
				t.Errorf("without keys active_security_associations = %v, want null (deletions are encrypted)", st["active_security_associations"])
			}
			if strings.HasPrefix(sc, "ikev1") {
				for _, k := range []string{"key_additions", "pending_key_operations"} {
					if st[k] != want[k] {
						t.Errorf("without keys %s = %v, daemons: %v (IKEv1 Quick Mode headers are cleartext)", k, st[k], want[k])
					}
				}
			} else if st["key_additions"] != nil {
				t.Errorf("without keys IKEv2 key_additions = %v, want null", st["key_additions"])
			}
		})
	}
}

// TestLabSAView: every CHILD SA the daemons report is a row of the SA view,
// with its SPIs, mode, algorithms, selectors and per-direction counters;
// deriving the ESP keys from the IKE keys gives the same figures.
func TestLabSAView(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			if f.CountsSplitByTiming {
				t.Skip("per-SA readings taken while traffic flowed (facts: counts_split_by_timing)")
			}
			counters := map[string]struct{ packets, bytes uint64 }{}
			for _, s := range f.SPIs {
				if c, ok := s.Counters["bob"]; ok {
					counters[s.SPI] = struct{ packets, bytes uint64 }{c.Packets, c.Bytes}
				}
			}
			capture := filepath.Join(dir, "capture.pcap")
			for i, keyFile := range []string{filepath.Join(dir, "keys.txt"), ikeOnlyKeys(t, dir)} {
				ikeOnly := i == 1
				var rows []map[string]any
				jsonOut(t, &rows, "sas", "-q", "-r", capture, "-k", keyFile, "--me", f.link("bob"), "-o", "json")
				byIn := map[string]map[string]any{}
				for _, r := range rows {
					byIn[fmt.Sprint(r["spi_in"])] = r
				}
				for _, c := range f.ChildSAs {
					in, out := c.SPIs["bob"]["in"], c.SPIs["bob"]["out"]
					r := byIn[in]
					if r == nil {
						t.Errorf("%s (%s): no row with SPI in %s", c.ID, filepath.Base(keyFile), in)
						continue
					}
					want := map[string]any{
						"spi_out":             out,
						"mode":                c.Mode,
						"esp_confidentiality": encDisplay(c.Suite.Enc, c.Suite.EncKeyBits),
						"packets_in":          float64(counters[in].packets),
						"packets_out":         float64(counters[out].packets),
						// libipsec counts the inner IP packet: ipsecmon's plaintext.
						"plaintext_bytes_in":  float64(counters[in].bytes),
						"plaintext_bytes_out": float64(counters[out].bytes),
						"me":                  strings.Join(bareHosts(c.Selectors["bob"]["local"]), ", "),
						"peer":                strings.Join(bareHosts(c.Selectors["bob"]["remote"]), ", "),
						"pairing":             "negotiated",
					}
					if ikeOnly && c.Suite.PFSGroup != "" {
						// With PFS the new Diffie-Hellman secret never crosses the wire:
						// the ESP keys cannot be derived, and the row says so.
						want["plaintext_bytes_in"], want["plaintext_bytes_out"] = nil, nil
						if why, _ := r["keys_missing"].(string); !strings.Contains(why, "PFS") {
							t.Errorf("%s: keys_missing = %q, want the PFS reason", c.ID, why)
						}
					}
					for k, v := range want {
						if r[k] != v {
							t.Errorf("%s (%s): %s = %v, daemons: %v", c.ID, filepath.Base(keyFile), k, r[k], v)
						}
					}
				}
			}
		})
	}
}

// bareHosts prints /32 and /128 selectors as addresses, as the SA view does.
func bareHosts(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.TrimSuffix(strings.TrimSuffix(p, "/32"), "/128")
	}
	return out
}

// TestLabCheck: with both daemons' listings before and after (plus their
// VICI event logs, for SAs gone before the last listing), every figure agrees.
func TestLabCheck(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			f := readFacts(t, dir)
			if f.CountsSplitByTiming {
				t.Skip("the daemons' listings are readings taken while traffic flowed (facts: counts_split_by_timing)")
			}
			p := func(name string) string { return filepath.Join(dir, name) }
			var rows []map[string]any
			out, errOut, code := runCmd(t, "check", "-q", "-o", "json", "-r", p("capture.pcap"), "-k", p("keys.txt"),
				"--strongswan-backend", "kernel-libipsec",
				"--host", p("alice-list-sas-after-raw.txt")+","+p("alice-vici-events.jsonl"), "--host-before", p("alice-list-sas-before-raw.txt"),
				"--host", p("bob-list-sas-after-raw.txt")+","+p("bob-vici-events.jsonl"))
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("exit %d: %v %s", code, err, errOut)
			}
			_ = f
			agreePackets := map[string]bool{}
			for _, r := range rows {
				if r["verdict"] != "agree" {
					t.Errorf("%v %v %v: %v (ipsecmon %v, host %v) %v", r["host"], r["sa"], r["figure"], r["verdict"], r["analyzer"], r["host_value"], r["reason"])
				}
				if r["figure"] == "packets" && r["verdict"] == "agree" {
					agreePackets[fmt.Sprint(filepath.Base(fmt.Sprint(r["host"]))[:3], r["sa"])] = true
				}
			}
			if code != exitOK {
				t.Errorf("exit %d, want 0", code)
			}
			// Every SPI both daemons counted is compared, in both listings.
			want := 0
			for _, s := range f.SPIs {
				want += len(s.Counters)
			}
			if len(agreePackets) != want {
				t.Errorf("%d agreeing packet rows, want %d (every SPI at each daemon)", len(agreePackets), want)
			}
		})
	}
}

// TestLabIKESAs: the mmsas view lists every IKE SA the daemons report, with
// their SPIs, key length and initiator, and whether it ended.
func TestLabIKESAs(t *testing.T) {
	root, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(root, sc)
			b, err := os.ReadFile(filepath.Join(dir, "facts.json"))
			if err != nil {
				t.Fatal(err)
			}
			var f struct {
				IKESAs []struct {
					SPII      string `json:"spi_i"`
					SPIRr     string `json:"spi_r"`
					Initiator struct {
						Addr string `json:"addr"`
					} `json:"initiator"`
					Suite struct {
						EncKeyBits int `json:"enc_key_bits"`
					} `json:"suite"`
					Deleted *struct{} `json:"deleted"`
				} `json:"ike_sas"`
			}
			json.Unmarshal(b, &f)
			var got []map[string]any
			jsonOut(t, &got, "mmsas", "-q", "-r", filepath.Join(dir, "capture.pcap"), "-k", filepath.Join(dir, "keys.txt"), "-o", "json")
			for _, w := range f.IKESAs {
				found := false
				for _, g := range got {
					if g["ispi"] != w.SPII || g["rspi"] != w.SPIRr {
						continue
					}
					found = true
					if ini, _ := g["initiator"].(string); !strings.HasPrefix(ini, w.Initiator.Addr+":") {
						t.Errorf("IKE SA %s: initiator %v, daemons %s", w.SPII, g["initiator"], w.Initiator.Addr)
					}
					if g["enc_key_bits"] != float64(w.Suite.EncKeyBits) && w.Suite.EncKeyBits != 0 {
						t.Errorf("IKE SA %s: key bits %v, daemons %d", w.SPII, g["enc_key_bits"], w.Suite.EncKeyBits)
					}
					if ended := g["state"] == "deleted" || g["state"] == "rekeyed"; ended != (w.Deleted != nil) {
						t.Errorf("IKE SA %s: state %v, daemons deleted=%v", w.SPII, g["state"], w.Deleted != nil)
					}
				}
				if !found {
					t.Errorf("IKE SA %s/%s not in the mmsas view", w.SPII, w.SPIRr)
				}
			}
		})
	}
}
