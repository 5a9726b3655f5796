package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"ipsecmon/analyzer"
	"ipsecmon/report"
)

// analysis is a command that analyses captures or live interfaces and
// shows one view of the result. Every analysis has the input and live
// flags; own adds the command's flags of its own and returns what runs
// once they are parsed, before any input is read: it checks them and
// returns the view. A new view is a file in package report and one
// analysis here.
type analysis struct {
	name, summary string
	synopsis      string // the --help text under the usage line
	examples      string // one `  ipsecmon ...` line each: a test runs them
	// expect: --expect compares the result with stored JSON (stats, sas).
	expect bool
	// html: -o html is the command's format (report).
	html bool
	own  func(fs *pflag.FlagSet) prepare
}

// prepare checks a command's own flags (an error from flagError() is a usage
// error, any other an input that could not be read), may adjust the
// analysis, and returns the view (nil: the command shows no view).
type prepare func(s *setup) (view, error)

// setup is what a command's flags act on before the analysis starts.
type setup struct {
	cfg    *analyzer.Config
	in     *inputFlags
	live   bool
	format report.Format
	stderr io.Writer
}

// view shows the result of a run. Its status is the command's exit status
// unless the run already has a worse one.
type view func(r report.Run, o output) (status int, err error)

// output is where and how a view is shown.
type output struct {
	stdout, stderr io.Writer
	format         report.Format
	quiet          bool
}

// shows is the view of a command that shows a report view and nothing else.
func shows(v report.View) func(*pflag.FlagSet) prepare {
	return func(*pflag.FlagSet) prepare {
		return func(*setup) (view, error) {
			return func(r report.Run, o output) (int, error) {
				if err := v.Write(o.stdout, r, o.format); err != nil {
					return exitOK, err
				}
				warnLimits(r, o)
				return exitOK, nil
			}, nil
		}
	}
}

type usageErr struct{ error }

func (e usageErr) Unwrap() error { return e.error }

// flagError marks err as a wrong use of flags: it is shown with a pointer to --help.
func flagError(err error) error { return usageErr{err} }

func (a *analysis) command() command { return command{a.name, a.summary, a.run} }

func (a *analysis) run(args []string, stdout, stderr io.Writer) int {
	in := inputFlags{html: a.html}
	var lf liveFlags
	fs := newFlagSet(a.name, a.synopsis, a.examples)
	in.register(fs)
	lf.register(fs)
	if !a.expect {
		fs.MarkHidden("expect")
	}
	ready := a.own(fs)
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	if !a.expect && len(in.expect) > 0 {
		return usageError(stderr, a.name, fmt.Errorf("--expect applies to stats, sas, mmsas and policies, whose -o json it compares with"))
	}
	cfg, format, inputs, err := in.config(fs.Args(), lf.live())
	if err != nil {
		return usageError(stderr, a.name, err)
	}
	if err := lf.apply(&cfg, fs); err != nil {
		return usageError(stderr, a.name, err)
	}
	show, err := ready(&setup{cfg: &cfg, in: &in, live: lf.live(), format: format, stderr: stderr})
	if err != nil {
		return a.fail(stderr, err)
	}
	if show != nil && in.events.name == "-" {
		return usageError(stderr, a.name, fmt.Errorf("--events -: standard output carries the %s view; give --events FILE, or run 'ipsecmon events' for the events alone", a.name))
	}
	expected, err := readExpected(in.expect)
	if err != nil {
		return usageError(stderr, a.name, err)
	}
	if err := in.openLog(lf.live(), stdout, stderr, 0); err != nil {
		return usageError(stderr, a.name, err)
	}
	r, status := collect(&in, &lf, cfg, inputs, stderr)
	if st := in.closeLog(stderr); st != exitOK {
		status = st
	}
	if r.Snap == nil || show == nil {
		return status
	}
	st, err := show(r, output{stdout, stderr, format, in.quiet})
	if err != nil {
		return a.fail(stderr, err)
	}
	if a.expect {
		st = max(st, checkExpect(expected, r, stdout, stderr))
	}
	if status == exitOK {
		status = st
	}
	return status
}

// fail reports an error of a command's own: a usage error with a pointer
// to --help, any other as what could not be read.
func (a *analysis) fail(stderr io.Writer, err error) int {
	var u usageErr
	if errors.As(err, &u) {
		return usageError(stderr, a.name, u.error)
	}
	fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
	return exitUsage
}

func parseFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) (done bool, status int) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return true, exitOK
		}
		fmt.Fprintf(stderr, "ipsecmon %s: %v\nRun 'ipsecmon %s --help' for usage.\n", fs.Name(), err, fs.Name())
		return true, exitUsage
	}
	return false, exitOK
}

func newFlagSet(name, synopsis, examples string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: ipsecmon %s [flags] [CAPTURE ...]\n\n%s\n\nFlags:\n%s\nExamples:\n%s", name, synopsis, fs.FlagUsages(), examples)
	}
	return fs
}

func usageError(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "ipsecmon %s: %v\nRun 'ipsecmon %s --help' for usage.\n", cmd, err, cmd)
	return exitUsage
}
