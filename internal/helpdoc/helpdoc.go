// Package helpdoc reads ipsecmon's help texts (the usage `ipsecmon --help`
// prints and each command's --help) and writes a man page and bash and zsh
// completions from them. make install generates these from the binary it
// installs, so that they say what that binary's --help says, flag for flag,
// and cannot drift from it.
package helpdoc

import (
	"fmt"
	"os/exec"
	"strings"
)

// Doc is what the help texts say.
type Doc struct {
	Name     string // the program, e.g. ipsecmon
	Title    string // the one-line description the usage starts with
	Usage    string // e.g. "ipsecmon COMMAND [flags] [CAPTURE ...]"
	Version  string // what --version prints after the name
	Commands []Command
	Examples []string
	Notes    []string // the lines after the examples (exit status, ...)
}

// Command is one command's --help.
type Command struct {
	Name, Summary string
	Usage         string   // the usage line without "Usage: "
	Synopsis      []string // paragraphs
	Flags         []Flag
	Examples      []string
}

// Flag is one line of pflag's flag listing.
type Flag struct {
	Short, Long string // without dashes; Short may be empty
	Arg         string // the value's type ("string", "duration", ...); empty for a bool flag
	Repeatable  bool   // a stringArray: given once per value
	Usage       string
}

// Load runs the binary for its help texts.
func Load(bin string) (*Doc, error) {
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			return "", fmt.Errorf("helpdoc: %s %s: %w", bin, strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	top, err := run("--help")
	if err != nil {
		return nil, err
	}
	d, err := ParseUsage(top)
	if err != nil {
		return nil, err
	}
	v, err := run("--version")
	if err != nil {
		return nil, err
	}
	d.Version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), d.Name))
	for i := range d.Commands {
		h, err := run(d.Commands[i].Name, "--help")
		if err != nil {
			return nil, err
		}
		if err := ParseCommand(h, &d.Commands[i]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// ParseUsage reads the top-level usage: a title line ("name: what it
// is."), a Usage: block, a Commands: block of "  name  summary" lines, an
// Examples: block, and closing notes.
func ParseUsage(text string) (*Doc, error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	name, title, ok := strings.Cut(lines[0], ": ")
	if !ok {
		return nil, fmt.Errorf("helpdoc: usage starts with %q, not \"name: title\"", lines[0])
	}
	d := &Doc{Name: name, Title: strings.TrimSuffix(title, ".")}
	section := ""
	for _, l := range lines[1:] {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			if section == "examples" {
				section = "notes"
			}
			continue
		case strings.HasSuffix(t, ":") && !strings.HasPrefix(l, " "):
			section = strings.ToLower(strings.TrimSuffix(t, ":"))
			continue
		}
		switch section {
		case "usage":
			d.Usage = t
		case "commands":
			n, s, _ := strings.Cut(t, " ")
			d.Commands = append(d.Commands, Command{Name: n, Summary: strings.TrimSpace(s)})
		case "examples":
			d.Examples = append(d.Examples, t)
		default:
			d.Notes = append(d.Notes, t)
		}
	}
	if d.Usage == "" || len(d.Commands) == 0 {
		return nil, fmt.Errorf("helpdoc: the usage has no Usage line or no Commands section")
	}
	return d, nil
}

// ParseCommand reads a command's --help: "Usage: ...", the synopsis
// paragraphs, "Flags:" in pflag's layout, and "Examples:".
func ParseCommand(text string, c *Command) error {
	section := "synopsis"
	para := ""
	endPara := func() {
		if para != "" {
			c.Synopsis = append(c.Synopsis, para)
			para = ""
		}
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Usage: "):
			c.Usage = strings.TrimPrefix(l, "Usage: ")
			continue
		case l == "Flags:" || l == "Examples:":
			endPara()
			section = strings.ToLower(strings.TrimSuffix(l, ":"))
			continue
		}
		switch section {
		case "synopsis":
			if t == "" {
				endPara()
			} else if para == "" {
				para = t
			} else {
				para += " " + t
			}
		case "flags":
			if t == "" {
				continue
			}
			if !strings.HasPrefix(t, "-") {
				if len(c.Flags) == 0 {
					return fmt.Errorf("helpdoc: %s --help: %q before any flag", c.Name, t)
				}
				c.Flags[len(c.Flags)-1].Usage += " " + t
				continue
			}
			f, err := parseFlag(t)
			if err != nil {
				return fmt.Errorf("helpdoc: %s --help: %w", c.Name, err)
			}
			c.Flags = append(c.Flags, f)
		case "examples":
			if t != "" {
				c.Examples = append(c.Examples, t)
			}
		}
	}
	endPara()
	if c.Usage == "" {
		return fmt.Errorf("helpdoc: %s --help has no Usage: line", c.Name)
	}
	return nil
}

// parseFlag reads "-r, --read stringArray   usage", "--me stringArray
// usage" or "-q, --quiet[=true|false]   usage" (pflag.FlagUsages: the
// usage starts after a run of at least two spaces).
func parseFlag(t string) (Flag, error) {
	var f Flag
	if !strings.HasPrefix(t, "--") {
		s, rest, ok := strings.Cut(t, ", ")
		if !ok || len(s) != 2 {
			return f, fmt.Errorf("flag line %q", t)
		}
		f.Short, t = s[1:], rest
	}
	head, usage, ok := strings.Cut(t, "  ")
	if !ok {
		return f, fmt.Errorf("flag line %q has no usage", t)
	}
	f.Usage = strings.TrimSpace(usage)
	head = strings.TrimPrefix(head, "--")
	name, arg, _ := strings.Cut(head, " ")
	name, _, isBool := strings.Cut(name, "[=")
	f.Long = name
	if !isBool {
		f.Arg = arg
		f.Repeatable = strings.HasSuffix(arg, "Array") || strings.HasSuffix(arg, "Slice")
	}
	if f.Long == "" {
		return f, fmt.Errorf("flag line %q has no long name", t)
	}
	return f, nil
}
