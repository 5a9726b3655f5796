package hosts

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Error is a parse error in a host file.
type Error struct {
	File string
	Line int // 1-based; 0 when the error is about the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("hosts: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("hosts: %s: %s", e.File, e.Msg)
}

func errorf(file string, line int, format string, a ...any) error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// parser is one source's text parser.
type parser struct {
	format string
	detect func(data []byte) bool
	parse  func(name string, data []byte) (*Snapshot, error)
}

// parsers are tried in order; the first whose detect matches parses.
// More specific formats come first.
var parsers = []parser{
	{FormatViciEvents, detectViciEvents, parseViciEvents},
	{FormatTypeperfCSV, detectTypeperf, parseTypeperf},
	{FormatWindowsQMSA, detectWindowsQMSA, parseWindowsQMSA},
	{FormatSwanctlRaw, detectSwanctlRaw, parseSwanctlRaw},
	{FormatSwanctlCounters, detectSwanctlCounters, parseSwanctlCounters},
	{FormatStatusAll, detectStatusAll, parseStatusAll},
	{FormatSwanctl, detectSwanctl, parseSwanctl},
	{FormatXfrmStat, detectXfrmStat, parseXfrmStat},
	{FormatXfrmState, detectXfrmState, parseXfrmState},
	{FormatLibreswanTraffic, detectLibreswan, parseLibreswan},
	{FormatGetCounter, detectGetCounter, parseGetCounter},
	{FormatNetshStats, detectNetsh, parseNetsh},
}

// Formats lists the formats Parse recognises, in detection order.
func Formats() []string {
	out := make([]string, len(parsers))
	for i, p := range parsers {
		out[i] = p.format
	}
	return out
}

// Detect names the format of data, or "" when none matches.
func Detect(data []byte) string {
	data = normalize(data)
	for _, p := range parsers {
		if p.detect(data) {
			return p.format
		}
	}
	return ""
}

// Parse reads one host snapshot from data, detecting its format from the
// content. name is used in errors and as the snapshot's Source.
func Parse(name string, data []byte) (*Snapshot, error) {
	data = normalize(data)
	for _, p := range parsers {
		if p.detect(data) {
			s, err := p.parse(name, data)
			if err != nil {
				return nil, err
			}
			s.Source, s.Format = name, p.format
			return s, nil
		}
	}
	return nil, errorf(name, 0, "unrecognised host snapshot format (want one of %s)", strings.Join(Formats(), ", "))
}

// ParseFormat reads data as the named format, without detection.
func ParseFormat(format, name string, data []byte) (*Snapshot, error) {
	data = normalize(data)
	for _, p := range parsers {
		if p.format == format {
			s, err := p.parse(name, data)
			if err != nil {
				return nil, err
			}
			s.Source, s.Format = name, p.format
			return s, nil
		}
	}
	return nil, fmt.Errorf("hosts: unknown format %q", format)
}

// Load reads a host snapshot file.
func Load(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	return Parse(path, data)
}

// normalize strips a UTF-8 or UTF-16 byte order mark (PowerShell writes
// UTF-16LE with a BOM by default through `>`) and turns CRLF into LF.
func normalize(data []byte) []byte {
	if len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe) {
		data = utf16le(data[2:])
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(data, '\r') >= 0 {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	return data
}

// utf16le decodes UTF-16LE text; characters outside the BMP become U+FFFD,
// which none of the formats needs.
func utf16le(b []byte) []byte {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		r := rune(b[i]) | rune(b[i+1])<<8
		if r >= 0xd800 && r < 0xe000 {
			r = 0xfffd
		}
		sb.WriteRune(r)
	}
	return []byte(sb.String())
}

// lines splits text into lines without their newline.
func lines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// firstLines returns up to n non-empty lines, for detection.
func firstLines(data []byte, n int) []string {
	var out []string
	for _, l := range lines(data) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	return out
}

func origin(name string, line int) string { return name + ":" + strconv.Itoa(line) }

// clip shortens a quoted line in an error; key material never reaches
// errors because no parser quotes a key line.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func errorf0(format string, a ...any) error { return fmt.Errorf(format, a...) }

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
