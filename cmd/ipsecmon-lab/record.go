package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"ipsecmon/internal/lab/facts"
	"ipsecmon/internal/lab/keytables"
	"ipsecmon/internal/lab/verify"
)

// extractCmd turns a lab work directory into a recording: the capture, the
// host counter files, the key files and facts.json.
func extractCmd(args []string) error {
	fs := flag.NewFlagSet("extract", flag.ExitOnError)
	work := fs.String("work", "", "the scenario's work directory")
	scenario := fs.String("scenario", "", "scenario name")
	desc := fs.String("description", "", "scenario description")
	topology := fs.String("topology", "direct", "direct, nat or routed")
	split := fs.Bool("split-by-timing", false, "traffic ran across rekeys: per-SA counts depend on timing, only the tunnels' totals do not")
	out := fs.String("o", "", "output directory (created)")
	fs.Parse(args)
	if *work == "" || *scenario == "" || *out == "" {
		return errors.New("-work, -scenario and -o are required")
	}
	in, err := facts.Load(*work, *scenario, *desc, *topology)
	if err != nil {
		return err
	}
	f, set, err := facts.Build(in)
	if err != nil {
		return err
	}
	f.CountsSplitByTiming = *split
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := keytables.Write(*out, set); err != nil {
		return err
	}
	if err := facts.Write(filepath.Join(*out, "facts.json"), f); err != nil {
		return err
	}
	copies := []string{"capture.pcap"}
	for _, c := range f.Capture.Tunnels {
		copies = append(copies, c.File)
	}
	for _, pat := range []string{"*-list-sas-*.txt", "*-vici-events.jsonl", "*-list-conns.jsonl"} {
		m, _ := filepath.Glob(filepath.Join(*work, pat))
		for _, p := range m {
			copies = append(copies, filepath.Base(p))
		}
	}
	for _, name := range copies {
		if err := copyFile(filepath.Join(*work, name), filepath.Join(*out, name)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type compareError struct{ n int }

func (e compareError) Error() string { return fmt.Sprintf("%d scenario(s) differ", e.n) }

// compareCmd compares two recordings (directories of scenarios, or two
// scenario directories).
func compareCmd(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ipsecmon-lab compare DIR_A DIR_B\n  (each a directory of scenario recordings, or one scenario's recording)")
	}
	fs.Parse(args)
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("two directories are needed")
	}
	a, b := fs.Arg(0), fs.Arg(1)
	pairs := map[string][2]string{}
	if _, err := os.Stat(filepath.Join(a, "facts.json")); err == nil {
		pairs[filepath.Base(a)] = [2]string{filepath.Join(a, "facts.json"), filepath.Join(b, "facts.json")}
	} else {
		for _, d := range []string{a, b} {
			m, _ := filepath.Glob(filepath.Join(d, "*", "facts.json"))
			for _, p := range m {
				name := filepath.Base(filepath.Dir(p))
				pairs[name] = [2]string{filepath.Join(a, name, "facts.json"), filepath.Join(b, name, "facts.json")}
			}
		}
		if len(pairs) == 0 {
			return fmt.Errorf("no facts.json under %s or %s", a, b)
		}
	}
	var names []string
	for n := range pairs {
		names = append(names, n)
	}
	sort.Strings(names)
	bad := 0
	for _, n := range names {
		fa, err := facts.Read(pairs[n][0])
		if err != nil {
			fmt.Printf("%-24s MISSING: %v\n", n, err)
			bad++
			continue
		}
		fb, err := facts.Read(pairs[n][1])
		if err != nil {
			fmt.Printf("%-24s MISSING: %v\n", n, err)
			bad++
			continue
		}
		diffs, err := facts.Compare(fa, fb)
		if err != nil {
			return err
		}
		if len(diffs) == 0 {
			fmt.Printf("%-24s same facts\n", n)
			continue
		}
		bad++
		fmt.Printf("%-24s %d difference(s):\n", n, len(diffs))
		for _, d := range diffs {
			fmt.Printf("    %s\n", d)
		}
	}
	if bad > 0 {
		return compareError{bad}
	}
	return nil
}

// verifyCmd checks recordings against tshark (acceptance criterion 2 of
// the lab; the same check `go test ./internal/lab/verify` runs).
func verifyCmd(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	tshark := fs.String("tshark", "tshark", "tshark binary")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ipsecmon-lab verify [-tshark PATH] DIR...\n  (each a directory of scenario recordings, or one recording)")
	}
	fs.Parse(args)
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no directory")
	}
	var dirs []string
	for _, d := range fs.Args() {
		if _, err := os.Stat(filepath.Join(d, "facts.json")); err == nil {
			dirs = append(dirs, d)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(d, "*", "facts.json"))
		for _, p := range m {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	if len(dirs) == 0 {
		return errors.New("no facts.json found")
	}
	bad := 0
	for _, d := range dirs {
		tmp, err := os.MkdirTemp("", "ipsecmon-lab-verify")
		if err != nil {
			return err
		}
		res, err := verify.Check(context.Background(), *tshark, d, tmp)
		os.RemoveAll(tmp)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		status := "ok"
		if len(res.Problems) > 0 {
			status = fmt.Sprintf("%d PROBLEM(S)", len(res.Problems))
			bad++
		}
		fmt.Printf("%-24s %s: %d frames, %d ESP (%d sequence numbers missing, %d reordered), %d/%d encrypted IKE decrypted, %d IKEv1 retransmissions, %d tunnel-device packets matched\n",
			filepath.Base(d), status, res.Frames, res.ESPPackets, res.Missing, res.Reordered, res.IKEDecrypted, res.IKEEncrypted, res.IKEv1Retransmissions, res.TunnelPackets)
		for _, p := range res.Problems {
			fmt.Printf("    %s\n", p)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d recording(s) disagree with tshark", bad)
	}
	return nil
}
