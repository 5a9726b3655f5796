package ikestate

import (
	"crypto/cipher"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/ikecrypt"
	"ipsecmon/keys"
)

type ikeSA struct {
	ref                  IKESARef
	initiator, responder netip.AddrPort
	initiatorKnown       bool
	exchange             ike.ExchangeType
	state                IKESAState
	stateReason          string
	replacedBy           int    // the IKE SA that rekeyed it (IKESARekeyed): the reason names it
	failReason           string // last error answer while negotiating
	inferred             bool
	started              time.Time
	established, ended   time.Time
	natt                 bool
	vendorIDs            []string
	idI, idR             string
	msgs                 int
	// keyTries counts the messages the SA's key entry was tried on, and
	// keyFails those it failed on (integrity, decryption, or payloads that
	// do not parse after decryption).
	keyTries, keyFails int
	rekeyOf            *IKESARef
	children           []*childSA
	// live counts each peer's requests and answers (IKEv2); multiChoice
	// the responder SA payloads that chose more than one suite.
	live        [2]Liveness
	multiChoice int
	seen        map[[32]byte]*seenMsg

	// What phase 1 / IKE_SA_INIT negotiated.
	p1         *ike.Phase1
	suite      *ike.Suite
	authMethod string
	// suiteChosen: p1 or suite is the responder's choice, not the
	// initiator's first offer standing in for it.
	suiteChosen bool

	// IKEv1 decryption state (RFC 2409 Appendix B).
	k1      *keys.IKEv1SA
	block   cipher.Block
	prf     algo.PRF
	gxi     []byte
	gxr     []byte
	p1IV    []byte // IV of the next phase 1 message
	lastP1  []byte // last CBC block of phase 1: seeds phase 2 IVs
	p1Count int    // distinct phase 1 messages
	v1ex    map[uint32]*v1Exchange

	// IKEv2.
	k2                *keys.IKEv2SA
	ni, nr            []byte
	v2ex              map[v2ExKey]*v2Exchange
	authNeg           *negotiation // the IKE_AUTH child negotiation
	authReq           *v2Content   // the IKE_AUTH request that carried the child SA offer
	authChildInferred bool
}

func (sa *ikeSA) setState(s IKESAState, reason string, now time.Time) {
	sa.state, sa.stateReason, sa.replacedBy = s, reason, 0
	switch {
	case s == IKESAEstablished:
		if sa.established.IsZero() {
			sa.established = now
		}
	case s.Ended():
		if sa.ended.IsZero() {
			sa.ended = now
		}
	}
}

// keysMismatch: the key entry given for the SA failed on every message it
// was tried on — it belongs to another IKE SA, or its values are wrong.
func (sa *ikeSA) keysMismatch() bool { return sa.keyTries > 0 && sa.keyFails == sa.keyTries }

// fromInitiator tells whether a peer address is the IKE SA's initiator.
func (sa *ikeSA) fromInitiator(src netip.AddrPort) bool {
	if src == sa.initiator {
		return true
	}
	if src == sa.responder {
		return false
	}
	// Ports change when NAT-T floats to 4500; the address still tells.
	return src.Addr() == sa.initiator.Addr() && src.Addr() != sa.responder.Addr()
}

// notePeers keeps the latest ports of each side (NAT-T moves IKE to 4500).
func (sa *ikeSA) notePeers(src, dst netip.AddrPort, srcIsInitiator bool) {
	if srcIsInitiator {
		sa.initiator, sa.responder = src, dst
	} else {
		sa.initiator, sa.responder = dst, src
	}
	if src.Port() == 4500 || dst.Port() == 4500 {
		sa.natt = true
	}
}

func (sa *ikeSA) snapshot() *IKESA {
	s := &IKESA{
		IKESARef: sa.ref, Initiator: sa.initiator, Responder: sa.responder, InitiatorKnown: sa.initiatorKnown,
		Exchange: sa.exchange.String(), AuthMethod: sa.authMethod, State: sa.state, StateReason: sa.stateReason,
		Inferred: sa.inferred, NATT: sa.natt, VendorIDs: slices.Clone(sa.vendorIDs), LocalID: sa.idI, RemoteID: sa.idR,
		Started: sa.started, Established: sa.established, Ended: sa.ended, RekeyOf: sa.rekeyOf,
		Children: len(sa.children), Messages: sa.msgs, KeysMismatch: sa.keysMismatch(),
		Liveness: sa.liveness(), MultipleChoices: sa.multiChoice,
	}
	if sa.replacedBy != 0 {
		s.ReplacedBy = sa.replacedBy
		s.StateReason = replacedReason(sa.replacedBy)
	}
	s.Suite.Chosen = sa.suiteChosen
	s.Suite.Exchange = sa.exchange
	if sa.exchange == 0 {
		s.Exchange = ""
	}
	switch {
	case sa.p1 != nil:
		p := sa.p1
		enc, prf := algo.EncFromIKEv1Phase1(p.Enc), algo.PRFFromIKEv1Hash(p.Hash)
		s.EncKeyBits = p.KeyBytes() * 8
		s.Encryption = encName(enc, s.EncKeyBits, ike.P1EncName(p.Enc))
		// IKEv1 has no integrity transform: its messages are
		// authenticated with HASH payloads, an HMAC of the negotiated
		// hash (RFC 2409 §5), which is also its PRF.
		s.Integrity = prfName(prf, ike.P1HashName(p.Hash))
		s.PRF = s.Integrity
		s.DHGroup = p.Group.Display()
		s.LifeSeconds, s.LifeKilobytes = p.LifeSeconds, p.LifeKilobytes
		s.AuthMethod = p.AuthMethod.String()
		s.Suite.Enc, s.Suite.EncKeyBits = enc, p.KeyBytes()*8
		s.Suite.PRF, s.Suite.AuthV1 = prf, p.AuthMethod
		s.Suite.DH, s.Suite.HasDH = p.Group, p.Group != 0
		s.KeysKnown = sa.k1 != nil
		s.CanDeriveChild = sa.k1 != nil && len(sa.k1.SKEYIDd) > 0
	case sa.suite != nil:
		u := sa.suite
		s.EncKeyBits = u.EncKeyLen
		s.Encryption = encName(u.Enc, u.EncKeyLen, ike.TransformName(ike.TransformENCR, u.EncID))
		switch {
		case u.HasInteg:
			s.Integrity = authName(u.Integ, ike.TransformName(ike.TransformINTEG, u.IntegID))
		case u.Enc.AEAD():
			s.Integrity = s.Encryption // integrity comes with the combined-mode cipher, as the SA view says
		}
		s.PRF = prfName(u.PRF, ike.TransformName(ike.TransformPRF, u.PRFID))
		if u.HasDH {
			s.DHGroup = u.DH.Display()
		}
		s.Suite.Enc, s.Suite.EncKeyBits, s.Suite.PRF = u.Enc, u.EncKeyLen, u.PRF
		s.Suite.Integ, s.Suite.HasInteg = u.Integ, u.HasInteg
		s.Suite.DH, s.Suite.HasDH = u.DH, u.HasDH
	}
	if sa.ref.Version == 2 {
		s.KeysKnown = sa.k2 != nil
		s.CanDeriveChild = sa.k2 != nil && len(sa.k2.SKd) > 0
	}
	return s
}

// v1Exchange is the CBC and negotiation state of one IKEv1 phase 2,
// Informational or Transaction exchange (keyed by message ID).
type v1Exchange struct {
	typ              ike.ExchangeType
	initiator        netip.AddrPort // sender of the first message
	iv               []byte         // IV of the next message (RFC 2409 Appendix B)
	count            int            // distinct messages
	fromResp         int            // distinct messages from the responder
	neg              *negotiation
	qm               [2]*qmData // QM1 (initiator) and QM2 (responder), when decrypted
	decrypted        bool
	undecryptedNoted bool
}

// qmData is what a decrypted Quick Mode message carries.
type qmData struct {
	sas      []ike.SAv1
	nonce    []byte
	pfs      bool
	ids      []ike.IDv1
	notifies []ike.NotifyV1
}

type v2ExKey struct {
	mid           uint32
	fromInitiator bool // the request came from the IKE SA's original initiator
}

// v2Exchange is one IKEv2 request/response pair.
type v2Exchange struct {
	typ              ike.ExchangeType
	requester        netip.AddrPort
	responder        netip.AddrPort
	neg              *negotiation
	req              *v2Content
	reqSeen          bool
	respSeen         bool
	frags            [2]*ikecrypt.Fragments // request, response
	fragCount        [2]map[uint16]bool     // fragments seen (cleartext headers)
	fragsHeld        int                    // entries of fragCount, against Limits.Fragments
	undecrypted      bool
	undecryptedNoted bool
	// shortResp is set when an encrypted response is too small to carry an
	// SA payload and a nonce: read from the headers, it is an error notify.
	shortResp bool
	// sent is when the request was first sent; retransmits counts its
	// copies sent while no answer had been seen.
	sent        time.Time
	retransmits int
}

// v2Content is what a decrypted IKEv2 message carries.
type v2Content struct {
	proposals     []ike.Proposal
	hasSA         bool
	nonce         []byte
	ke            *ike.KE
	tsi, tsr      []ike.TrafficSelector
	hasTS         bool
	notifies      []ike.Notify
	deletes       []ike.Delete
	idi, idr      string
	authMethod    string
	auth          bool
	transportMode bool
	rekeySPI      uint32
	rekeyProto    ike.ProtocolID
	hasRekey      bool
}

func (c *v2Content) errorNotify() (ike.NotifyType, bool) {
	for _, n := range c.notifies {
		if n.Type.Error() {
			return n.Type, true
		}
	}
	return 0, false
}

// replacedReason is the state reason of an IKE SA rekeyed into IKE SA id,
// made from the ID when the SA is shown, so that Join can renumber it.
func replacedReason(id int) string { return fmt.Sprintf("replaced by IKE SA %d", id) }
