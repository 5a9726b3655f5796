// Package policy reads IPsec policy sources into one model that keeps what
// the administrator wrote: generic filters whose addresses may still be the
// Windows keywords (me, dns, dhcp, wins, gateway, any), and negotiation
// policies that list the offered security methods in preference order.
//
// Sources: `ip xfrm policy` output, strongSwan swanctl.conf and
// `swanctl --list-conns`, and ipsecmon's native policy format (README.md).
// The format of a file is detected from its content. Turning keywords into
// addresses, weights and matching are the filters package's job.
package policy

import (
	"fmt"
	"strings"

	"ipsecmon/algo"
)

// Action is what a filter does with a packet in one direction, in the words
// of the Windows IP Security Monitor.
type Action uint8

const (
	ActionUnset     Action = iota // the source says nothing for this direction
	ActionPermit                  // pass in clear text
	ActionBlock                   // discard
	ActionNegotiate               // "Negotiate Security": must be protected by an SA
)

var actionNames = [...]struct{ name, display string }{
	ActionUnset:     {"", ""},
	ActionPermit:    {"permit", "Permit"},
	ActionBlock:     {"block", "Block"},
	ActionNegotiate: {"negotiate", "Negotiate Security"},
}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a].name
	}
	return "unknown"
}

// Display is the Windows wording ("Negotiate Security").
func (a Action) Display() string {
	if int(a) < len(actionNames) {
		return actionNames[a].display
	}
	return "unknown"
}

// ParseAction reads permit, block or negotiate (also "negotiate-security",
// "allow", "pass", "drop", case-insensitive).
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(s) {
	case "permit", "allow", "pass":
		return ActionPermit, nil
	case "block", "drop", "discard":
		return ActionBlock, nil
	case "negotiate", "negotiate-security", "negotiate security", "protect":
		return ActionNegotiate, nil
	}
	return ActionUnset, fmt.Errorf("unknown action %q (want permit, block or negotiate)", s)
}

// ConnType is the Windows rule's connection type.
type ConnType uint8

const (
	ConnAll ConnType = iota
	ConnLAN
	ConnRemoteAccess
)

func (c ConnType) String() string {
	switch c {
	case ConnLAN:
		return "lan"
	case ConnRemoteAccess:
		return "remote-access"
	}
	return "all"
}

// Display is the IP Security Monitor's wording.
func (c ConnType) Display() string {
	switch c {
	case ConnLAN:
		return "LAN"
	case ConnRemoteAccess:
		return "Remote Access"
	}
	return "All"
}

// ParseConnType reads all, lan, remote-access (netsh's "dialup" too).
func ParseConnType(s string) (ConnType, error) {
	switch strings.ToLower(s) {
	case "all", "":
		return ConnAll, nil
	case "lan":
		return ConnLAN, nil
	case "remote-access", "remoteaccess", "dialup", "remote":
		return ConnRemoteAccess, nil
	}
	return ConnAll, fmt.Errorf("unknown connection type %q (want all, lan or remote-access)", s)
}

// Mode is the IPsec mode a negotiation policy asks for.
type Mode uint8

const (
	ModeUnknown Mode = iota
	ModeTransport
	ModeTunnel
	ModeBEET
)

func (m Mode) String() string {
	switch m {
	case ModeTransport:
		return "transport"
	case ModeTunnel:
		return "tunnel"
	case ModeBEET:
		return "beet"
	}
	return ""
}

// GenericFilter is one filter as its source states it, before keywords are
// expanded: the IP Security Monitor's Generic Filters view.
type GenericFilter struct {
	Name     string
	Src, Dst Addr
	Proto    uint8 // IP protocol; 0 = any
	// SrcPort and DstPort: for TCP, UDP and SCTP the ports; for ICMP and
	// ICMPv6 the type and the code (RFC 4301 §4.4.1.1).
	SrcPort, DstPort Ports
	Inbound          Action
	Outbound         Action
	// Mirrored: the filter also matches packets from Dst to Src (Windows'
	// "Mirrored" check box; IPsec policies of strongSwan children are both ways).
	Mirrored bool
	// LocalSrc: Src is this host's side although it is not the `me` keyword
	// (strongSwan's local_ts), so no inbound filter has it as source.
	LocalSrc bool
	// Policy names the NegotiationPolicy used by ActionNegotiate.
	Policy string
	Conn   ConnType
	// TunnelSrc and TunnelDst are the tunnel endpoints for packets from Src
	// to Dst; Kind AddrNone for transport mode.
	TunnelSrc, TunnelDst Addr
	// Priority is the source's own precedence (xfrm: lower wins), shown but
	// not used for Windows weights.
	Priority    uint32
	HasPriority bool
	Origin      string // "file:line"
}

// Tunnel reports a tunnel-mode filter.
func (f *GenericFilter) Tunnel() bool {
	return f.TunnelSrc.Kind != AddrNone || f.TunnelDst.Kind != AddrNone
}

// SecurityMethod is one offer of a negotiation policy (a Windows "security
// method", a strongSwan proposal with one algorithm of each kind).
type SecurityMethod struct {
	Proto uint8 // 50 ESP, 51 AH; an AH+ESP bundle is ESP with AHAuth set
	Enc   algo.Enc
	// EncKeyBits is the key length without salt; 0 when the algorithm has one
	// length only or the source does not say.
	EncKeyBits int
	Auth       algo.Auth // ESP integrity (AuthNone with AEAD or none), or AH's
	AHAuth     algo.Auth // AuthUnknown unless this is an AH+ESP bundle
	// LifeSeconds and LifeKBytes: when a new key is made; 0 = not stated.
	LifeSeconds uint64
	LifeKBytes  uint64
	PFSGroup    uint16 // Diffie-Hellman group (IANA IKEv2 transform type 4); 0 = no PFS
	ESN         bool
}

// String renders the method in netsh's qmsecmethods style with ipsecmon's
// algorithm names, e.g. "ESP[aes-cbc-256,hmac-sha1-96]:100000k/3600s pfs=14".
func (m SecurityMethod) String() string {
	var b strings.Builder
	if m.Proto == 51 || m.AHAuth != algo.AuthUnknown {
		auth := m.Auth
		if m.Proto != 51 {
			auth = m.AHAuth
		}
		fmt.Fprintf(&b, "AH[%s]", auth)
		if m.Proto != 51 {
			b.WriteByte('+')
		}
	}
	if m.Proto != 51 {
		enc := m.Enc.String()
		if m.EncKeyBits != 0 {
			enc = fmt.Sprintf("%s-%d", enc, m.EncKeyBits)
		}
		fmt.Fprintf(&b, "ESP[%s,%s]", enc, m.Auth)
	}
	if m.LifeKBytes != 0 || m.LifeSeconds != 0 {
		fmt.Fprintf(&b, ":%dk/%ds", m.LifeKBytes, m.LifeSeconds)
	}
	if m.PFSGroup != 0 {
		fmt.Fprintf(&b, " pfs=%d", m.PFSGroup)
	}
	if m.ESN {
		b.WriteString(" esn")
	}
	return b.String()
}

// NegotiationPolicy is a named list of offers in preference order.
type NegotiationPolicy struct {
	Name string
	// Offers in preference order; empty when the source does not list
	// algorithms (`ip xfrm policy`, `swanctl --list-conns`).
	Offers []SecurityMethod
	// Protos lists the IPsec protocols required when the algorithms are not
	// known (xfrm templates); empty otherwise.
	Protos []uint8
	Mode   Mode
	// Soft: fall back to clear text with peers that do not answer IKE
	// (Windows' "Allow unsecured communication with non-IPsec-aware computers").
	Soft bool
	// StartAction and CloseAction are strongSwan's (none, trap, start, ...).
	StartAction, CloseAction string
	Origin                   string
}

// Set is everything read from one or more policy sources.
type Set struct {
	Filters  []GenericFilter
	Policies []NegotiationPolicy
	// Warnings are findings that did not stop the reading: includes not
	// followed, algorithms outside ipsecmon's vocabulary, ignored lines.
	Warnings []string
}

// Policy returns the negotiation policy of that name, or nil.
func (s *Set) Policy(name string) *NegotiationPolicy {
	for i := range s.Policies {
		if s.Policies[i].Name == name {
			return &s.Policies[i]
		}
	}
	return nil
}

// Add appends another set (several --policy files).
func (s *Set) Add(o *Set) {
	s.Filters = append(s.Filters, o.Filters...)
	s.Policies = append(s.Policies, o.Policies...)
	s.Warnings = append(s.Warnings, o.Warnings...)
}

// lineError is the one error shape of this package: "policy: FILE:LINE: what".
func lineError(file string, line int, format string, args ...any) error {
	return fmt.Errorf("policy: %s:%d: %s", file, line, fmt.Sprintf(format, args...))
}

func origin(file string, line int) string { return fmt.Sprintf("%s:%d", file, line) }
