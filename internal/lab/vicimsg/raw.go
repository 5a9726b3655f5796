package vicimsg

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// RawMessage is one line of `swanctl --raw` output: libvici prints the
// message's label (command or event name and "event"/"reply") and the
// message as `{key=value list=[a b] section {...}}`.
type RawMessage struct {
	Label string // e.g. "list-sa event", "list-sas reply"
	Body  *Section
	Line  int
}

// ParseRaw reads `swanctl ... --raw` output, one message per line. name is
// used in errors. Values containing spaces or braces are not representable
// in this form (libvici does not quote them); the lab's identities and
// connection names never contain any.
func ParseRaw(r io.Reader, name string) ([]RawMessage, error) {
	var out []RawMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		open := strings.IndexByte(text, '{')
		if open < 0 {
			return nil, fmt.Errorf("%s:%d: no '{' in raw message", name, line)
		}
		label := strings.TrimSpace(text[:open])
		body, rest, err := parseRawSection(text[open+1:], 1)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if strings.TrimSpace(rest) != "" {
			return nil, fmt.Errorf("%s:%d: text after message: %.20q", name, line, rest)
		}
		out = append(out, RawMessage{Label: label, Body: body, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return out, nil
}

// parseRawSection reads entries up to the closing '}' of a section whose
// '{' has been consumed, and returns the text after that '}'.
func parseRawSection(s string, depth int) (*Section, string, error) {
	if depth > maxDepth {
		return nil, "", fmt.Errorf("sections nested too deeply")
	}
	sec := NewSection()
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return nil, "", fmt.Errorf("section not closed")
		}
		if s[0] == '}' {
			return sec, s[1:], nil
		}
		end := strings.IndexAny(s, " ={}[]")
		if end <= 0 {
			return nil, "", fmt.Errorf("expected a key at %.20q", s)
		}
		key := s[:end]
		if _, dup := sec.vals[key]; dup {
			return nil, "", fmt.Errorf("duplicate key %q", key)
		}
		s = s[end:]
		switch {
		case strings.HasPrefix(s, " {"):
			sub, rest, err := parseRawSection(s[2:], depth+1)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", key, err)
			}
			sec.Set(key, sub)
			s = rest
		case strings.HasPrefix(s, "=["):
			close := strings.IndexByte(s, ']')
			if close < 0 {
				return nil, "", fmt.Errorf("list %s not closed", key)
			}
			inner := s[2:close]
			if strings.ContainsAny(inner, "{}[=") {
				return nil, "", fmt.Errorf("list %s holds a structure", key)
			}
			list := strings.Fields(inner)
			if list == nil {
				list = []string{}
			}
			sec.Set(key, list)
			s = s[close+1:]
		case strings.HasPrefix(s, "="):
			s = s[1:]
			vend := strings.IndexAny(s, " {}[]")
			if vend < 0 {
				vend = len(s)
			}
			sec.Set(key, s[:vend])
			s = s[vend:]
		default:
			return nil, "", fmt.Errorf("key %s has no value", key)
		}
	}
}
