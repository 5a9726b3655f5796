package analyzer

import "encoding/json"

// Figure is one statistic: a number, or "the input cannot tell" (null in
// JSON, n/a in tables). A figure that is a sum over SAs may be partial: the
// number covers only what is known and Why says what was left out.
type Figure struct {
	Value uint64
	Known bool
	// Inferred: not Known, but Value is what the cleartext headers suggest
	// (e.g. IKEv2 exchanges completed without keys). JSON still says null
	// for the figure itself and reports the inference separately.
	Inferred bool
	// Why says why the figure is not Known, or what a Known one leaves out
	// (WhyNone: nothing); N and M are the counts it quotes. Package report
	// words it: the analyzer keeps no display text.
	Why  Why
	N, M uint64
}

// Why is the reason a figure is missing or partial.
type Why uint8

const (
	WhyNone                Why = iota
	WhyTransit                 // excludes N bytes of M SAs of the figure's kind between other hosts
	WhyModeNeedsKeys           // the mode of ESP SAs is not visible without keys
	WhyUnknownMode             // excludes N bytes of M SAs of unknown mode
	WhyUnknownModePairs        // excludes N SA pairs of unknown mode
	WhyOffload                 // offload happens in the NIC, not on the wire
	WhyBadSPINeedsSAList       // needs an authoritative SA list or decrypted IKE
	WhyNeedsKeys               // needs keys
	WhyNotInspected            // N accepted packets of M SAs were not inspected
	WhyNoIKE                   // the capture has no IKE message
	WhyIKEInferred             // N inferred from the cleartext IKE headers
	WhyIKENeedsKeys            // needs the decrypted IKE negotiations
	WhyIKEUndecrypted          // N SAs not known to have ended; M encrypted IKE messages
	WhyUnseenHalves            // includes N SAs of pairs whose SPI the capture does not show
	WhyUnannouncedExpiries     // excludes pairs whose unread lifetime may have run out unannounced
	WhyIKEUnreadable           // none of the N IKE messages could be read
	WhyNoneMine                // no SA has an endpoint in --me: excludes N bytes of M SAs between other hosts
	WhyModeNoKeyMatches        // the mode of ESP SAs needs their keys: none given is for them
	WhyModeKeysFailed          // the keys given for N ESP SAs decrypted none of their packets
	WhyModeKeysUnusable        // the key entries of N ESP SAs hold no usable keys
)

func known(v uint64) Figure { return Figure{Value: v, Known: true} }

// MarshalJSON writes the value or null.
func (f Figure) MarshalJSON() ([]byte, error) {
	if !f.Known {
		return []byte("null"), nil
	}
	return json.Marshal(f.Value)
}

// UnmarshalJSON reads a value or null.
func (f *Figure) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Figure{}
		return nil
	}
	f.Known = true
	return json.Unmarshal(b, &f.Value)
}

// Stat indexes the Quick Mode Statistics, in the IP Security Monitor's order.
type Stat int

const (
	ActiveSAs Stat = iota
	OffloadedSAs
	PendingKeyOps
	KeyAdditions
	KeyDeletions
	Rekeys
	ActiveTunnels
	BadSPIPackets
	NotDecrypted
	NotAuthenticated
	ReplayDetected
	ConfidentialSent
	ConfidentialReceived
	AuthenticatedSent
	AuthenticatedReceived
	TransportSent
	TransportReceived
	TunnelSent
	TunnelReceived
	OffloadedSent
	OffloadedReceived
	NumStats
)
