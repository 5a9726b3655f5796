package main

import (
	"bytes"
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

// viewJSON is a view's -o json.
func viewJSON(v report.View, r report.Run) ([]byte, error) {
	var b bytes.Buffer
	err := v.Write(&b, r, report.JSON)
	return b.Bytes(), err
}

// checkExpect compares the run with each --expect file.
func checkExpect(files []expectedFile, r report.Run, stdout, stderr io.Writer) int {
	status := exitOK
	for _, f := range files {
		diffs, err := expect.Compare(f.data, expect.Current{
			Stats:    func() ([]byte, error) { return report.StatsJSON(r) },
			SAs:      func() ([]byte, error) { return report.SARowsJSON(r.Snap.Rows) },
			IKESAs:   func() ([]byte, error) { return viewJSON(report.MMSAs{}, r) },
			Policies: func() ([]byte, error) { return viewJSON(report.Policies{}, r) },
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
