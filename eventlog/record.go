// Package eventlog writes ipsecmon's events (package event's vocabulary,
// raised by the analyzer and the IKE tracker) as a log a pipeline can ship:
// one JSON object per line in a documented, versioned schema, to a file
// that Vector, Fluent Bit or logrotate can rotate under it.
//
// The schema (contrib/events/ipsecmon-event.schema.json, README "Monitoring
// many gateways") uses the Elastic Common Schema's field names where ECS
// has the field (@timestamp, event.*, source.ip, destination.port,
// network.transport, related.ip, error.message) and Suricata's EVE names
// for IKE (ike.version_major, ike.init_spi, ike.resp_spi, ike.message_id,
// ike.role); IPsec SAs are under ipsec.* (ipsec.spi), ipsecmon's own
// records under ipsecmon.*. SchemaVersion changes when a field is renamed,
// removed or changes meaning; fields are only added within a version.
package eventlog

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/event"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// SchemaVersion is the version of the record's schema, in every record.
const SchemaVersion = 1

// ECSVersion is the Elastic Common Schema release whose field names and
// allowed values the record follows where they overlap.
const ECSVersion = "8.11.0"

// Record is one line of the event log.
type Record struct {
	Timestamp     time.Time `json:"@timestamp"`
	SchemaVersion int       `json:"schema_version"`
	ECS           struct {
		Version string `json:"version"`
	} `json:"ecs"`
	Event       Event     `json:"event"`
	Source      *Endpoint `json:"source,omitempty"`
	Destination *Endpoint `json:"destination,omitempty"`
	Network     *Network  `json:"network,omitempty"`
	Related     *Related  `json:"related,omitempty"`
	Error       *Error    `json:"error,omitempty"`
	IPsec       *IPsec    `json:"ipsec,omitempty"`
	IKE         *IKE      `json:"ike,omitempty"`
	Ipsecmon    Ipsecmon  `json:"ipsecmon"`
}

// Event is ECS's event.* set.
type Event struct {
	// Kind is "alert" for anomalies (packets a receiver drops or a policy
	// forbids), "event" otherwise.
	Kind     string   `json:"kind"`
	Category []string `json:"category"` // always ["network"]
	Type     []string `json:"type"`     // ECS's expected values for network
	// Action is the event's kind in ipsecmon's vocabulary (package event),
	// e.g. "child_sa_negotiated", "bad_spi".
	Action  string `json:"action"`
	Outcome string `json:"outcome,omitempty"` // success, failure; absent when neither applies
	Reason  string `json:"reason,omitempty"`  // ipsecmon's detail, e.g. "delete payload"
	Module  string `json:"module"`            // "ipsecmon"
	Dataset string `json:"dataset"`           // "ipsecmon.events"
}

// Endpoint is ECS's source.* or destination.*.
type Endpoint struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port,omitempty"`
}

// Network is ECS's network.*: the outermost transport the event is about
// (udp for IKE and UDP-encapsulated ESP, esp, ah).
type Network struct {
	Transport  string `json:"transport"`
	IANANumber string `json:"iana_number"`
}

// Related is ECS's related.*: every address the event names.
type Related struct {
	IP []string `json:"ip"`
}

// Error is ECS's error.*.
type Error struct {
	Message string `json:"message"`
}

// IPsec names the ESP/AH SA or pair an event is about.
type IPsec struct {
	Protocol string `json:"protocol,omitempty"` // esp, ah
	// SPI is the SA's, as 0x and 8 hex digits: the SA a packet event is
	// about, or the SA a Delete named.
	SPI string `json:"spi,omitempty"`
	// InitiatorSPI and ResponderSPI are a negotiated pair's: the SPI each
	// peer receives on.
	InitiatorSPI string `json:"initiator_spi,omitempty"`
	ResponderSPI string `json:"responder_spi,omitempty"`
	Mode         string `json:"mode,omitempty"` // tunnel, transport
}

// IKE names the IKE SA and message, with Suricata EVE's field names.
type IKE struct {
	VersionMajor int     `json:"version_major,omitempty"`
	InitSPI      string  `json:"init_spi,omitempty"` // 16 hex digits
	RespSPI      string  `json:"resp_spi,omitempty"`
	MessageID    *uint32 `json:"message_id,omitempty"`
	// Exchange is the exchange's name (IKE_AUTH, Quick Mode, ...); EVE's
	// exchange_type is its number, which ipsecmon does not write.
	Exchange string `json:"exchange,omitempty"`
	Role     string `json:"role,omitempty"` // who sent the message: initiator, responder
}

// Ipsecmon holds what only ipsecmon says: where the event was seen, how
// many occurrences a line stands for, and the tracker's records. The
// records are informative: their fields are those of the JSON views
// (mmsas, tunnels), which may gain fields.
type Ipsecmon struct {
	Input string `json:"input,omitempty"` // capture file or interface
	Frame int    `json:"frame,omitempty"` // 1-based packet number in Input, as Wireshark numbers them
	// Count is how many occurrences an anomaly line stands for (at most
	// one line per SA and kind per second).
	Count       uint64                `json:"count,omitempty"`
	Tunnel      *analyzer.TunnelKey   `json:"tunnel,omitempty"`
	Rekey       *analyzer.Rekey       `json:"rekey,omitempty"`
	Message     *ikestate.MessageInfo `json:"message,omitempty"`
	IKESA       *ikestate.IKESA       `json:"ike_sa,omitempty"`
	Negotiation *ikestate.Negotiation `json:"negotiation,omitempty"`
	ChildSA     *ikestate.ChildSA     `json:"child_sa,omitempty"`
}

// class is how a kind maps onto ECS's event.kind, event.type (the values
// ECS expects with category network) and event.outcome.
type class struct {
	kind    string
	types   []string
	outcome string
}

var (
	start   = []string{"connection", "start"}
	end     = []string{"connection", "end"}
	info    = []string{"info"}
	changed = []string{"connection", "info"}
	denied  = []string{"denied"}
)

var classes = map[event.Kind]class{
	event.Message:               {"event", []string{"protocol"}, ""},
	event.MessageError:          {"event", []string{"protocol"}, "failure"},
	event.IKESAEstablished:      {"event", start, "success"},
	event.IKESARekeyed:          {"event", changed, "success"},
	event.IKESADeleted:          {"event", end, ""},
	event.IKESAFailed:           {"event", end, "failure"},
	event.IKEKeysMismatch:       {"event", info, "failure"},
	event.NegotiationStarted:    {"event", start, ""},
	event.NegotiationFailed:     {"event", end, "failure"},
	event.NegotiationPending:    {"event", info, ""},
	event.ChildSANegotiated:     {"event", start, "success"},
	event.ChildSARekeyed:        {"event", changed, "success"},
	event.ChildSADeleted:        {"event", end, ""},
	event.ChildSAExpired:        {"event", end, ""},
	event.SAAdded:               {"event", start, ""},
	event.SAEvicted:             {"event", end, ""},
	event.SATableFull:           {"event", info, "failure"},
	event.Replay:                {"alert", denied, "failure"},
	event.AuthenticationFailure: {"alert", denied, "failure"},
	event.DecryptionFailure:     {"alert", denied, "failure"},
	event.BadSPI:                {"alert", denied, "failure"},
	event.PolicyViolation:       {"alert", info, ""},
	event.KeyUnusable:           {"event", info, "failure"},
	event.Rekey:                 {"event", changed, ""},
}

// FromEvent turns one analyzer event into its record.
func FromEvent(e analyzer.Event) Record {
	c := classes[e.Kind]
	r := Record{Timestamp: e.Time, SchemaVersion: SchemaVersion,
		Event: Event{Kind: c.kind, Category: []string{"network"}, Type: c.types, Action: e.Kind.String(),
			Outcome: c.outcome, Reason: e.Detail, Module: "ipsecmon", Dataset: "ipsecmon.events"},
		Ipsecmon: Ipsecmon{Input: e.Source, Frame: e.Frame, Count: e.Count, Tunnel: e.Tunnel, Rekey: e.Rekey}}
	r.ECS.Version = ECSVersion
	if e.SA != nil {
		r.packetSA(e.SA)
	}
	if e.IKE != nil {
		r.ike(e.IKE)
	}
	var ips []string
	for _, p := range []*Endpoint{r.Source, r.Destination} {
		if p != nil {
			ips = append(ips, p.IP)
		}
	}
	if e.Tunnel != nil {
		ips = append(ips, e.Tunnel.A.String(), e.Tunnel.B.String())
	}
	if e.Rekey != nil {
		for _, d := range e.Rekey.Directions {
			ips = append(ips, d.Src.String(), d.Dst.String())
		}
	}
	slices.Sort(ips)
	if ips = slices.Compact(ips); len(ips) > 0 {
		r.Related = &Related{IP: ips}
	}
	return r
}

// packetSA fills the fields of an event about an SA's packets: the
// packet's addresses, its outer transport (UDP when encapsulated) and SPI.
func (r *Record) packetSA(s *analyzer.EventSA) {
	r.Source = &Endpoint{IP: s.Src, Port: s.SrcPort}
	r.Destination = &Endpoint{IP: s.Dst, Port: s.DstPort}
	var proto uint8
	switch s.Protocol {
	case "esp":
		proto = ipproto.ESP
	case "ah":
		proto = ipproto.AH
	default:
		// A cleartext flow (policy violations): the protocol number.
		n, _ := strconv.ParseUint(s.Protocol, 10, 8)
		proto = uint8(n)
	}
	if s.SPI != "" {
		r.IPsec = &IPsec{Protocol: s.Protocol, SPI: s.SPI}
	}
	if proto == ipproto.ESP && (s.SrcPort != 0 || s.DstPort != 0) {
		proto = ipproto.UDP
	}
	r.Network = network(proto)
}

// ike fills the fields of an IKE tracker's event. source is the
// initiator and destination the responder of what the event is about (a
// message: its sender and receiver), as Zeek's originator and responder.
func (r *Record) ike(e *ikestate.Event) {
	var ref *ikestate.IKESARef
	var from, to netip.AddrPort
	ik := &IKE{}
	switch {
	case e.Message != nil:
		m := e.Message
		r.Ipsecmon.Message = m
		from, to = m.Src, m.Dst
		ik.VersionMajor, ik.InitSPI, ik.RespSPI, ik.Exchange = m.Version, m.ISPI.String(), m.RSPI.String(), m.Exchange
		id := m.MessageID
		ik.MessageID = &id
		ik.Role = "responder"
		if m.Initiator {
			ik.Role = "initiator"
		}
	case e.Child != nil:
		c := e.Child
		r.Ipsecmon.ChildSA = c
		ref, from, to = &c.IKESA, c.Initiator, c.Responder
		ik.Exchange = c.Exchange
		r.IPsec = &IPsec{Protocol: protoName(c.Proto)}
		if c.Mode != ikestate.ModeUnknown {
			r.IPsec.Mode = c.Mode.String()
		}
		if !c.Inferred {
			r.IPsec.InitiatorSPI, r.IPsec.ResponderSPI = spiHex(c.SPIInitiator), spiHex(c.SPIResponder)
		}
	case e.Negotiation != nil:
		n := e.Negotiation
		r.Ipsecmon.Negotiation = n
		ref, from, to = &n.IKESA, n.Initiator, n.Responder
		ik.Exchange = n.Exchange
		id := n.MessageID
		ik.MessageID = &id
	case e.IKESA != nil:
		s := e.IKESA
		r.Ipsecmon.IKESA = s
		ref, from, to = &s.IKESARef, s.Initiator, s.Responder
		ik.Exchange = s.Exchange
	}
	if e.IKESA != nil && r.Ipsecmon.IKESA == nil {
		r.Ipsecmon.IKESA = e.IKESA
	}
	if ref != nil {
		ik.VersionMajor, ik.InitSPI, ik.RespSPI = ref.Version, ref.ISPI.String(), ref.RSPI.String()
	}
	if e.DeletedSPI != 0 {
		if r.IPsec == nil {
			r.IPsec = &IPsec{}
		}
		r.IPsec.SPI = spiHex(e.DeletedSPI)
		if e.DeletedProto != 0 {
			r.IPsec.Protocol = protoName(e.DeletedProto)
		}
	}
	if from.IsValid() {
		r.Source = &Endpoint{IP: from.Addr().Unmap().String(), Port: from.Port()}
	}
	if to.IsValid() {
		r.Destination = &Endpoint{IP: to.Addr().Unmap().String(), Port: to.Port()}
	}
	if from.IsValid() || to.IsValid() {
		r.Network = network(ipproto.UDP)
	}
	if *ik != (IKE{}) {
		r.IKE = ik
	}
	if e.Error != "" {
		r.Error = &Error{Message: e.Error}
	}
}

// network names the transport with IANA's keyword, as ECS asks.
func network(proto uint8) *Network {
	t := strings.ToLower(ipproto.Name(proto))
	if proto == ipproto.ICMPv6 {
		t = "ipv6-icmp"
	}
	return &Network{Transport: t, IANANumber: strconv.Itoa(int(proto))}
}

func protoName(p uint8) string { return strings.ToLower(ipproto.Name(p)) }

func spiHex(spi uint32) string { return fmt.Sprintf("0x%08x", spi) }

// Marshal writes the record as one line of JSON, newline included.
func Marshal(e analyzer.Event) ([]byte, error) {
	b, err := json.Marshal(FromEvent(e))
	if err != nil {
		return nil, fmt.Errorf("eventlog: %s: %w", e.Kind, err)
	}
	return append(b, '\n'), nil
}
