package analyzer

import (
	"ipsecmon/decode"
	"ipsecmon/espcrypto"
)

// Outcome is what a receiver's checks concluded about one ESP or AH packet
// of a known SA (Config.OnOpened).
type Outcome uint8

const (
	// OutcomeVerified: the keys checked it (or the SA has no integrity
	// check) and it decrypted to a well-formed plaintext: Opened.Payload
	// holds it.
	OutcomeVerified Outcome = iota + 1
	// OutcomeUnverified: accepted without a check: the SA has no usable
	// keys, or the capture cut the packet short.
	OutcomeUnverified
	// OutcomeReplay: a sequence number already seen or left of the window.
	OutcomeReplay
	// OutcomeNotAuthenticated: the ICV or AEAD tag does not match, or the
	// packet is too short to carry one.
	OutcomeNotAuthenticated
	// OutcomeNotDecrypted: integrity fine, the plaintext impossible.
	OutcomeNotDecrypted
)

var outcomeNames = [...]string{
	OutcomeVerified:         "verified",
	OutcomeUnverified:       "unverified",
	OutcomeReplay:           "replay",
	OutcomeNotAuthenticated: "not authenticated",
	OutcomeNotDecrypted:     "not decrypted",
}

func (v Outcome) String() string {
	if int(v) < len(outcomeNames) && outcomeNames[v] != "" {
		return outcomeNames[v]
	}
	return "none"
}

// Opened is one ESP or AH packet after the receiver's checks, handed to
// Config.OnOpened in capture order. Packets the SA table did not take
// (Bad SPI, untracked) are not handed over. Everything it points to is
// the analyzer's: read it during the call only.
type Opened struct {
	Ref  Ref
	Time int64 // capture timestamp, Unix nanoseconds
	SA   *SA
	// Seq is the full sequence number (with the inferred high half of an
	// extended sequence number).
	Seq uint64
	// Depth is 0 for an IPsec header of the captured packet, 1 or more for
	// one found inside a decrypted tunnel (nested SAs): the call for the
	// tunnel comes first, then the calls for what it carried.
	Depth   int
	Outcome Outcome
	// Reason says why a packet was not verified (espcrypto's reason), or
	// ReasonDummy for a verified dummy packet (RFC 4303 §2.6).
	Reason espcrypto.Reason
	// Header is the IP packet the IPsec header was found in, from the IP
	// header up to the IPsec header: the IP header, IPv6 extension
	// headers, and a UDP (RFC 3948) or AH header in front of it.
	Header []byte
	// NextHeader and Payload are the plaintext's protocol and bytes
	// (OutcomeVerified only): the inner IP packet in tunnel mode, the
	// transport payload otherwise; ESP's padding and trailer removed, AH's
	// header removed.
	NextHeader uint8
	Payload    []byte
}

// reportOpened hands a packet's outcome to Config.OnOpened; callers check
// that it is set, so that a run without it pays nothing.
func (a *Analyzer) reportOpened(v Outcome, sa *SA, now int64, seq uint64, ip []byte, h *decode.IPsecHeader, ref Ref, depth int, o *opened) {
	op := Opened{Ref: ref, Time: now, SA: sa, Seq: seq, Depth: depth, Outcome: v}
	if h.Offset <= len(ip) {
		op.Header = ip[:h.Offset]
	}
	if o != nil {
		op.Reason = o.res.Reason
		if v == OutcomeVerified {
			op.NextHeader, op.Payload = o.res.NextHeader, o.plain
		}
	}
	a.cfg.OnOpened(&op)
}
