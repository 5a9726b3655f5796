// Package vicimsg holds VICI messages (strongSwan's charon control protocol)
// as ordered trees, and reads and writes the two text forms the lab records
// them in: one JSON object per event line (the lab's event recorder) and the
// `swanctl --raw` form (`list-sa event {name {key=value list=[a b] sub {...}}}`).
//
// It is deliberately independent of ipsecmon's own VICI readers (package
// hosts: vici_tree.go, vici_events.go, live_vici.go): the lab's facts come
// from charon through this package, and ipsecmon's readers are checked
// against those facts, so the two must not share code.
package vicimsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Section is a VICI section: named entries in the order charon sent them.
// A value is a string, a []string (VICI list) or a *Section.
type Section struct {
	keys []string
	vals map[string]any
}

// NewSection returns an empty section.
func NewSection() *Section { return &Section{vals: map[string]any{}} }

// Set adds or replaces an entry; v must be a string, []string or *Section.
func (s *Section) Set(key string, v any) {
	switch v.(type) {
	case string, []string, *Section:
	default:
		panic(fmt.Sprintf("vicimsg: value of %q has unsupported type %T", key, v))
	}
	if s.vals == nil {
		s.vals = map[string]any{}
	}
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = v
}

// Keys lists the entry names in order.
func (s *Section) Keys() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.keys...)
}

// Len is the number of entries.
func (s *Section) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Str returns a string entry ("" when absent or not a string).
func (s *Section) Str(key string) string {
	if s == nil {
		return ""
	}
	v, _ := s.vals[key].(string)
	return v
}

// List returns a list entry (nil when absent or not a list).
func (s *Section) List(key string) []string {
	if s == nil {
		return nil
	}
	v, _ := s.vals[key].([]string)
	return v
}

// Sub returns a subsection (nil when absent or not a section).
func (s *Section) Sub(key string) *Section {
	if s == nil {
		return nil
	}
	v, _ := s.vals[key].(*Section)
	return v
}

// Subs returns the names of the entries that are sections, in order.
func (s *Section) Subs() []string {
	var out []string
	for _, k := range s.Keys() {
		if _, ok := s.vals[k].(*Section); ok {
			out = append(out, k)
		}
	}
	return out
}

// Uint parses a numeric string entry.
func (s *Section) Uint(key string) (uint64, error) {
	v := s.Str(key)
	if v == "" {
		return 0, fmt.Errorf("no %q", key)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return n, nil
}

// MarshalJSON writes the section as a JSON object, keeping the order.
func (s *Section) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := s.writeJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Section) writeJSON(b *bytes.Buffer) error {
	b.WriteByte('{')
	for i, k := range s.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		switch v := s.vals[k].(type) {
		case *Section:
			if err := v.writeJSON(b); err != nil {
				return err
			}
		default:
			vj, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(vj)
		}
	}
	b.WriteByte('}')
	return nil
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// UnmarshalJSON reads a JSON object whose values are strings, arrays of
// strings or objects of the same kind.
func (s *Section) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("vicimsg: section is not a JSON object")
	}
	out, err := readJSONSection(dec, 1)
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("vicimsg: data after section")
	}
	*s = *out
	return nil
}

func readJSONSection(dec *json.Decoder, depth int) (*Section, error) {
	if depth > maxDepth {
		return nil, errors.New("vicimsg: sections nested too deeply")
	}
	s := NewSection()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("vicimsg: %w", err)
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return s, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("vicimsg: key is %v, not a string", tok)
		}
		if _, dup := s.vals[key]; dup {
			return nil, fmt.Errorf("vicimsg: duplicate key %q", key)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("vicimsg: value of %q: %w", key, err)
		}
		switch t := tok.(type) {
		case string:
			s.Set(key, t)
		case json.Delim:
			switch t {
			case '{':
				sub, err := readJSONSection(dec, depth+1)
				if err != nil {
					return nil, fmt.Errorf("%q: %w", key, err)
				}
				s.Set(key, sub)
			case '[':
				list := []string{}
				for {
					tok, err := dec.Token()
					if err != nil {
						return nil, fmt.Errorf("vicimsg: list %q: %w", key, err)
					}
					if d, ok := tok.(json.Delim); ok && d == ']' {
						break
					}
					str, ok := tok.(string)
					if !ok {
						return nil, fmt.Errorf("vicimsg: list %q holds %v, not a string", key, tok)
					}
					list = append(list, str)
				}
				s.Set(key, list)
			default:
				return nil, fmt.Errorf("vicimsg: value of %q starts with %v", key, t)
			}
		default:
			return nil, fmt.Errorf("vicimsg: value of %q is %v, not a string, list or section", key, tok)
		}
	}
}
