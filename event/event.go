// Package event is the vocabulary of what ipsecmon reports as it happens:
// one Kind per lifecycle change or anomaly, whichever package raised it
// (the IKE tracker, package ikestate, or the analyzer), written in snake
// case in the event log (`ipsecmon events`, --events) and the watch view.
package event

import "fmt"

// Kind names what an event reports.
type Kind uint8

const (
	Invalid Kind = iota // the zero value: never emitted

	// Raised by the IKE tracker (package ikestate).
	Message            // one IKE message (`ipsecmon events` timeline only)
	MessageError       // an IKE message that could not be read
	IKESAEstablished   // an ISAKMP / IKE SA completed its negotiation
	IKESARekeyed       // an IKEv2 IKE SA replaced another (RFC 7296 §2.18)
	IKESADeleted       // a Delete payload removed an IKE SA
	IKESAFailed        // an IKE SA's negotiation failed
	IKEKeysMismatch    // the keys given for an IKE SA failed on every message they were tried on
	NegotiationStarted // a phase 2 / CHILD negotiation began
	NegotiationFailed  // it was refused or abandoned
	NegotiationPending // it was still open at the end of the input
	ChildSANegotiated  // a Quick Mode / CHILD SA pair was created
	ChildSARekeyed     // ... replacing a pair the capture saw (set by the analyzer)
	ChildSADeleted     // a pair was deleted
	ChildSAExpired     // a pair's negotiated lifetime ran out

	// Raised by the analyzer.
	SAAdded               // first packet of an SA learned from traffic
	SAEvicted             // an SA left the table (idle, or ended long ago)
	SATableFull           // the SA table reached its cap: new SAs are untracked
	Replay                // packets failed the anti-replay check
	AuthenticationFailure // packets failed the integrity check
	DecryptionFailure     // packets decrypted to an invalid plaintext
	BadSPI                // packets for an SPI no SA has
	PolicyViolation       // cleartext packets a block or negotiate filter covers
	KeyUnusable           // a key entry that cannot be used (named, never shown)
	Rekey                 // an SA pair replaced another in a tunnel: the figures of the switch, once final

	numKinds
)

var names = [numKinds]string{
	Invalid:               "invalid",
	Message:               "message",
	MessageError:          "message_error",
	IKESAEstablished:      "ike_sa_established",
	IKESARekeyed:          "ike_sa_rekeyed",
	IKESADeleted:          "ike_sa_deleted",
	IKESAFailed:           "ike_sa_failed",
	IKEKeysMismatch:       "ike_keys_mismatch",
	NegotiationStarted:    "negotiation_started",
	NegotiationFailed:     "negotiation_failed",
	NegotiationPending:    "negotiation_pending",
	ChildSANegotiated:     "child_sa_negotiated",
	ChildSARekeyed:        "child_sa_rekeyed",
	ChildSADeleted:        "child_sa_deleted",
	ChildSAExpired:        "child_sa_expired",
	SAAdded:               "sa_added",
	SAEvicted:             "sa_evicted",
	SATableFull:           "sa_table_full",
	Replay:                "replay",
	AuthenticationFailure: "authentication_failure",
	DecryptionFailure:     "decryption_failure",
	BadSPI:                "bad_spi",
	PolicyViolation:       "policy_violation",
	KeyUnusable:           "key_unusable",
	Rekey:                 "rekey",
}

// String is the kind's name in the event log.
func (k Kind) String() string {
	if k < numKinds {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText writes the name.
func (k Kind) MarshalText() ([]byte, error) {
	if k == Invalid || k >= numKinds {
		return nil, fmt.Errorf("event: invalid kind %d", uint8(k))
	}
	return []byte(names[k]), nil
}

// UnmarshalText reads a name (event logs read back by tools and tests).
func (k *Kind) UnmarshalText(b []byte) error {
	for i := Kind(1); i < numKinds; i++ {
		if names[i] == string(b) {
			*k = i
			return nil
		}
	}
	return fmt.Errorf("event: unknown kind %q", b)
}

// All lists every kind an event can have, in declaration order (for
// schemas and tests that must cover each one).
func All() []Kind {
	out := make([]Kind, 0, numKinds-1)
	for k := Kind(1); k < numKinds; k++ {
		out = append(out, k)
	}
	return out
}
