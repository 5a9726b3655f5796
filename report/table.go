package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Column is one column of a view whose rows are of type R.
type Column[R any] struct {
	Name    string // the title, as the IP Security Monitor has it
	Key     string // snake_case key in JSON and in CSV headers
	Default bool   // shown unless --columns says otherwise
	Right   bool   // aligned right (numbers)
	// Unknown is how a table shows an unknown value ("-" when empty).
	Unknown string
	Get     func(R) Value
}

// Columns are a view's columns (All: defaults first, in their order).
// Every view writes its cells the same way: tables as Value.Text ('-' or
// the column's word for unknown), CSV as Value.Plain (exact numbers, RFC
// 3339 times, empty for unknown), JSON typed (null for unknown).
type Columns[R any] struct {
	All []*Column[R]
}

func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
}

// Keys lists the columns' keys.
func (t *Columns[R]) Keys() []string {
	keys := make([]string, len(t.All))
	for i, c := range t.All {
		keys[i] = c.Key
	}
	return keys
}

// Find looks a column up by title or key, ignoring case, spaces,
// underscores and dashes.
func (t *Columns[R]) Find(name string) (*Column[R], error) {
	n := normName(name)
	for _, c := range t.All {
		if normName(c.Name) == n || normName(c.Key) == n {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unknown column %q (columns: %s)", name, strings.Join(t.Keys(), ", "))
}

// items splits repeatable, comma-separated flag values into their items.
func items(specs []string) []string {
	var out []string
	for _, s := range specs {
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				out = append(out, it)
			}
		}
	}
	return out
}

// Select applies --columns specs: a list without +/- prefixes sets the
// columns, in its order; "+col" adds one at the end, "-col" removes one.
// Without specs the columns are the defaults, or every column when all is set.
func (t *Columns[R]) Select(specs []string, all bool) ([]*Column[R], error) {
	list := items(specs)
	set := slices.ContainsFunc(list, func(it string) bool { return it[0] != '+' && it[0] != '-' })
	var cols []*Column[R]
	if !set {
		for _, c := range t.All {
			if c.Default || all {
				cols = append(cols, c)
			}
		}
	}
	for _, it := range list {
		op := byte(0)
		if it[0] == '+' || it[0] == '-' {
			op, it = it[0], it[1:]
		}
		c, err := t.Find(it)
		if err != nil {
			return nil, err
		}
		i := slices.Index(cols, c)
		switch {
		case op == '-':
			if i >= 0 {
				cols = slices.Delete(cols, i, i+1)
			}
		case i < 0:
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no columns left to show")
	}
	return cols, nil
}

// SortKey is one --sort item.
type SortKey[R any] struct {
	Col  *Column[R]
	Desc bool
}

// ParseSort reads --sort specs: column names, "-" prefix for descending
// ("+" for ascending, the default).
func (t *Columns[R]) ParseSort(specs []string) ([]SortKey[R], error) {
	var keys []SortKey[R]
	for _, it := range items(specs) {
		desc := false
		if it[0] == '-' || it[0] == '+' {
			desc, it = it[0] == '-', it[1:]
		}
		c, err := t.Find(it)
		if err != nil {
			return nil, err
		}
		keys = append(keys, SortKey[R]{c, desc})
	}
	return keys, nil
}

// SortRows orders rows by the keys, keeping the order of rows they do not
// tell apart; unknown values sort last in either direction.
func SortRows[R any](rows []R, keys []SortKey[R]) {
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(rows, func(a, b R) int {
		for _, k := range keys {
			va, vb := k.Col.Get(a), k.Col.Get(b)
			if va.Null() || vb.Null() {
				if va.Null() == vb.Null() {
					continue
				}
				if va.Null() {
					return 1
				}
				return -1
			}
			c := compareValues(va, vb)
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// cell is how format f writes v in column c.
func (t *Columns[R]) cell(c *Column[R], v Value, f Format) string {
	if f == CSV {
		return v.Plain()
	}
	if v.Null() && c.Unknown != "" {
		return c.Unknown
	}
	return v.Text()
}

// Cells are the rows' cells in the given columns as format f writes them.
func (t *Columns[R]) Cells(rows []R, cols []*Column[R], f Format) [][]string {
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		line := make([]string, len(cols))
		for i, c := range cols {
			line[i] = t.cell(c, c.Get(r), f)
		}
		cells = append(cells, line)
	}
	return cells
}

// Write prints rows in the given columns: an aligned table under the
// columns' titles, CSV under their keys, or JSON objects of the columns'
// keys in column order.
func (t *Columns[R]) Write(w io.Writer, rows []R, cols []*Column[R], f Format) error {
	switch f {
	case JSON:
		return t.writeJSON(w, rows, cols)
	case CSV:
		return t.writeCSV(w, rows, cols)
	}
	header := make([]string, len(cols))
	right := make([]bool, len(cols))
	for i, c := range cols {
		header[i], right[i] = c.Name, c.Right
	}
	return writeTable(w, header, t.Cells(rows, cols, f), right)
}

// JSON is the rows as an array of objects keyed by the columns' keys, in
// column order.
func (t *Columns[R]) JSON(rows []R, cols []*Column[R]) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		o := newObject()
		for _, c := range cols {
			if err := o.add(c.Key, c.Get(r)); err != nil {
				return nil, err
			}
		}
		b.Write(o.bytes())
	}
	b.WriteString("]")
	return b.Bytes(), nil
}

// writeJSON prints the rows as the indented array JSON's output indents
// to, one row at a time: the whole output is never in memory at once (sas
// -o json of 1,000,000 SAs built 5.75 GB of it).
func (t *Columns[R]) writeJSON(w io.Writer, rows []R, cols []*Column[R]) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(rows) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	bw.WriteString("[\n")
	var ind bytes.Buffer
	for i, r := range rows {
		o := newObject()
		for _, c := range cols {
			if err := o.add(c.Key, c.Get(r)); err != nil {
				return err
			}
		}
		ind.Reset()
		if err := json.Indent(&ind, o.bytes(), "  ", "  "); err != nil {
			return err
		}
		bw.WriteString("  ")
		bw.Write(ind.Bytes())
		if i < len(rows)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// writeCSV prints the rows as CSV under the columns' keys, one row at a
// time.
func (t *Columns[R]) writeCSV(w io.Writer, rows []R, cols []*Column[R]) error {
	cw := csv.NewWriter(w)
	line := make([]string, len(cols))
	for i, c := range cols {
		line[i] = c.Key
	}
	if err := cw.Write(line); err != nil {
		return err
	}
	for _, r := range rows {
		for i, c := range cols {
			line[i] = t.cell(c, c.Get(r), CSV)
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeTable prints rows under a header with columns padded to align.
// right marks columns to align right (numbers).
func writeTable(w io.Writer, header []string, rows [][]string, right []bool) error {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			pad := width[i] - utf8.RuneCountInString(c)
			if i > 0 {
				b.WriteString("  ")
			}
			if right != nil && right[i] {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(c)
			} else {
				b.WriteString(c)
				if i < len(cells)-1 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		b.WriteByte('\n')
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// object writes a JSON object with keys in the given order (encoding/json
// sorts map keys, and views have an order of their own).
type object struct {
	buf   bytes.Buffer
	first bool
}

func newObject() *object {
	o := &object{first: true}
	o.buf.WriteByte('{')
	return o
}

func (o *object) add(key string, v any) error {
	if !o.first {
		o.buf.WriteByte(',')
	}
	o.first = false
	k, _ := json.Marshal(key)
	o.buf.Write(k)
	o.buf.WriteByte(':')
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("report: %s: %w", key, err)
	}
	o.buf.Write(b)
	return nil
}

func (o *object) bytes() []byte {
	o.buf.WriteByte('}')
	return o.buf.Bytes()
}

// writeIndented prints compact JSON indented, as every view's JSON is.
func writeIndented(w io.Writer, raw []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// writeJSON prints v as indented JSON (a nil slice is null: views that
// show an empty list as [] pass an empty one).
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
