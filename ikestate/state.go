package ikestate

import "fmt"

// The states and kinds below are small enums: compared as values inside
// the program, written as their names in JSON (MarshalText), so that the
// JSON output reads as before they were typed.

// IKESAState is where an ISAKMP / IKE SA is in its life.
type IKESAState uint8

const (
	IKESANegotiating IKESAState = iota
	IKESAEstablished
	IKESAFailed
	IKESADeleted
	IKESARekeyed
	IKESAExpired
)

var ikeSAStateNames = names{"negotiating", "established", "failed", "deleted", "rekeyed", "expired"}

func (s IKESAState) String() string               { return ikeSAStateNames.text(uint8(s)) }
func (s IKESAState) MarshalText() ([]byte, error) { return ikeSAStateNames.marshal(uint8(s)) }

// Ended reports a state that sets the SA's end time.
func (s IKESAState) Ended() bool {
	return s == IKESAFailed || s == IKESADeleted || s == IKESARekeyed || s == IKESAExpired
}

// ChildState is where a Quick Mode / CHILD SA pair is in its life.
type ChildState uint8

const (
	ChildActive  ChildState = iota
	ChildDeleted            // a Delete payload, or its IKEv2 IKE SA's deletion, removed it
	ChildExpired            // its negotiated lifetime ran out
)

var childStateNames = names{"active", "deleted", "expired"}

func (s ChildState) String() string               { return childStateNames.text(uint8(s)) }
func (s ChildState) MarshalText() ([]byte, error) { return childStateNames.marshal(uint8(s)) }

// NegotiationState is where a phase 2 / CHILD negotiation stands.
type NegotiationState uint8

const (
	NegotiationPending NegotiationState = iota
	NegotiationCompleted
	NegotiationFailed
)

var negotiationStateNames = names{"pending", "completed", "failed"}

func (s NegotiationState) String() string { return negotiationStateNames.text(uint8(s)) }
func (s NegotiationState) MarshalText() ([]byte, error) {
	return negotiationStateNames.marshal(uint8(s))
}

// NegotiationKind says what a negotiation creates.
type NegotiationKind uint8

const (
	NegotiateChild    NegotiationKind = iota // a Quick Mode / CHILD SA pair
	NegotiateIKERekey                        // an IKEv2 IKE SA rekey (RFC 7296 §2.18)
	NegotiateUnknown                         // not decrypted: which of the two is not known
)

// The JSON names predate the enum (kebab case); they are kept as they were.
var negotiationKindNames = names{"child", "ike-rekey", "unknown"}

func (k NegotiationKind) String() string { return negotiationKindNames.text(uint8(k)) }
func (k NegotiationKind) MarshalText() ([]byte, error) {
	return negotiationKindNames.marshal(uint8(k))
}

// Mode is an SA's IPsec mode, as far as the input tells: what a
// negotiation chose, or what the traffic shows (package analyzer uses the
// same enum).
type Mode uint8

const (
	ModeUnknown Mode = iota // not negotiated in what was read, not visible in the traffic
	ModeTransport
	ModeTunnel
)

var modeNames = names{"unknown", "transport", "tunnel"}

func (m Mode) String() string               { return modeNames.text(uint8(m)) }
func (m Mode) MarshalText() ([]byte, error) { return modeNames.marshal(uint8(m)) }

// names are an enum's JSON names, by value.
type names []string

func (n names) text(v uint8) string {
	if int(v) < len(n) {
		return n[v]
	}
	return fmt.Sprintf("invalid(%d)", v)
}

func (n names) marshal(v uint8) ([]byte, error) {
	if int(v) >= len(n) {
		return nil, fmt.Errorf("ikestate: invalid value %d", v)
	}
	return []byte(n[v]), nil
}
