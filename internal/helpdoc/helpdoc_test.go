package helpdoc

import (
	"strings"
	"testing"
)

// The lines are pflag's FlagUsages layout (github.com/spf13/pflag
// flag.go: "  -s, --long type   usage", "      --long type   usage", a
// bool with NoOptDefVal as "--long[=true|false]"), written by hand.
func TestParseFlag(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Flag
	}{
		{"-r, --read stringArray   capture file to read", Flag{Short: "r", Long: "read", Arg: "stringArray", Repeatable: true, Usage: "capture file to read"}},
		{"--me stringArray          address or CIDR", Flag{Long: "me", Arg: "stringArray", Repeatable: true, Usage: "address or CIDR"}},
		{"-q, --quiet[=true|false]   no progress bar", Flag{Short: "q", Long: "quiet", Usage: "no progress bar"}},
		{"--duration duration   stop after this long, e.g. 30s", Flag{Long: "duration", Arg: "duration", Usage: "stop after this long, e.g. 30s"}},
		{"-c, --count uint   stop after  this many", Flag{Short: "c", Long: "count", Arg: "uint", Usage: "stop after  this many"}},
	} {
		got, err := parseFlag(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("parseFlag(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
	for _, bad := range []string{"-rx, --read string  x", "--read string", "-r, --  x"} {
		if f, err := parseFlag(bad); err == nil {
			t.Errorf("parseFlag(%q) = %+v, want an error", bad, f)
		}
	}
}

// A command's help: the usage line, paragraphs, flags with a usage that
// pflag continued on a second line, examples.
func TestParseCommand(t *testing.T) {
	help := "Usage: x stats [flags]\n\nFirst paragraph\ngoes on.\n\nSecond.\n\nFlags:\n" +
		"  -o, --output string   format\n                        and more\n      --fast[=true|false]   quick\n\nExamples:\n  x stats -o json\n"
	c := Command{Name: "stats"}
	if err := ParseCommand(help, &c); err != nil {
		t.Fatal(err)
	}
	if c.Usage != "x stats [flags]" || strings.Join(c.Synopsis, "|") != "First paragraph goes on.|Second." ||
		len(c.Flags) != 2 || c.Flags[0].Usage != "format and more" || c.Flags[1].Arg != "" ||
		len(c.Examples) != 1 || c.Examples[0] != "x stats -o json" {
		t.Errorf("ParseCommand: %+v", c)
	}
}
