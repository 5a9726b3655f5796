package main

import (
	"fmt"
	"io"
	"os"

	"ipsecmon/expect"
	"ipsecmon/report"
)

// checkExpect compares the run with each --expect file.
func checkExpect(files []string, r report.Run, stdout, stderr io.Writer) int {
	status := exitOK
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "ipsecmon: --expect: %v\n", err)
			return exitUsage
		}
		diffs, err := expect.Compare(data,
			func() ([]byte, error) { return report.StatsJSON(r) },
			func() ([]byte, error) {
				return report.SARowsJSON(r.Snap.Rows)
			})
		if err != nil {
			fmt.Fprintf(stderr, "ipsecmon: --expect %s: %v\n", name, err)
			return exitUsage
		}
		fmt.Fprintln(stderr, expect.Summary(name, diffs))
		if len(diffs) > 0 {
			status = exitMismatch
		}
	}
	return status
}
