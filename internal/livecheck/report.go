package livecheck

import (
	"fmt"
	"io"
	"strings"
)

// Result is one assertion: which acceptance item, what was compared with
// what, and the differences found (none: it holds).
type Result struct {
	Item     string
	Check    string
	Detail   string // the figures, for the report
	Problems []string
}

// OK tells whether the assertion holds.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// Report collects results.
type Report struct {
	Results []Result
}

func (r *Report) add(item, check, detail string, problems ...string) {
	r.Results = append(r.Results, Result{Item: item, Check: check, Detail: detail, Problems: problems})
}

func (r *Report) addf(item, check string, problems []string, format string, args ...any) {
	r.add(item, check, fmt.Sprintf(format, args...), problems...)
}

// Failed counts the assertions that do not hold.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if !x.OK() {
			n++
		}
	}
	return n
}

// Write prints one line per assertion, with its problems indented.
func (r *Report) Write(w io.Writer) {
	for _, x := range r.Results {
		status := "ok  "
		if !x.OK() {
			status = "FAIL"
		}
		line := fmt.Sprintf("%s [%s] %s", status, x.Item, x.Check)
		if x.Detail != "" {
			line += ": " + x.Detail
		}
		fmt.Fprintln(w, line)
		for i, p := range x.Problems {
			if i == 20 {
				fmt.Fprintf(w, "       ... %d more\n", len(x.Problems)-i)
				break
			}
			fmt.Fprintf(w, "       %s\n", strings.ReplaceAll(p, "\n", " "))
		}
	}
	fmt.Fprintf(w, "%d assertions, %d failed\n", len(r.Results), r.Failed())
}
