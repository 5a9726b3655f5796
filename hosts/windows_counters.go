package hosts

import (
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Windows host counters: the "IPsec Driver" performance object as written
// by `typeperf "\IPsec Driver\*" -sc 1` (CSV) and by `Get-Counter` (text),
// and `netsh ipsec dynamic show stats` / IP Security Monitor labels
// (Windows Server 2003 "Viewing main mode and quick mode statistics in IP
// Security Monitor"). One label table maps each source's label, lower-cased,
// to the neutral counter it feeds; every value is also kept in Raw under the
// label as printed. Rate counters ("/sec") are kept in Raw only.
var windowsLabels = map[string]func(s *Snapshot, v uint64){
	// IPsec Driver performance counters (WFP IPSEC_AGGREGATE_SA_STATISTICS0
	// and IPSEC_AGGREGATE_DROP_PACKET_STATISTICS1 behind them).
	"active security associations":         func(s *Snapshot, v uint64) { s.Global.ActiveSAs = u64(v) },
	"incorrect spi packets":                func(s *Snapshot, v uint64) { s.Global.BadSPI = u64(v) },
	"packets not decrypted":                func(s *Snapshot, v uint64) { s.Global.NotDecrypted = u64(v) },
	"packets not authenticated":            func(s *Snapshot, v uint64) { s.Global.NotAuthenticated = u64(v) },
	"packets that failed replay detection": func(s *Snapshot, v uint64) { s.Global.ReplayFailed = u64(v) },
	"security associations added":          func(s *Snapshot, v uint64) { daemon(s).KeyAdditions = u64(v) },
	"sa rekeys":                            func(s *Snapshot, v uint64) { daemon(s).Rekeys = u64(v) },
	// netsh ipsec dynamic show stats (IPSec Statistics section).
	"active assoc":               func(s *Snapshot, v uint64) { s.Global.ActiveSAs = u64(v) },
	"bad spi pkts":               func(s *Snapshot, v uint64) { s.Global.BadSPI = u64(v) },
	"pkts not decrypted":         func(s *Snapshot, v uint64) { s.Global.NotDecrypted = u64(v) },
	"pkts not authenticated":     func(s *Snapshot, v uint64) { s.Global.NotAuthenticated = u64(v) },
	"pkts with replay detection": func(s *Snapshot, v uint64) { s.Global.ReplayFailed = u64(v) },
	"key adds":                   func(s *Snapshot, v uint64) { daemon(s).KeyAdditions = u64(v) },
	"key deletes":                func(s *Snapshot, v uint64) { daemon(s).KeyDeletions = u64(v) },
	"rekeys":                     func(s *Snapshot, v uint64) { daemon(s).Rekeys = u64(v) },
	// IP Security Monitor quick mode statistics (the Windows views ipsecmon mirrors).
	"bad spi packets":               func(s *Snapshot, v uint64) { s.Global.BadSPI = u64(v) },
	"packets with replay detection": func(s *Snapshot, v uint64) { s.Global.ReplayFailed = u64(v) },
	"key additions":                 func(s *Snapshot, v uint64) { daemon(s).KeyAdditions = u64(v) },
	"key deletions":                 func(s *Snapshot, v uint64) { daemon(s).KeyDeletions = u64(v) },
}

func daemon(s *Snapshot) *DaemonCounters {
	if s.Daemon == nil {
		s.Daemon = &DaemonCounters{Raw: map[string]uint64{}}
	}
	return s.Daemon
}

// setWindowsCounter records one counter by its label.
func setWindowsCounter(s *Snapshot, label string, v uint64) {
	if s.Global.Raw == nil {
		s.Global.Raw = map[string]uint64{}
	}
	s.Global.Raw[label] = v
	if f, ok := windowsLabels[strings.ToLower(strings.TrimSpace(label))]; ok {
		f(s, v)
		if s.Daemon != nil {
			s.Daemon.Raw[label] = v
		}
	}
}

// counterName is the last element of a counter path "\\HOST\IPsec Driver\Name".
func counterName(path string) string {
	path = strings.TrimSpace(path)
	if i := strings.LastIndexByte(path, '\\'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// parseCounterValue reads a counter value as typeperf or Get-Counter prints
// it: an integer or a decimal; rates are truncated to integers.
func parseCounterValue(v string) (uint64, bool) {
	v = strings.TrimSpace(strings.ReplaceAll(v, ",", ""))
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1.8e19 {
		return uint64(f), true
	}
	return 0, false
}

func detectTypeperf(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && strings.HasPrefix(ls[0], `"(PDH-CSV 4.0)`)
}

// parseTypeperf reads typeperf's CSV: a header row of counter paths after
// the "(PDH-CSV 4.0) (time zone)(bias)" column, then one row per sample;
// the last row is the snapshot. The time column is local time in the zone
// the header names; it is kept without zone.
func parseTypeperf(name string, data []byte) (*Snapshot, error) {
	r := csv.NewReader(strings.NewReader(string(data)))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		line := 0
		if pe, ok := err.(*csv.ParseError); ok {
			line = pe.Line
		}
		return nil, errorf(name, line, "CSV: %v", err)
	}
	var rows [][]string
	for _, rec := range recs {
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		rows = append(rows, rec)
	}
	if len(rows) < 2 {
		return nil, errorf(name, 0, "no sample row after the header")
	}
	head, last := rows[0], rows[len(rows)-1]
	if len(last) != len(head) {
		return nil, errorf(name, len(rows), "sample row has %d columns, header %d", len(last), len(head))
	}
	s := &Snapshot{}
	if t, err := time.Parse("01/02/2006 15:04:05.000", last[0]); err == nil {
		s.Time = t
	}
	for i := 1; i < len(head); i++ {
		v, ok := parseCounterValue(last[i])
		if !ok {
			s.Warnings = append(s.Warnings, name+": no value for "+counterName(head[i]))
			continue
		}
		setWindowsCounter(s, counterName(head[i]), v)
	}
	return s, nil
}

// Get-Counter's default text view: a "Timestamp  CounterSamples" table
// whose CounterSamples cell lists "\\host\ipsec driver\name :" lines, each
// followed by the value on the next line. PowerShell prints the paths in
// lower case.
var reGetCounterPath = regexp.MustCompile(`\\\\[^\\]+\\[^\\]+\\(.+?) :\s*$`)

func detectGetCounter(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && strings.HasPrefix(strings.TrimSpace(ls[0]), "Timestamp") &&
		strings.Contains(ls[0], "CounterSamples")
}

func parseGetCounter(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	pending := ""
	pendingLine := 0
	for i, line := range lines(data) {
		ln := i + 1
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "---") || (strings.HasPrefix(t, "Timestamp") && strings.Contains(t, "CounterSamples")) {
			continue
		}
		if m := reGetCounterPath.FindStringSubmatch(line); m != nil {
			if pending != "" {
				return nil, errorf(name, pendingLine, "no value for %s", pending)
			}
			pending, pendingLine = m[1], ln
			if s.Time.IsZero() {
				prefix := strings.TrimSpace(line[:strings.Index(line, `\\`)])
				for _, layout := range []string{"1/2/2006 3:04:05 PM", "01/02/2006 15:04:05", "2.1.2006 15:04:05", "02.01.2006 15:04:05", "2006-01-02 15:04:05"} {
					if ts, err := time.Parse(layout, prefix); err == nil {
						s.Time = ts
						break
					}
				}
			}
			continue
		}
		if pending == "" {
			return nil, errorf(name, ln, "value without a counter path: %q", clip(t))
		}
		v, ok := parseCounterValue(t)
		if !ok {
			return nil, errorf(name, ln, "bad value %q for %s", clip(t), pending)
		}
		setWindowsCounter(s, pending, v)
		pending = ""
	}
	if pending != "" {
		return nil, errorf(name, pendingLine, "no value for %s", pending)
	}
	return s, nil
}

// netsh ipsec dynamic show stats: "Label<spaces>: value" lines under
// section titles; values may carry thousands separators.
var reNetshLine = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z /-]*?)\s*:\s*([0-9][0-9,.]*)\s*$`)

func detectNetsh(data []byte) bool {
	ls := firstLines(data, 3)
	for _, l := range ls {
		t := strings.TrimSpace(l)
		if t == "IPSec Statistics" || t == "IKE Main Mode Statistics" || t == "IPsec Quick Mode Statistics" {
			return true
		}
	}
	return false
}

func parseNetsh(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	for i, line := range lines(data) {
		t := strings.TrimSpace(line)
		if t == "" || strings.Trim(t, "-") == "" {
			continue
		}
		m := reNetshLine.FindStringSubmatch(line)
		if m == nil {
			if !strings.Contains(t, ":") {
				continue // a section title
			}
			return nil, errorf(name, i+1, "expected \"Label : number\", got %q", clip(t))
		}
		v, ok := parseCounterValue(m[2])
		if !ok {
			return nil, errorf(name, i+1, "bad value %q", m[2])
		}
		setWindowsCounter(s, m[1], v)
	}
	return s, nil
}
