package helpdoc

import (
	"fmt"
	"io"
	"strings"
)

// values are the flags whose values a shell can offer; any other flag
// that takes a value completes file names (captures, key files, policies,
// host listings, outputs).
var values = map[string]string{
	"interface": "interfaces",
	"output":    "table json csv",
	"weight":    "2003 vista",
}

// WriteBash writes a bash completion: commands, each command's flags, and
// for a flag's value interfaces, formats or file names.
func (d *Doc) WriteBash(w io.Writer) error {
	var b strings.Builder
	fn := "_" + d.Name
	fmt.Fprintf(&b, "# bash completion for %s, generated from its --help texts (internal/helpdoc).\n", d.Name)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} flags='' valued=''\n")
	fmt.Fprintf(&b, "\tif ((COMP_CWORD == 1)); then\n\t\tCOMPREPLY=($(compgen -W '%s help --help --version' -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(d.names(), " "))
	b.WriteString("\tcase ${COMP_WORDS[1]} in\n")
	fmt.Fprintf(&b, "\thelp)\n\t\t((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n\t\treturn\n\t\t;;\n", strings.Join(d.names(), " "))
	for _, c := range d.Commands {
		var flags, valued []string
		for _, f := range c.Flags {
			opts := []string{"--" + f.Long}
			if f.Short != "" {
				opts = append(opts, "-"+f.Short)
			}
			flags = append(flags, opts...)
			if f.Arg != "" {
				valued = append(valued, opts...)
			}
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tflags='--help %s'\n\t\tvalued=' %s '\n\t\t;;\n", c.Name, strings.Join(flags, " "), strings.Join(valued, " "))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ $valued == *\" $prev \"* ]]; then\n\t\tcase $prev in\n")
	for _, long := range []string{"interface", "output", "weight"} {
		pats := "--" + long
		for _, f := range d.flags() {
			if f.Long == long && f.Short != "" {
				pats = "-" + f.Short + "|" + pats
				break
			}
		}
		if values[long] == "interfaces" {
			fmt.Fprintf(&b, "\t\t%s) COMPREPLY=($(compgen -W \"any $(command ls /sys/class/net 2>/dev/null)\" -- \"$cur\")) ;;\n", pats)
		} else {
			fmt.Fprintf(&b, "\t\t%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", pats, values[long])
		}
	}
	b.WriteString("\t\t*) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n\t\tesac\n\t\treturn\n\tfi\n")
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n\t\treturn\n\tfi\n")
	b.WriteString("\tcompopt -o filenames 2>/dev/null\n\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n}\n")
	fmt.Fprintf(&b, "complete -F %s %s\n", fn, d.Name)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteZsh writes a zsh completion (compsys: _arguments per command, with
// each flag's usage as its description).
func (d *Doc) WriteZsh(w io.Writer) error {
	var b strings.Builder
	fn := "_" + d.Name
	fmt.Fprintf(&b, "#compdef %s\n# zsh completion for %s, generated from its --help texts (internal/helpdoc).\n", d.Name, d.Name)
	fmt.Fprintf(&b, "%s() {\n\tlocal -a commands\n\tcommands=(\n", fn)
	for _, c := range d.Commands {
		fmt.Fprintf(&b, "\t\t%s\n", zshQuote(c.Name+":"+c.Summary))
	}
	b.WriteString("\t)\n\tif ((CURRENT == 2)); then\n\t\t_describe -t commands command commands\n\t\treturn\n\tfi\n")
	b.WriteString("\tlocal cmd=${words[2]}\n\tshift words\n\t((CURRENT--))\n\tcase $cmd in\n")
	b.WriteString("\thelp) _describe -t commands command commands ;;\n")
	for _, c := range d.Commands {
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments -s \\\n", c.Name)
		for _, f := range c.Flags {
			fmt.Fprintf(&b, "\t\t\t%s \\\n", zshSpec(f))
		}
		b.WriteString("\t\t\t'*:capture file:_files'\n\t\t;;\n")
	}
	b.WriteString("\tesac\n}\n")
	fmt.Fprintf(&b, "%s \"$@\"\n", fn)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshSpec is one _arguments option spec: "(excl)"{-s,--long}"[desc]:msg:action",
// with * in front of a repeatable flag.
func zshSpec(f Flag) string {
	desc := strings.NewReplacer("[", "(", "]", ")", ":", " -").Replace(f.Usage)
	rep := ""
	if f.Repeatable {
		rep = "*"
	}
	var names string
	if f.Short != "" {
		excl := ""
		if !f.Repeatable {
			excl = zshQuote(fmt.Sprintf("(-%s --%s)", f.Short, f.Long))
		}
		names = fmt.Sprintf("%s%s{-%s,--%s}", excl, zshQuote(rep), f.Short, f.Long)
	} else {
		names = zshQuote(rep + "--" + f.Long)
	}
	spec := "[" + desc + "]"
	if f.Arg != "" {
		action := "_files"
		switch values[f.Long] {
		case "":
			if f.Arg == "int" || f.Arg == "uint" || f.Arg == "duration" {
				action = " " // a number: nothing to offer
			}
		case "interfaces":
			action = "_net_interfaces"
		default:
			action = "(" + values[f.Long] + ")"
		}
		spec += ":" + strings.ReplaceAll(f.Arg, ":", " ") + ":" + action
	}
	return names + zshQuote(spec)
}

// zshQuote single-quotes s for a shell word.
func zshQuote(s string) string {
	if s == "" {
		return ""
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (d *Doc) names() []string {
	var n []string
	for _, c := range d.Commands {
		n = append(n, c.Name)
	}
	return n
}

func (d *Doc) flags() []Flag {
	var fs []Flag
	for _, c := range d.Commands {
		fs = append(fs, c.Flags...)
	}
	return fs
}
