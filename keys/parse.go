package keys

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"ipsecmon/algo"
)

// Error is a problem in a key file. It names the file and line and says
// what was wrong, never what the key was.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("keys: %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("keys: %s:%d: %s", e.File, e.Line, e.Msg)
}

// Format is a key file format Parse recognises.
type Format uint8

const (
	FormatUnknown Format = iota
	// FormatWiresharkESP is Wireshark's esp_sa table.
	FormatWiresharkESP
	// FormatWiresharkIKEv1 is Wireshark's ikev1_decryption_table.
	FormatWiresharkIKEv1
	// FormatWiresharkIKEv2 is Wireshark's ikev2_decryption_table.
	FormatWiresharkIKEv2
	// FormatTcpdump is a tcpdump -E secrets file.
	FormatTcpdump
	// FormatXfrm is the output of `ip xfrm state` or `ip -s xfrm state`.
	FormatXfrm
	// FormatNative is ipsecmon's own format (README, "Native key format").
	FormatNative
)

func (f Format) String() string {
	switch f {
	case FormatWiresharkESP:
		return "Wireshark esp_sa"
	case FormatWiresharkIKEv1:
		return "Wireshark ikev1_decryption_table"
	case FormatWiresharkIKEv2:
		return "Wireshark ikev2_decryption_table"
	case FormatTcpdump:
		return "tcpdump -E secrets"
	case FormatXfrm:
		return "ip xfrm state"
	case FormatNative:
		return "ipsecmon native"
	}
	return "unknown"
}

// Load reads a key file, detects its format from its content and parses it.
// A file that group or others may read is accepted with a warning.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// os errors name the path; nothing secret in them.
		return nil, fmt.Errorf("keys: %w", err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("keys: file %s is readable by group/others (mode %04o); key files are secrets", path, st.Mode().Perm()))
	}
	return s, nil
}

// Parse reads key material in any supported format; name is used in
// messages (usually the file name).
func Parse(name string, data []byte) (*Set, error) {
	lines := splitLines(data)
	f, err := detect(name, lines)
	if err != nil {
		return nil, err
	}
	p := &parser{name: name, set: &Set{}}
	switch f {
	case FormatWiresharkESP:
		err = p.espSA(lines)
	case FormatWiresharkIKEv1:
		err = p.ikev1Table(lines)
	case FormatWiresharkIKEv2:
		err = p.ikev2Table(lines)
	case FormatTcpdump:
		err = p.tcpdump(lines)
	case FormatXfrm:
		err = p.xfrm(lines)
	case FormatNative:
		err = p.native(lines)
	case FormatUnknown:
		// Only comments and blank lines.
	}
	if err != nil {
		return nil, err
	}
	if p.set.Empty() {
		p.warnf(0, "the file gives no keys ipsecmon can use")
	}
	p.set.reindex()
	return p.set, nil
}

// splitLines splits on LF, dropping a CR before it.
func splitLines(data []byte) []string {
	raw := bytes.Split(data, []byte("\n"))
	lines := make([]string, len(raw))
	for i, l := range raw {
		lines[i] = string(bytes.TrimSuffix(l, []byte("\r")))
	}
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	return lines
}

// Detect recognises the format of key material from the first line that
// is neither blank nor a comment. A file with no such line is
// FormatUnknown without error.
func Detect(name string, data []byte) (Format, error) {
	return detect(name, splitLines(data))
}

func detect(name string, lines []string) (Format, error) {
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if f := detectLine(l, t); f != FormatUnknown {
			return f, nil
		}
		return FormatUnknown, &Error{name, i + 1, "not a key file format ipsecmon knows (Wireshark esp_sa, ikev1/ikev2_decryption_table, tcpdump -E secrets, ip xfrm state, ipsecmon native)"}
	}
	return FormatUnknown, nil
}

func detectLine(raw, t string) Format {
	fields := strings.Fields(t)
	switch {
	case t[0] == '"':
		return FormatWiresharkESP
	case strings.HasPrefix(raw, "src ") && len(fields) >= 4 && fields[2] == "dst":
		return FormatXfrm
	case fields[0] == "ikev2" && len(fields) > 1 && (fields[1] == "I" || fields[1] == "R"),
		fields[0] == "file" && len(fields) == 2:
		return FormatTcpdump
	case (fields[0] == "esp" || fields[0] == "ah" || fields[0] == "ikev1" || fields[0] == "ikev2") && len(fields) > 1 && strings.Contains(fields[1], "="):
		return FormatNative
	case strings.Contains(fields[0], "@") || (len(fields) == 1 && strings.Contains(fields[0], ":") && !strings.Contains(fields[0], ",")):
		return FormatTcpdump
	}
	if f, err := splitUAT(t); err == nil && len(f) > 0 && isHex(f[0].val) && len(f[0].val) == 16 {
		switch len(f) {
		case 2:
			return FormatWiresharkIKEv1
		case 8:
			return FormatWiresharkIKEv2
		}
	}
	return FormatUnknown
}

// parser accumulates a Set from one file.
type parser struct {
	name string
	set  *Set
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &Error{p.name, line, fmt.Sprintf(format, args...)}
}

func (p *parser) warnf(line int, format string, args ...any) {
	p.set.Warnings = append(p.set.Warnings, (&Error{p.name, line, fmt.Sprintf(format, args...)}).Error())
}

// skip records an entry (a row, a line, an SA block) that could not be
// read: as Wireshark does with the rows of its key tables, the rest of the
// file is still read. err names the file, line and field, never a key.
func (p *parser) skip(err error) {
	p.set.Warnings = append(p.set.Warnings, err.Error()+"; entry skipped")
	p.set.Skipped++
}

// shortAuthKey warns about an integrity key shorter than the algorithm's
// (RFC 4868 §2.1.1, RFC 2404 §3, RFC 2403 §3: the key length is the hash's
// output length). HMAC takes it, and so do Linux and Wireshark, but a peer
// that negotiated the SA used a full-length key: every packet would then
// fail integrity.
func (p *parser) shortAuthKey(line int, where string, a algo.Auth, key []byte) {
	if want := a.KeyLen(); a.Checked() && want > 0 && len(key) > 0 && len(key) < want {
		p.warnf(line, "%s%s key is %d bytes, shorter than the algorithm's %d: packets will fail integrity unless the peer used the same short key", where, a, len(key), want)
	}
}

func (p *parser) origin(line int) string { return fmt.Sprintf("%s:%d", p.name, line) }

// keyword quotes s for a message when it reads as a name: letters,
// digits and "-_().", at most 32 characters, no run of 8 hex digits. The
// formats that use it (native, ip xfrm state) write keys in hex, so such a
// word cannot be a key of 4 bytes or more; anything else is not shown.
// Wireshark's and tcpdump's formats also take ASCII keys: their messages
// quote no value that failed to parse.
func keyword(s string) string {
	ok := s != "" && len(s) <= 32
	run := 0
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		if isHex(s[i : i+1]) {
			run++
		} else {
			run = 0
		}
		ok = run < 8 && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_().", c) >= 0)
	}
	if !ok {
		return "(a value not shown: it may be key material)"
	}
	return strconv.Quote(s)
}
