package hosts

import (
	"fmt"
	"strings"
)

// viciSection is a VICI message section (strongSwan src/libcharon/plugins/vici/
// README.md "Message format"): ordered keys whose values are a string, a
// list of strings or a subsection. `swanctl --raw` and `--pretty` print
// messages in this shape, and live VICI messages are converted to it, so
// that one conversion serves both.
type viciSection struct {
	keys []string
	vals map[string]any // string, []string or *viciSection
}

func newViciSection() *viciSection { return &viciSection{vals: map[string]any{}} }

func (s *viciSection) set(k string, v any) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = v
}

func (s *viciSection) str(k string) string {
	v, _ := s.vals[k].(string)
	return v
}

func (s *viciSection) list(k string) []string {
	v, _ := s.vals[k].([]string)
	return v
}

func (s *viciSection) sub(k string) *viciSection {
	v, _ := s.vals[k].(*viciSection)
	return v
}

// viciMessage is one message as swanctl prints it: its name ("list-sa
// event", "list-sas reply", "counters reply") and body.
type viciMessage struct {
	name string
	line int
	body *viciSection
}

// parseViciRaw reads `swanctl --raw` output: one message per line,
// "NAME {key=value key=[a b] sub {...}}". swanctl prints values unquoted,
// so a value with spaces (an identity such as "C=CH, O=x, CN=y") is
// re-joined: a word that holds no '=' or follows a word ending in ','
// continues the previous value.
func parseViciRaw(name string, data []byte) ([]viciMessage, error) {
	var msgs []viciMessage
	for i, line := range lines(data) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		open := strings.Index(line, "{")
		if open <= 0 {
			return nil, errorf(name, i+1, "expected \"MESSAGE {...}\", got %q", clip(line))
		}
		sc := &viciScanner{s: line, pos: open + 1}
		body, err := sc.section()
		if err != nil {
			return nil, errorf(name, i+1, "column %d: %v", sc.pos+1, err)
		}
		if rest := strings.TrimSpace(line[sc.pos:]); rest != "" {
			return nil, errorf(name, i+1, "trailing text after message")
		}
		msgs = append(msgs, viciMessage{name: strings.TrimSpace(line[:open]), line: i + 1, body: body})
	}
	return msgs, nil
}

type viciScanner struct {
	s   string
	pos int
}

func (sc *viciScanner) skipSpace() {
	for sc.pos < len(sc.s) && sc.s[sc.pos] == ' ' {
		sc.pos++
	}
}

// word reads up to a space, '=', '{', '}' or ']'.
func (sc *viciScanner) word() string {
	start := sc.pos
	for sc.pos < len(sc.s) && !strings.ContainsRune(" ={}]", rune(sc.s[sc.pos])) {
		sc.pos++
	}
	return sc.s[start:sc.pos]
}

// section reads a section body after its '{' up to and including its '}'.
func (sc *viciScanner) section() (*viciSection, error) {
	sec := newViciSection()
	var lastKey string
	for {
		sc.skipSpace()
		if sc.pos >= len(sc.s) {
			return nil, fmt.Errorf("unterminated section")
		}
		switch sc.s[sc.pos] {
		case '}':
			sc.pos++
			return sec, nil
		case '{': // an unnamed subsection, e.g. the global counters
			sc.pos++
			sub, err := sc.section()
			if err != nil {
				return nil, err
			}
			sec.set("", sub)
			lastKey = ""
			continue
		}
		w := sc.word()
		sc.skipSpace()
		if sc.pos >= len(sc.s) {
			return nil, fmt.Errorf("unterminated section")
		}
		switch sc.s[sc.pos] {
		case '{':
			sc.pos++
			sub, err := sc.section()
			if err != nil {
				return nil, err
			}
			sec.set(w, sub)
			lastKey = ""
		case '=':
			sc.pos++
			if w == "" {
				return nil, fmt.Errorf("empty key")
			}
			if sc.pos < len(sc.s) && sc.s[sc.pos] == '[' {
				sc.pos++
				var items []string
				for {
					sc.skipSpace()
					if sc.pos >= len(sc.s) {
						return nil, fmt.Errorf("unterminated list %q", w)
					}
					if sc.s[sc.pos] == ']' {
						sc.pos++
						break
					}
					start := sc.pos
					for sc.pos < len(sc.s) && sc.s[sc.pos] != ' ' && sc.s[sc.pos] != ']' {
						sc.pos++
					}
					items = append(items, sc.s[start:sc.pos])
				}
				sec.set(w, items)
				lastKey = ""
				continue
			}
			start := sc.pos
			for sc.pos < len(sc.s) && sc.s[sc.pos] != ' ' && sc.s[sc.pos] != '}' {
				sc.pos++
			}
			sec.set(w, sc.s[start:sc.pos])
			lastKey = w
		default:
			// A word without '=': the continuation of a value with spaces.
			if lastKey == "" || w == "" {
				return nil, fmt.Errorf("unexpected %q", clip(sc.s[sc.pos:]))
			}
			sec.set(lastKey, sec.str(lastKey)+" "+w)
		}
		// A value ending in ',' continues with the next word even if it holds '='.
		for lastKey != "" && strings.HasSuffix(sec.str(lastKey), ",") {
			save := sc.pos
			sc.skipSpace()
			w := sc.word()
			if w == "" {
				sc.pos = save
				break
			}
			sec.set(lastKey, sec.str(lastKey)+" "+w)
		}
	}
}

// parseViciPretty reads `swanctl --pretty` output: the same messages, one
// element per line ("key = value", "key = [" ... "]", "name {" ... "}").
func parseViciPretty(name string, data []byte) ([]viciMessage, error) {
	var msgs []viciMessage
	var stack []*viciSection
	var listKey string
	var list []string
	inList := false
	for i, raw := range lines(data) {
		ln := i + 1
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		switch {
		case inList:
			if line == "]" {
				stack[len(stack)-1].set(listKey, list)
				inList, list = false, nil
			} else {
				list = append(list, line)
			}
		case line == "}":
			if len(stack) == 0 {
				return nil, errorf(name, ln, "unbalanced \"}\"")
			}
			stack = stack[:len(stack)-1]
		case strings.HasSuffix(line, "{"):
			secName := strings.TrimSpace(strings.TrimSuffix(line, "{"))
			sec := newViciSection()
			if len(stack) == 0 {
				msgs = append(msgs, viciMessage{name: secName, line: ln, body: sec})
			} else {
				stack[len(stack)-1].set(secName, sec)
			}
			stack = append(stack, sec)
		default:
			k, v, ok := strings.Cut(line, " = ")
			if !ok || len(stack) == 0 {
				return nil, errorf(name, ln, "expected \"key = value\", got %q", clip(line))
			}
			if v == "[" {
				inList, listKey, list = true, k, nil
				continue
			}
			stack[len(stack)-1].set(k, v)
		}
	}
	if len(stack) != 0 || inList {
		return nil, errorf(name, 0, "unterminated message")
	}
	return msgs, nil
}
