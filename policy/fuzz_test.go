package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		names, _ := filepath.Glob(g)
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				f.Add(b)
			}
		}
	}
}

// Each parser must never panic; bad input is an error or a warning.

func FuzzParse(f *testing.F) {
	addSeeds(f, "testdata/xfrm/*.txt", "testdata/swanctl/*.conf", "testdata/swanctl/*.list-conns.txt", "testdata/native/*")
	f.Fuzz(func(t *testing.T, data []byte) { Parse("fuzz", data) })
}

func FuzzXfrm(f *testing.F) {
	addSeeds(f, "testdata/xfrm/*.txt")
	f.Fuzz(func(t *testing.T, data []byte) { parseXfrm("fuzz", data) })
}

func FuzzSwanctlConf(f *testing.F) {
	addSeeds(f, "testdata/swanctl/*.conf", "testdata/swanctl/lab/*-alice.conf")
	f.Fuzz(func(t *testing.T, data []byte) { parseSwanctlConf("fuzz", data, false) })
}

func FuzzListConns(f *testing.F) {
	addSeeds(f, "testdata/swanctl/*.list-conns.txt")
	f.Fuzz(func(t *testing.T, data []byte) { parseListConns("fuzz", data) })
}

func FuzzNative(f *testing.F) {
	addSeeds(f, "testdata/native/*")
	f.Fuzz(func(t *testing.T, data []byte) { parseNative("fuzz", data) })
}
