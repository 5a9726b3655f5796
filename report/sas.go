package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/filters"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

type valueKind uint8

const (
	vNull valueKind = iota
	vString
	vNumber
	vBytes
	vTime
	vAddr
)

// Value is one cell of the SA view. Null means the input cannot tell.
type Value struct {
	kind valueKind
	s    string
	n    uint64
	t    time.Time
	a    netip.Addr
}

func str(s string) Value       { return Value{kind: vString, s: s} }
func num(n uint64) Value       { return Value{kind: vNumber, n: n} }
func byteCount(n uint64) Value { return Value{kind: vBytes, n: n} }
func addr(a netip.Addr) Value {
	if !a.IsValid() {
		return Value{}
	}
	return Value{kind: vAddr, a: a}
}
func timeAt(ns int64) Value {
	if ns == 0 {
		return Value{}
	}
	return Value{kind: vTime, t: time.Unix(0, ns).UTC()}
}

// Null reports an unknown value.
func (v Value) Null() bool { return v.kind == vNull }

// Text is the value as a table shows it.
func (v Value) Text() string {
	switch v.kind {
	case vString:
		return v.s
	case vNumber:
		return humanize.Comma(int64(v.n))
	case vBytes:
		if v.n < 1000 {
			return strconv.FormatUint(v.n, 10) + " B"
		}
		return humanize.Bytes(v.n)
	case vTime:
		return v.t.Format("2006-01-02 15:04:05.000")
	case vAddr:
		return v.a.String()
	}
	return "-"
}

// Plain is the value as CSV writes it: exact numbers, RFC 3339 times.
func (v Value) Plain() string {
	switch v.kind {
	case vNumber, vBytes:
		return strconv.FormatUint(v.n, 10)
	case vTime:
		return v.t.Format(time.RFC3339Nano)
	case vNull:
		return ""
	}
	return v.Text()
}

// MarshalJSON writes numbers as numbers and unknowns as null.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case vNull:
		return []byte("null"), nil
	case vNumber, vBytes:
		return strconv.AppendUint(nil, v.n, 10), nil
	case vTime:
		return json.Marshal(v.t.Format(time.RFC3339Nano))
	}
	return json.Marshal(v.Text())
}

func compareValues(a, b Value) int {
	if a.kind == vNull || b.kind == vNull {
		// Unknowns sort last whatever the direction asked for is applied by the caller.
		return cmp.Compare(boolInt(a.kind == vNull), boolInt(b.kind == vNull))
	}
	switch {
	case a.kind == vAddr && b.kind == vAddr:
		return a.a.Compare(b.a)
	case (a.kind == vNumber || a.kind == vBytes) && (b.kind == vNumber || b.kind == vBytes):
		return cmp.Compare(a.n, b.n)
	case a.kind == vTime && b.kind == vTime:
		return a.t.Compare(b.t)
	}
	return strings.Compare(a.Text(), b.Text())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Column is one column of the SA view.
type Column struct {
	Name    string // as the IP Security Monitor titles it
	Key     string // snake_case JSON key
	Default bool   // one of the seed's default columns
	Right   bool   // align right (numbers)
	Get     func(*analyzer.QuickModeSA) Value
}

func spiOf(s *analyzer.SA) Value {
	if s == nil {
		return Value{}
	}
	return str(fmt.Sprintf("0x%08x", s.Key.SPI))
}

func perDir(get func(*analyzer.SA) Value, in bool) func(*analyzer.QuickModeSA) Value {
	return func(q *analyzer.QuickModeSA) Value {
		s := q.Out
		if in {
			s = q.In
		}
		if s == nil {
			return Value{}
		}
		return get(s)
	}
}

// inner returns the inner traffic description shared by all members of the
// row, when it is known and uniform.
func inner(q *analyzer.QuickModeSA) (*analyzer.SA, bool) {
	var ref *analyzer.SA
	for _, s := range q.SAs() {
		seen, uniform := s.InnerKnown()
		if !seen {
			continue
		}
		if !uniform {
			return nil, false
		}
		if ref != nil && ref.InnerProto != s.InnerProto {
			return nil, false
		}
		if ref == nil {
			ref = s
		}
	}
	return ref, ref != nil
}

func ipsecProtos(q *analyzer.QuickModeSA) (esp, ah, bundle bool) {
	for _, s := range q.SAs() {
		if s.Key.Proto == ipproto.ESP {
			esp = true
		} else {
			ah = true
			if s.CarriesESP() {
				bundle = true
			}
		}
	}
	return
}

func tunnelEndpoint(mine bool) func(*analyzer.QuickModeSA) Value {
	return func(q *analyzer.QuickModeSA) Value {
		switch q.Mode() {
		case analyzer.ModeTunnel:
			if mine {
				return addr(q.MyAddr)
			}
			return addr(q.PeerAddr)
		case analyzer.ModeTransport:
			return str("None")
		}
		return Value{}
	}
}

// Columns lists every SA view column: the seed's defaults first, in their order.
var Columns = []*Column{
	{Name: "Me", Key: "me", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if sel, ok := selectors(q, true); ok {
			return str(selectorText(sel))
		}
		return endpoint(q, true)
	}},
	{Name: "Peer", Key: "peer", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if sel, ok := selectors(q, false); ok {
			return str(selectorText(sel))
		}
		return endpoint(q, false)
	}},
	{Name: "Protocol", Key: "protocol", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if sel, ok := selectors(q, true); ok && len(sel) == 1 {
			return str(ipproto.Name(sel[0].Protocol))
		}
		if s, ok := inner(q); ok {
			return str(ipproto.Name(s.InnerProto))
		}
		return Value{}
	}},
	{Name: "My Port", Key: "my_port", Default: true, Right: true, Get: func(q *analyzer.QuickModeSA) Value { return port(q, true) }},
	{Name: "Peer Port", Key: "peer_port", Default: true, Right: true, Get: func(q *analyzer.QuickModeSA) Value { return port(q, false) }},
	{Name: "Negotiation Policy", Key: "negotiation_policy", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if q.Policy > 0 {
			return str(fmt.Sprintf("policy %d", q.Policy))
		}
		return Value{}
	}},
	{Name: "AH Integrity", Key: "ah_integrity", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if _, ah, _ := ipsecProtos(q); !ah {
			return str("None")
		}
		return algCell(q, ipproto.AH, func(k *analyzer.KeyInfo) string { return k.Auth.Display() })
	}},
	{Name: "ESP Confidentiality", Key: "esp_confidentiality", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if esp, _, bundle := ipsecProtos(q); !esp && !bundle {
			return str("None")
		}
		return algCell(q, ipproto.ESP, encName)
	}},
	{Name: "ESP Integrity", Key: "esp_integrity", Default: true, Get: func(q *analyzer.QuickModeSA) Value {
		if esp, _, bundle := ipsecProtos(q); !esp && !bundle {
			return str("None")
		}
		return algCell(q, ipproto.ESP, func(k *analyzer.KeyInfo) string {
			if k.Enc.AEAD() {
				return encName(k) // integrity comes with the combined-mode cipher
			}
			return k.Auth.Display()
		})
	}},
	{Name: "My Tunnel Endpoint", Key: "my_tunnel_endpoint", Default: true, Get: tunnelEndpoint(true)},
	{Name: "Peer Tunnel Endpoint", Key: "peer_tunnel_endpoint", Default: true, Get: tunnelEndpoint(false)},

	{Name: "SPI In", Key: "spi_in", Get: func(q *analyzer.QuickModeSA) Value { return spiOf(q.In) }},
	{Name: "SPI Out", Key: "spi_out", Get: func(q *analyzer.QuickModeSA) Value { return spiOf(q.Out) }},
	{Name: "IPsec Protocol", Key: "ipsec_protocol", Get: func(q *analyzer.QuickModeSA) Value {
		esp, ah, _ := ipsecProtos(q)
		switch {
		case esp && ah:
			return str("AH+ESP")
		case ah:
			return str("AH")
		}
		return str("ESP")
	}},
	{Name: "Encapsulation", Key: "encapsulation", Get: func(q *analyzer.QuickModeSA) Value {
		s := q.Any()
		if !s.Key.Encapsulated() {
			return str("none")
		}
		my, peer := s.Key.SrcPort, s.Key.DstPort
		if s == q.In {
			my, peer = s.Key.DstPort, s.Key.SrcPort
		}
		return str(fmt.Sprintf("UDP %d-%d", my, peer))
	}},
	{Name: "Mode", Key: "mode", Get: func(q *analyzer.QuickModeSA) Value {
		if m := q.Mode(); m != analyzer.ModeUnknown {
			return str(m.String())
		}
		return Value{}
	}},
	{Name: "Packets In", Key: "packets_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Accepted) }, true)},
	{Name: "Packets Out", Key: "packets_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Accepted) }, false)},
	{Name: "Bytes In", Key: "bytes_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return byteCount(s.Bytes) }, true)},
	{Name: "Bytes Out", Key: "bytes_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return byteCount(s.Bytes) }, false)},
	{Name: "Replayed In", Key: "replayed_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Replayed) }, true)},
	{Name: "Replayed Out", Key: "replayed_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Replayed) }, false)},
	{Name: "Plaintext Bytes In", Key: "plaintext_bytes_in", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.PlainBytes }, true), true)},
	{Name: "Plaintext Bytes Out", Key: "plaintext_bytes_out", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.PlainBytes }, true), false)},
	{Name: "Not Authenticated In", Key: "not_authenticated_in", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.NotAuthenticated }, false), true)},
	{Name: "Not Authenticated Out", Key: "not_authenticated_out", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.NotAuthenticated }, false), false)},
	{Name: "Not Decrypted In", Key: "not_decrypted_in", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.NotDecrypted }, false), true)},
	{Name: "Not Decrypted Out", Key: "not_decrypted_out", Right: true, Get: perDir(keyedCount(func(s *analyzer.SA) uint64 { return s.NotDecrypted }, false), false)},
	{Name: "Unverified In", Key: "unverified_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Unverified) }, true)},
	{Name: "Unverified Out", Key: "unverified_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Unverified) }, false)},
	{Name: "ESN", Key: "esn", Get: func(q *analyzer.QuickModeSA) Value {
		for _, s := range q.SAs() {
			if s.Keys() != nil {
				if s.ESN {
					return str("on")
				}
				return str("off")
			}
		}
		return Value{}
	}},
	{Name: "Keys Missing", Key: "keys_missing", Get: func(q *analyzer.QuickModeSA) Value {
		// Why a negotiated pair's traffic is not verified: e.g. PFS, whose
		// Diffie-Hellman secret is not on the wire.
		for _, s := range q.SAs() {
			if s.Keyed() {
				continue
			}
			if k := s.Keys(); k != nil && k.Unusable != "" {
				return str("key unusable: " + k.Unusable)
			}
			if n := s.Negotiation(); n != nil && n.Child.KeysReason != "" {
				return str(n.Child.KeysReason)
			}
			return str("no keys given")
		}
		return Value{}
	}},
	{Name: "Key Source", Key: "key_source", Get: func(q *analyzer.QuickModeSA) Value {
		var srcs []string
		for _, s := range q.SAs() {
			if k := s.Keys(); k != nil && !slices.Contains(srcs, k.Origin) {
				srcs = append(srcs, k.Origin)
			}
		}
		if len(srcs) == 0 {
			return Value{}
		}
		return str(strings.Join(srcs, ", "))
	}},
	{Name: "Wire Packets In", Key: "wire_packets_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Packets()) }, true)},
	{Name: "Wire Packets Out", Key: "wire_packets_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Packets()) }, false)},
	{Name: "Gaps In", Key: "gaps_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Gaps()) }, true)},
	{Name: "Gaps Out", Key: "gaps_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Gaps()) }, false)},
	{Name: "First Seen", Key: "first_seen", Get: func(q *analyzer.QuickModeSA) Value {
		var t int64
		for _, s := range q.SAs() {
			if t == 0 || s.FirstSeen < t {
				t = s.FirstSeen
			}
		}
		return timeAt(t)
	}},
	{Name: "Last Seen", Key: "last_seen", Get: func(q *analyzer.QuickModeSA) Value {
		var t int64
		for _, s := range q.SAs() {
			t = max(t, s.LastSeen)
		}
		return timeAt(t)
	}},
	{Name: "State", Key: "state", Get: func(q *analyzer.QuickModeSA) Value {
		var states []string
		for _, s := range q.SAs() {
			if st := s.State.String(); !slices.Contains(states, st) {
				states = append(states, st)
			}
		}
		return str(strings.Join(states, "/"))
	}},
	{Name: "IKE SA", Key: "ike_sa", Right: true, Get: func(q *analyzer.QuickModeSA) Value {
		if c := child(q); c != nil {
			return num(uint64(c.IKESA.ID))
		}
		return Value{}
	}},
	{Name: "Negotiated By", Key: "negotiated_by", Get: func(q *analyzer.QuickModeSA) Value {
		if c := child(q); c != nil {
			return str(c.Exchange)
		}
		return Value{}
	}},
	{Name: "PFS Group", Key: "pfs_group", Get: func(q *analyzer.QuickModeSA) Value {
		if c := child(q); c != nil {
			if c.PFSGroup == "" {
				return str("None")
			}
			return str(c.PFSGroup)
		}
		return Value{}
	}},
	{Name: "Lifetime", Key: "lifetime", Get: func(q *analyzer.QuickModeSA) Value {
		c := child(q)
		if c == nil || (c.LifeSeconds == 0 && c.LifeKilobytes == 0) {
			return Value{}
		}
		var parts []string
		if c.LifeSeconds > 0 {
			parts = append(parts, fmt.Sprintf("%ds", c.LifeSeconds))
		}
		if c.LifeKilobytes > 0 {
			parts = append(parts, fmt.Sprintf("%dKB", c.LifeKilobytes))
		}
		return str(strings.Join(parts, "/"))
	}},
	{Name: "Rekey Of", Key: "rekey_of", Right: true, Get: func(q *analyzer.QuickModeSA) Value {
		if c := child(q); c != nil && c.RekeyOf != 0 {
			return num(uint64(c.RekeyOf))
		}
		return Value{}
	}},
	{Name: "Child SA", Key: "child_sa", Right: true, Get: func(q *analyzer.QuickModeSA) Value {
		if c := child(q); c != nil {
			return num(uint64(c.ID))
		}
		return Value{}
	}},
	{Name: "Pairing", Key: "pairing", Get: func(q *analyzer.QuickModeSA) Value {
		if q.Transit {
			if q.Pairing == "" {
				return str("lone (transit)")
			}
			return str(q.Pairing + " (transit)")
		}
		if q.Pairing == "" {
			return str("lone")
		}
		return str(q.Pairing)
	}},
}

// algCell shows an algorithm from the keys of the row's SAs of protocol
// proto; both directions normally agree, and when they do not both are shown.
func algCell(q *analyzer.QuickModeSA, proto uint8, name func(*analyzer.KeyInfo) string) Value {
	var names []string
	for _, s := range q.SAs() {
		if k := s.Keys(); k != nil && s.Key.Proto == proto {
			if n := name(k); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return Value{}
	}
	return str(strings.Join(names, " / "))
}

func encName(k *analyzer.KeyInfo) string {
	base, _, _ := strings.Cut(k.Enc.Display(), " (")
	if k.EncKeyBits == 0 || k.Enc == algo.EncNull {
		return base
	}
	n := fmt.Sprintf("%s-%d", base, k.EncKeyBits)
	if k.Enc.AEAD() && k.Enc.ICVLen() != 16 {
		n += fmt.Sprintf(" (%d-byte ICV)", k.Enc.ICVLen())
	}
	return n
}

// keyedCount is a per-SA figure that only keys can give: null for SAs without them.
func keyedCount(get func(*analyzer.SA) uint64, bytes bool) func(*analyzer.SA) Value {
	return func(s *analyzer.SA) Value {
		if !s.Keyed() {
			return Value{}
		}
		if bytes {
			return byteCount(get(s))
		}
		return num(get(s))
	}
}

// endpoint is the Me or Peer column: the outer address in transport mode (or
// when the mode is unknown); in tunnel mode the inner address the traffic
// showed, the tunnel's outer addresses being in the tunnel endpoint columns.
func endpoint(q *analyzer.QuickModeSA, mine bool) Value {
	if q.Mode() == analyzer.ModeTunnel {
		if q.In != nil {
			if src, dst := q.In.InnerAddrs(); src.IsValid() {
				if mine {
					return addr(dst)
				}
				return addr(src)
			}
		}
		if q.Out != nil {
			if src, dst := q.Out.InnerAddrs(); src.IsValid() {
				if mine {
					return addr(src)
				}
				return addr(dst)
			}
		}
	}
	if mine {
		return addr(q.MyAddr)
	}
	return addr(q.PeerAddr)
}

// child returns the IKE negotiation of the row, if any.
func child(q *analyzer.QuickModeSA) *ikestate.ChildSA {
	for _, s := range q.SAs() {
		if n := s.Negotiation(); n != nil {
			return n.Child
		}
	}
	return nil
}

// selectors returns my (or the peer's) traffic selectors from the IKE
// negotiation, from the side filters.ChildSides takes for the row's Me.
func selectors(q *analyzer.QuickModeSA, mine bool) ([]ikestate.Selector, bool) {
	c := child(q)
	if c == nil {
		return nil, false
	}
	sel, peer, _, _ := filters.ChildSides(c, q.MyAddr)
	if !mine {
		sel = peer
	}
	return sel, len(sel) > 0
}

func selectorText(sel []ikestate.Selector) string {
	t := make([]string, len(sel))
	for i, s := range sel {
		t[i] = s.Text
		if s.Prefix.IsValid() {
			t[i] = s.Prefix.String()
			if s.Prefix.IsSingleIP() {
				t[i] = s.Prefix.Addr().String()
			}
			if s.Prefix.Bits() == 0 {
				t[i] = "Any"
			}
		}
	}
	return strings.Join(t, ", ")
}

// port is the My/Peer Port column: from the selectors when negotiated, else
// from the traffic when visible.
func port(q *analyzer.QuickModeSA, mine bool) Value {
	if sel, ok := selectors(q, mine); ok && len(sel) == 1 {
		s := sel[0]
		switch {
		case s.StartPort == 0 && (s.EndPort == 0 || s.EndPort == 65535):
			return str("Any")
		case s.StartPort == s.EndPort:
			return num(uint64(s.StartPort))
		}
		return str(fmt.Sprintf("%d-%d", s.StartPort, s.EndPort))
	}
	return innerPort(q, mine)
}

func innerPort(q *analyzer.QuickModeSA, mine bool) Value {
	s, ok := inner(q)
	if !ok || !s.HasInnerPorts() {
		return Value{}
	}
	// For an inbound SA the inner destination port is mine.
	p := s.InnerSrcPort
	if (s == q.In) == mine {
		p = s.InnerDstPort
	}
	return num(uint64(p))
}

func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
}

// FindColumn looks a column up by title or key, ignoring case, spaces,
// underscores and dashes.
func FindColumn(name string) (*Column, error) {
	n := normName(name)
	for _, c := range Columns {
		if normName(c.Name) == n || normName(c.Key) == n {
			return c, nil
		}
	}
	var keys []string
	for _, c := range Columns {
		keys = append(keys, c.Key)
	}
	return nil, fmt.Errorf("unknown column %q (columns: %s)", name, strings.Join(keys, ", "))
}

// SelectColumns applies --columns specs to the defaults: a list without
// +/- prefixes sets the columns; "+col" adds one, "-col" removes one. With
// no specs the defaults are the seed's columns, or every column when all is set.
func SelectColumns(specs []string, all bool) ([]*Column, error) {
	var items []string
	for _, s := range specs {
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
	}
	var cols []*Column
	set := false
	for _, it := range items {
		if it[0] != '+' && it[0] != '-' {
			set = true
		}
	}
	if !set {
		for _, c := range Columns {
			if c.Default || all {
				cols = append(cols, c)
			}
		}
	}
	for _, it := range items {
		op := byte(0)
		if it[0] == '+' || it[0] == '-' {
			op, it = it[0], it[1:]
		}
		c, err := FindColumn(it)
		if err != nil {
			return nil, err
		}
		i := slices.Index(cols, c)
		switch {
		case op == '-':
			if i >= 0 {
				cols = slices.Delete(cols, i, i+1)
			}
		case i < 0:
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no columns left to show")
	}
	return cols, nil
}

// SortKey is one --sort item.
type SortKey struct {
	Col  *Column
	Desc bool
}

// ParseSort reads --sort specs: column names, "-" prefix for descending.
func ParseSort(specs []string) ([]SortKey, error) {
	var keys []SortKey
	for _, s := range specs {
		for _, it := range strings.Split(s, ",") {
			it = strings.TrimSpace(it)
			if it == "" {
				continue
			}
			desc := false
			if it[0] == '-' || it[0] == '+' {
				desc, it = it[0] == '-', it[1:]
			}
			c, err := FindColumn(it)
			if err != nil {
				return nil, err
			}
			keys = append(keys, SortKey{c, desc})
		}
	}
	return keys, nil
}

// SortRows orders rows by the keys; unknown values sort last either way.
func SortRows(rows []*analyzer.QuickModeSA, keys []SortKey) {
	slices.SortStableFunc(rows, func(a, b *analyzer.QuickModeSA) int {
		for _, k := range keys {
			va, vb := k.Col.Get(a), k.Col.Get(b)
			if va.Null() != vb.Null() {
				if va.Null() {
					return 1
				}
				return -1
			}
			c := compareValues(va, vb)
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// SARowsJSON renders rows as a JSON array of objects keyed by column key.
func SARowsJSON(rows []*analyzer.QuickModeSA, cols []*Column) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, q := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		o := newObject()
		for _, c := range cols {
			if err := o.add(c.Key, c.Get(q)); err != nil {
				return nil, err
			}
		}
		b.Write(o.bytes())
	}
	b.WriteString("]")
	return b.Bytes(), nil
}

// WriteSAs prints the Security Associations view.
func WriteSAs(w io.Writer, rows []*analyzer.QuickModeSA, cols []*Column, f Format) error {
	switch f {
	case JSON:
		raw, err := SARowsJSON(rows, cols)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = w.Write(out.Bytes())
		return err
	}
	header := make([]string, len(cols))
	right := make([]bool, len(cols))
	for i, c := range cols {
		header[i] = c.Name
		right[i] = c.Right
	}
	var cells [][]string
	for _, q := range rows {
		r := make([]string, len(cols))
		for i, c := range cols {
			if f == CSV {
				r[i] = c.Get(q).Plain()
			} else {
				r[i] = c.Get(q).Text()
			}
		}
		cells = append(cells, r)
	}
	if f == CSV {
		keys := make([]string, len(cols))
		for i, c := range cols {
			keys[i] = c.Key
		}
		return WriteCSV(w, keys, cells)
	}
	return WriteTable(w, header, cells, right)
}
