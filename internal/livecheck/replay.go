package livecheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ReplayConfig names what live-check.sh's replay step left in Dir:
//
//	replay.json     ipsecmon-lab replay's report (frames the kernel accepted)
//	netdev.txt      the receiving veth's counters before and after (sysfs)
//	tcpdump.stderr  tcpdump's own libpcap statistics on the same interface
//	stats.json      ipsecmon's final `stats -o json`; stats.rc its exit status
//	rss.txt         ipsecmon's VmRSS every 100 ms (ipsecmon-lab rss)
type ReplayConfig struct {
	Dir        string
	Warmup     time.Duration
	RSSBound   uint64
	MinPackets uint64
}

// Replay checks acceptance item 7.2: ipsecmon's reported drops equal the
// packets that reached the interface minus those it analysed, libpcap's
// received count equals what the kernel delivered to the interface, and
// RSS stays flat after the warm-up.
func Replay(c ReplayConfig) (*Report, error) {
	rep := &Report{}
	p := func(n string) string { return filepath.Join(c.Dir, n) }
	var sent struct {
		Packets uint64  `json:"packets"`
		Retries uint64  `json:"retries"`
		Seconds float64 `json:"seconds"`
		Loops   int     `json:"loops"`
	}
	b, err := os.ReadFile(p("replay.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &sent); err != nil {
		return nil, fmt.Errorf("replay.json: %w", err)
	}
	nd, err := readKV(p("netdev.txt"))
	if err != nil {
		return nil, err
	}
	rx := nd["rx_packets_after"] - nd["rx_packets_before"]
	var probs []string
	if sent.Packets < c.MinPackets {
		probs = append(probs, fmt.Sprintf("replayed %d packets, want at least %d", sent.Packets, c.MinPackets))
	}
	if rx != sent.Packets {
		probs = append(probs, fmt.Sprintf("the receiving veth counted %d packets, the replay sent %d", rx, sent.Packets))
	}
	rep.addf("7.2", "replayed packets reached the capturing interface (veth rx_packets, sysfs)", probs,
		"%d packets in %.2fs (%.0f/s, %d loops, %d ENOBUFS retries), veth rx %d", sent.Packets, sent.Seconds,
		float64(sent.Packets)/max(sent.Seconds, 1e-9), sent.Loops, sent.Retries, rx)

	td, err := os.Open(p("tcpdump.stderr"))
	if err != nil {
		return nil, err
	}
	tst, err := ParseTcpdumpStats(td, td.Name())
	td.Close()
	if err != nil {
		return nil, err
	}
	probs = nil
	if tst.ReceivedByFilter != rx {
		probs = append(probs, fmt.Sprintf("tcpdump's libpcap: %d received by filter, veth delivered %d", tst.ReceivedByFilter, rx))
	}
	// tcpdump's own drops do not matter: on Linux its "received by filter"
	// counts dropped packets too.
	rep.addf("7.2", "tcpdump's own libpcap statistics on the interface (256 MiB buffer)", probs,
		"%d captured, %d received by filter, %d dropped by kernel", tst.Captured, tst.ReceivedByFilter, tst.DroppedByKernel)

	stats, err := os.ReadFile(p("stats.json"))
	if err != nil {
		return nil, err
	}
	st, err := parseCapture(stats)
	if err != nil {
		return nil, err
	}
	probs = nil
	if rc, err := os.ReadFile(p("stats.rc")); err != nil || strings.TrimSpace(string(rc)) != "0" {
		probs = append(probs, fmt.Sprintf("ipsecmon exit status %q (%v)", strings.TrimSpace(string(rc)), err))
	}
	if len(st.Capture) != 1 {
		return nil, fmt.Errorf("stats.json: %d capture entries, want 1", len(st.Capture))
	}
	cs := st.Capture[0]
	// Linux libpcap: ps_recv is every packet that passed the filter,
	// dropped or not (tp_packets includes tp_drops); ps_drop the ones the
	// ring had no room for.
	if cs.Received != rx {
		probs = append(probs, fmt.Sprintf("ipsecmon's capture.received %d, the veth delivered %d (and tcpdump's libpcap received %d)", cs.Received, rx, tst.ReceivedByFilter))
	}
	if cs.DroppedByKernel == 0 {
		probs = append(probs, "no kernel drops: the buffer was not small enough to test drop accounting")
	}
	if want := rx - st.Input.Frames; cs.DroppedByKernel != want {
		probs = append(probs, fmt.Sprintf("ipsecmon reports %d dropped by the kernel; delivered %d - analysed %d = %d", cs.DroppedByKernel, rx, st.Input.Frames, want))
	}
	if cs.DroppedByInterface != 0 {
		probs = append(probs, fmt.Sprintf("%d dropped by the interface", cs.DroppedByInterface))
	}
	if st.Analysis.IPsecPackets+st.Analysis.Untracked != st.Input.Frames && st.Analysis.IPsecPackets != st.Input.Frames {
		probs = append(probs, fmt.Sprintf("%d frames analysed but %d IPsec packets (every replayed frame is ESP or AH)", st.Input.Frames, st.Analysis.IPsecPackets))
	}
	rep.addf("7.2", "ipsecmon's drops = delivered - analysed; received = delivered", probs,
		"received %d, dropped by kernel %d (%.1f%%), analysed %d, SAs %d", cs.Received, cs.DroppedByKernel,
		100*float64(cs.DroppedByKernel)/max(float64(cs.Received), 1), st.Input.Frames, st.Analysis.Tracked)

	rf, err := os.Open(p("rss.txt"))
	if err != nil {
		return nil, err
	}
	samples, err := ParseRSSSamples(rf, rf.Name())
	rf.Close()
	if err != nil {
		return nil, err
	}
	g, err := Grow(samples, c.Warmup)
	probs = nil
	if err != nil {
		probs = append(probs, err.Error())
	} else if g.Growth() > c.RSSBound {
		probs = append(probs, fmt.Sprintf("RSS grew %s after the %v warm-up (%s -> %s), bound %s", mib(g.Growth()), c.Warmup, mib(g.Base), mib(g.Peak), mib(c.RSSBound)))
	}
	rep.addf("7.2", fmt.Sprintf("VmRSS (/proc, every 100 ms) grows at most %s after a %v warm-up", mib(c.RSSBound), c.Warmup), probs,
		"%d samples; first %s, after warm-up %s, peak after warm-up %s over %v (growth %s), max %s",
		len(samples), mib(g.First), mib(g.Base), mib(g.Peak), g.Span.Round(time.Millisecond), mib(g.Growth()), mib(g.Max))
	return rep, nil
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// readKV reads "name value" lines of unsigned integers.
func readKV(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out[k] = x
	}
	return out, sc.Err()
}

// TcpdumpStats are the three counters tcpdump prints when it ends.
type TcpdumpStats struct {
	Captured, ReceivedByFilter, DroppedByKernel uint64
}

var reTcpdump = regexp.MustCompile(`^(\d+) packets? (captured|received by filter|dropped by kernel)$`)

// ParseTcpdumpStats reads tcpdump's closing statistics from its stderr
// ("N packets captured", "N packets received by filter", "N packets
// dropped by kernel"); every one of the three must be there.
func ParseTcpdumpStats(r io.Reader, name string) (TcpdumpStats, error) {
	var s TcpdumpStats
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		m := reTcpdump.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return s, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		switch m[2] {
		case "captured":
			s.Captured = v
		case "received by filter":
			s.ReceivedByFilter = v
		case "dropped by kernel":
			s.DroppedByKernel = v
		}
		seen[m[2]] = true
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	if len(seen) != 3 {
		return s, fmt.Errorf("%s: tcpdump's statistics incomplete (%d of 3 lines)", name, len(seen))
	}
	return s, nil
}
