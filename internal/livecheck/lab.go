package livecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"ipsecmon/internal/lab/facts"
)

// LabConfig names what a lab run with testdata/lab/live-hooks.sh left.
type LabConfig struct {
	Recording  string // the scenario's recording: facts.json, capture.pcap, keys.txt, bob-list-sas-*-raw.txt
	Live       string // the hooks' output for that scenario ($LIVE_OUT/<scenario>)
	Ipsecmon   string // binary, for the offline runs over the recording
	Tshark     string
	LateRound  int // LIVE_LATE_ROUND of the run (0: none)
	CheckRound int // LIVE_CHECK_ROUND of the run (0: none)
}

// Lab checks acceptance items 7.1, 7.4, 7.5 and 6.4 on one lab run.
func Lab(ctx context.Context, c LabConfig) (*Report, error) {
	rep := &Report{}
	f, err := facts.Read(filepath.Join(c.Recording, "facts.json"))
	if err != nil {
		return nil, err
	}
	me := ""
	for _, p := range f.Peers {
		if p.Name == facts.LinkPeer {
			me = p.LinkAddress
		}
	}
	if me == "" {
		return nil, fmt.Errorf("%s: no link address for %s", c.Recording, facts.LinkPeer)
	}
	// bob's counters per SPI: the daemon's truth for the link's SAs.
	bob := map[string]facts.Counter{}
	for _, s := range f.SPIs {
		if ct, ok := s.Counters[facts.LinkPeer]; ok {
			bob[s.SPI] = ct
		}
	}
	if len(bob) == 0 {
		return nil, fmt.Errorf("%s: facts list no SPI counted by %s", c.Recording, facts.LinkPeer)
	}
	capture := filepath.Join(c.Recording, "capture.pcap")
	keyFile := filepath.Join(c.Recording, "keys.txt")
	if err := os.Chmod(keyFile, 0o600); err != nil { // git does not keep modes; ipsecmon wants key files private
		return nil, err
	}
	offline := func(args ...string) ([]byte, error) {
		return run(ctx, c.Ipsecmon, append([]string{args[0], "-q", "-o", "json", "--me", me, "-r", capture}, args[1:]...)...)
	}
	live := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(c.Live, name)) }

	for _, inst := range []string{"stats", "sas", "keyed"} {
		rc, err := live(inst + ".rc")
		if err != nil {
			return nil, err
		}
		var probs []string
		if s := strings.TrimSpace(string(rc)); s != "0" {
			probs = append(probs, fmt.Sprintf("exit status %s after SIGINT", s))
		}
		rep.addf("7.1", "live "+inst+" instance ended on SIGINT", probs, "exit %s", strings.TrimSpace(string(rc)))
	}

	// 7.1: live keyless stats == offline stats over tcpdump's capture.
	liveStats, err := live("stats.json")
	if err != nil {
		return nil, err
	}
	offStats, err := offline("stats")
	if err != nil {
		return nil, err
	}
	// The limits in force differ (a live run evicts idle SAs, and the
	// limits that come with eviction exist only then): the ones both have
	// are compared apart, by name.
	ignoreInput := func(p string) bool {
		return p == "capture" || p == "limits" || (strings.HasPrefix(p, "input.files[") && strings.HasSuffix(p, "].name"))
	}
	d, err := Diff(liveStats, offStats, DiffOptions{Ignore: ignoreInput, Micros: true})
	if err != nil {
		return nil, err
	}
	d = append(d, sharedLimitsDiffer(liveStats, offStats)...)
	rep.addf("7.1", "live `stats -i` JSON equals offline `stats -r` over tcpdump's capture", d,
		"every field but the input's name and the live capture counters; times at tcpdump's µs")
	rep.add("7.1", "live capture lost nothing (libpcap's counters)", captureSummary(liveStats), captureLossless(liveStats)...)

	// 7.1: live keyless SA rows == offline rows, and == daemons / tshark.
	liveSAs, err := live("sas.json")
	if err != nil {
		return nil, err
	}
	offSAs, err := offline("sas")
	if err != nil {
		return nil, err
	}
	d, err = Diff(liveSAs, offSAs, DiffOptions{Micros: true, Ignore: isExhaustion})
	if err != nil {
		return nil, err
	}
	de, err := exhaustionApart(liveSAs, offSAs)
	if err != nil {
		return nil, err
	}
	d = append(d, de...)
	rep.addf("7.1", "live `sas -i` rows equal offline `sas -r` rows", d, "every column; times at µs, sequence exhaustion within what µs move it")
	ts, err := TsharkESP(ctx, c.Tshark, capture)
	if err != nil {
		return nil, err
	}
	rows, err := rowsBySPI(liveSAs)
	if err != nil {
		return nil, err
	}
	var probs []string
	var packets, wire uint64
	for _, spi := range sortedKeys(bob) {
		ct := bob[spi]
		r, dir := rows.find(spi)
		if r == nil {
			probs = append(probs, fmt.Sprintf("SPI %s: no live row", spi))
			continue
		}
		packets += ct.Packets
		wire += ts[spi].Bytes
		probs = append(probs, r.expect(spi, "packets_"+dir, ct.Packets, "bob's counter")...)
		probs = append(probs, r.expect(spi, "bytes_"+dir, ts[spi].Bytes, "tshark's ESP bytes")...)
		if ts[spi].Packets != ct.Packets {
			probs = append(probs, fmt.Sprintf("SPI %s: tshark sees %d packets, bob counted %d", spi, ts[spi].Packets, ct.Packets))
		}
	}
	rep.addf("7.1", "live keyless per-SA packets = bob's counters (facts), bytes = tshark's ESP bytes", probs,
		"%d SPIs, %d packets, %d ESP bytes", len(bob), packets, wire)

	// 7.1: offline with the recording's keys == facts (packets and plaintext bytes).
	offKeyed, err := offline("sas", "-k", keyFile)
	if err != nil {
		return nil, err
	}
	if rows, err = rowsBySPI(offKeyed); err != nil {
		return nil, err
	}
	probs = nil
	var plain uint64
	for _, spi := range sortedKeys(bob) {
		ct := bob[spi]
		r, dir := rows.find(spi)
		if r == nil {
			probs = append(probs, fmt.Sprintf("SPI %s: no offline keyed row", spi))
			continue
		}
		plain += ct.Bytes
		probs = append(probs, r.expect(spi, "packets_"+dir, ct.Packets, "bob's counter")...)
		probs = append(probs, r.expect(spi, "plaintext_bytes_"+dir, ct.Bytes, "bob's byte counter (inner IP)")...)
	}
	rep.addf("7.1", "offline `sas -r -k keys.txt`: per-SA packets and plaintext bytes = bob's counters (facts)", probs,
		"%d SPIs, %d plaintext bytes", len(bob), plain)

	// 7.1 and 7.5: the keyed live instance, keys by SIGHUP.
	if err := checkKeyed(rep, c, bob); err != nil {
		return nil, err
	}
	// 7.4: every scrape.
	if err := checkScrapes(rep, c.Live); err != nil {
		return nil, err
	}
	// 6.4: check --host live:vici during a round.
	if c.CheckRound > 0 {
		if err := checkHost(rep, c); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// captureJSON is what a live stats JSON says about the capture itself.
type captureJSON struct {
	Capture []struct {
		Interface          string `json:"interface"`
		Received           uint64 `json:"received"`
		DroppedByKernel    uint64 `json:"dropped_by_kernel"`
		DroppedByInterface uint64 `json:"dropped_by_interface"`
	} `json:"capture"`
	Input struct {
		Frames uint64 `json:"frames"`
	} `json:"input"`
	Analysis struct {
		IPsecPackets uint64 `json:"ipsec_packets"`
		Tracked      uint64 `json:"security_associations_tracked"`
		Untracked    uint64 `json:"untracked_packets"`
	} `json:"analysis"`
}

// sharedLimitsDiffer compares the limits two stats JSON documents both
// list: the same cap and the same hits.
func sharedLimitsDiffer(a, b []byte) []string {
	type limit struct {
		Name string `json:"name"`
		Cap  int64  `json:"cap"`
		Hits uint64 `json:"hits"`
	}
	var la, lb struct {
		Limits []limit `json:"limits"`
	}
	if err := json.Unmarshal(a, &la); err != nil {
		return []string{fmt.Sprintf("limits: %v", err)}
	}
	if err := json.Unmarshal(b, &lb); err != nil {
		return []string{fmt.Sprintf("limits: %v", err)}
	}
	other := map[string]limit{}
	for _, l := range lb.Limits {
		other[l.Name] = l
	}
	var probs []string
	for _, l := range la.Limits {
		if o, ok := other[l.Name]; ok && o != l {
			probs = append(probs, fmt.Sprintf("limits: %s cap %d hits %d vs cap %d hits %d", l.Name, l.Cap, l.Hits, o.Cap, o.Hits))
		}
	}
	return probs
}

func parseCapture(stats []byte) (captureJSON, error) {
	var st captureJSON
	if err := json.Unmarshal(stats, &st); err != nil {
		return st, fmt.Errorf("stats JSON: %w", err)
	}
	return st, nil
}

func captureSummary(stats []byte) string {
	st, _ := parseCapture(stats)
	if len(st.Capture) == 0 {
		return "no capture counters"
	}
	c := st.Capture[0]
	return fmt.Sprintf("%s: received %d, dropped %d+%d, frames analysed %d", c.Interface, c.Received, c.DroppedByKernel, c.DroppedByInterface, st.Input.Frames)
}

func captureLossless(stats []byte) []string {
	st, err := parseCapture(stats)
	if err != nil {
		return []string{err.Error()}
	}
	if len(st.Capture) != 1 {
		return []string{fmt.Sprintf("%d capture entries, want 1", len(st.Capture))}
	}
	c := st.Capture[0]
	var p []string
	if c.DroppedByKernel != 0 || c.DroppedByInterface != 0 {
		p = append(p, fmt.Sprintf("drops: kernel %d, interface %d", c.DroppedByKernel, c.DroppedByInterface))
	}
	if c.Received != st.Input.Frames {
		p = append(p, fmt.Sprintf("libpcap received %d, ipsecmon analysed %d frames", c.Received, st.Input.Frames))
	}
	return p
}

// checkKeyed: the keyed instance started with a key file naming no SA and
// was sent SIGHUP with the keys negotiated so far at each step (reloads.log).
// SAs whose keys it had before their first packet must show the daemons'
// full counters; an SA whose keys came only after round LateRound must show,
// as plaintext, exactly the bytes bob counted after that round (7.5), and
// its earlier packets as unverified.
func checkKeyed(rep *Report, c LabConfig, bob map[string]facts.Counter) error {
	b, err := os.ReadFile(filepath.Join(c.Live, "keyed.json"))
	if err != nil {
		return err
	}
	rows, err := rowsBySPI(b)
	if err != nil {
		return err
	}
	rf, err := os.Open(filepath.Join(c.Live, "reloads.log"))
	if err != nil {
		return err
	}
	reloads, err := ParseReloads(rf, rf.Name())
	rf.Close()
	if err != nil {
		return err
	}
	first := map[string]Reload{}
	for _, r := range reloads {
		for spi := range r.SPIs {
			if _, ok := first[spi]; !ok {
				first[spi] = r
			}
		}
	}
	lateWhy := fmt.Sprintf("round-end-%d", c.LateRound)
	var atLate map[string]Count
	if c.LateRound > 0 {
		if atLate, err = ReadListingCounters(filepath.Join(c.Recording, fmt.Sprintf("bob-list-sas-round%d-raw.txt", c.LateRound))); err != nil {
			return err
		}
	}
	var probs, lateProbs []string
	var lateDetail []string
	for _, spi := range sortedKeys(bob) {
		ct := bob[spi]
		r, dir := rows.find(spi)
		if r == nil {
			probs = append(probs, fmt.Sprintf("SPI %s: no live keyed row", spi))
			continue
		}
		probs = append(probs, r.expect(spi, "packets_"+dir, ct.Packets, "bob's counter")...)
		fr, ok := first[spi]
		switch {
		case !ok:
			probs = append(probs, fmt.Sprintf("SPI %s: never in a reloaded key file", spi))
		case c.LateRound > 0 && fr.Why == lateWhy:
			before := atLate[spi]
			if before.Packets == 0 || before.Packets >= ct.Packets {
				lateProbs = append(lateProbs, fmt.Sprintf("SPI %s: bob counted %d packets by round %d and %d in all: the reload is not in the SA's life",
					spi, before.Packets, c.LateRound, ct.Packets))
			}
			lateProbs = append(lateProbs, r.expect(spi, "plaintext_bytes_"+dir, ct.Bytes-before.Bytes,
				fmt.Sprintf("bob's bytes after round %d (%d - %d)", c.LateRound, ct.Bytes, before.Bytes))...)
			lateProbs = append(lateProbs, r.expect(spi, "unverified_"+dir, before.Packets,
				fmt.Sprintf("bob's packets by round %d, before the reload", c.LateRound))...)
			lateDetail = append(lateDetail, fmt.Sprintf("%s %s: %d unverified, then %d plaintext bytes = %d-%d",
				spi, dir, before.Packets, ct.Bytes-before.Bytes, ct.Bytes, before.Bytes))
		default:
			probs = append(probs, r.expect(spi, "plaintext_bytes_"+dir, ct.Bytes, "bob's byte counter (keys loaded before its first packet)")...)
			probs = append(probs, r.expect(spi, "unverified_"+dir, 0, "none: keys loaded before its first packet")...)
		}
	}
	rep.addf("7.1", "live `sas -i -k` (keys by SIGHUP before each SA's traffic): packets and plaintext bytes = bob's counters", probs,
		"%d reloads, %d SPIs", len(reloads), len(bob))
	if c.LateRound > 0 {
		if len(lateDetail) == 0 {
			lateProbs = append(lateProbs, fmt.Sprintf("no SA got its keys only at %s", lateWhy))
		}
		rep.addf("7.5", fmt.Sprintf("SIGHUP after round %d makes a running SA verifiable: plaintext = bob's bytes after the reload", c.LateRound),
			lateProbs, "%s", strings.Join(lateDetail, "; "))
	}
	return nil
}

// checkScrapes: at each quiet moment the hooks took /tunnels.json,
// /stats.json, /sas.json, /metrics, /stats.json, /sas.json, /tunnels.json
// (numbered 0 to 6); the JSON must not change in between (no traffic), and
// every sample of the exposition must equal the JSON.
func checkScrapes(rep *Report, dir string) error {
	m, _ := filepath.Glob(filepath.Join(dir, "scrape-*-3-metrics"))
	if len(m) == 0 {
		rep.add("7.4", "scrapes", "", "no scrape found in "+dir)
		return nil
	}
	sort.Strings(m)
	for _, p := range m {
		tag := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "scrape-"), "-3-metrics")
		read := func(n int, what string) ([]byte, error) {
			return os.ReadFile(filepath.Join(dir, fmt.Sprintf("scrape-%s-%d-%s", tag, n, what)))
		}
		var files [7][]byte
		for i, what := range []string{"tunnels", "stats", "sas", "metrics", "stats", "sas", "tunnels"} {
			b, err := read(i, what)
			if err != nil {
				return err
			}
			files[i] = b
		}
		var probs []string
		for _, pair := range [][2]int{{0, 6}, {1, 4}, {2, 5}} {
			d, err := Diff(files[pair[0]], files[pair[1]], DiffOptions{})
			if err != nil {
				return fmt.Errorf("scrape %s: %w", tag, err)
			}
			for _, x := range d {
				probs = append(probs, "changed during the scrape (traffic not quiet?): "+x)
			}
		}
		res, err := CheckExposition(files[3], files[1], files[0])
		if err != nil {
			return fmt.Errorf("scrape %s: %w", tag, err)
		}
		probs = append(probs, res.Problems...)
		rep.addf("7.4", "scrape "+tag+": /metrics parses (expfmt), has the standard series and no spi label, and every sample equals /stats.json and /tunnels.json", probs,
			"%d families (%d standard), %d samples compared", res.Families, res.Standard, res.Samples)
	}
	return nil
}

// checkHost: `ipsecmon check -i lab0 --host live:vici=bob's socket` ran from
// the start of round CheckRound to its end: exit 0, no figure differs, and
// every SA bob counted traffic on in that round is compared and agrees,
// with the delta of bob's own listings around the round.
func checkHost(rep *Report, c LabConfig) error {
	rc, err := os.ReadFile(filepath.Join(c.Live, "check.rc"))
	if err != nil {
		return err
	}
	out, err := os.ReadFile(filepath.Join(c.Live, "check.json"))
	if err != nil {
		return err
	}
	var rows []struct {
		SA       string  `json:"sa"`
		Figure   string  `json:"figure"`
		Analyzer *uint64 `json:"analyzer"`
		Host     *uint64 `json:"host_value"`
		Verdict  string  `json:"verdict"`
		Reason   string  `json:"reason"`
	}
	if err := json.Unmarshal(out, &rows); err != nil {
		return fmt.Errorf("check.json: %w", err)
	}
	var probs []string
	if s := strings.TrimSpace(string(rc)); s != "0" {
		probs = append(probs, "exit status "+s)
	}
	agree := map[string]uint64{}
	verdicts := map[string]int{}
	for _, r := range rows {
		verdicts[r.Verdict]++
		if r.Verdict == "differs" {
			probs = append(probs, fmt.Sprintf("%s %s: ipsecmon %v, host %v", r.SA, r.Figure, deref(r.Analyzer), deref(r.Host)))
		}
		if r.Verdict == "agree" && r.Analyzer != nil {
			agree[r.SA+" "+r.Figure] = *r.Analyzer
		}
	}
	before, err := ReadListingCounters(filepath.Join(c.Recording, fmt.Sprintf("bob-list-sas-round%d-raw.txt", c.CheckRound-1)))
	if c.CheckRound == 1 {
		before, err = ReadListingCounters(filepath.Join(c.Recording, "bob-list-sas-before-raw.txt"))
	}
	if err != nil {
		return err
	}
	after, err := ReadListingCounters(filepath.Join(c.Recording, fmt.Sprintf("bob-list-sas-round%d-raw.txt", c.CheckRound)))
	if err != nil {
		return err
	}
	compared := 0
	var detail []string
	for _, spi := range sortedKeys(after) {
		delta := Count{after[spi].Packets - before[spi].Packets, after[spi].Bytes - before[spi].Bytes}
		if delta.Packets == 0 {
			continue
		}
		found := false
		for key, v := range agree {
			if !strings.Contains(key, " "+spi+" ") {
				continue
			}
			switch {
			case strings.HasSuffix(key, " packets"):
				found = true
				if v != delta.Packets {
					probs = append(probs, fmt.Sprintf("%s: agreed on %d packets, bob's listings differ by %d", key, v, delta.Packets))
				}
			case strings.HasPrefix(strings.SplitN(key, " ", 4)[3], "bytes"):
				if v != delta.Bytes {
					probs = append(probs, fmt.Sprintf("%s: agreed on %d bytes, bob's listings differ by %d", key, v, delta.Bytes))
				}
			}
		}
		if !found {
			probs = append(probs, fmt.Sprintf("SPI %s carried %d packets in round %d (bob's listings) but no packets row agrees", spi, delta.Packets, c.CheckRound))
			continue
		}
		compared++
		detail = append(detail, fmt.Sprintf("%s %d pkts/%d B", spi, delta.Packets, delta.Bytes))
	}
	if compared == 0 {
		probs = append(probs, "no SA compared")
	}
	rep.addf("6.4", fmt.Sprintf("`check -i --host live:vici` over round %d exits 0 and agrees with bob's listings", c.CheckRound), probs,
		"verdicts %v; %s", verdicts, strings.Join(detail, ", "))
	return nil
}

func deref(p *uint64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatUint(*p, 10)
}

// saRowSet indexes SA rows by their SPIs.
type saRowSet map[string]rowJSON

func rowsBySPI(b []byte) (saRowSet, error) {
	var rows []rowJSON
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("SA rows: %w", err)
	}
	out := saRowSet{}
	for _, r := range rows {
		for _, k := range []string{"spi_in", "spi_out"} {
			var s string
			if json.Unmarshal(r[k], &s) == nil && s != "" {
				out[k+" "+s] = r
			}
		}
	}
	return out, nil
}

// find returns the row holding spi and the direction it has there.
func (s saRowSet) find(spi string) (rowJSON, string) {
	if r, ok := s["spi_in "+spi]; ok {
		return r, "in"
	}
	if r, ok := s["spi_out "+spi]; ok {
		return r, "out"
	}
	return nil, ""
}

// rowJSON is one SA row of `sas -o json`.
type rowJSON map[string]json.RawMessage

// expect compares one figure of the row with the value from elsewhere.
func (r rowJSON) expect(spi, field string, want uint64, why string) []string {
	v, err := optUint(r[field])
	switch {
	case err != nil:
		return []string{fmt.Sprintf("SPI %s: %s: %v", spi, field, err)}
	case v == nil:
		return []string{fmt.Sprintf("SPI %s: %s = null, want %d (%s)", spi, field, want, why)}
	case *v != want:
		return []string{fmt.Sprintf("SPI %s: %s = %d, want %d (%s)", spi, field, *v, want, why)}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
