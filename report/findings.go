package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"ipsecmon/findings"
)

func spiValue(spi uint32, ok bool) Value {
	if !ok {
		return Value{}
	}
	return str(fmt.Sprintf("0x%08x", spi))
}

// FindingColumns are the findings view's columns; their keys are the JSON
// keys.
var FindingColumns = &Columns[*findings.Finding]{All: []*Column[*findings.Finding]{
	{Name: "Severity", Key: "severity", Default: true, Get: func(f *findings.Finding) Value {
		return ranked(f.Severity.String(), uint64(f.Severity))
	}},
	{Name: "Finding", Key: "finding", Default: true, Get: func(f *findings.Finding) Value { return str(f.Kind.String()) }},
	{Name: "Local", Key: "local", Default: true, Get: func(f *findings.Finding) Value { return addr(f.Local) }},
	{Name: "Remote", Key: "remote", Default: true, Get: func(f *findings.Finding) Value { return addr(f.Remote) }},
	{Name: "SPI In", Key: "spi_in", Default: true, Get: func(f *findings.Finding) Value { return spiValue(f.SPIIn, f.HasIn) }},
	{Name: "SPI Out", Key: "spi_out", Default: true, Get: func(f *findings.Finding) Value { return spiValue(f.SPIOut, f.HasOut) }},
	{Name: "IKE SA", Key: "ike_sa", Default: true, Get: func(f *findings.Finding) Value { return orNull(f.IKESAText()) }},
	{Name: "Time", Key: "time", Default: true, Get: func(f *findings.Finding) Value { return at(f.Time) }},
	{Name: "Until", Key: "until", Get: func(f *findings.Finding) Value { return at(f.Until) }},
	{Name: "Detail", Key: "detail", Get: func(f *findings.Finding) Value { return str(f.Detail) }},
}}

// Findings is the findings view. A table lists the findings with a number
// each, then their details below it, numbered the same (a detail is a
// paragraph, too long for a column); CSV and JSON have the detail as a
// column.
type Findings struct {
	List    []findings.Finding
	Columns []*Column[*findings.Finding] // nil: the defaults (table), every column (CSV, JSON)
	Sort    []SortKey[*findings.Finding]
}

// Write prints the view.
func (v Findings) Write(w io.Writer, f Format) error {
	rows := make([]*findings.Finding, len(v.List))
	for i := range v.List {
		rows[i] = &v.List[i]
	}
	SortRows(rows, v.Sort)
	cols := v.Columns
	if cols == nil {
		cols, _ = FindingColumns.Select(nil, f != Table)
	}
	if f != Table {
		return FindingColumns.Write(w, rows, cols, f)
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, "No findings.\n")
		return err
	}
	num := &Column[*findings.Finding]{Name: "#", Key: "n", Right: true}
	index := map[*findings.Finding]int{}
	for i, r := range rows {
		index[r] = i + 1
	}
	num.Get = func(f *findings.Finding) Value { return exact(uint64(index[f])) }
	detail := -1
	shown := []*Column[*findings.Finding]{num}
	for i, c := range cols {
		if c.Key == "detail" {
			detail = i
			continue
		}
		shown = append(shown, c)
	}
	if err := FindingColumns.Write(w, rows, shown, Table); err != nil {
		return err
	}
	if detail < 0 && v.Columns != nil {
		return nil // --columns left the detail out
	}
	var b strings.Builder
	b.WriteString("\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "%s. [%s] %s\n", strconv.Itoa(i+1), r.Severity, r.Kind)
		wrap(&b, r.Detail, 100, "   ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text in lines of at most width characters, each indented.
func wrap(b *strings.Builder, text string, width int, indent string) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}
