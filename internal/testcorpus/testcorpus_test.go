package testcorpus

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test: it records whether Dir skipped or failed it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func TestMissingCorpus(t *testing.T) {
	for _, c := range []struct {
		name     string
		required string
		fails    bool
	}{
		{"developer machine: skips", "", false},
		{"CI: fails", "1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("IPSECMON_CORPUS", t.TempDir()+"/nowhere")
			t.Setenv(Required, c.required)
			r := &recorder{TB: t}
			func() {
				defer func() {
					if v := recover(); v != nil && v != r {
						panic(v)
					}
				}()
				Dir(r)
			}()
			if c.fails && (r.failed == "" || !strings.Contains(r.failed, Required)) || !c.fails && r.skipped == "" {
				t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
			}
		})
	}
}
