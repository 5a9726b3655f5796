package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"ipsecmon/internal/stress"
)

// stressCmd runs the hostile inputs of package stress against an ipsecmon
// binary (built from this tree unless -bin names one).
func stressCmd(args []string) error {
	fs := flag.NewFlagSet("stress", flag.ExitOnError)
	bin := fs.String("bin", "", "ipsecmon binary (default: build ./cmd/ipsecmon)")
	only := fs.String("only", "", "comma-separated scenarios (default: all)")
	scale := fs.Float64("scale", 1, "multiply every size")
	fs.Parse(args)
	dir, err := os.MkdirTemp("", "ipsecmon-stress-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "ipsecmon")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/ipsecmon")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building ipsecmon: %w", err)
		}
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
		for _, n := range names {
			if _, ok := stress.Find(n); !ok {
				return fmt.Errorf("unknown scenario %q", n)
			}
		}
	}
	ok, err := stress.Run(stress.Options{Binary: *bin, Dir: dir, Only: names, Scale: *scale}, os.Stdout)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("a bound did not hold")
	}
	return nil
}

// stressGenCmd writes one scenario's input to a file (live-check replays
// the spoofed pairs into a veth).
func stressGenCmd(args []string) error {
	fs := flag.NewFlagSet("stress-gen", flag.ExitOnError)
	name := fs.String("scenario", "", "scenario whose input to write")
	n := fs.Int("n", 0, "size (the scenario's unit)")
	out := fs.String("o", "", "capture file to write")
	keys := fs.String("keys", "", "key file to write, for scenarios that need one")
	ether := fs.Bool("ethernet", false, "frame the packets in Ethernet (to inject them into an interface)")
	fs.Parse(args)
	s, ok := stress.Find(*name)
	if !ok || *n <= 0 || *out == "" {
		return errors.New("-scenario (a known one), -n and -o are required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	var frames int
	if *ether {
		frames, err = stress.GenEthernet(f, s.Gen, *n, *keys)
	} else {
		frames, err = s.Gen(f, *n, *keys)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d frames (%s, %d %s)\n", *out, frames, s.Name, *n, s.Unit)
	return nil
}
