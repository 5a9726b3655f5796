// Package xfrmstate reads the text `ip xfrm state` and `ip -s xfrm state`
// print (iproute2 ip/xfrm_state.c xfrm_state_print and ip/ipxfrm.c): one
// block per SA, opened by "src A dst B" at the left margin, each further
// line indented. Package keys takes the keys from it, package hosts the
// counters; both read it here, with one set of rules.
//
// Read returns one Record per block with everything the text says that
// ipsecmon uses. A line it cannot read makes its block's Err (or, before
// the first block, a Record of its own with only Err), so that a caller
// may refuse the dump or skip the block. Errors never quote a value: a
// dump holds keys, and a key can land in any field of a damaged one.
//
// Times (the "add" time of `ip -s`) are printed by iproute2 in the local
// time of the host that ran ip (strxf_time, localtime(3)); Read takes them
// in the Location the caller gives.
package xfrmstate

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ipsecmon/ipproto"
)

// Record is one SA block.
type Record struct {
	Line int // of "src A dst B"
	// Err is the first line of the block that could not be read; the
	// fields below hold what was read up to it.
	Err      *Error
	Src, Dst netip.Addr
	// ProtoName is the protocol as printed ("esp", "ah", "comp", "route2",
	// a number), "" when the block has no proto line; Proto its number
	// (ESP, AH or a numeric protocol; 0 for names other than esp and ah).
	ProtoName string
	Proto     uint8
	SPI       uint32
	ReqID     uint32
	Mode      string // as printed: "tunnel", "transport", "beet", ...
	// ReplayWindow is the legacy "replay-window N" field; ESNWindow the
	// "replay_window N" of the anti-replay ESN context (-1 when absent),
	// which the kernel uses when it is there.
	ReplayWindow, ESNWindow int
	ESN                     bool // "flag ... esn"
	Algs                    []Alg
	EncapType               string
	EncapSport, EncapDport  uint16
	SelSrc, SelDst          netip.Prefix // invalid when not given
	Dir                     string       // "in", "out" (Linux 6.10) or ""
	// Anti-replay state (nil when not printed): receive and send sequence
	// numbers, their ESN high halves.
	Seq, SeqHi, OSeq, OSeqHi *uint32
	// With -s: lifetime counters, install time and xfrm_stats.
	Bytes, Packets                                 *uint64
	AddTime                                        time.Time
	ReplayWindowDrops, ReplayDrops, IntegrityFails *uint64
	// Unknown are the lines whose first word Read does not know.
	Unknown []Unknown
}

// Window is the anti-replay window in packets the kernel applies: the ESN
// context's when printed, else the legacy field.
func (r *Record) Window() int {
	if r.ESNWindow >= 0 {
		return r.ESNWindow
	}
	return r.ReplayWindow
}

// Alg is one algorithm line: "enc NAME KEY", "auth NAME KEY",
// "auth-trunc NAME KEY BITS" or "aead NAME KEY ICVBITS". `ip -s` inserts
// "(N bits)" after the key; `ip xfrm state list nokeys` leaves the key out.
type Alg struct {
	Line int
	Kind string // enc, auth, auth-trunc, aead
	Name string // the kernel's crypto API name, "cbc(aes)"
	// Key is the key as printed, hex with its "0x" ("" when not printed).
	// It is a secret: never put it in a message.
	Key string
	// KeyBits is the key length: "(N bits)" when printed, else the hex
	// digits' (0 when neither can tell).
	KeyBits int
	// Bits is the truncation (auth-trunc) or ICV length (aead) in bits; 0
	// when not printed.
	Bits int
}

// Unknown is a line Read skipped.
type Unknown struct {
	Line int
	Word string // its first word quoted, if it is a keyword (see Error)
}

// Error is a line Read could not read. Msg says what was wrong, never
// what the line held.
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// section is where indented lines belong in `ip -s` output.
type section uint8

const (
	secNone section = iota
	secLifetimeConfig
	secLifetimeCurrent
	secStats
	secESNContext
)

// ignored are iproute2 lines ipsecmon has no use for.
var ignored = map[string]bool{
	"lastused": true, "iptfs-opts": true, "crypto": true, "if_id": true, "output-mark": true, "mark": true,
	"ctx": true, "security": true, "tfcpad": true, "extra_flag": true, "...": true, "comp": true, "coa": true,
	"reqid": true, "offload": true, "pcpu-num": true,
}

// Read reads a dump. Lines may end in CRLF; blank lines and lines starting
// with '#' are skipped. loc is the zone the dump's times are in
// (time.Local for a dump taken on this host).
func Read(text string, loc *time.Location) []Record {
	var out []Record
	var cur *Record
	sec := secNone
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		line := strings.TrimSpace(raw)
		if line == "" || raw[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if raw[0] != ' ' && raw[0] != '\t' {
			out = append(out, Record{Line: n, ESNWindow: -1})
			cur, sec = &out[len(out)-1], secNone
			cur.header(n, f)
			continue
		}
		if cur == nil {
			out = append(out, Record{Line: n, ESNWindow: -1, Err: &Error{n, `indented line before the first "src ADDR dst ADDR"`}})
			cur = &out[len(out)-1]
			continue
		}
		sec = cur.line(n, line, f, sec, loc)
	}
	return out
}

func (r *Record) fail(n int, format string, a ...any) {
	if r.Err == nil {
		r.Err = &Error{n, fmt.Sprintf(format, a...)}
	}
}

// header reads "src A dst B".
func (r *Record) header(n int, f []string) {
	if f[0] != "src" {
		// The first word only, and only a keyword: a key line that lost its
		// indentation must not leak.
		r.fail(n, "expected \"src ADDR dst ADDR\" to open an SA, got a line starting %s", quoteKeyword(f[0]))
		return
	}
	if len(f) != 4 || f[2] != "dst" {
		r.fail(n, `malformed SA header: want "src ADDR dst ADDR"`)
		return
	}
	for k, dst := range []*netip.Addr{&r.Src, &r.Dst} {
		a, err := netip.ParseAddr(f[1+2*k])
		if err != nil {
			r.fail(n, "%s address is not an IP address", f[2*k])
			return
		}
		*dst = a.Unmap()
	}
}

// line reads one indented line of the block and returns the section the
// next line is in.
func (r *Record) line(n int, line string, f []string, sec section, loc *time.Location) section {
	switch sec {
	case secLifetimeCurrent:
		if strings.HasSuffix(f[0], "(bytes),") && len(f) >= 2 {
			b, err1 := strconv.ParseUint(strings.TrimSuffix(f[0], "(bytes),"), 10, 64)
			p, err2 := strconv.ParseUint(strings.TrimSuffix(f[1], "(packets)"), 10, 64)
			if err1 != nil || err2 != nil || !strings.HasSuffix(f[1], "(packets)") {
				r.fail(n, "malformed lifetime counters")
				return sec
			}
			r.Bytes, r.Packets = &b, &p
			return sec
		}
		if f[0] == "add" {
			if len(f) >= 3 {
				// "add 2019-01-10 11:11:54": strxf_time's "%Y-%m-%d %T" in local time.
				t, err := time.ParseInLocation("2006-01-02 15:04:05", f[1]+" "+f[2], loc)
				if err != nil {
					r.fail(n, "malformed install time")
					return sec
				}
				r.AddTime = t
			}
			return sec
		}
	case secStats:
		if f[0] == "replay-window" && len(f) == 6 && f[2] == "replay" && f[4] == "failed" {
			var v [3]uint64
			for k, idx := range []int{1, 3, 5} {
				x, err := strconv.ParseUint(f[idx], 10, 64)
				if err != nil {
					r.fail(n, "malformed stats")
					return secNone
				}
				v[k] = x
			}
			r.ReplayWindowDrops, r.ReplayDrops, r.IntegrityFails = &v[0], &v[1], &v[2]
			return secNone
		}
	case secLifetimeConfig:
		if f[0] == "limit:" || f[0] == "expire" {
			return sec
		}
	case secESNContext:
		if strings.HasPrefix(f[0], "seq") || strings.HasPrefix(f[0], "oseq") || f[0] == "replay_window" {
			r.replayPairs(n, line)
			return sec
		}
		if isHexWords(f) { // the replay bitmap
			return sec
		}
	}
	switch f[0] {
	case "proto":
		r.proto(n, f)
	case "replay-window":
		if len(f) >= 2 {
			if w, err := strconv.Atoi(f[1]); err == nil {
				r.ReplayWindow = w
			}
		}
		r.flags(f)
	case "flag":
		r.flags(f)
	case "enc", "auth", "auth-trunc", "aead":
		r.alg(n, f)
	case "encap":
		r.encap(n, f)
	case "anti-replay":
		// "anti-replay context: seq 0x0, oseq 0x22b, bitmap 0x00000000" or
		// "anti-replay esn context:" followed by indented lines.
		_, rest, _ := strings.Cut(line, ":")
		r.replayPairs(n, rest)
		if len(f) >= 2 && f[1] == "esn" {
			return secESNContext
		}
	case "sel":
		for k := 1; k+1 < len(f); k++ {
			switch f[k] {
			case "src":
				if p, err := netip.ParsePrefix(f[k+1]); err == nil {
					r.SelSrc = p
				}
			case "dst":
				if p, err := netip.ParsePrefix(f[k+1]); err == nil {
					r.SelDst = p
				}
			}
		}
	case "lifetime":
		if len(f) >= 2 && f[1] == "current:" {
			return secLifetimeCurrent
		}
		return secLifetimeConfig
	case "stats:":
		return secStats
	case "dir":
		if len(f) >= 2 {
			r.Dir = f[1]
		}
	default:
		if !ignored[f[0]] {
			r.Unknown = append(r.Unknown, Unknown{n, quoteKeyword(f[0])})
		}
	}
	return secNone
}

// proto reads "proto esp spi 0xc0ffee01(3237998081) reqid 1(0x00000001) mode tunnel"
// (`ip -s` adds the decimal SPI and the hex reqid in parentheses).
func (r *Record) proto(n int, f []string) {
	if len(f) < 2 {
		r.fail(n, "proto without a protocol")
		return
	}
	for k := 0; k+1 < len(f); k += 2 {
		v := f[k+1]
		if i := strings.IndexByte(v, '('); i >= 0 {
			v = v[:i]
		}
		switch f[k] {
		case "proto":
			r.ProtoName = v
			switch v {
			case "esp":
				r.Proto = ipproto.ESP
			case "ah":
				r.Proto = ipproto.AH
			default:
				if p, err := strconv.ParseUint(v, 10, 8); err == nil {
					r.Proto = uint8(p)
				}
			}
		case "spi":
			// strxf_xfrmproto prints "0x%08x".
			s, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
			if err != nil || !strings.HasPrefix(v, "0x") {
				r.fail(n, "bad SPI: want 0x and 8 hex digits")
				return
			}
			r.SPI = uint32(s)
		case "reqid":
			if id, err := strconv.ParseUint(v, 10, 32); err == nil {
				r.ReqID = uint32(id)
			}
		case "mode":
			r.Mode = v
		}
	}
}

// flags reads the esn flag of "replay-window 0 flag af-unspec esn" and
// "flag esn".
func (r *Record) flags(f []string) {
	for _, w := range f {
		if w == "esn" {
			r.ESN = true
		}
	}
}

// alg reads an algorithm line.
func (r *Record) alg(n int, f []string) {
	if len(f) < 2 {
		r.fail(n, "%s without an algorithm", f[0])
		return
	}
	a := Alg{Line: n, Kind: f[0], Name: f[1]}
	rest := f[2:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "0x") {
		a.Key = rest[0]
		if h := a.Key[2:]; len(h)%2 == 0 && isHex(h) {
			a.KeyBits = 4 * len(h)
		}
		rest = rest[1:]
	}
	if len(rest) >= 2 && strings.HasPrefix(rest[0], "(") && rest[1] == "bits)" {
		if b, err := strconv.Atoi(rest[0][1:]); err == nil {
			a.KeyBits = b
		}
		rest = rest[2:]
	}
	if len(rest) > 0 {
		if b, err := strconv.Atoi(rest[0]); err == nil && b > 0 {
			a.Bits = b
		}
	}
	r.Algs = append(r.Algs, a)
}

// encap reads "encap type espinudp sport 4500 dport 4500 addr 0.0.0.0".
func (r *Record) encap(n int, f []string) {
	for k := 1; k+1 < len(f); k++ {
		var dst *uint16
		switch f[k] {
		case "type":
			r.EncapType = f[k+1]
			continue
		case "sport":
			dst = &r.EncapSport
		case "dport":
			dst = &r.EncapDport
		default:
			continue
		}
		v, err := strconv.ParseUint(f[k+1], 10, 16)
		if err != nil {
			r.fail(n, "encap %s is not a port number", f[k])
			return
		}
		*dst = uint16(v)
	}
}

// replayPairs reads "seq 0x0, oseq 0x22b, bitmap 0x00000000",
// "seq-hi 0x0, seq 0x1d, oseq-hi 0x0, oseq 0x0" and
// "replay_window 128, bitmap-length 4".
func (r *Record) replayPairs(n int, s string) {
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			continue
		}
		var dst **uint32
		switch f[0] {
		case "seq":
			dst = &r.Seq
		case "seq-hi":
			dst = &r.SeqHi
		case "oseq":
			dst = &r.OSeq
		case "oseq-hi":
			dst = &r.OSeqHi
		case "replay_window":
			w, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				r.fail(n, "bad replay_window")
				return
			}
			r.ESNWindow = int(w)
			continue
		default:
			continue
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 32)
		if err != nil || !strings.HasPrefix(f[1], "0x") {
			r.fail(n, "bad %s: want 0x and up to 8 hex digits", f[0])
			return
		}
		x := uint32(v)
		*dst = &x
	}
}

// isHex reports a string of hex digits only.
func isHex(s string) bool { return strings.TrimLeft(s, "0123456789abcdefABCDEF") == "" }

// isHexWords reports a line of 8-digit hex words (the replay bitmap).
func isHexWords(f []string) bool {
	for _, w := range f {
		if len(w) != 8 || !isHex(w) {
			return false
		}
	}
	return len(f) > 0
}

// quoteKeyword quotes a line's first word when it looks like a keyword
// (letters, digits, '-', '_', ':', at most 20, not a hex number): anything
// else may be key material.
func quoteKeyword(s string) string {
	ok := len(s) <= 20 && s[0] >= 'a' && s[0] <= 'z' && !(len(s) >= 8 && isHex(s))
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':' || c == '(' || c == ')'
	}
	if !ok {
		return "with a value that is not a keyword"
	}
	return strconv.Quote(s)
}
