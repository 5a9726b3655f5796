// Package charonlog reads the log strongSwan's charon writes with
// `filelog { time_format = %Y-%m-%dT%H:%M:%S; time_add_ms = yes;
// ike_name = yes; ike = 4; chd = 4; mgr = 2; cfg = 2 }` and recovers what
// the daemon did: the IKE and CHILD SAs it set up with their keys, the
// exchanges it started, deletions, rekeys and failed negotiations.
//
// At level 4 charon dumps every derived key ("Sk_ei secret => 32 bytes @ ..."
// followed by hex lines); this package assigns those dumps to SAs the way
// charon's code paths produce them (see Analyze). The log also contains the
// PSK: callers must treat the file as a secret.
package charonlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is the lab's time_format plus the ".ms" time_add_ms appends.
// charon prints local time; the lab runs it with TZ=UTC.
const TimeLayout = "2006-01-02T15:04:05.000"

// Context is the `<name|N>` (or `<N>` before a config is chosen) prefix that
// ike_name = yes adds to lines logged for an IKE SA; N is charon's unique
// IKE SA id, the number shown as name[N] elsewhere.
type Context struct {
	Name string
	UID  uint32
}

// Line is one logical log line. Hex dumps ("X => N bytes @ 0x...") are
// folded into the line that announces them.
type Line struct {
	Num    int // 1-based line number in the file
	Time   time.Time
	Thread int
	Group  string // DMN, IKE, CHD, MGR, ENC, NET, CFG, KNL, ...
	Ctx    Context
	Text   string
	// DumpName and Dump are set for a hex dump: the name before " => ".
	DumpName string
	Dump     []byte
}

var (
	reLine     = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (\d+)\[([A-Z]+)\] (.*)$`)
	reCtx      = regexp.MustCompile(`^<(?:([^|>]*)\|)?(\d+)> ?(.*)$`)
	reDumpHead = regexp.MustCompile(`^(.*\S) => (\d+) bytes @ (?:0x[0-9a-f]+|\(nil\))$`)
	reDumpLine = regexp.MustCompile(`^ *(\d+): ((?:[0-9A-F]{2}(?: |$)){1,16})`)
)

// maxDump bounds a hex dump's announced length so that a corrupt header
// cannot make the reader allocate without limit.
const maxDump = 1 << 20

// Parse reads a charon log. name is used in errors ("file:line: ...").
func Parse(r io.Reader, name string) ([]Line, error) {
	var out []Line
	// open dumps by thread: index into out and bytes still expected
	type open struct{ idx, want int }
	dumps := map[int]*open{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		if strings.TrimSpace(raw) == "" {
			continue
		}
		m := reLine.FindStringSubmatch(raw)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a charon log line (time thread[GROUP] text)", name, n)
		}
		t, err := time.Parse(TimeLayout, m[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: time: %w", name, n, err)
		}
		thread, err := strconv.Atoi(m[2])
		if err != nil || thread > 1<<20 {
			return nil, fmt.Errorf("%s:%d: bad thread number %q", name, n, m[2])
		}
		l := Line{Num: n, Time: t, Thread: thread, Group: m[3], Text: m[4]}
		if c := reCtx.FindStringSubmatch(l.Text); c != nil {
			uid, err := strconv.ParseUint(c[2], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: bad IKE SA id %q", name, n, c[2])
			}
			l.Ctx = Context{Name: c[1], UID: uint32(uid)}
			l.Text = c[3]
		}
		if o := dumps[thread]; o != nil {
			if d := reDumpLine.FindStringSubmatch(l.Text); d != nil {
				prev := &out[o.idx]
				off, _ := strconv.Atoi(d[1])
				if off != len(prev.Dump) {
					return nil, fmt.Errorf("%s:%d: hex dump of %q continues at offset %d, expected %d", name, n, prev.DumpName, off, len(prev.Dump))
				}
				for _, h := range strings.Fields(d[2]) {
					b, _ := strconv.ParseUint(h, 16, 8)
					prev.Dump = append(prev.Dump, byte(b))
				}
				if len(prev.Dump) > o.want {
					return nil, fmt.Errorf("%s:%d: hex dump of %q is longer than the %d bytes announced", name, n, prev.DumpName, o.want)
				}
				if len(prev.Dump) == o.want {
					delete(dumps, thread)
				}
				continue
			}
			prev := out[o.idx]
			return nil, fmt.Errorf("%s:%d: hex dump of %q (line %d) ended after %d of %d bytes", name, n, prev.DumpName, prev.Num, len(prev.Dump), o.want)
		}
		if d := reDumpHead.FindStringSubmatch(l.Text); d != nil {
			want, err := strconv.Atoi(d[2])
			if err != nil || want > maxDump {
				return nil, fmt.Errorf("%s:%d: hex dump length %q out of range", name, n, d[2])
			}
			l.DumpName = d[1]
			l.Dump = make([]byte, 0, want)
			if want > 0 {
				dumps[thread] = &open{idx: len(out), want: want}
			}
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	for _, o := range dumps {
		l := out[o.idx]
		// charon killed in the middle of a dump: keep what is complete.
		if l.Num > 0 {
			return out, fmt.Errorf("%s:%d: %w: hex dump of %q has %d of %d bytes", name, l.Num, ErrTruncated, l.DumpName, len(l.Dump), o.want)
		}
	}
	return out, nil
}

// ErrTruncated reports a log that ends inside a hex dump (the daemon was
// killed while writing it); the lines before are still returned.
var ErrTruncated = errors.New("log ends inside a hex dump")
