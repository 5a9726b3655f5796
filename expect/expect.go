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

// Current produces the run's results in the shape of each view's -o json
// that --expect can compare with: the Statistics object, and the rows of
// the SA, IKE SA (mmsas) and Negotiation Policies views. Each is called
// only when the stored file holds its kind.
type Current struct {
	Stats, SAs, IKESAs, Policies func() ([]byte, error)
}

// rowKind is a view whose rows a stored array can hold: how its rows are
// recognised (a field only they have), and the fields that identify one.
type rowKind struct {
	name  string
	marks []string // a row with any of these fields is of this kind
	ids   []string
	get   func(Current) func() ([]byte, error)
}

var rowKinds = []rowKind{
	{"ike sa", []string{"ispi", "rspi"}, []string{"ispi", "rspi"}, func(c Current) func() ([]byte, error) { return c.IKESAs }},
	{"policy", []string{"offered", "chosen", "offers", "negotiated_sa_pairs"}, []string{"name"}, func(c Current) func() ([]byte, error) { return c.Policies }},
	// SA rows are the default: pinned rows may carry no SPI at all.
	{"sa", nil, []string{"spi_in", "spi_out"}, func(c Current) func() ([]byte, error) { return c.SAs }},
}

// kindOf tells which view an array's rows come from by its first row.
func kindOf(rows []any) rowKind {
	if len(rows) > 0 {
		r := asObject(rows[0])
		for _, k := range rowKinds {
			for _, m := range k.marks {
				if _, ok := r[m]; ok {
					return k
				}
			}
		}
	}
	return rowKinds[len(rowKinds)-1]
}

// Compare returns one line per difference between expected and the current
// results (a stored Statistics object, or rows of the SA, IKE SA or
// Negotiation Policies view).
func Compare(expected []byte, cur Current) ([]string, error) {
	exp, err := decode(expected)
	if err != nil {
		return nil, fmt.Errorf("not JSON from 'ipsecmon ... -o json': %w", err)
	}
	switch e := exp.(type) {
	case map[string]any:
		raw, err := cur.Stats()
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
		kind := kindOf(e)
		raw, err := kind.get(cur)()
		if err != nil {
			return nil, err
		}
		got, err := decode(raw)
		if err != nil {
			return nil, err
		}
		rows, ok := got.([]any)
		if !ok {
			return nil, fmt.Errorf("the current %s view is not an array", kind.name)
		}
		return compareRows(kind, e, rows), nil
	}
	return nil, fmt.Errorf("expected a JSON object (stats) or array (sas, mmsas, policies)")
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

// rowKey identifies a row by its kind's identifying fields ("" when it
// has none of them): an SA row by its SPIs, an IKE SA by its SPIs, a
// policy by its name.
func rowKey(kind rowKind, r map[string]any) string {
	var parts []string
	found := false
	for _, id := range kind.ids {
		v, _ := r[id].(string)
		found = found || v != ""
		if len(kind.ids) == 1 {
			parts = append(parts, v)
		} else {
			parts = append(parts, strings.TrimPrefix(id, "spi_")+" "+orDash(v))
		}
	}
	if !found {
		return ""
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func compareRows(kind rowKind, exp, got []any) []string {
	var diffs []string
	byKey := map[string]map[string]any{}
	used := map[string]bool{}
	for _, g := range got {
		if r, ok := g.(map[string]any); ok {
			if k := rowKey(kind, r); k != "" {
				byKey[k] = r
			}
		}
	}
	for i, e := range exp {
		er, ok := e.(map[string]any)
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s row %d: not an object", kind.name, i+1))
			continue
		}
		k := rowKey(kind, er)
		var gr map[string]any
		if k == "" {
			// Rows pinned without their identity are matched by position.
			if i < len(got) {
				gr, _ = got[i].(map[string]any)
			}
			k = fmt.Sprintf("row %d", i+1)
		} else {
			gr = byKey[k]
			used[k] = true
		}
		if gr == nil {
			diffs = append(diffs, fmt.Sprintf("%s %s: expected, not in the result", kind.name, k))
			continue
		}
		compareObject(kind.name+" "+k, er, gr, nil, &diffs)
	}
	var extra []string
	for k := range byKey {
		if !used[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(exp) > 0 && rowKey(kind, asObject(exp[0])) != "" {
		for _, k := range extra {
			diffs = append(diffs, fmt.Sprintf("%s %s: in the result, not expected", kind.name, k))
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
