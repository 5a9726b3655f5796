package policy

import (
	"fmt"
	"strconv"
	"strings"

	"ipsecmon/ipproto"
)

// parseSwanctlConf maps swanctl.conf connections to filters and policies.
// Each child gives one mirrored generic filter per local_ts × remote_ts pair
// (Src = local side) and one negotiation policy named "conn/child"; mode
// pass and drop (shunts) give permit and block filters without a policy.
func parseSwanctlConf(file string, data []byte, follow bool) (*Set, error) {
	set := &Set{}
	warn := func(s string) { set.Warnings = append(set.Warnings, s) }
	var rf func(string, string) ([]includedFile, error)
	if follow {
		rf = readIncludes
	}
	root, err := parseSettings(file, data, rf, warn)
	if err != nil {
		return nil, err
	}
	conns := root.section("connections")
	if conns == nil {
		warn(fmt.Sprintf("%s: no connections section", file))
		return set, nil
	}
	for _, c := range conns.sections {
		if err := swanctlConn(set, file, c, warn); err != nil {
			return nil, err
		}
	}
	return set, nil
}

func swanctlConn(set *Set, file string, c *settingsNode, warn func(string)) error {
	version := 0
	if v, pos, ok := c.value("version"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return pos.errorf("connection %s: version %q is not 0, 1 or 2", c.name, v)
		}
		version = n
	}
	la, _, _ := c.value("local_addrs")
	ra, _, _ := c.value("remote_addrs")
	local := endpointSpec(la, AddrMe)
	remote := endpointSpec(ra, AddrAny)
	children := c.section("children")
	if children == nil {
		return nil
	}
	for _, ch := range children.sections {
		ctx := childContext{file: file, conn: c.name, version: version, local: local, remote: remote, warn: warn}
		if err := ctx.child(set, ch); err != nil {
			return err
		}
	}
	return nil
}

// endpointSpec is the tunnel endpoint (and the address `dynamic` stands
// for) given local_addrs or remote_addrs: a single literal address, else the
// keyword (%any, several addresses, DNS names, subnets).
func endpointSpec(list string, dflt AddrKind) Addr {
	parts := strings.Split(list, ",")
	if len(parts) == 1 {
		if a, err := ParseAddr(parts[0]); err == nil && a.Kind == AddrPrefix && a.Prefix.IsSingleIP() {
			return a
		}
	}
	return Addr{Kind: dflt}
}

type childContext struct {
	file          string
	conn          string
	version       int
	local, remote Addr
	warn          func(string)
}

// trafficSelector is one strongSwan TS: an address spec (or dynamic) with
// an optional [proto/port].
type trafficSelector struct {
	addr    Addr
	dynamic bool
	proto   uint8
	ports   Ports
}

// parseTS reads "10.1.0.0/16[tcp/http]", "dynamic[udp/1701]",
// "10.1.0.100-10.1.0.120[udp]", "10.1.0.100..10.1.0.120" and "[/443]" or
// "[0/https]" (any protocol, one port).
func parseTS(s string) (trafficSelector, error) {
	var ts trafficSelector
	s = strings.TrimSpace(s)
	addr := s
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") {
			return ts, fmt.Errorf("traffic selector %q: missing ']'", s)
		}
		addr = s[:i]
		pp := s[i+1 : len(s)-1]
		proto, port, _ := strings.Cut(pp, "/")
		var err error
		if ts.proto, err = ipproto.Parse(proto); err != nil {
			return ts, fmt.Errorf("traffic selector %q: %v", s, err)
		}
		if ts.ports, err = ParsePorts(port); err != nil {
			return ts, fmt.Errorf("traffic selector %q: %v", s, err)
		}
	}
	switch strings.ToLower(addr) {
	case "dynamic", "":
		ts.dynamic = true
		return ts, nil
	}
	a, err := ParseAddr(addr)
	if err != nil {
		return ts, fmt.Errorf("traffic selector %q: %v", s, err)
	}
	if a.Keyword() {
		return ts, fmt.Errorf("traffic selector %q: not an address", s)
	}
	ts.addr = a
	return ts, nil
}

func parseTSList(list string) ([]trafficSelector, error) {
	var out []trafficSelector
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		ts, err := parseTS(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
	return out, nil
}

func (cx *childContext) child(set *Set, ch *settingsNode) error {
	name := cx.conn + "/" + ch.name
	at := origin(ch.file, ch.line)
	get := func(key, dflt string) (string, srcPos) {
		v, pos, ok := ch.value(key)
		if !ok {
			v = dflt
		}
		return v, pos
	}
	lts, lpos := get("local_ts", "dynamic")
	rts, rpos := get("remote_ts", "dynamic")
	locals, err := parseTSList(lts)
	if err != nil {
		return lpos.errorf("%s: local_ts: %v", name, err)
	}
	remotes, err := parseTSList(rts)
	if err != nil {
		return rpos.errorf("%s: remote_ts: %v", name, err)
	}
	modeS, mpos := get("mode", "tunnel")
	action := ActionNegotiate
	var mode Mode
	switch strings.ToLower(modeS) {
	case "tunnel":
		mode = ModeTunnel
	case "transport", "transport_proxy":
		mode = ModeTransport
	case "beet":
		mode = ModeBEET
	case "pass":
		action = ActionPermit
	case "drop":
		action = ActionBlock
	default:
		return mpos.errorf("%s: unknown mode %q", name, modeS)
	}
	for _, l := range locals {
		for _, r := range remotes {
			f, ok := cx.filter(name, at, l, r, action, mode)
			if ok {
				set.Filters = append(set.Filters, f)
			}
		}
	}
	if action != ActionNegotiate {
		return nil
	}
	pol := NegotiationPolicy{Name: name, Mode: mode, Origin: at}
	pol.StartAction, _ = get("start_action", "none")
	pol.CloseAction, _ = get("close_action", "none")
	rekey, kpos := get("rekey_time", "1h")
	life, err := parseDuration(rekey)
	if err != nil {
		return kpos.errorf("%s: rekey_time: %v", name, err)
	}
	bytesS, bpos := get("rekey_bytes", "0")
	bytes, err := strconv.ParseUint(bytesS, 0, 64)
	if err != nil {
		return bpos.errorf("%s: rekey_bytes %q is not a number", name, bytesS)
	}
	warnAt := func(pos srcPos) func(string) {
		return func(s string) { cx.warn(fmt.Sprintf("%s: %s: %s", pos, name, s)) }
	}
	esp, epos, hasESP := ch.value("esp_proposals")
	ah, apos, hasAH := ch.value("ah_proposals")
	if !hasESP && !hasAH {
		esp, hasESP = swUnsetESP, true
	}
	for _, p := range []struct {
		list  string
		pos   srcPos
		proto uint8
		ok    bool
		key   string
	}{{esp, epos, 50, hasESP, "esp_proposals"}, {ah, apos, 51, hasAH, "ah_proposals"}} {
		if !p.ok {
			continue
		}
		ms, err := parseProposals(p.list, p.proto, cx.version == 1, warnAt(p.pos))
		if err != nil {
			return p.pos.errorf("%s: %s: %v", name, p.key, err)
		}
		for i := range ms {
			ms[i].LifeSeconds = life
			ms[i].LifeKBytes = bytes / 1024
		}
		pol.Offers = append(pol.Offers, ms...)
	}
	set.Policies = append(set.Policies, pol)
	return nil
}

func (cx *childContext) filter(name, at string, l, r trafficSelector, action Action, mode Mode) (GenericFilter, bool) {
	proto := l.proto
	if r.proto != 0 {
		if proto != 0 && proto != r.proto {
			cx.warn(fmt.Sprintf("%s: %s: local and remote selectors name different protocols (%s, %s): no traffic matches both", at, name, ipproto.Name(l.proto), ipproto.Name(r.proto)))
			return GenericFilter{}, false
		}
		proto = r.proto
	}
	f := GenericFilter{
		Name: name, Src: l.addr, Dst: r.addr, Proto: proto, SrcPort: l.ports, DstPort: r.ports,
		Inbound: action, Outbound: action, Mirrored: true, LocalSrc: true, Conn: ConnAll, Origin: at,
	}
	if l.dynamic {
		f.Src = cx.local
	}
	if r.dynamic {
		f.Dst = cx.remote
	}
	if action == ActionNegotiate {
		f.Policy = name
		if mode == ModeTunnel {
			f.TunnelSrc, f.TunnelDst = cx.local, cx.remote
		}
	}
	return f, true
}

// parseDuration reads strongSwan times: seconds, or a number with s, m, h, d.
func parseDuration(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	mult := uint64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 's':
			s = s[:len(s)-1]
		case 'm':
			mult, s = 60, s[:len(s)-1]
		case 'h':
			mult, s = 3600, s[:len(s)-1]
		case 'd':
			mult, s = 86400, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time", s)
	}
	return n * mult, nil
}
