package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// parseListConns reads the text of `swanctl --list-conns` (strongSwan 5.9):
//
//	site: IKEv2, no reauthentication, rekeying every 14400s
//	  local:  192.0.2.1
//	  remote: 192.0.2.2
//	  local pre-shared key authentication:
//	    id: gw1.example
//	  lan: TUNNEL, rekeying every 3600s or 500000000 bytes
//	    local:  10.1.0.0/16
//	    remote: 10.2.0.0/16 10.3.0.0/24
//
// It shows neither proposals nor start/close actions, so the negotiation
// policies have no offers (a warning says so).
func parseListConns(file string, data []byte) (*Set, error) {
	set := &Set{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	type child struct {
		name, mode     string
		line           int
		locals, remote []string
		lline, rline   int
	}
	var conn string
	var cx *childContext
	var cur *child
	var children []*child
	flush := func() error {
		for _, ch := range children {
			if err := listConnsChild(set, cx, ch.name, ch.mode, ch.line, ch.locals, ch.remote, ch.lline, ch.rline); err != nil {
				return err
			}
		}
		children, cur = nil, nil
		return nil
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		text := strings.TrimRight(sc.Text(), " \t\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		indent := len(text) - len(strings.TrimLeft(text, " "))
		body := strings.TrimSpace(text)
		switch {
		case indent == 0:
			if err := flush(); err != nil {
				return nil, err
			}
			name, rest, ok := strings.Cut(body, ": ")
			if !ok || !strings.HasPrefix(rest, "IKEv") {
				return nil, lineError(file, lineNo, "expected a connection line \"NAME: IKEv...\", got %q", body)
			}
			conn = name
			version := 0
			if strings.HasPrefix(rest, "IKEv1,") || rest == "IKEv1" {
				version = 1
			} else if strings.HasPrefix(rest, "IKEv2") {
				version = 2
			}
			cx = &childContext{file: file, conn: conn, version: version, local: Addr{Kind: AddrMe}, remote: Addr{Kind: AddrAny},
				warn: func(s string) { set.Warnings = append(set.Warnings, s) }}
		case cx == nil:
			return nil, lineError(file, lineNo, "indented line before any connection")
		case indent == 2 && (strings.HasPrefix(body, "local:") || strings.HasPrefix(body, "remote:")) && cur == nil:
			key, v, _ := strings.Cut(body, ":")
			list := strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }), ",")
			if key == "local" {
				cx.local = endpointSpec(list, AddrMe)
			} else {
				cx.remote = endpointSpec(list, AddrAny)
			}
		case indent == 2 && strings.HasSuffix(body, "authentication:"):
			cur = nil
		case indent == 2:
			name, rest, ok := strings.Cut(body, ": ")
			if !ok {
				return nil, lineError(file, lineNo, "expected a child line \"NAME: MODE, ...\", got %q", body)
			}
			mode, _, _ := strings.Cut(rest, ",")
			cur = &child{name: name, mode: mode, line: lineNo}
			children = append(children, cur)
		case indent >= 4 && cur != nil && (strings.HasPrefix(body, "local:") || strings.HasPrefix(body, "remote:")):
			key, v, _ := strings.Cut(body, ":")
			if key == "local" {
				cur.locals, cur.lline = strings.Fields(v), lineNo
			} else {
				cur.remote, cur.rline = strings.Fields(v), lineNo
			}
		default:
			// Authentication details (id, certs, groups, ...): not policy.
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", file, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(set.Policies) > 0 {
		set.Warnings = append(set.Warnings, fmt.Sprintf("%s: swanctl --list-conns shows no proposals and no start/close actions: its negotiation policies list no offers", file))
	}
	return set, nil
}

func listConnsChild(set *Set, cx *childContext, name, mode string, line int, locals, remotes []string, lline, rline int) error {
	full := cx.conn + "/" + name
	at := origin(cx.file, line)
	if len(locals) == 0 {
		locals, lline = []string{"dynamic"}, line
	}
	if len(remotes) == 0 {
		remotes, rline = []string{"dynamic"}, line
	}
	ls, err := parseTSList(strings.Join(locals, ","))
	if err != nil {
		return lineError(cx.file, lline, "%s: %v", full, err)
	}
	rs, err := parseTSList(strings.Join(remotes, ","))
	if err != nil {
		return lineError(cx.file, rline, "%s: %v", full, err)
	}
	action := ActionNegotiate
	var m Mode
	switch mode {
	case "TUNNEL":
		m = ModeTunnel
	case "TRANSPORT", "TRANSPORT_PROXY":
		m = ModeTransport
	case "BEET":
		m = ModeBEET
	case "PASS":
		action = ActionPermit
	case "DROP":
		action = ActionBlock
	default:
		return lineError(cx.file, line, "%s: unknown mode %q", full, mode)
	}
	for _, l := range ls {
		for _, r := range rs {
			if f, ok := cx.filter(full, at, l, r, action, m); ok {
				set.Filters = append(set.Filters, f)
			}
		}
	}
	if action == ActionNegotiate {
		set.Policies = append(set.Policies, NegotiationPolicy{Name: full, Mode: m, Origin: at})
	}
	return nil
}
