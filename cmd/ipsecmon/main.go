// Command ipsecmon analyses IPsec traffic in captures or on live interfaces
// and shows the Windows IP Security Monitor's Quick Mode views for it.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK       = 0
	exitMismatch = 1 // --expect found differences
	exitUsage    = 2 // bad flags or unreadable input
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	statsCmd.command(),
	sasCmd.command(),
	tunnelsCmd.command(),
	mmsasCmd.command(),
	policiesCmd.command(),
	eventsCmd.command(),
	{"filters", "Generic and Specific Filters of the IPsec policy, with weights and packet hits", runFilters},
	checkCmd.command(),
	findingsCmd.command(),
	reportCmd.command(),
	{"watch", "live view of a gateway: statistics with rates, busiest SAs and tunnels, events, drops", runWatch},
	{"decrypt", "write the decrypted traffic to pcapng: inner packets with SPI, sequence and direction", runDecrypt},
	{"keys", "export every key known for the capture's SAs (given or derived from IKE) for Wireshark, tcpdump or ip xfrm", runKeys},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "--version", "version":
		fmt.Fprintln(stdout, "ipsecmon", version)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "ipsecmon: %s: give a command first, e.g. ipsecmon stats %s\n\n", args[0], strings.Join(args, " "))
	} else if near := nearestCommand(args[0]); near != "" {
		fmt.Fprintf(stderr, "ipsecmon: unknown command %q; did you mean %q?\n\n", args[0], near)
	} else {
		fmt.Fprintf(stderr, "ipsecmon: unknown command %q\n\n", args[0])
	}
	usage(stderr)
	return exitUsage
}

// nearestCommand is the command a mistyped name most likely meant: one
// the name begins or that begins with it, else one within two edits.
func nearestCommand(name string) string {
	name = strings.ToLower(name)
	best, bestD := "", 3
	for _, c := range commands {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return c.name
		}
		if d := editDistance(name, c.name); d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var version = "dev"

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`ipsecmon: IPsec traffic analysis from the packets alone.

Usage:
  ipsecmon COMMAND [flags] [CAPTURE ...]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Examples:
  ipsecmon stats -r gateway.pcap
  ipsecmon sas -r a.pcapng -r b.pcap.gz --me 192.0.2.1 --columns +spi_in,+spi_out,+packets_in --sort -bytes_in
  tcpdump -w - -i eth0 esp or udp port 4500 | ipsecmon stats -r -
  ipsecmon stats -r sample.pcap -o json > expected.json; ipsecmon stats -r sample.pcap --expect expected.json

Run 'ipsecmon COMMAND --help' for a command's flags.
Exit status: 0 success, 1 --expect found differences, 2 usage error or unreadable input.
`)
	io.WriteString(w, b.String())
}
