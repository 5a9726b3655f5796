package keys

import (
	"fmt"
	"regexp"
	"testing"

	"ipsecmon/internal/badkeys"
)

// TestMalformedKeyFilesNeverShowKeys: what Parse says about each malformed
// file (its error and every warning) names the file and line but contains
// no piece of the keys (issue 12).
func TestMalformedKeyFilesNeverShowKeys(t *testing.T) {
	lineRef := regexp.MustCompile(`bad\.keys(:[0-9]|: )`) // a line, or the whole file
	files := badkeys.Files()
	said := 0
	for name, text := range files {
		set, err := Parse("bad.keys", []byte(text))
		var msgs []string
		if err != nil {
			msgs = append(msgs, err.Error())
		}
		if set != nil {
			msgs = append(msgs, set.Warnings...)
			for _, sa := range set.SAs {
				msgs = append(msgs, sa.String(), fmt.Sprintf("%v %+v %#v", sa, sa, sa))
			}
		}
		if len(msgs) == 0 {
			t.Errorf("%s: accepted without a word: %v", name, set.SAs)
			continue
		}
		said++
		for _, m := range msgs {
			if !lineRef.MatchString(m) {
				t.Errorf("%s: message does not name the file (and line): %s", name, m)
			}
			if w := badkeys.Leak(m); w != "" {
				t.Errorf("%s: message shows key material %q: %s", name, w, m)
			}
		}
	}
	if said < 60 {
		t.Errorf("only %d of %d malformed files drew a message", said, len(files))
	}
}
