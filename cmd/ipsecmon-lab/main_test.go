package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"ipsecmon/internal/lab/verify"
)

func recordings(t *testing.T) string {
	t.Helper()
	d, err := verify.RecordingsDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// copyFacts copies every scenario's facts.json to a new directory tree,
// applying change to the one of scenario.
func copyFacts(t *testing.T, src, scenario string, change func(map[string]any)) string {
	t.Helper()
	dst := t.TempDir()
	m, _ := filepath.Glob(filepath.Join(src, "*", "facts.json"))
	if len(m) == 0 {
		t.Fatalf("no recordings under %s", src)
	}
	for _, p := range m {
		name := filepath.Base(filepath.Dir(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if name == scenario {
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			change(v)
			b, _ = json.Marshal(v)
		}
		os.MkdirAll(filepath.Join(dst, name), 0o755)
		if err := os.WriteFile(filepath.Join(dst, name, "facts.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestCompareCommand(t *testing.T) {
	src := recordings(t)
	same := copyFacts(t, src, "", nil)
	if err := compareCmd([]string{src, same}); err != nil {
		t.Errorf("a recording differs from its copy: %v", err)
	}
	// One more CHILD SA rekey in one scenario is a difference.
	changed := copyFacts(t, src, "ikev2-rekey", func(v map[string]any) {
		n := v["negotiations"].(map[string]any)
		n["child_rekeyed"] = n["child_rekeyed"].(float64) + 1
	})
	err := compareCmd([]string{src, changed})
	var ce compareError
	if !errors.As(err, &ce) || ce.n != 1 {
		t.Errorf("error %v, want one scenario differing", err)
	}
	// A scenario missing on one side is a difference too.
	os.RemoveAll(filepath.Join(changed, "ikev2-tunnel"))
	if err := compareCmd([]string{src, changed}); !errors.As(err, &ce) || ce.n != 2 {
		t.Errorf("error %v, want two scenarios differing", err)
	}
}
