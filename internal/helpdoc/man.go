package helpdoc

import (
	"fmt"
	"io"
	"strings"
)

// WriteMan writes the help texts as a man page (section 1, man(7) macros).
func (d *Doc) WriteMan(w io.Writer) error {
	var b strings.Builder
	upper := strings.ToUpper(d.Name)
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s %s\" \"User Commands\"\n", upper, d.Name, roff(d.Version))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", d.Name, roff(d.Title))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n%s\n", d.Name, roff(strings.TrimSpace(strings.TrimPrefix(d.Usage, d.Name))))
	b.WriteString(".SH DESCRIPTION\n")
	fmt.Fprintf(&b, "%s.\nEach command takes the flags listed under it; run\n.B %s COMMAND \\-\\-help\nfor the same text.\n", roff(d.Title), d.Name)
	b.WriteString(".SH COMMANDS\n")
	for _, c := range d.Commands {
		fmt.Fprintf(&b, ".SS %s\n", roff(c.Usage))
		for _, p := range c.Synopsis {
			fmt.Fprintf(&b, ".PP\n%s\n", roff(p))
		}
		for _, f := range c.Flags {
			b.WriteString(".TP\n")
			if f.Short != "" {
				fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", roff(f.Short))
			}
			fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", roff(f.Long))
			if f.Arg != "" {
				fmt.Fprintf(&b, " \\fI%s\\fR", roff(f.Arg))
			}
			fmt.Fprintf(&b, "\n%s\n", roff(f.Usage))
		}
		writeExamples(&b, c.Examples)
	}
	if len(d.Examples) > 0 {
		b.WriteString(".SH EXAMPLES\n")
		writeExamples(&b, d.Examples)
	}
	if len(d.Notes) > 0 {
		b.WriteString(".SH NOTES\n")
		for _, n := range d.Notes {
			fmt.Fprintf(&b, ".PP\n%s\n", roff(n))
		}
	}
	b.WriteString(".SH SEE ALSO\n.BR tcpdump (8),\n.BR tshark (1),\n.BR swanctl (8),\n.BR ip\\-xfrm (8)\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeExamples(b *strings.Builder, ex []string) {
	if len(ex) == 0 {
		return
	}
	b.WriteString(".PP\nExamples:\n.RS\n.nf\n")
	for _, e := range ex {
		fmt.Fprintf(b, "%s\n", roff(e))
	}
	b.WriteString(".fi\n.RE\n")
}

// roff escapes text for a man page line: a backslash is roff's escape
// character, a line starting with . or ' would be a request, a
// hyphen-minus must be \- to stay one that can be typed (groff_man(7)),
// and a character beyond ASCII is named (\[u00A7]) so that no input
// encoding is assumed.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var b strings.Builder
	for _, r := range s {
		if r > 0x7e {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		} else {
			b.WriteRune(r)
		}
	}
	s = b.String()
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
