package livecheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FloodConfig names what live-check.sh's flood step left in Dir: two runs
// over the same spoofed-pair flood replayed at the same rate, "stats" (a
// plain `stats -i`) and "watch" (`watch --metrics-listen -w`, /metrics
// scraped every second), each in a directory of its own:
//
//	replay.json  ipsecmon-lab replay's report
//	out          ipsecmon's stdout: watch's one line per refresh, then the
//	             final `-o json` report
//	exit.txt     "SECONDS_FROM_SIGTERM_TO_EXIT EXIT_STATUS"
//	term.txt     when SIGTERM was sent (Unix seconds)
//	scrapes.txt  watch only: "START END HTTP_CODE" per scrape (Unix seconds)
//	wsize.txt    watch only: the -w file's size while the flood went on
type FloodConfig struct {
	Dir      string
	Interval time.Duration // watch's --interval
	ExitIn   time.Duration // SIGTERM to exit, at most
}

// floodRun is one run's files, read.
type floodRun struct {
	sent    replaySent
	lines   []time.Time // watch's refresh lines
	final   captureJSON
	unread  uint64
	exitIn  float64
	exitRC  int
	term    float64 // when SIGTERM was sent, Unix seconds
	scrapes []scrape
	wsize   int64
}

type replaySent struct {
	Packets uint64  `json:"packets"`
	Seconds float64 `json:"seconds"`
}

type scrape struct {
	start, end float64
	code       int
}

// Flood checks issue 12's live acceptance: under a flood of spoofed SA
// pairs, watch with its metrics scraped every second keeps its refresh
// interval, drops nothing a plain stats -i run does not drop at the same
// rate, accounts for every packet libpcap received, and exits within
// ExitIn of SIGTERM; its -w file fills while it runs.
func Flood(c FloodConfig) (*Report, error) {
	rep := &Report{}
	stats, err := readFloodRun(filepath.Join(c.Dir, "stats"))
	if err != nil {
		return nil, err
	}
	watch, err := readFloodRun(filepath.Join(c.Dir, "watch"))
	if err != nil {
		return nil, err
	}
	var probs []string
	if stats.sent.Packets != watch.sent.Packets || stats.sent.Packets == 0 {
		probs = append(probs, fmt.Sprintf("the runs replayed %d and %d packets", stats.sent.Packets, watch.sent.Packets))
	}
	rs, rw := rate(stats.sent), rate(watch.sent)
	if rw < rs*0.8 || rw > rs*1.25 {
		probs = append(probs, fmt.Sprintf("the runs replayed at %.0f/s and %.0f/s: not the same rate", rs, rw))
	}
	rep.addf("12", "the same flood at the same rate for stats -i and for watch", probs,
		"%d packets each, %.0f/s and %.0f/s", stats.sent.Packets, rs, rw)

	for _, r := range []struct {
		name string
		run  *floodRun
	}{{"stats", stats}, {"watch", watch}} {
		rep.add("12", r.name+": every packet libpcap received is analysed, dropped or counted as not analysed", accountingDetail(r.run), accounting(r.run)...)
		probs = nil
		if r.run.exitRC != 0 {
			probs = append(probs, fmt.Sprintf("exit status %d", r.run.exitRC))
		}
		if r.run.exitIn > c.ExitIn.Seconds() {
			probs = append(probs, fmt.Sprintf("exited %.2f s after SIGTERM, more than %v", r.run.exitIn, c.ExitIn))
		}
		rep.addf("12", fmt.Sprintf("%s exits within %v of SIGTERM", r.name, c.ExitIn), probs, "%.2f s", r.run.exitIn)
	}

	ds, dw := dropped(stats), dropped(watch)
	tolerance := watch.final.firstReceived() / 1000
	probs = nil
	if dw > ds+tolerance {
		probs = append(probs, fmt.Sprintf("watch dropped %d, stats -i %d (tolerance %d)", dw, ds, tolerance))
	}
	rep.addf("12", "watch with its metrics scraped drops no more than stats -i at the same rate", probs,
		"dropped by the kernel: stats %d, watch %d (tolerance %d, 0.1%% of received)", ds, dw, tolerance)

	probs = refreshGaps(watch.lines, c.Interval, watch.sent.Seconds)
	rep.addf("12", fmt.Sprintf("watch refreshes every %v during the flood (its lines' timestamps, 1 s resolution)", c.Interval), probs,
		"%d lines over %.1f s of flood", len(watch.lines), watch.sent.Seconds)

	probs, slowest, excused := scrapeProblems(watch.scrapes, watch.term, watch.sent.Seconds, c.Interval)
	rep.addf("12", "/metrics answers every second during the flood", probs, "%d scrapes, slowest %.2f s, %d cut by the shutdown after SIGTERM", len(watch.scrapes), slowest, excused)

	probs = nil
	if watch.wsize <= 0 {
		probs = append(probs, "the -w file was empty while the flood went on (flushed at least every second)")
	}
	rep.addf("12", "-w reaches the file while the run goes on", probs, "%d bytes", watch.wsize)
	return rep, nil
}

// scrapeProblems: every scrape must answer 200 within two intervals, at
// least one a second over the flood. A scrape still open when SIGTERM was
// sent (term, Unix seconds; 0 if unknown) may be cut: ipsecmon closes its
// metrics listener on the way out, and the scraping loop only notices the
// process is gone after that, so such a scrape says nothing about the flood.
func scrapeProblems(scrapes []scrape, term, flood float64, interval time.Duration) (probs []string, slowest float64, excused int) {
	answered := 0
	for _, s := range scrapes {
		if s.code != 200 {
			if term > 0 && s.end >= term {
				excused++
				continue
			}
			probs = append(probs, fmt.Sprintf("scrape at %.1f: HTTP %d", s.start, s.code))
			continue
		}
		answered++
		slowest = max(slowest, s.end-s.start)
	}
	if want := int(flood) - 1; answered < want {
		probs = append(probs, fmt.Sprintf("%d scrapes answered, want at least %d (one a second)", answered, want))
	}
	if slowest > interval.Seconds()*2 {
		probs = append(probs, fmt.Sprintf("a scrape took %.2f s", slowest))
	}
	return probs, slowest, excused
}

func rate(s replaySent) float64 { return float64(s.Packets) / max(s.Seconds, 1e-9) }

func dropped(r *floodRun) uint64 {
	if len(r.final.Capture) == 0 {
		return 0
	}
	return r.final.Capture[0].DroppedByKernel + r.final.Capture[0].DroppedByInterface
}

func (c captureJSON) firstReceived() uint64 {
	if len(c.Capture) == 0 {
		return 0
	}
	return c.Capture[0].Received
}

// accounting: on Linux libpcap's received count includes its drops, so
// received = analysed + dropped + captured but not analysed at the stop.
func accounting(r *floodRun) []string {
	if len(r.final.Capture) != 1 {
		return []string{fmt.Sprintf("%d capture entries, want 1", len(r.final.Capture))}
	}
	c := r.final.Capture[0]
	if got := r.final.Input.Frames + c.DroppedByKernel + r.unread; got != c.Received {
		return []string{fmt.Sprintf("received %d, but analysed %d + dropped %d + not analysed %d = %d", c.Received, r.final.Input.Frames, c.DroppedByKernel, r.unread, got)}
	}
	return nil
}

func accountingDetail(r *floodRun) string {
	if len(r.final.Capture) != 1 {
		return ""
	}
	c := r.final.Capture[0]
	return fmt.Sprintf("received %d = analysed %d + dropped %d + not analysed %d", c.Received, r.final.Input.Frames, c.DroppedByKernel, r.unread)
}

// refreshGaps finds the gaps between watch's lines longer than the
// interval allows: lines carry whole seconds, so one interval of 1 s may
// show as 2 s between neighbours, never more.
func refreshGaps(lines []time.Time, interval time.Duration, flood float64) []string {
	var probs []string
	allowed := interval + time.Second
	for i := 1; i < len(lines); i++ {
		if d := lines[i].Sub(lines[i-1]); d > allowed {
			probs = append(probs, fmt.Sprintf("%v between refreshes at %s and %s", d, lines[i-1].Format(time.TimeOnly), lines[i].Format(time.TimeOnly)))
		}
	}
	if want := int(flood/interval.Seconds()) - 1; len(lines) < want {
		probs = append(probs, fmt.Sprintf("%d refreshes during %.1f s of flood, want at least %d", len(lines), flood, want))
	}
	return probs
}

func readFloodRun(dir string) (*floodRun, error) {
	r := &floodRun{}
	b, err := os.ReadFile(filepath.Join(dir, "replay.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &r.sent); err != nil {
		return nil, fmt.Errorf("%s/replay.json: %w", dir, err)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil {
		return nil, err
	}
	lines, final, err := ParseWatchOutput(out)
	if err != nil {
		return nil, fmt.Errorf("%s/out: %w", dir, err)
	}
	r.lines = lines
	if r.final, err = parseCapture(final); err != nil {
		return nil, fmt.Errorf("%s/out: %w", dir, err)
	}
	var unread struct {
		Capture []struct {
			NotAnalysed uint64 `json:"captured_not_analysed"`
		} `json:"capture"`
	}
	if json.Unmarshal(final, &unread) == nil && len(unread.Capture) == 1 {
		r.unread = unread.Capture[0].NotAnalysed
	}
	b, err = os.ReadFile(filepath.Join(dir, "exit.txt"))
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Sscan(string(b), &r.exitIn, &r.exitRC); err != nil {
		return nil, fmt.Errorf("%s/exit.txt: %q: %w", dir, b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "term.txt")); err == nil {
		r.term, _ = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	}
	if f, err := os.Open(filepath.Join(dir, "scrapes.txt")); err == nil {
		r.scrapes, err = ParseScrapes(f, f.Name())
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "wsize.txt")); err == nil {
		r.wsize, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return r, nil
}

// ParseWatchOutput splits watch's stdout when it is not a terminal: one
// line per refresh that starts with an RFC 3339 time, then the final
// report (JSON with -o json).
func ParseWatchOutput(out []byte) (lines []time.Time, final []byte, err error) {
	rest := out
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
			break
		}
		rest = after
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ts, _, _ := strings.Cut(string(line), " ")
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return nil, nil, fmt.Errorf("refresh line %q: %w", line, err)
		}
		lines = append(lines, t)
	}
	if len(bytes.TrimSpace(rest)) == 0 {
		return lines, nil, fmt.Errorf("no final report")
	}
	return lines, rest, nil
}

// ParseScrapes reads "START END HTTP_CODE" lines (Unix seconds, curl's
// code; 000 when it got no answer).
func ParseScrapes(r io.Reader, name string) ([]scrape, error) {
	var out []scrape
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want START END CODE, got %q", name, n, sc.Text())
		}
		var s scrape
		var err1, err2, err3 error
		s.start, err1 = strconv.ParseFloat(f[0], 64)
		s.end, err2 = strconv.ParseFloat(f[1], 64)
		s.code, err3 = strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s:%d: %q: not numbers", name, n, sc.Text())
		}
		out = append(out, s)
	}
	return out, sc.Err()
}
