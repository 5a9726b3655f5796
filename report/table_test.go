package report

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// fruit is a toy row: the tests below work out every expected cell by hand.
type fruit struct {
	name  string
	count uint64
	known bool // count is known
	size  uint64
	when  time.Time
}

var fruitColumns = &Columns[fruit]{All: []*Column[fruit]{
	{Name: "Name", Key: "name", Default: true, Get: func(f fruit) Value { return orNull(f.name) }},
	{Name: "Count", Key: "count", Default: true, Right: true, Get: func(f fruit) Value {
		if !f.known {
			return Value{}
		}
		return num(f.count)
	}},
	{Name: "Size", Key: "size", Right: true, Unknown: "n/a", Get: func(f fruit) Value {
		if f.size == 0 {
			return Value{}
		}
		return byteCount(f.size)
	}},
	{Name: "Picked At", Key: "picked_at", Get: func(f fruit) Value { return at(f.when) }},
}}

func keysOf(cols []*Column[fruit]) []string {
	var k []string
	for _, c := range cols {
		k = append(k, c.Key)
	}
	return k
}

func TestSelectColumns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []string
		all   bool
		want  []string
		err   string
	}{
		{"defaults", nil, false, []string{"name", "count"}, ""},
		{"all (JSON's default)", nil, true, []string{"name", "count", "size", "picked_at"}, ""},
		{"add at the end", []string{"+size"}, false, []string{"name", "count", "size"}, ""},
		{"add twice is once", []string{"+size,+size"}, false, []string{"name", "count", "size"}, ""},
		{"add a shown one changes nothing", []string{"+name"}, false, []string{"name", "count"}, ""},
		{"remove", []string{"-name"}, false, []string{"count"}, ""},
		{"remove one not shown", []string{"-size"}, false, []string{"name", "count"}, ""},
		{"add and remove, repeated flag", []string{"+picked_at", "-count,+size"}, false, []string{"name", "picked_at", "size"}, ""},
		{"a list sets and reorders", []string{"size,name"}, false, []string{"size", "name"}, ""},
		{"a list with + and - after it", []string{"count,name,+size,-count"}, false, []string{"name", "size"}, ""},
		{"title, any case, spaces", []string{"PICKED AT, Name"}, false, []string{"picked_at", "name"}, ""},
		{"dashes and underscores ignored", []string{"+picked-at"}, false, []string{"name", "count", "picked_at"}, ""},
		{"blank items ignored", []string{" , +size ,"}, false, []string{"name", "count", "size"}, ""},
		{"unknown column", []string{"+colour"}, false, nil, `unknown column "colour" (columns: name, count, size, picked_at)`},
		{"unknown in a list", []string{"name,colour"}, false, nil, `unknown column "colour"`},
		{"nothing left", []string{"-name,-count"}, false, nil, "no columns left to show"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := fruitColumns.Select(tc.specs, tc.all)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(cols); !slices.Equal(got, tc.want) {
				t.Errorf("columns %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseSort(t *testing.T) {
	keys, err := fruitColumns.ParseSort([]string{"-count,name", "+Size"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Col.Key+map[bool]string{true: " desc", false: " asc"}[k.Desc])
	}
	if want := []string{"count desc", "name asc", "size asc"}; !slices.Equal(got, want) {
		t.Errorf("sort keys %v, want %v", got, want)
	}
	if _, err := fruitColumns.ParseSort([]string{"-weight"}); err == nil || !strings.Contains(err.Error(), `unknown column "weight"`) {
		t.Errorf("unknown sort column: error %v", err)
	}
}

func TestSortRows(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []fruit{
		{name: "pear", count: 9, known: true, when: t0.Add(time.Hour)},
		{name: "fig", known: false, size: 2000},
		{name: "apple", count: 10, known: true, size: 999, when: t0},
		{name: "", count: 2, known: true, size: 5},
		{name: "kiwi", count: 9, known: true, size: 5},
		{name: "date", known: false},
	}
	names := func(rs []fruit) []string {
		var n []string
		for _, r := range rs {
			n = append(n, r.name)
		}
		return n
	}
	for _, tc := range []struct {
		sort []string
		want []string
	}{
		// Numbers by size, not text ("10" < "9" as text); unknowns last,
		// in their input order (fig before date).
		{[]string{"count"}, []string{"", "pear", "kiwi", "apple", "fig", "date"}},
		// Descending reverses the known ones only: unknowns stay last.
		{[]string{"-count"}, []string{"apple", "pear", "kiwi", "", "fig", "date"}},
		// Strings by text; the unknown (empty) name last either way.
		{[]string{"name"}, []string{"apple", "date", "fig", "kiwi", "pear", ""}},
		{[]string{"-name"}, []string{"pear", "kiwi", "fig", "date", "apple", ""}},
		// A second key breaks ties, among unknowns too (date, fig).
		{[]string{"-count,name"}, []string{"apple", "kiwi", "pear", "", "date", "fig"}},
		{[]string{"size"}, []string{"", "kiwi", "apple", "fig", "pear", "date"}},
		// Times by time.
		{[]string{"-picked_at"}, []string{"pear", "apple", "fig", "", "kiwi", "date"}},
		// No key: the order is kept.
		{nil, []string{"pear", "fig", "apple", "", "kiwi", "date"}},
	} {
		t.Run(strings.Join(tc.sort, " "), func(t *testing.T) {
			keys, err := fruitColumns.ParseSort(tc.sort)
			if err != nil {
				t.Fatal(err)
			}
			rs := slices.Clone(rows)
			SortRows(rs, keys)
			if got := names(rs); !slices.Equal(got, tc.want) {
				t.Errorf("order %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompareValues(t *testing.T) {
	a1, a2 := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.10")
	for _, tc := range []struct {
		name string
		a, b Value
		want int
	}{
		{"counts", num(9), num(10), -1},
		{"bytes and counts", byteCount(1000), num(999), 1},
		{"negative before positive", signed(-5), exact(3), -1},
		{"two negatives", signed(-5), signed(-7), 1},
		{"signed and unsigned equal", signed(4), num(4), 0},
		{"addresses by address, not text", addr(a1), addr(a2), -1},
		{"strings", str("b"), str("a"), 1},
		{"a shown number still sorts as a number", num(900).shown("900 *"), num(1000).shown("1.0 kB"), -1},
	} {
		if got := compareValues(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: compare = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestValueRenderings(t *testing.T) {
	when := time.Date(2026, 11, 27, 9, 0, 1, 234_000_000, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		name              string
		v                 Value
		text, plain, json string
	}{
		{"unknown", Value{}, "-", "", "null"},
		{"empty text is unknown", orNull(""), "-", "", "null"},
		{"text", str(`a "b"`), `a "b"`, `a "b"`, `"a \"b\""`},
		{"count", num(1234567), "1,234,567", "1234567", "1234567"},
		{"exact", exact(1234567), "1234567", "1234567", "1234567"},
		{"signed", signed(-1234), "-1234", "-1234", "-1234"},
		{"bytes under 1000", byteCount(999), "999 B", "999", "999"},
		{"bytes", byteCount(1234567), "1.2 MB", "1234567", "1234567"},
		{"shown", num(1500).shown("1,500 *"), "1,500 *", "1500", "1500"},
		// Times in UTC: 08:00:01.234Z.
		{"time", at(when), "2026-11-27 08:00:01.234", "2026-11-27T08:00:01.234Z", `"2026-11-27T08:00:01.234Z"`},
		{"zero time", at(time.Time{}), "-", "", "null"},
		{"capture clock", timeAt(when.UnixNano()), "2026-11-27 08:00:01.234", "2026-11-27T08:00:01.234Z", `"2026-11-27T08:00:01.234Z"`},
		{"capture clock zero", timeAt(0), "-", "", "null"},
		{"address", addr(netip.MustParseAddr("2001:db8::1")), "2001:db8::1", "2001:db8::1", `"2001:db8::1"`},
		{"invalid address", addr(netip.Addr{}), "-", "", "null"},
	} {
		j, err := tc.v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if tc.v.Text() != tc.text || tc.v.Plain() != tc.plain || string(j) != tc.json {
			t.Errorf("%s: text %q plain %q json %s; want %q %q %s", tc.name, tc.v.Text(), tc.v.Plain(), j, tc.text, tc.plain, tc.json)
		}
	}
}

func TestTableFormats(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	rows := []fruit{
		{name: "apple", count: 1234, known: true, size: 1500, when: t0},
		{name: "fig", size: 0},
	}
	cols, err := fruitColumns.Select([]string{"+size,+picked_at"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		format Format
		want   string
	}{
		// Widths from the widest cell or title; numbers right-aligned;
		// the last column is not padded; unknown is '-', or the column's
		// own word (n/a).
		{"table", Table, "" +
			"Name   Count    Size  Picked At\n" +
			"-----  -----  ------  -----------------------\n" +
			"apple  1,234  1.5 kB  2026-01-02 03:04:05.600\n" +
			"fig        -     n/a  -\n"},
		{"csv exact", CSV, "" +
			"name,count,size,picked_at\n" +
			"apple,1234,1500,2026-01-02T03:04:05.6Z\n" +
			"fig,,,\n"},
		{"json", JSON, `[
  {
    "name": "apple",
    "count": 1234,
    "size": 1500,
    "picked_at": "2026-01-02T03:04:05.6Z"
  },
  {
    "name": "fig",
    "count": null,
    "size": null,
    "picked_at": null
  }
]
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := fruitColumns.Write(&b, rows, cols, tc.format); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
	var b bytes.Buffer
	if err := fruitColumns.Write(&b, nil, cols, JSON); err != nil || b.String() != "[]\n" {
		t.Errorf("no rows as JSON: %q, %v; want []", b.String(), err)
	}
	b.Reset()
	if err := fruitColumns.Write(&b, nil, cols, Table); err != nil || b.String() != "Name  Count  Size  Picked At\n----  -----  ----  ---------\n" {
		t.Errorf("no rows as a table: %q, %v", b.String(), err)
	}
}
