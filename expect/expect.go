// Package expect compares a run's results with a stored '-o json' output,
// so that a capture can pin the behaviour of a gateway in a user's CI. Only
// the fields present in the stored file are compared: trim it to pin less.
package expect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ignoredStatsKeys describe the run rather than the traffic (file names, prose).
var ignoredStatsKeys = map[string]bool{"input": true, "notes": true}

// Compare returns one line per difference between expected and the current
// results. stats and sas produce the current Statistics object and SA rows
// (called only for the kind the stored file holds).
func Compare(expected []byte, stats func() ([]byte, error), sas func() ([]byte, error)) ([]string, error) {
	exp, err := decode(expected)
	if err != nil {
		return nil, fmt.Errorf("not JSON from 'ipsecmon ... -o json': %w", err)
	}
	switch e := exp.(type) {
	case map[string]any:
		raw, err := stats()
		if err != nil {
			return nil, err
		}
		got, err := decode(raw)
		if err != nil {
			return nil, err
		}
		var diffs []string
		compareObject("stats", e, got.(map[string]any), ignoredStatsKeys, &diffs)
		return diffs, nil
	case []any:
		raw, err := sas()
		if err != nil {
			return nil, err
		}
		got, err := decode(raw)
		if err != nil {
			return nil, err
		}
		return compareRows(e, got.([]any)), nil
	}
	return nil, fmt.Errorf("expected a JSON object (stats) or array (sas)")
}

func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func compareObject(where string, exp, got map[string]any, ignore map[string]bool, diffs *[]string) {
	keys := make([]string, 0, len(exp))
	for k := range exp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ignore[k] {
			continue
		}
		g, ok := got[k]
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: %s: expected %s, not in the result", where, k, show(exp[k])))
			continue
		}
		compareValue(where+": "+k, exp[k], g, diffs)
	}
}

func compareValue(where string, exp, got any, diffs *[]string) {
	if eo, ok := exp.(map[string]any); ok {
		if gobj, ok := got.(map[string]any); ok {
			compareObject(where, eo, gobj, nil, diffs)
			return
		}
	}
	if show(exp) != show(got) {
		*diffs = append(*diffs, fmt.Sprintf("%s: expected %s, got %s", where, show(exp), show(got)))
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// rowKey identifies an SA row by its SPIs.
func rowKey(r map[string]any) string {
	in, _ := r["spi_in"].(string)
	out, _ := r["spi_out"].(string)
	if in == "" && out == "" {
		return ""
	}
	return "in " + orDash(in) + " out " + orDash(out)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func compareRows(exp, got []any) []string {
	var diffs []string
	byKey := map[string]map[string]any{}
	used := map[string]bool{}
	for _, g := range got {
		if r, ok := g.(map[string]any); ok {
			if k := rowKey(r); k != "" {
				byKey[k] = r
			}
		}
	}
	for i, e := range exp {
		er, ok := e.(map[string]any)
		if !ok {
			diffs = append(diffs, fmt.Sprintf("sa row %d: not an object", i+1))
			continue
		}
		k := rowKey(er)
		var gr map[string]any
		if k == "" {
			// Rows pinned without SPIs are matched by position.
			if i < len(got) {
				gr, _ = got[i].(map[string]any)
			}
			k = fmt.Sprintf("row %d", i+1)
		} else {
			gr = byKey[k]
			used[k] = true
		}
		if gr == nil {
			diffs = append(diffs, fmt.Sprintf("sa %s: expected, not in the result", k))
			continue
		}
		compareObject("sa "+k, er, gr, nil, &diffs)
	}
	var extra []string
	for k := range byKey {
		if !used[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(exp) > 0 && rowKey(asObject(exp[0])) != "" {
		for _, k := range extra {
			diffs = append(diffs, fmt.Sprintf("sa %s: in the result, not expected", k))
		}
	}
	return diffs
}

func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Summary is the closing line for a comparison.
func Summary(name string, diffs []string) string {
	if len(diffs) == 0 {
		return fmt.Sprintf("expect %s: no differences", name)
	}
	return fmt.Sprintf("expect %s: %d difference(s):\n  %s", name, len(diffs), strings.Join(diffs, "\n  "))
}
