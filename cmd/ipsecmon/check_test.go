package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// hostXfrm is what `ip -s xfrm state` on 10.0.0.1 would print after
// keyedFaultCapture, worked out from how Linux counts (see hosts' basis
// table): inbound bytes are the decapsulated length, outbound bytes the
// packet before ESP output (outer IPv4 header + ESP header + IV + payload).
//
//	0x1001 in, tunnel: 12 packets × 84-byte inner packet = 1008; 2 duplicates
//	       (replay) and 1 left of the window (replay-window); 1 ICV failure (failed).
//	0x2002 out, transport GCM: 5 × (20 + 8 + 8 + 48) = 420.
//	0x3003 in, transport: 4 × 28-byte ICMP = 112.
func hostXfrm(p3003 int, with2002 bool, extra string) string {
	sa := func(src, dst string, spi uint32, mode string, bytes, pkts, rw, rp, failed int) string {
		return fmt.Sprintf(`src %s dst %s
	proto esp spi 0x%08x(%d) reqid 1(0x00000001) mode %s
	replay-window 64 seq 0x00000000 flag af-unspec (0x00100000)
	lifetime current:
	  %d(bytes), %d(packets)
	  add 2026-11-27 09:00:00 use 2026-11-27 09:00:01
	stats:
	  replay-window %d replay %d failed %d
`, src, dst, spi, spi, mode, bytes, pkts, rw, rp, failed)
	}
	s := sa("10.0.0.2", "10.0.0.1", 0x1001, "tunnel", 1008, 12, 1, 2, 1)
	if with2002 {
		s += sa("10.0.0.1", "10.0.0.4", 0x2002, "transport", 420, 5, 0, 0, 0)
	}
	s += sa("10.0.0.3", "10.0.0.1", 0x3003, "transport", 112, p3003, 0, 0, 0)
	return s + extra
}

// Linux counts every replay-check failure in XfrmInStateSeqError and every
// failed transform (bad ICV or bad padding) in XfrmInStateProtoError.
const hostXfrmStat = `XfrmInError             	0
XfrmInBufferError       	0
XfrmInHdrError          	0
XfrmInNoStates          	3
XfrmInStateProtoError   	2
XfrmInStateModeError    	0
XfrmInStateSeqError     	3
XfrmInStateExpired      	0
`

func checkRows(t *testing.T, args ...string) ([]map[string]any, int) {
	out, errOut, code := runCmd(t, append([]string{"check", "-q", "-o", "json"}, args...)...)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("exit %d, %v: %s %s", code, err, out, errOut)
	}
	return rows, code
}

func TestCheckAgrees(t *testing.T) {
	path := keyedFaultCapture(t)
	xfrm := writeKeys(t, "keys.txt", xfrmKeys())
	after := writeKeys(t, "after.txt", hostXfrm(4, true, ""))
	stat := writeKeys(t, "xfrm_stat", hostXfrmStat)
	rows, code := checkRows(t, "-r", path, "-k", xfrm, "--me", "10.0.0.1", "--host", after+","+stat)
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	agree := map[string]bool{}
	for _, r := range rows {
		k := fmt.Sprint(r["sa"], " ", r["figure"])
		if r["verdict"] == "differs" {
			t.Errorf("%s: ipsecmon %v, host %v", k, r["analyzer"], r["host_value"])
		}
		if r["verdict"] == "agree" {
			agree[k] = true
		}
	}
	for _, want := range []string{
		"esp 0x00001001 in packets", "esp 0x00001001 in bytes (linux-xfrm-in)",
		"esp 0x00002002 out packets", "esp 0x00002002 out bytes (linux-xfrm-out)",
		"esp 0x00003003 in packets", "esp 0x00003003 in bytes (linux-xfrm-in)",
		"<nil> bad_spi_packets", "<nil> packets_with_replay_detection",
		"<nil> packets_not_authenticated + packets_not_decrypted",
		"<nil> active_security_associations",
	} {
		if !agree[want] {
			t.Errorf("%q does not agree", want)
		}
	}
}

func TestCheckFindsEditedHost(t *testing.T) {
	path := keyedFaultCapture(t)
	xfrm := writeKeys(t, "keys.txt", xfrmKeys())
	// One SA's packets off by one (0x3003: 5 instead of 4), an extra SA the
	// capture never saw (0x4004 with 3 packets) and a missing one (0x2002).
	extra := `src 10.0.0.5 dst 10.0.0.1
	proto esp spi 0x00004004(16388) reqid 4(0x00000004) mode tunnel
	replay-window 64 seq 0x00000000 flag af-unspec (0x00100000)
	lifetime current:
	  300(bytes), 3(packets)
	  add 2026-11-27 09:00:00 use 2026-11-27 09:00:01
	stats:
	  replay-window 0 replay 0 failed 0
`
	edited := writeKeys(t, "edited.txt", hostXfrm(5, false, extra))
	rows, code := checkRows(t, "-r", path, "-k", xfrm, "--me", "10.0.0.1", "--host", edited)
	if code != exitMismatch {
		t.Errorf("exit %d, want %d", code, exitMismatch)
	}
	var differs []string
	for _, r := range rows {
		if r["verdict"] == "differs" {
			differs = append(differs, fmt.Sprint(r["sa"], " ", r["figure"]))
		}
	}
	sort.Strings(differs)
	want := []string{
		"<nil> capture_moment",                    // 0x4004's 3 packets and 0x3003's 5 fit no moment of the capture
		"esp 0x00002002 out packets",              // the capture saw 5, the host lists no such SA
		"esp 0x00003003 in packets",               // 4 vs 5
		"esp 0x00004004 in bytes (linux-xfrm-in)", // 0 vs 300
		"esp 0x00004004 in packets",               // 0 vs 3
	}
	if strings.Join(differs, "\n") != strings.Join(want, "\n") {
		t.Errorf("differing rows:\n%s\nwant:\n%s", strings.Join(differs, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckCountersOnlyHost: a host given only by its global counters
// (/proc/net/xfrm_stat) has no SA list to say which addresses are its own.
// With --me its host-wide figures compare (the counts worked out for
// hostXfrmStat above); without, or with an address that is not the host's,
// no figure may pass for a comparison: nothing is "the host does not list
// this SA", and the Active SAs of a source that lists none are unknown.
func TestCheckCountersOnlyHost(t *testing.T) {
	path := keyedFaultCapture(t)
	xfrm := writeKeys(t, "keys.txt", xfrmKeys())
	stat := writeKeys(t, "xfrm_stat", hostXfrmStat)
	for _, tc := range []struct {
		name     string
		me       []string
		code     int
		verdicts map[string]string // figure → verdict; every row must be listed
	}{
		{"no --me", nil, exitOK, map[string]string{
			"bad_spi_packets":                                   "not comparable",
			"packets_with_replay_detection":                     "not comparable",
			"packets_not_authenticated + packets_not_decrypted": "not comparable",
			"active_security_associations":                      "not comparable",
		}},
		{"--me the host", []string{"--me", "10.0.0.1"}, exitOK, map[string]string{
			"bad_spi_packets":                                   "agree", // 3 unknown-SPI packets to 10.0.0.1
			"packets_with_replay_detection":                     "agree", // 2 duplicates + 1 left of the window
			"packets_not_authenticated + packets_not_decrypted": "agree", // 1 bad ICV + 1 bad padding
			"active_security_associations":                      "not comparable",
		}},
		{"--me another address", []string{"--me", "10.0.0.4"}, exitMismatch, map[string]string{
			"bad_spi_packets":                                   "differs", // 0 at 10.0.0.4 vs the host's 3
			"packets_with_replay_detection":                     "differs",
			"packets_not_authenticated + packets_not_decrypted": "differs",
			"active_security_associations":                      "not comparable",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-r", path, "-k", xfrm, "--host", stat}, tc.me...)
			rows, code := checkRows(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			got := map[string]string{}
			for _, r := range rows {
				if r["sa"] != nil && r["sa"] != "" {
					t.Errorf("SA row %v from a host that lists no SA", r)
				}
				got[fmt.Sprint(r["figure"])] = fmt.Sprint(r["verdict"])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.verdicts) {
				t.Errorf("verdicts %v\nwant %v", got, tc.verdicts)
			}
		})
	}
}
