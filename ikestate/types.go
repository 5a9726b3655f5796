// Package ikestate follows IKEv1 and IKEv2 negotiations message by message
// and rebuilds the IKE SAs and the Quick Mode / CHILD SA pairs they create,
// with their lifecycle (additions, rekeys, deletions, expirations, pending
// and failed negotiations). With keys it decrypts the exchanges (ikecrypt)
// and, given SKEYID_d or SK_d, derives the ESP/AH keys of every pair. Without
// keys it counts what the cleartext headers show and marks the rest unknown
// or inferred. It reads bytes only through decode/ike and never panics on
// any input; malformed messages become error events.
//
// Use: New(keys) once; Handle every IKE message in capture order (UDP 500,
// or 4500 after the non-ESP marker, IP fragments reassembled); Drain the
// events after each Handle or batch; Finish at the end of the input. A
// child_sa_negotiated event carries the pair's SPIs, suite and, when SK_d or
// SKEYID_d was given and there was no PFS, its ESP/AH keys as keys.SA values
// (never marshalled). LookupSPI tells whether an ESP/AH SPI belongs to a
// pair the tracker rebuilt, was deleted or expired, and whether the tracker
// saw every negotiation between those peers decrypted (so that an unknown
// SPI is a Bad SPI). Join joins the trackers of inputs that could not
// have interacted (capture files of different gateways) into the views of
// one tracker reading them in order.
package ikestate

import (
	"encoding/json"
	"net/netip"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/ikecrypt"
	"ipsecmon/keys"
)

// FrameRef points back at the packet a message came from.
type FrameRef struct {
	Source string `json:"source,omitempty"`
	Index  int    `json:"index"`
}

// Message is one IKE message as the decoder delivers it: the IKE header
// onwards (non-ESP marker removed, IP fragments reassembled).
type Message struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Data     []byte // valid only during Handle
	Frame    FrameRef
}

// Figure is a count that may need decryption to be known. Known=false means
// the input did not let the tracker establish it: Value is then an
// inference from cleartext headers when Inferred is set, and meaningless
// (null in JSON) otherwise.
type Figure struct {
	Value    int
	Known    bool
	Inferred bool
}

func (f Figure) MarshalJSON() ([]byte, error) {
	type out struct {
		Value    *int `json:"value"`
		Known    bool `json:"known"`
		Inferred bool `json:"inferred,omitempty"`
	}
	o := out{Known: f.Known, Inferred: f.Inferred}
	if f.Known || f.Inferred {
		v := f.Value
		o.Value = &v
	}
	return json.Marshal(o)
}

// Counters are the lifecycle figures of the Windows IP Security Monitor's
// Quick Mode statistics, plus IKE message bookkeeping.
type Counters struct {
	// ActiveSAs counts unidirectional SAs alive now (a pair counts 2).
	ActiveSAs Figure `json:"active_sas"`
	// KeyAdditions counts completed phase 2 / CHILD negotiations, one per
	// SA pair (the IKEv2 IKE_AUTH child included).
	KeyAdditions Figure `json:"key_additions"`
	// Rekeys counts additions that replaced a live pair.
	Rekeys Figure `json:"rekeys"`
	// KeyDeletions counts pairs whose keys were removed, whatever the
	// cause: the three figures after it.
	KeyDeletions Figure `json:"key_deletions"`
	// DeletedByPayload counts pairs removed by a Delete payload (RFC 7296
	// §1.4.1, RFC 2408 §3.15), pairs negotiated before the capture included.
	DeletedByPayload Figure `json:"deleted_by_delete_payload"`
	// DeletedWithIKESA counts pairs closed with their IKEv2 IKE SA (RFC
	// 7296 §1.4.1: deleting an IKE SA closes its CHILD SAs).
	DeletedWithIKESA Figure `json:"deleted_with_ike_sa"`
	// Expirations counts pairs whose negotiated hard lifetime ran out in
	// the capture, announced by a Delete (IKEv1 peers send one) or not.
	Expirations Figure `json:"expirations"`
	// PendingKeyOps counts negotiations started and not completed.
	PendingKeyOps Figure `json:"pending_key_operations"`
	// FailedNegotiations counts negotiations answered with an error notify
	// or abandoned.
	FailedNegotiations Figure `json:"failed_negotiations"`

	Messages          int `json:"ike_messages"`
	Retransmissions   int `json:"retransmissions"`
	MessageErrors     int `json:"message_errors"`
	Decrypted         int `json:"decrypted"`
	Undecrypted       int `json:"undecrypted"` // encrypted messages without a usable key
	DecryptFailures   int `json:"decrypt_failures"`
	IntegrityFailures int `json:"integrity_failures"`
	IKESAs            int `json:"ike_sas"`
	IKESAsEstablished int `json:"ike_sas_established"`
}

// IKESARef names an IKE SA in events and child SAs.
type IKESARef struct {
	ID      int     `json:"id"`
	Version int     `json:"version"`
	ISPI    ike.SPI `json:"ispi"` // initiator cookie (IKEv1) or SPI (IKEv2)
	RSPI    ike.SPI `json:"rspi"`
}

// IKESA is the state of one ISAKMP (Main Mode) or IKEv2 SA: the mmsas view.
type IKESA struct {
	IKESARef
	Initiator      netip.AddrPort `json:"initiator"`
	Responder      netip.AddrPort `json:"responder"`
	InitiatorKnown bool           `json:"initiator_known"` // false when the capture began after the first message
	Exchange       string         `json:"exchange"`        // Main Mode, Aggressive Mode, IKE_SA_INIT
	AuthMethod     string         `json:"auth_method,omitempty"`
	Encryption     string         `json:"encryption,omitempty"`
	EncKeyBits     int            `json:"enc_key_bits,omitempty"`
	Integrity      string         `json:"integrity,omitempty"`
	PRF            string         `json:"prf,omitempty"`
	DHGroup        string         `json:"dh_group,omitempty"`
	LifeSeconds    uint64         `json:"life_seconds,omitempty"`
	LifeKilobytes  uint64         `json:"life_kilobytes,omitempty"`
	State          IKESAState     `json:"state"`
	StateReason    string         `json:"state_reason,omitempty"`
	ReplacedBy     int            `json:"-"`                  // IKESARekeyed: the ID of the IKE SA that replaced it
	Inferred       bool           `json:"inferred,omitempty"` // state read from headers only
	NATT           bool           `json:"nat_t"`
	VendorIDs      []string       `json:"vendor_ids,omitempty"`
	LocalID        string         `json:"id_initiator,omitempty"`
	RemoteID       string         `json:"id_responder,omitempty"`
	Started        time.Time      `json:"started"`
	Established    time.Time      `json:"established,omitzero"`
	Ended          time.Time      `json:"ended,omitzero"`
	KeysKnown      bool           `json:"keys_known"` // a key entry matched
	// KeysMismatch: the key entry failed on every message it was tried on
	// (integrity check, decryption): it does not belong to this IKE SA.
	KeysMismatch   bool      `json:"keys_mismatch,omitempty"`
	CanDeriveChild bool      `json:"can_derive_keys"` // SKEYID_d / SK_d known
	RekeyOf        *IKESARef `json:"rekey_of,omitempty"`
	Children       int       `json:"child_pairs"`
	Messages       int       `json:"messages"`
	// Suite is what was negotiated as typed values; Liveness each peer's
	// requests and answers (0: the initiator, 1: the responder; IKEv2);
	// MultipleChoices the responder SA payloads that chose more than one
	// suite. For the findings; the views show the strings above.
	Suite           Suite       `json:"-"`
	Liveness        [2]Liveness `json:"-"`
	MultipleChoices int         `json:"-"`
}

// Selector is one traffic selector or IKEv1 client ID.
type Selector struct {
	Text      string       `json:"text"`
	Prefix    netip.Prefix `json:"prefix,omitzero"` // when it is a single prefix
	Protocol  uint8        `json:"protocol,omitempty"`
	StartPort uint16       `json:"start_port,omitempty"`
	EndPort   uint16       `json:"end_port,omitempty"`
}

// ChildSA is one Quick Mode / CHILD SA pair.
type ChildSA struct {
	ID       int      `json:"id"`
	IKESA    IKESARef `json:"ike_sa"`
	Version  int      `json:"version"`
	Exchange string   `json:"exchange"` // Quick Mode, IKE_AUTH, CREATE_CHILD_SA
	// Initiator and Responder are the peers of the negotiation that created
	// the pair (outer addresses and IKE ports).
	Initiator netip.AddrPort `json:"initiator"`
	Responder netip.AddrPort `json:"responder"`
	Proto     uint8          `json:"proto"` // 50 ESP, 51 AH
	// SPIInitiator is the SPI the initiator receives on (it proposed it);
	// SPIResponder the one the responder receives on. Zero when Inferred.
	SPIInitiator uint32 `json:"spi_initiator"`
	SPIResponder uint32 `json:"spi_responder"`
	Mode         Mode   `json:"mode,omitempty"`
	UDPEncap     bool   `json:"udp_encap"`
	// EncapInitiatorPort/EncapResponderPort are the UDP ports of RFC 3948 encapsulation.
	EncapInitiatorPort uint16     `json:"encap_initiator_port,omitempty"`
	EncapResponderPort uint16     `json:"encap_responder_port,omitempty"`
	Enc                algo.Enc   `json:"-"`
	Encryption         string     `json:"encryption,omitempty"`
	EncKeyBits         int        `json:"enc_key_bits,omitempty"`
	Auth               algo.Auth  `json:"-"`
	Integrity          string     `json:"integrity,omitempty"`
	ESN                bool       `json:"esn"`
	PFSGroup           string     `json:"pfs_group,omitempty"`
	PFSGroupID         uint16     `json:"-"` // IANA Diffie-Hellman group number; 0 = no PFS
	LifeSeconds        uint64     `json:"life_seconds,omitempty"`
	LifeKilobytes      uint64     `json:"life_kilobytes,omitempty"`
	InitiatorSelectors []Selector `json:"selectors_initiator,omitempty"` // TSi / IDci
	ResponderSelectors []Selector `json:"selectors_responder,omitempty"` // TSr / IDcr
	RekeyOf            int        `json:"rekey_of,omitempty"`            // ChildSA.ID of the replaced pair
	RekeyOfSPI         uint32     `json:"rekey_of_spi,omitempty"`        // the SPI REKEY_SA named (IKEv2), even for a pair not seen
	Inferred           bool       `json:"inferred,omitempty"`            // created from cleartext headers only
	Created            time.Time  `json:"created"`
	Ended              time.Time  `json:"ended,omitzero"`
	State              ChildState `json:"state"`
	EndReason          string     `json:"end_reason,omitempty"`
	// Keys of each direction as ready-to-use ESP/AH SAs: KeysIR protects
	// initiator→responder traffic (SPI = SPIResponder), KeysRI the reverse.
	// Never marshalled: they are secrets.
	KeysIR, KeysRI *keys.SA `json:"-"`
	KeysAvailable  bool     `json:"keys_available"`
	KeysReason     string   `json:"keys_unavailable_reason,omitempty"`
}

// Method is one security method of a phase 2 offer: a protocol bundle with
// its algorithm alternatives (the chosen method has one of each).
type Method struct {
	Protocol      string   `json:"protocol"` // ESP, AH, AH+ESP
	Encryption    []string `json:"encryption,omitempty"`
	Integrity     []string `json:"integrity,omitempty"`
	PFS           []string `json:"pfs,omitempty"`
	ESN           []string `json:"esn,omitempty"`
	Mode          string   `json:"mode,omitempty"`
	LifeSeconds   uint64   `json:"life_seconds,omitempty"`
	LifeKilobytes uint64   `json:"life_kilobytes,omitempty"`
}

// Negotiation is one phase 2 / CHILD negotiation (or IKEv2 IKE SA rekey).
type Negotiation struct {
	ID        int              `json:"id"`
	IKESA     IKESARef         `json:"ike_sa"`
	Version   int              `json:"version"`
	Exchange  string           `json:"exchange"`
	MessageID uint32           `json:"message_id"`
	Initiator netip.AddrPort   `json:"initiator"`
	Responder netip.AddrPort   `json:"responder"`
	Kind      NegotiationKind  `json:"kind"`
	Rekey     bool             `json:"rekey,omitempty"`
	Offered   []Method         `json:"offered,omitempty"`
	Chosen    *Method          `json:"chosen,omitempty"`
	State     NegotiationState `json:"state"`
	Reason    string           `json:"reason,omitempty"`
	Inferred  bool             `json:"inferred,omitempty"`
	Started   time.Time        `json:"started"`
	Ended     time.Time        `json:"ended,omitzero"`
	Children  []int            `json:"child_sas,omitempty"`
	Messages  int              `json:"messages"`
}

// Policy groups the negotiations that offered the same methods in the same
// order (the policies view).
type Policy struct {
	Offered      []Method         `json:"offered"`
	Chosen       []Method         `json:"chosen,omitempty"` // distinct methods responders chose
	Peers        []netip.AddrPort `json:"peers"`            // initiators and responders that used it
	Negotiations []int            `json:"negotiations"`
}

// MessageInfo summarises one IKE message for the forensic timeline.
type MessageInfo struct {
	Src            netip.AddrPort     `json:"src"`
	Dst            netip.AddrPort     `json:"dst"`
	Version        int                `json:"version"`
	Exchange       string             `json:"exchange"`
	MessageID      uint32             `json:"message_id"`
	ISPI           ike.SPI            `json:"ispi"`
	RSPI           ike.SPI            `json:"rspi"`
	Initiator      bool               `json:"from_initiator"` // IKEv2 I flag; IKEv1: sender began the exchange
	Response       bool               `json:"response"`
	Length         int                `json:"length"`
	Encrypted      bool               `json:"encrypted"`
	Decrypted      bool               `json:"decrypted"`
	Integrity      ikecrypt.Integrity `json:"integrity"`
	Retransmission bool               `json:"retransmission,omitempty"`
	Fragment       string             `json:"fragment,omitempty"` // "2/3" for SKF
	Payloads       []string           `json:"payloads,omitempty"`
	Note           string             `json:"note,omitempty"`
}

// Event is one line of the forensic timeline: a message, or a lifecycle
// change. Exactly the fields that fit the kind are set.
type Event struct {
	Time time.Time `json:"time"`
	// Kind is written once, as the analyzer event's "event".
	Kind        event.Kind   `json:"-"`
	Frame       *FrameRef    `json:"frame,omitempty"`
	Message     *MessageInfo `json:"message,omitempty"`
	IKESA       *IKESA       `json:"ike_sa,omitempty"`
	Negotiation *Negotiation `json:"negotiation,omitempty"`
	Child       *ChildSA     `json:"child_sa,omitempty"`
	// For child_sa_deleted: the protocol and SPI as the Delete named it, and who sent it.
	// Child is nil when the pair was negotiated before the capture began.
	DeletedProto uint8          `json:"deleted_protocol,omitempty"`
	DeletedSPI   uint32         `json:"deleted_spi,omitempty"`
	DeletedBy    netip.AddrPort `json:"deleted_by,omitzero"`
	Reason       string         `json:"reason,omitempty"`
	Error        string         `json:"error,omitempty"`
}

// SPIStatus is what the tracker knows about an ESP/AH SPI.
type SPIStatus uint8

const (
	SPIUnknown SPIStatus = iota // no negotiation the tracker saw created it
	SPIActive
	SPIDeleted
	SPIExpired
)

var spiStatusNames = [...]string{"unknown", "active", "deleted", "expired"}

func (s SPIStatus) String() string {
	if int(s) < len(spiStatusNames) {
		return spiStatusNames[s]
	}
	return "invalid"
}

func (s SPIStatus) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
