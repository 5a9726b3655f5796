package livecheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// decode reads JSON keeping numbers exact (counters are uint64).
func decode(b []byte, what string) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", what)
	}
	return v, nil
}

// DiffOptions say which parts of two JSON documents may differ.
type DiffOptions struct {
	// Ignore reports paths ("input.files[0].name") left out of the comparison.
	Ignore func(path string) bool
	// Micros compares RFC 3339 strings at microsecond precision: pcap files
	// written by tcpdump keep microseconds, a live capture nanoseconds of the
	// same kernel timestamp.
	Micros bool
}

// Diff lists every difference between a and b (JSON texts) as "path: a vs b".
func Diff(a, b []byte, o DiffOptions) ([]string, error) {
	va, err := decode(a, "first document")
	if err != nil {
		return nil, err
	}
	vb, err := decode(b, "second document")
	if err != nil {
		return nil, err
	}
	var out []string
	diffValue("", va, vb, o, &out)
	return out, nil
}

func diffValue(path string, a, b any, o DiffOptions, out *[]string) {
	if o.Ignore != nil && path != "" && o.Ignore(path) {
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", pathOr(path), show(a), show(b)))
			return
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			va, ina := x[k]
			vb, inb := y[k]
			switch {
			case o.Ignore != nil && o.Ignore(p):
			case !ina:
				*out = append(*out, fmt.Sprintf("%s: missing vs %s", p, show(vb)))
			case !inb:
				*out = append(*out, fmt.Sprintf("%s: %s vs missing", p, show(va)))
			default:
				diffValue(p, va, vb, o, out)
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", pathOr(path), show(a), show(b)))
			return
		}
		for i := range x {
			diffValue(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], o, out)
		}
	case string:
		y, ok := b.(string)
		if ok && o.Micros {
			x, y = micros(x), micros(y)
		}
		if !ok || x != y {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", pathOr(path), show(a), show(b)))
		}
	default:
		// json.Number, bool, nil: compare their texts.
		if show(a) != show(b) {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", pathOr(path), show(a), show(b)))
		}
	}
}

// micros truncates an RFC 3339 time to microseconds; other strings stay.
func micros(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.Contains(s, "T") {
		return s
	}
	return t.Truncate(time.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func pathOr(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
