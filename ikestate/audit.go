package ikestate

import (
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
)

// Suite is what phase 1 / IKE_SA_INIT negotiated for an IKE SA, as typed
// values (the IKESA's strings are for display): what a crypto audit
// classifies. Chosen is false while only the initiator's offer is known.
type Suite struct {
	Chosen     bool
	Exchange   ike.ExchangeType // Main Mode, Aggressive Mode, IKE_SA_INIT, CREATE_CHILD_SA (a rekey)
	Enc        algo.Enc
	EncKeyBits int
	// Integ is IKEv2's integrity transform (HasInteg: one was negotiated;
	// AEAD ciphers have none). IKEv1 authenticates its messages with HASH
	// payloads computed with the PRF: it has no integrity transform.
	Integ    algo.Auth
	HasInteg bool
	PRF      algo.PRF
	DH       algo.DHGroup
	HasDH    bool
	// AuthV1 is IKEv1's Authentication Method attribute (0 for IKEv2, whose
	// method is in the AUTH payload).
	AuthV1 ike.AuthMethodV1
}

// Liveness is what one peer's requests on an IKEv2 SA show (RFC 7296
// §1.2: every request expects a response; §2.4: a request with no
// payloads checks that the other peer is alive). Retransmissions are not
// requests of their own.
type Liveness struct {
	Requests int // distinct requests the peer sent
	Answered int // of them, answered by the other peer
	// Checks are the requests known to be liveness checks: decrypted
	// INFORMATIONAL requests without payloads.
	Checks int
	// Unanswered requests at the end of the input; UnansweredSince is when
	// the oldest of them was first sent, Retransmits how often they were
	// sent again.
	Unanswered      int
	UnansweredSince time.Time
	Retransmits     int
	// Last is the peer's last IKE message (a retransmission included).
	Last time.Time
}

// sideOf is 0 for a message from the IKE SA's original initiator, 1 for
// one from its responder (the I flag, RFC 7296 §3.1).
func sideOf(h ike.Header) int {
	if h.Initiator() {
		return 0
	}
	return 1
}

// noteLivenessV2 counts a complete, new message against its exchange.
// wasAsked tells whether the exchange's request had been seen before.
func (sa *ikeSA) noteLivenessV2(ex *v2Exchange, h ike.Header, now time.Time, reqSeen, respSeen bool) {
	s := sideOf(h)
	sa.live[s].Last = now
	switch {
	case !h.Response() && !reqSeen:
		sa.live[s].Requests++
		ex.sent = now
	case h.Response() && reqSeen && !respSeen:
		sa.live[1-s].Answered++
	}
}

// noteRetransmitV2 counts a message sent again.
func (sa *ikeSA) noteRetransmitV2(h ike.Header, now time.Time) {
	s := sideOf(h)
	sa.live[s].Last = now
	if h.Response() {
		return
	}
	if ex := sa.v2ex[v2ExKey{h.MessageID, h.Initiator()}]; ex != nil && !ex.respSeen {
		ex.retransmits++
	}
}

// noteCheckV2 counts a decrypted INFORMATIONAL request without payloads
// but NAT detection notifies, which a peer behind a NAT adds to find out
// whether its mapping changed (RFC 7296 §2.23).
func (sa *ikeSA) noteCheckV2(h ike.Header, c *v2Content) {
	if h.Response() || c == nil || len(c.deletes) > 0 || c.hasSA || c.hasTS {
		return
	}
	for _, n := range c.notifies {
		if n.Type != ike.NotifyNATDetectionSourceIP && n.Type != ike.NotifyNATDetectionDestinationIP {
			return
		}
	}
	sa.live[sideOf(h)].Checks++
}

// liveness returns both peers' figures, with the requests still open.
func (sa *ikeSA) liveness() [2]Liveness {
	l := sa.live
	for k, ex := range sa.v2ex {
		if !ex.reqSeen || ex.respSeen {
			continue
		}
		s := 1 // the key says whether the original initiator sent the request
		if k.fromInitiator {
			s = 0
		}
		l[s].Unanswered++
		l[s].Retransmits += ex.retransmits
		if l[s].UnansweredSince.IsZero() || ex.sent.Before(l[s].UnansweredSince) {
			l[s].UnansweredSince = ex.sent
		}
	}
	return l
}

// multipleChoicesV2 reports a responder's SA payload that chose more than
// one proposal, or more than one transform of a type (RFC 7296 §3.3: the
// responder MUST choose a single suite).
func multipleChoicesV2(props []ike.Proposal) bool {
	if len(props) > 1 {
		return true
	}
	for _, p := range props {
		seen := map[ike.TransformType]bool{}
		for _, t := range p.Transforms {
			if seen[t.Type] {
				return true
			}
			seen[t.Type] = true
		}
	}
	return false
}

// multipleChoicesV1 reports a responder's SA payload with more than one
// proposal number or more than one transform in a proposal (RFC 2408
// §4.2: the responder returns the one it chose; proposals sharing a
// number are one bundle).
func multipleChoicesV1(s ike.SAv1) bool {
	for i, p := range s.Proposals {
		if len(p.Transforms) > 1 || i > 0 && p.Number != s.Proposals[0].Number {
			return true
		}
	}
	return false
}
