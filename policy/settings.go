package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The strongswan.conf(5) syntax that swanctl.conf uses: sections
// `name [: reference[, reference]] { ... }`, settings `key = value` (the value
// runs to the end of the line, or is a double-quoted string that may span
// lines with \" \\ \n \t escapes), `#` comments, and `include PATTERN`.
// References name other sections by their full dotted path from the top
// (`voice : connections.branch.children.base`, as charon resolves them).

type settingsNode struct {
	name     string
	file     string
	line     int
	refs     []string
	keys     []settingsKV
	sections []*settingsNode
}

type settingsKV struct {
	key, value string
	file       string
	line       int
}

// value returns the last setting of key and where it was written.
func (n *settingsNode) value(key string) (string, srcPos, bool) {
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i].key == key {
			return n.keys[i].value, srcPos{n.keys[i].file, n.keys[i].line}, true
		}
	}
	return "", srcPos{n.file, n.line}, false
}

type srcPos struct {
	file string
	line int
}

func (p srcPos) errorf(format string, args ...any) error {
	return lineError(p.file, p.line, format, args...)
}

func (p srcPos) String() string { return origin(p.file, p.line) }

func (n *settingsNode) section(name string) *settingsNode {
	for _, s := range n.sections {
		if s.name == name {
			return s
		}
	}
	return nil
}

// settingsParser reads one file; includes are read through readFile (nil:
// not followed, reported as a warning).
type settingsParser struct {
	file     string
	data     string
	pos      int
	line     int
	readFile func(pattern, from string) ([]includedFile, error)
	warn     func(string)
	depth    int
}

type includedFile struct {
	name string
	data []byte
}

func parseSettings(file string, data []byte, readFile func(string, string) ([]includedFile, error), warn func(string)) (*settingsNode, error) {
	root := &settingsNode{file: file, line: 1}
	p := &settingsParser{file: file, data: string(data), line: 1, readFile: readFile, warn: warn}
	if err := p.body(root, false); err != nil {
		return nil, err
	}
	resolveRefs(root, root, file, warn, 0)
	return root, nil
}

func (p *settingsParser) errf(format string, args ...any) error {
	return lineError(p.file, p.line, format, args...)
}

// skipSpace skips blanks, comments and (if nl) newlines.
func (p *settingsParser) skipSpace(nl bool) {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '\n' && nl:
			p.pos++
			p.line++
		case c == '#':
			for p.pos < len(p.data) && p.data[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c > ' ' && c != '{' && c != '}' && c != '=' && c != '#' && c != ':' && c != '"' && c != ','
}

func (p *settingsParser) name() string {
	start := p.pos
	for p.pos < len(p.data) && isNameByte(p.data[p.pos]) {
		p.pos++
	}
	return p.data[start:p.pos]
}

func (p *settingsParser) body(n *settingsNode, nested bool) error {
	for {
		p.skipSpace(true)
		if p.pos >= len(p.data) {
			if nested {
				return p.errf("section %q opened on line %d is not closed", n.name, n.line)
			}
			return nil
		}
		if p.data[p.pos] == '}' {
			if !nested {
				return p.errf("unexpected '}'")
			}
			p.pos++
			return nil
		}
		line := p.line
		name := p.name()
		if name == "" {
			return p.errf("unexpected %q", p.data[p.pos])
		}
		p.skipSpace(false)
		if name == "include" && p.pos < len(p.data) && p.data[p.pos] != '=' && p.data[p.pos] != '{' && p.data[p.pos] != ':' {
			if err := p.include(n, p.restOfLine(), line); err != nil {
				return err
			}
			continue
		}
		if p.pos >= len(p.data) {
			return p.errf("%q is neither a setting nor a section", name)
		}
		switch p.data[p.pos] {
		case '=':
			p.pos++
			v, err := p.value()
			if err != nil {
				return err
			}
			n.keys = append(n.keys, settingsKV{name, v, p.file, line})
		case ':', '{', '\n':
			var refs []string
			if p.data[p.pos] == ':' {
				p.pos++
				for {
					p.skipSpace(false)
					r := p.name()
					if r == "" {
						return p.errf("section %q: missing reference after ':'", name)
					}
					refs = append(refs, r)
					p.skipSpace(false)
					if p.pos < len(p.data) && p.data[p.pos] == ',' {
						p.pos++
						continue
					}
					break
				}
			}
			p.skipSpace(true)
			if p.pos >= len(p.data) || p.data[p.pos] != '{' {
				return p.errf("%q is neither a setting (=) nor a section ({)", name)
			}
			p.pos++
			if p.depth >= 32 {
				return p.errf("sections nested too deeply")
			}
			sub := n.section(name)
			if sub == nil {
				// A section given twice is merged, later settings win.
				sub = &settingsNode{name: name, file: p.file, line: line}
				n.sections = append(n.sections, sub)
			}
			sub.refs = append(sub.refs, refs...)
			p.depth++
			err := p.body(sub, true)
			p.depth--
			if err != nil {
				return err
			}
		default:
			return p.errf("%q is neither a setting (=) nor a section ({)", name)
		}
	}
}

func (p *settingsParser) restOfLine() string {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '#' {
		p.pos++
	}
	return strings.TrimSpace(p.data[start:p.pos])
}

func (p *settingsParser) value() (string, error) {
	p.skipSpace(false)
	if p.pos < len(p.data) && p.data[p.pos] == '"' {
		p.pos++
		var b strings.Builder
		for p.pos < len(p.data) {
			c := p.data[p.pos]
			p.pos++
			switch c {
			case '"':
				return b.String(), nil
			case '\\':
				if p.pos < len(p.data) {
					e := p.data[p.pos]
					p.pos++
					switch e {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case '\n':
						p.line++ // line continuation
					default:
						b.WriteByte(e)
					}
				}
			case '\n':
				p.line++
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		return "", p.errf("quoted value is not closed")
	}
	// An unquoted value runs to the end of the line, a comment, or the '}'
	// that closes the section on the same line.
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '#' && p.data[p.pos] != '}' {
		p.pos++
	}
	v := strings.TrimSpace(p.data[start:p.pos])
	return v, nil
}

func (p *settingsParser) include(n *settingsNode, pattern string, line int) error {
	if pattern == "" {
		return lineError(p.file, line, "include without a file name")
	}
	if p.readFile == nil {
		p.warn(fmt.Sprintf("%s:%d: include %s not followed (the policy was given as data, not as a file)", p.file, line, pattern))
		return nil
	}
	if p.depth >= 16 {
		return lineError(p.file, line, "includes nested too deeply")
	}
	files, err := p.readFile(pattern, p.file)
	if err != nil {
		return lineError(p.file, line, "include %s: %v", pattern, err)
	}
	for _, f := range files {
		sub := &settingsParser{file: f.name, data: string(f.data), line: 1, readFile: p.readFile, warn: p.warn, depth: p.depth + 1}
		if err := sub.body(n, false); err != nil {
			return err
		}
	}
	return nil
}

// readIncludes follows `include` as strongswan.conf(5) does: a relative
// pattern is relative to the including file's directory, a glob that matches
// nothing is not an error.
func readIncludes(pattern, from string) ([]includedFile, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	names, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && !strings.ContainsAny(pattern, "*?[") {
		return nil, fmt.Errorf("%s does not exist", pattern)
	}
	var out []includedFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, includedFile{n, b})
	}
	return out, nil
}

// resolveRefs copies into each referencing section what its references have
// and it lacks (settings and subsections, recursively).
func resolveRefs(n, root *settingsNode, file string, warn func(string), depth int) {
	if depth > 64 {
		return
	}
	for _, r := range n.refs {
		target := root
		for _, part := range strings.Split(r, ".") {
			if target = target.section(part); target == nil {
				break
			}
		}
		if target == nil || target == n {
			warn(fmt.Sprintf("%s:%d: section %q references %q, which does not exist (references are full dotted paths)", n.file, n.line, n.name, r))
			continue
		}
		mergeMissing(n, target, 0)
	}
	n.refs = nil
	for _, s := range n.sections {
		resolveRefs(s, root, file, warn, depth+1)
	}
}

func mergeMissing(dst, src *settingsNode, depth int) {
	if depth > 64 {
		return
	}
	for _, kv := range src.keys {
		if _, _, ok := dst.value(kv.key); !ok {
			dst.keys = append(dst.keys, kv)
		}
	}
	for _, s := range src.sections {
		d := dst.section(s.name)
		if d == nil {
			d = &settingsNode{name: s.name, file: s.file, line: s.line}
			dst.sections = append(dst.sections, d)
		}
		mergeMissing(d, s, depth+1)
	}
}
