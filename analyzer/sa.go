package analyzer

import (
	"fmt"
	"net/netip"

	"ipsecmon/algo"
	"ipsecmon/espcrypto"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// SAKey identifies a unidirectional SA as a receiver does (RFC 4301 §4.1:
// SPI, destination, protocol), plus the UDP encapsulation ports so that two
// NAT-T flows that happen to share an SPI stay apart.
type SAKey struct {
	Dst netip.Addr
	// Src is set only for multicast destinations, where RFC 4301 §4.1 has
	// the receiver match the source too (e.g. OSPFv3 with AH: every router
	// sends to ff02::5 with the same SPI).
	Src              netip.Addr
	SPI              uint32
	Proto            uint8
	SrcPort, DstPort uint16 // both 0 when not UDP-encapsulated
}

func (k SAKey) String() string {
	p := "esp"
	if k.Proto == ipproto.AH {
		p = "ah"
	}
	if k.SrcPort != 0 || k.DstPort != 0 {
		return fmt.Sprintf("%s 0x%08x to %v (udp %d>%d)", p, k.SPI, k.Dst, k.SrcPort, k.DstPort)
	}
	return fmt.Sprintf("%s 0x%08x to %v", p, k.SPI, k.Dst)
}

// Encapsulated reports UDP encapsulation (RFC 3948).
func (k SAKey) Encapsulated() bool { return k.SrcPort != 0 || k.DstPort != 0 }

// Mode is an SA's IPsec mode, as far as the input tells: one enum for
// what IKE negotiated and what the traffic shows.
type Mode = ikestate.Mode

const (
	ModeUnknown   = ikestate.ModeUnknown
	ModeTransport = ikestate.ModeTransport
	ModeTunnel    = ikestate.ModeTunnel
)

// State is where an SA is in its life at the end of the input.
type State uint8

const (
	StateActive  State = iota
	StateDeleted       // a Delete payload (or its IKE SA's deletion) removed it
	StateExpired       // its negotiated lifetime ran out
)

func (s State) String() string {
	switch s {
	case StateDeleted:
		return "deleted"
	case StateExpired:
		return "expired"
	}
	return "active"
}

// SA is the analyzer's record of one unidirectional SA. Fields are kept
// small: a gateway tracks many thousands of these.
type SA struct {
	Key SAKey
	Src netip.Addr // source of the first packet; NAT rebinding may change it
	// SrcChanges counts packets whose source differed from Src.
	SrcChanges uint32

	// The small fields sit together: a gateway tracks many thousands of
	// SAs, and padding between them would cost a size class per SA.
	Mode  Mode
	State State
	// Inner is what the SA carries, when visible (AH payload, decrypted ESP).
	InnerProto   uint8
	innerSeen    bool
	InnerSrcPort uint16
	InnerDstPort uint16
	innerMixed   bool // more than one inner protocol/port combination seen
	ahCarriesESP bool
	pairFromIKE  bool
	ESN          bool

	FirstSeen, LastSeen int64 // Unix nanoseconds of the capture clock
	EndedAt             int64 // when it was deleted or expired (Unix ns), 0 while active

	// Outcome counters: every packet of the SA ends in exactly one of them.
	Accepted         uint64 // passed every check that could be made
	Replayed         uint64
	NotAuthenticated uint64
	NotDecrypted     uint64
	// Bytes is the IPsec part of accepted packets: from the first byte of
	// the ESP/AH header to the end of the IP packet, per the IP length fields.
	Bytes uint64
	// Unverified counts accepted packets whose integrity was not checked:
	// the SA has no keys, or the capture cut the packet short.
	Unverified uint64
	// PlainBytes is the decrypted payload of verified packets (ESP: the inner
	// IP packet in tunnel mode, the transport payload in transport mode; AH:
	// what follows the AH header).
	PlainBytes uint64
	// WireBytes is the same span summed over every packet, whatever its outcome.
	WireBytes uint64
	// Truncated counts accepted packets whose capture was cut short (bytes
	// still come from the IP header's length).
	Truncated uint64

	MinSeq, MaxSeq uint64 // over accepted packets
	Window         ReplayWindow
	// FirstAccepted is when the first packet was accepted (Unix ns; 0
	// before any): the new SA's side of a rekey, and with LastSeen the
	// rate of the sequence numbers.
	FirstAccepted int64

	// prev and next are the SAs of the same direction this one replaced
	// and was replaced by in its tunnel's lineage (nil: none).
	prev, next *SA
	// ext holds the sequence analysis's rare counters and what a rekey
	// needs beyond the links, when the SA has any (nil for most SAs).
	ext *saExt

	// innerAddrs holds tunnel mode's inner addresses of the first packet,
	// kept apart because most SAs never need them.
	innerAddrs *[2]netip.Addr
	pair       *SA
	// Keying, when keys were given; what IKE negotiated.
	tr  *cipher
	key *KeyInfo
	neg *Negotiated
}

// cipher is an SA's transform and, with several workers, which of them
// verifies its packets while some are in flight (kept out of SA, which
// most runs leave without keys).
type cipher struct {
	t        *espcrypto.Transform
	worker   int32
	inflight int32 // packets handed to worker and not yet applied
}

// Negotiation returns what IKE negotiated for the SA, or nil.
func (s *SA) Negotiation() *Negotiated { return s.neg }

// KeyInfo is what an SA source (a key file, a host's SA list) says about an
// SA besides its keys.
type KeyInfo struct {
	Origin     string // "file:line"
	Enc        algo.Enc
	EncKeyBits int
	Auth       algo.Auth
	seqHiStart uint32
	// Unusable says why the key could not be used (e.g. an unsupported
	// algorithm); never holds key material.
	Unusable string
	// material is the key entry itself (given, or derived from IKE), for
	// `ipsecmon keys`, the one place keys are printed.
	material *keys.SA
	// fromIKE: IKE gave the key info (Origin names its IDs).
	fromIKE *ikeKeyOrigin
}

// Material returns the key entry the SA is keyed with: the one a key file
// gave, or the one derived from IKE; nil when there is none. It holds key
// bytes: only `ipsecmon keys` prints them, because the user asked.
func (k *KeyInfo) Material() *keys.SA {
	if k == nil {
		return nil
	}
	return k.material
}

// Keys returns what an SA source said about the SA, or nil when none lists it.
func (s *SA) Keys() *KeyInfo { return s.key }

// InnerAddrs returns the inner addresses of a tunnel-mode SA's first packet.
func (s *SA) InnerAddrs() (src, dst netip.Addr) {
	if s.innerAddrs == nil {
		return netip.Addr{}, netip.Addr{}
	}
	return s.innerAddrs[0], s.innerAddrs[1]
}

// IntegrityOnly reports an ESP SA known (from keys or IKE) to use NULL
// encryption: its traffic is authenticated but crosses the wire in the clear.
func (s *SA) IntegrityOnly() bool {
	return s.Key.Proto == ipproto.ESP && s.key != nil && s.key.Enc.IntegrityOnly()
}

// Keyed reports whether the SA's packets are verified with keys.
func (s *SA) Keyed() bool { return s.tr != nil }

// Packets is the number of packets seen on the wire for this SA, whatever their outcome.
func (s *SA) Packets() uint64 {
	return s.Accepted + s.Replayed + s.NotAuthenticated + s.NotDecrypted
}

// Gaps is how many sequence numbers between the lowest and highest accepted
// one never arrived (lost, or not captured).
func (s *SA) Gaps() uint64 {
	if s.Accepted == 0 {
		return 0
	}
	span := s.MaxSeq - s.MinSeq + 1
	if span <= s.Accepted {
		return 0
	}
	return span - s.Accepted
}

func (s *SA) noteInner(proto uint8, sport, dport uint16, src, dst netip.Addr) {
	if !s.innerSeen {
		s.innerSeen = true
		s.InnerProto, s.InnerSrcPort, s.InnerDstPort = proto, sport, dport
		if src.IsValid() {
			s.innerAddrs = &[2]netip.Addr{src, dst}
		}
		return
	}
	if proto != s.InnerProto || sport != s.InnerSrcPort || dport != s.InnerDstPort {
		s.innerMixed = true
	}
}

// InnerKnown reports whether any inner packet was seen, and whether they all
// had the same protocol and ports.
func (s *SA) InnerKnown() (seen, uniform bool) { return s.innerSeen, !s.innerMixed }

// CarriesESP reports an AH SA seen protecting ESP (an AH+ESP bundle).
func (s *SA) CarriesESP() bool { return s.ahCarriesESP }

// HasInnerPorts reports whether the inner protocol has ports (TCP, UDP, SCTP).
func (s *SA) HasInnerPorts() bool {
	return s.InnerProto == 6 || s.InnerProto == 17 || s.InnerProto == 132
}
