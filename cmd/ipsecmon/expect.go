package main

import (
	"fmt"
	"io"
	"os"

	"ipsecmon/expect"
	"ipsecmon/report"
)

// expectedFile is one --expect file, read before the analysis so that a
// missing one does not cost a whole run.
type expectedFile struct {
	name string
	data []byte
}

func readExpected(names []string) ([]expectedFile, error) {
	var out []expectedFile
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("--expect %s: %w", name, unwrapPathError(err))
		}
		out = append(out, expectedFile{name, data})
	}
	return out, nil
}

// checkExpect compares the run with each --expect file.
func checkExpect(files []expectedFile, r report.Run, stdout, stderr io.Writer) int {
	status := exitOK
	for _, f := range files {
		diffs, err := expect.Compare(f.data,
			func() ([]byte, error) { return report.StatsJSON(r) },
			func() ([]byte, error) {
				return report.SARowsJSON(r.Snap.Rows)
			})
		if err != nil {
			fmt.Fprintf(stderr, "ipsecmon: --expect %s: %v\n", f.name, err)
			return exitUsage
		}
		fmt.Fprintln(stderr, expect.Summary(f.name, diffs))
		if len(diffs) > 0 {
			status = exitMismatch
		}
	}
	return status
}
