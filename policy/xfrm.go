package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"ipsecmon/ipproto"
)

// parseXfrm reads `ip xfrm policy` output (iproute2; with or without -s,
// one record per policy, either one line each or the multi-line layout):
//
//	src 10.1.0.0/16 dst 10.2.0.0/16
//		dir out priority 375423 ptype main
//		tmpl src 198.51.100.1 dst 198.51.100.2
//			proto esp reqid 1 mode tunnel
//
// A policy is one unmirrored generic filter for its direction (out:
// outbound; in and fwd: inbound). Its action is negotiate when it has
// templates, otherwise allow (permit, the default `ip` does not print) or
// block. Templates give a negotiation policy named "reqid N" with the
// required protocols and mode but no algorithms (the SAs have them).
// Per-socket policies (`socket in|out`, IKE's bypass) are not filters.
func parseXfrm(file string, data []byte) (*Set, error) {
	set := &Set{}
	var rec []xfrmToken
	recLine := 0
	flush := func() error {
		if rec == nil {
			return nil
		}
		err := xfrmRecord(set, file, recLine, rec)
		rec = nil
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		trim := strings.TrimSpace(text)
		if trim == "" {
			continue
		}
		if text[0] != ' ' && text[0] != '\t' {
			if !strings.HasPrefix(text, "src ") {
				return nil, lineError(file, lineNo, "expected a policy starting with \"src\", got %q", trim)
			}
			if err := flush(); err != nil {
				return nil, err
			}
			recLine = lineNo
		} else if rec == nil {
			return nil, lineError(file, lineNo, "indented line before any policy")
		}
		// -s statistics: lifetimes and counters, not policy.
		if isXfrmStatsLine(trim) {
			continue
		}
		for _, f := range strings.Fields(trim) {
			rec = append(rec, xfrmToken{f, lineNo})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", file, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return set, nil
}

type xfrmToken struct {
	s    string
	line int
}

func isXfrmStatsLine(s string) bool {
	for _, p := range []string{"lifetime ", "limit:", "expire ", "add ", "enc-mask", "security context", "offload "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return len(s) > 0 && s[0] >= '0' && s[0] <= '9' && strings.Contains(s, "(bytes)")
}

type xfrmTmpl struct {
	src, dst string
	proto    string
	reqid    uint64
	mode     string
	level    string
}

// keywords that end a `flag` list
var xfrmKeywords = map[string]bool{
	"src": true, "dst": true, "proto": true, "sport": true, "dport": true, "type": true, "code": true,
	"dev": true, "uid": true, "dir": true, "socket": true, "action": true, "index": true, "priority": true,
	"ptype": true, "share": true, "flag": true, "mark": true, "if_id": true, "tmpl": true, "spi": true,
	"reqid": true, "mode": true, "level": true, "key": true,
}

func xfrmRecord(set *Set, file string, line int, toks []xfrmToken) error {
	var (
		src, dst     string
		proto        uint8
		sport, dport Ports
		dir, action  string
		socket       bool
		prio         uint64
		hasPrio      bool
		tmpls        []xfrmTmpl
		err          error
	)
	next := func(i *int) (xfrmToken, error) {
		if *i+1 >= len(toks) {
			return xfrmToken{}, lineError(file, toks[*i].line, "%q without a value", toks[*i].s)
		}
		*i++
		return toks[*i], nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		var v xfrmToken
		switch t.s {
		case "src", "dst", "proto", "sport", "dport", "type", "code", "dir", "socket", "action", "priority",
			"reqid", "mode", "level", "dev", "uid", "index", "ptype", "share", "if_id", "spi", "key":
			if v, err = next(&i); err != nil {
				return err
			}
		}
		in := len(tmpls) > 0
		cur := func() *xfrmTmpl { return &tmpls[len(tmpls)-1] }
		switch t.s {
		case "src":
			if in {
				cur().src = v.s
			} else {
				src = v.s
			}
		case "dst":
			if in {
				cur().dst = v.s
			} else {
				dst = v.s
			}
		case "proto":
			if in {
				cur().proto = v.s
			} else if proto, err = ipproto.Parse(v.s); err != nil {
				return lineError(file, v.line, "%v", err)
			}
		case "sport", "dport", "type", "code":
			n, perr := strconv.ParseUint(v.s, 10, 16)
			if perr != nil {
				return lineError(file, v.line, "%s %q is not a number", t.s, v.s)
			}
			p := Ports{uint16(n), uint16(n)}
			switch t.s {
			case "sport":
				sport = p
			case "dport":
				dport = p
			case "type":
				// RFC 4301 §4.4.1.1: ICMP type and code take the ports' places.
				sport = p
			case "code":
				dport = p
			}
		case "dir":
			dir = v.s
		case "socket":
			socket, dir = true, v.s
		case "action":
			action = v.s
		case "priority":
			if prio, err = strconv.ParseUint(v.s, 10, 32); err != nil {
				return lineError(file, v.line, "priority %q is not a number", v.s)
			}
			hasPrio = true
		case "tmpl":
			tmpls = append(tmpls, xfrmTmpl{level: "required"})
		case "reqid":
			if in {
				num, _, _ := strings.Cut(v.s, "(")
				if cur().reqid, err = strconv.ParseUint(num, 0, 32); err != nil {
					return lineError(file, v.line, "reqid %q is not a number", v.s)
				}
			}
		case "mode":
			if in {
				cur().mode = v.s
			}
		case "level":
			if in {
				cur().level = v.s
			}
		case "mark":
			if _, err = next(&i); err != nil {
				return err
			}
			if i+1 < len(toks) && toks[i+1].s == "mask" {
				i += 2
			}
		case "flag":
			for i+1 < len(toks) && !xfrmKeywords[toks[i+1].s] {
				i++
			}
		}
	}
	if socket {
		return nil
	}
	if src == "" || dst == "" {
		return lineError(file, line, "policy without src and dst")
	}
	f := GenericFilter{Name: "xfrm " + dir, Conn: ConnAll, Origin: origin(file, line), Proto: proto, SrcPort: sport, DstPort: dport,
		Priority: uint32(prio), HasPriority: hasPrio}
	if f.Src, err = ParseAddr(src); err != nil || f.Src.Keyword() {
		return lineError(file, line, "src: bad selector %q", src)
	}
	if f.Dst, err = ParseAddr(dst); err != nil || f.Dst.Keyword() {
		return lineError(file, line, "dst: bad selector %q", dst)
	}
	var act Action
	switch {
	case action == "block":
		act = ActionBlock
	case action != "" && action != "allow":
		return lineError(file, line, "unknown action %q", action)
	case len(tmpls) > 0:
		act = ActionNegotiate
	default:
		act = ActionPermit
	}
	switch dir {
	case "out":
		f.Outbound = act
	case "in", "fwd":
		f.Inbound = act
	default:
		return lineError(file, line, "unknown direction %q", dir)
	}
	if act == ActionNegotiate {
		pol := NegotiationPolicy{Origin: f.Origin, Mode: ModeTransport, Soft: true}
		for _, t := range tmpls {
			switch t.proto {
			case "esp":
				pol.Protos = append(pol.Protos, 50)
			case "ah":
				pol.Protos = append(pol.Protos, 51)
			}
			if t.level != "use" {
				// Only "level use" everywhere lets packets pass in clear
				// text when there is no SA.
				pol.Soft = false
			}
			if t.mode == "tunnel" || t.mode == "beet" {
				if t.mode == "tunnel" {
					pol.Mode = ModeTunnel
				} else {
					pol.Mode = ModeBEET
				}
				if f.TunnelSrc, err = ParseAddr(t.src); err != nil || f.TunnelSrc.Keyword() {
					return lineError(file, line, "tmpl src %q is not an address", t.src)
				}
				if f.TunnelDst, err = ParseAddr(t.dst); err != nil || f.TunnelDst.Keyword() {
					return lineError(file, line, "tmpl dst %q is not an address", t.dst)
				}
			}
			if pol.Name == "" && t.reqid != 0 {
				pol.Name = fmt.Sprintf("reqid %d", t.reqid)
			}
		}
		if pol.Name == "" {
			pol.Name = "xfrm " + f.Origin
		}
		if pol.Soft {
			pol.Name += " (level use)"
		}
		f.Policy = pol.Name
		if set.Policy(pol.Name) == nil {
			set.Policies = append(set.Policies, pol)
		}
	}
	set.Filters = append(set.Filters, f)
	return nil
}
