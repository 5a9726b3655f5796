package event

import (
	"encoding/json"
	"testing"
)

// The names are the event log's interface: these are the ones the event
// log wrote before the kinds were typed (snake case, as the analyzer's
// "event" field always had them), so that scripts keep working.
func TestNames(t *testing.T) {
	for _, tt := range []struct {
		k    Kind
		name string
	}{
		{Message, "message"},
		{MessageError, "message_error"},
		{IKESAEstablished, "ike_sa_established"},
		{IKESARekeyed, "ike_sa_rekeyed"},
		{IKESADeleted, "ike_sa_deleted"},
		{IKESAFailed, "ike_sa_failed"},
		{NegotiationStarted, "negotiation_started"},
		{NegotiationFailed, "negotiation_failed"},
		{NegotiationPending, "negotiation_pending"},
		{ChildSANegotiated, "child_sa_negotiated"},
		{ChildSARekeyed, "child_sa_rekeyed"},
		{ChildSADeleted, "child_sa_deleted"},
		{ChildSAExpired, "child_sa_expired"},
		{SAAdded, "sa_added"},
		{SAEvicted, "sa_evicted"},
		{SATableFull, "sa_table_full"},
		{Replay, "replay"},
		{AuthenticationFailure, "authentication_failure"},
		{DecryptionFailure, "decryption_failure"},
		{BadSPI, "bad_spi"},
		{PolicyViolation, "policy_violation"},
		{KeyUnusable, "key_unusable"},
	} {
		b, err := json.Marshal(tt.k)
		if err != nil || string(b) != `"`+tt.name+`"` {
			t.Errorf("%d marshals to %s, %v; want %q", tt.k, b, err, tt.name)
		}
		var back Kind
		if err := json.Unmarshal(b, &back); err != nil || back != tt.k {
			t.Errorf("%s reads back as %v, %v", b, back, err)
		}
	}
}

func TestEveryKindNamedOnce(t *testing.T) {
	seen := map[string]Kind{}
	for k := Kind(1); k < numKinds; k++ {
		n := k.String()
		if n == "" {
			t.Errorf("kind %d has no name", k)
		}
		if o, dup := seen[n]; dup {
			t.Errorf("kinds %d and %d are both %q", o, k, n)
		}
		seen[n] = k
	}
}

func TestInvalid(t *testing.T) {
	if _, err := json.Marshal(Invalid); err == nil {
		t.Error("the zero kind marshals")
	}
	if _, err := json.Marshal(numKinds); err == nil {
		t.Error("an out-of-range kind marshals")
	}
	var k Kind
	if err := json.Unmarshal([]byte(`"child-sa-negotiated"`), &k); err == nil {
		t.Error("the old kebab-case name reads")
	}
}
