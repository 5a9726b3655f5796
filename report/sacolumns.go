package report

import (
	"fmt"
	"slices"
	"strings"

	"ipsecmon/analyzer"
	"ipsecmon/filters"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

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

// saColumns are every column of the Security Associations view: the
// IP Security Monitor's defaults first, in their order.
var saColumns = []*Column[*analyzer.QuickModeSA]{
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
		if q.PolicyName != "" {
			return str(q.PolicyName) // the configured policy (--policy) its selectors fall under
		}
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
		return algCell(q, ipproto.ESP, func(k *analyzer.KeyInfo) string {
			if k.Enc.IntegrityOnly() {
				return "None" // NULL, or NULL with AES-GMAC: integrity only
			}
			return encName(k)
		})
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
	{Name: "Lost In", Key: "lost_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Lost()) }, true)},
	{Name: "Lost Out", Key: "lost_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Lost()) }, false)},
	{Name: "Reordered In", Key: "reordered_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Reordered()) }, true)},
	{Name: "Reordered Out", Key: "reordered_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Reordered()) }, false)},
	{Name: "Duplicates In", Key: "duplicates_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Duplicates()) }, true)},
	{Name: "Duplicates Out", Key: "duplicates_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Duplicates()) }, false)},
	{Name: "Late In", Key: "late_in", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Late()) }, true)},
	{Name: "Late Out", Key: "late_out", Right: true, Get: perDir(func(s *analyzer.SA) Value { return num(s.Late()) }, false)},
	{Name: "Highest Seq In", Key: "highest_seq_in", Right: true, Get: perDir(highestSeq, true)},
	{Name: "Highest Seq Out", Key: "highest_seq_out", Right: true, Get: perDir(highestSeq, false)},
	{Name: "Seq Exhaustion In", Key: "seq_exhaustion_in", Right: true, Get: perDir(exhaustion, true)},
	{Name: "Seq Exhaustion Out", Key: "seq_exhaustion_out", Right: true, Get: perDir(exhaustion, false)},
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

func encName(k *analyzer.KeyInfo) string { return k.Enc.DisplayKey(k.EncKeyBits) }

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
