package main

import (
	"os"
	"path/filepath"
	"testing"

	"ipsecmon/internal/testcorpus"
)

// The figures, rows and events must not depend on how many cores verify:
// each SA's packets stay on one worker and results apply in capture order.
func TestWorkersGiveIdenticalResults(t *testing.T) {
	type input struct{ name, capture, keys string }
	fault := keyedFaultCapture(t)
	inputs := []input{{"keyed faults", fault, writeKeys(t, "x.txt", xfrmKeys())}}
	if root, scenarios := labScenariosOrNone(); root != "" {
		for _, sc := range scenarios {
			d := filepath.Join(root, sc)
			inputs = append(inputs, input{sc, filepath.Join(d, "capture.pcap"), filepath.Join(d, "keys.txt")})
		}
	}
	if dir := corpusDirOrNone(); dir != "" {
		for prof, kf := range testcorpus.ESPKeyProfiles {
			var capture string
			switch prof {
			case "wiki_esp1", "wiki_esp2", "wiki_esp3", "wiki_esp5":
				capture = filepath.Join(filepath.Dir(filepath.Join(dir, kf)), "capture.pcap")
			case "wiki_ikev2":
				capture = filepath.Join(filepath.Dir(filepath.Join(dir, kf)), "capture.pcapng")
			default:
				continue
			}
			inputs = append(inputs, input{prof, capture, filepath.Join(dir, kf)})
		}
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			var outs [2][3]string
			for i, w := range []string{"1", "3"} {
				for k, cmd := range [][]string{
					{"stats", "-o", "json"},
					{"sas", "-o", "json"},
					{"events"},
				} {
					args := append(cmd, "-q", "-r", in.capture, "-k", in.keys, "--workers", w)
					out, errOut, code := runCmd(t, args...)
					if code != exitOK {
						t.Fatalf("%v: exit %d: %s", args, code, errOut)
					}
					outs[i][k] = out
				}
			}
			for k, what := range []string{"stats", "sas", "events"} {
				if outs[0][k] != outs[1][k] {
					t.Errorf("%s differs between 1 and 3 workers", what)
				}
			}
		})
	}
}

func labScenariosOrNone() (string, []string) {
	var out []string
	root, err := testcorpus.RepoRoot()
	if err != nil {
		return "", nil
	}
	dir := os.Getenv("IPSECMON_LAB_DIR")
	if dir == "" {
		dir = filepath.Join(root, "testdata", "pcaps", "lab")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "facts.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	return dir, out
}

func corpusDirOrNone() string {
	root, err := testcorpus.RepoRoot()
	if err != nil {
		return ""
	}
	d := filepath.Join(root, "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err != nil {
		return ""
	}
	return d
}
