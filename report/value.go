package report

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

type valueKind uint8

const (
	vNull   valueKind = iota
	vString           // text
	vNumber           // a count: grouped in tables (1,234)
	vExact            // an identifier or a figure to compare: never grouped
	vSigned           // a signed difference, never grouped
	vBytes            // a byte count: rounded in tables (1.2 kB)
	vTime
	vAddr
	vJSON   // a nested JSON value (a list of records); tables show its summary
	vRanked // a name with an order of its own (a severity): sorted by rank, written as text
	vBool   // true or false in every format
)

// Value is one cell of a view. Null means the input cannot tell. A value
// has three renderings: Text for tables, Plain for CSV (exact numbers, RFC
// 3339 times) and JSON (numbers as numbers, unknown as null).
type Value struct {
	kind valueKind
	s    string // the text; for numbers, an override of how tables show them
	n    uint64 // numbers; vSigned keeps its int64 bits here
	t    time.Time
	a    netip.Addr
	j    json.RawMessage // vJSON
}

func str(s string) Value       { return Value{kind: vString, s: s} }
func num(n uint64) Value       { return Value{kind: vNumber, n: n} }
func exact(n uint64) Value     { return Value{kind: vExact, n: n} }
func signed(n int64) Value     { return Value{kind: vSigned, n: uint64(n)} }
func byteCount(n uint64) Value { return Value{kind: vBytes, n: n} }
func boolean(b bool) Value     { return Value{kind: vBool, s: strconv.FormatBool(b)} }

// nested is v as a nested JSON value (and as compact JSON in CSV), shown in
// tables as summary.
func nested(v any, summary string) (Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Value{}, err
	}
	return Value{kind: vJSON, s: summary, j: b}, nil
}

// ranked is a name that sorts by rank rather than alphabetically.
func ranked(s string, rank uint64) Value { return Value{kind: vRanked, s: s, n: rank} }

// orNull is s, or unknown when s is empty.
func orNull(s string) Value {
	if s == "" {
		return Value{}
	}
	return str(s)
}

func addr(a netip.Addr) Value {
	if !a.IsValid() {
		return Value{}
	}
	return Value{kind: vAddr, a: a}
}

// timeAt is a Unix nanosecond time of the capture clock; 0 is unknown.
func timeAt(ns int64) Value {
	if ns == 0 {
		return Value{}
	}
	return Value{kind: vTime, t: time.Unix(0, ns).UTC()}
}

// at is a time; the zero time is unknown.
func at(t time.Time) Value {
	if t.IsZero() {
		return Value{}
	}
	return Value{kind: vTime, t: t.UTC()}
}

// shown keeps a number's value for CSV, JSON and sorting but has tables show
// it as text (a byte count with its exact figure, a partial figure's mark).
func (v Value) shown(text string) Value {
	v.s = text
	return v
}

// Null reports an unknown value.
func (v Value) Null() bool { return v.kind == vNull }

// Text is the value as a table shows it.
func (v Value) Text() string {
	if v.s != "" || v.kind == vString {
		return v.s
	}
	switch v.kind {
	case vNumber:
		return humanize.Comma(int64(v.n))
	case vExact:
		return strconv.FormatUint(v.n, 10)
	case vSigned:
		return strconv.FormatInt(int64(v.n), 10)
	case vBytes:
		if v.n < 1000 {
			return strconv.FormatUint(v.n, 10) + " B"
		}
		return humanize.Bytes(v.n)
	case vTime:
		return v.t.Format("2006-01-02 15:04:05.000")
	case vAddr:
		return v.a.String()
	}
	return "-"
}

// Plain is the value as CSV writes it: exact numbers, RFC 3339 times.
func (v Value) Plain() string {
	switch v.kind {
	case vNumber, vExact, vBytes:
		return strconv.FormatUint(v.n, 10)
	case vSigned:
		return strconv.FormatInt(int64(v.n), 10)
	case vTime:
		return v.t.Format(time.RFC3339Nano)
	case vNull:
		return ""
	case vJSON:
		return string(v.j)
	}
	return v.Text()
}

// MarshalJSON writes numbers as numbers and unknowns as null.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case vNull:
		return []byte("null"), nil
	case vNumber, vExact, vBytes:
		return strconv.AppendUint(nil, v.n, 10), nil
	case vSigned:
		return strconv.AppendInt(nil, int64(v.n), 10), nil
	case vTime:
		return json.Marshal(v.t.Format(time.RFC3339Nano))
	case vJSON:
		return v.j, nil
	case vBool:
		return []byte(v.s), nil
	}
	return json.Marshal(v.Text())
}

func (v Value) numeric() bool {
	return v.kind == vNumber || v.kind == vExact || v.kind == vSigned || v.kind == vBytes
}

// compareNumbers orders two numbers of which either may be signed.
func compareNumbers(a, b Value) int {
	aNeg := a.kind == vSigned && int64(a.n) < 0
	bNeg := b.kind == vSigned && int64(b.n) < 0
	switch {
	case aNeg && bNeg:
		return cmp.Compare(int64(a.n), int64(b.n))
	case aNeg:
		return -1
	case bNeg:
		return 1
	}
	return cmp.Compare(a.n, b.n)
}

// compareValues orders two known values: numbers by size, times by time,
// addresses by address, anything else by its text.
func compareValues(a, b Value) int {
	switch {
	case a.kind == vAddr && b.kind == vAddr:
		return a.a.Compare(b.a)
	case a.numeric() && b.numeric():
		return compareNumbers(a, b)
	case a.kind == vTime && b.kind == vTime:
		return a.t.Compare(b.t)
	case a.kind == vRanked && b.kind == vRanked:
		return cmp.Compare(a.n, b.n)
	}
	return strings.Compare(a.Text(), b.Text())
}
