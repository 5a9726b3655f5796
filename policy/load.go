package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Format is a policy source format.
type Format uint8

const (
	FormatUnknown   Format = iota
	FormatXfrm             // `ip xfrm policy` output
	FormatSwanctl          // strongSwan swanctl.conf
	FormatListConns        // `swanctl --list-conns` output
	FormatNative           // ipsecmon's policy format
)

func (f Format) String() string {
	switch f {
	case FormatXfrm:
		return "ip xfrm policy"
	case FormatSwanctl:
		return "swanctl.conf"
	case FormatListConns:
		return "swanctl --list-conns"
	case FormatNative:
		return "ipsecmon policy"
	}
	return "unknown"
}

// Detect tells the format from the first line that is not blank or a comment.
func Detect(data []byte) Format {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		first, _, _ := strings.Cut(line, " ")
		switch {
		case strings.HasPrefix(line, "src ") && strings.Contains(line, " dst "):
			return FormatXfrm
		case first == "policy" || first == "filter":
			return FormatNative
		case strings.HasSuffix(first, ":") && strings.Contains(line, ": IKEv"):
			return FormatListConns
		case strings.ContainsAny(string(data), "{=") || first == "include":
			return FormatSwanctl
		}
		return FormatUnknown
	}
	return FormatUnknown
}

// Load reads a policy file, detecting its format; swanctl.conf includes are
// followed relative to the file.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return parse(path, data, true)
}

// Parse reads policy data named name (for messages), detecting its format.
// swanctl.conf includes are not followed: each is reported in Warnings.
func Parse(name string, data []byte) (*Set, error) { return parse(name, data, false) }

func parse(name string, data []byte, follow bool) (*Set, error) {
	switch Detect(data) {
	case FormatXfrm:
		return parseXfrm(name, data)
	case FormatSwanctl:
		return parseSwanctlConf(name, data, follow)
	case FormatListConns:
		return parseListConns(name, data)
	case FormatNative:
		return parseNative(name, data)
	}
	return nil, fmt.Errorf("policy: %s: format not recognised (expected `ip xfrm policy` output, swanctl.conf, `swanctl --list-conns` output or an ipsecmon policy file)", name)
}
