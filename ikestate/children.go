package ikestate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/ikecrypt"
	"ipsecmon/keys"
)

// ProtoUnknown marks a pair whose protocol the tracker could not read.
const ProtoUnknown uint8 = 0

func (t *Tracker) newChild(sa *ikeSA, n *negotiation, proto uint8, now time.Time) *childSA {
	t.nextChildID++
	c := &childSA{sa: sa, peers: peersOf(n.Initiator, n.Responder), ChildSA: ChildSA{
		ID: t.nextChildID, Version: sa.ref.Version, Exchange: n.Exchange,
		Initiator: n.Initiator, Responder: n.Responder, Proto: proto, Created: now, State: ChildActive,
	}}
	t.children = append(t.children, c)
	sa.children = append(sa.children, c)
	n.Children = append(n.Children, c.ID)
	t.forgetChildren(c)
	return c
}

// KeepsChild reports whether the tracker still holds pair id: once the
// limits forgot it (ike_sa_pairs), no later event names it, so what others
// keep about it may go too.
func (t *Tracker) KeepsChild(id int) bool {
	// children is in ID order: made in order, forgotten in place.
	_, ok := slices.BinarySearchFunc(t.children, id, func(c *childSA, id int) int { return cmp.Compare(c.ID, id) })
	return ok
}

func (t *Tracker) indexChild(c *childSA) {
	for _, spi := range []uint32{c.SPIInitiator, c.SPIResponder} {
		if spi != 0 {
			k := spiKey{c.Proto, spi}
			t.bySPI[k] = append(t.bySPI[k], c)
		}
	}
	t.siblings.add(c, len(t.children))
}

func (t *Tracker) emitChild(c *childSA) {
	if c.Enc != algo.EncUnknown {
		c.Encryption = c.Enc.Display()
	}
	if c.Auth != algo.AuthUnknown && !(c.Enc.AEAD() && c.Auth == algo.AuthNone) {
		c.Integrity = c.Auth.Display()
	}
	c.KeysAvailable = c.KeysIR != nil && c.KeysRI != nil
	t.emit(Event{Time: c.Created, Kind: event.ChildSANegotiated, Child: c.snapshot()})
}

// liveSibling finds a live pair that c replaces in IKEv1 terms: same peers,
// protocol and selectors (a Quick Mode has no REKEY_SA notify): the latest
// such pair still active.
func (t *Tracker) liveSibling(c *childSA) *childSA {
	return t.siblings.latestActive(c)
}

// keyLens is the KEYMAT each direction needs: encryption key (with salt)
// then integrity key.
func keyLens(c *childSA) (int, int, error) {
	enc := 0
	if c.Proto == 50 {
		switch {
		case c.Enc == algo.EncNull:
		case c.Enc == algo.EncUnknown:
			return 0, 0, fmt.Errorf("encryption algorithm not known")
		default:
			enc = c.EncKeyBits/8 + c.Enc.SaltLen()
			if !c.Enc.ValidKeyLen(enc) {
				return 0, 0, fmt.Errorf("%v with a %d-bit key is not supported", c.Enc, c.EncKeyBits)
			}
		}
	}
	integ := 0
	switch {
	case c.Auth == algo.AuthNone:
	case c.Auth.KeyLen() > 0:
		integ = c.Auth.KeyLen()
	default:
		return 0, 0, fmt.Errorf("integrity algorithm %v: key length not known", c.Auth)
	}
	return enc, integ, nil
}

func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// espSAs builds the two keys.SA values of a pair from per-direction KEYMAT.
func espSAs(c *childSA, encLen int, kmIR, kmRI []byte) (ir, ri *keys.SA) {
	mk := func(src, dst netip.AddrPort, spi uint32, km []byte, sport, dport uint16) *keys.SA {
		s := &keys.SA{
			Proto: c.Proto, Src: hostPrefix(src.Addr()), Dst: hostPrefix(dst.Addr()), SPI: spi,
			Enc: c.Enc, Auth: c.Auth, ESN: c.ESN,
			EncKey: km[:encLen:encLen], AuthKey: km[encLen:],
			Origin: ChildKeyOrigin(c.sa.ref.ID, c.ID),
		}
		if c.Mode != ModeUnknown {
			s.Mode = c.Mode.String() // keys' vocabulary: "" when not known
		}
		if c.Proto == 51 {
			s.Enc = algo.EncUnknown
		}
		if c.UDPEncap {
			s.EncapSport, s.EncapDport = sport, dport
		}
		return s
	}
	ir = mk(c.Initiator, c.Responder, c.SPIResponder, kmIR, c.EncapInitiatorPort, c.EncapResponderPort)
	ri = mk(c.Responder, c.Initiator, c.SPIInitiator, kmRI, c.EncapResponderPort, c.EncapInitiatorPort)
	return ir, ri
}

// keysV1 derives a Quick Mode pair's keys (RFC 2409 §5.5): each direction's
// KEYMAT is seeded with the SPI its receiver chose, and the encryption key
// is taken before the authentication key.
func (t *Tracker) keysV1(sa *ikeSA, c *childSA, qi, qr *qmData) {
	switch {
	case sa.k1 == nil || len(sa.k1.SKEYIDd) == 0:
		c.KeysReason = "no SKEYID_d for the ISAKMP SA"
		return
	case qi.pfs || qr.pfs:
		c.KeysReason = "PFS: the Quick Mode Diffie-Hellman secret is not on the wire"
		return
	case qi.nonce == nil || qr.nonce == nil:
		c.KeysReason = "Quick Mode nonces not seen"
		return
	case c.SPIInitiator == 0 || c.SPIResponder == 0:
		c.KeysReason = "SPIs not seen"
		return
	}
	encLen, integLen, err := keyLens(c)
	if err != nil {
		c.KeysReason = err.Error()
		return
	}
	proto := uint8(ike.ProtoESP)
	if c.Proto == 51 {
		proto = uint8(ike.ProtoAH)
	}
	prf := sa.prf
	if prf == algo.PRFUnknown && sa.p1 != nil {
		prf = sa.p1.PRFAlg()
	}
	ir, err1 := ikecrypt.KeymatV1(prf, sa.k1.SKEYIDd, nil, proto, c.SPIResponder, qi.nonce, qr.nonce, encLen+integLen)
	ri, err2 := ikecrypt.KeymatV1(prf, sa.k1.SKEYIDd, nil, proto, c.SPIInitiator, qi.nonce, qr.nonce, encLen+integLen)
	if err1 != nil || err2 != nil {
		c.KeysReason = fmt.Sprintf("KEYMAT: %v", cmpErr(err1, err2))
		return
	}
	c.KeysIR, c.KeysRI = espSAs(c, encLen, ir, ri)
}

// keysV2 derives a CHILD SA pair's keys: KEYMAT = prf+(SK_d, Ni | Nr), enc
// and integ for initiator→responder first (RFC 7296 §2.17).
func (t *Tracker) keysV2(sa *ikeSA, c *childSA, ni, nr []byte, pfs bool) {
	switch {
	case sa.k2 == nil || len(sa.k2.SKd) == 0:
		c.KeysReason = "no SK_d for the IKE SA"
		return
	case pfs:
		c.KeysReason = "PFS: the CREATE_CHILD_SA Diffie-Hellman secret is not on the wire"
		return
	case ni == nil || nr == nil:
		c.KeysReason = "nonces not seen"
		return
	}
	prf := sa.k2.PRF
	if prf == algo.PRFUnknown && sa.suite != nil {
		prf = sa.suite.PRF
	}
	encLen, integLen, err := keyLens(c)
	if err != nil {
		c.KeysReason = err.Error()
		return
	}
	km, err := ikecrypt.KeymatV2(prf, sa.k2.SKd, nil, ni, nr, encLen, integLen)
	if err != nil {
		c.KeysReason = "KEYMAT: " + err.Error()
		return
	}
	c.KeysIR, c.KeysRI = espSAs(c, encLen, append(km.EncI, km.IntegI...), append(km.EncR, km.IntegR...))
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// deleteSPIs ends the pairs a Delete payload names. Each SPI is one the
// sender receives on (RFC 2408 §3.15, RFC 7296 §3.11); the pair goes with
// it, and the peer's Delete for the other half changes nothing more.
//
// A Delete may name an SA negotiated before the capture began (a live run
// starting mid-stream): it still ends a pair. It is counted once, from the
// request; an IKEv2 response names the other half of the same pair.
func (t *Tracker) deleteSPIs(sa *ikeSA, proto ike.ProtocolID, spis [][]byte, sender netip.AddrPort, now time.Time, response bool) {
	ipp := proto.IPProto()
	if ipp == 0 {
		return
	}
	for _, b := range spis {
		if len(b) != 4 {
			continue
		}
		spi := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		var hit *childSA
		for _, c := range t.bySPI[spiKey{ipp, spi}] {
			own := c.SPIInitiator == spi && c.Initiator.Addr() == sender.Addr() ||
				c.SPIResponder == spi && c.Responder.Addr() == sender.Addr()
			if !own && c.sa != sa {
				continue
			}
			if hit == nil || c.State == ChildActive {
				hit = c
			}
		}
		if hit == nil {
			if !response {
				t.count(&t.deletions, TallyDeletion, now)
			}
			t.emit(Event{Time: now, Kind: event.ChildSADeleted, DeletedProto: ipp, DeletedSPI: spi, DeletedBy: sender,
				Reason: "delete payload (pair negotiated before the capture)"})
			continue
		}
		if hit.State != ChildActive {
			continue
		}
		if !hit.expiry.IsZero() && !now.Before(hit.expiry.Add(-expiryTolerance)) {
			// IKEv1 peers send a Delete when the hard lifetime fires: the pair
			// expired, and the Delete only announces it.
			hit.State, hit.Ended, hit.EndReason = ChildExpired, now, "lifetime (Delete sent)"
			t.count(&t.expirations, TallyExpiration, now)
			t.emit(Event{Time: now, Kind: event.ChildSAExpired, Child: hit.snapshot(), DeletedSPI: spi, DeletedBy: sender,
				Reason: "negotiated lifetime ran out; Delete sent"})
			continue
		}
		hit.State, hit.Ended, hit.EndReason = ChildDeleted, now, "delete payload"
		t.count(&t.deletions, TallyDeletion, now)
		t.emit(Event{Time: now, Kind: event.ChildSADeleted, Child: hit.snapshot(), DeletedSPI: spi, DeletedBy: sender, Reason: "delete payload"})
	}
}

// endChildrenOf ends the live pairs of an IKEv2 IKE SA being deleted
// (RFC 7296 §1.4.1: closing an IKE SA closes its CHILD SAs).
func (t *Tracker) endChildrenOf(sa *ikeSA, sender netip.AddrPort, now time.Time) {
	for _, c := range sa.children {
		if c.State != ChildActive {
			continue
		}
		c.State, c.Ended, c.EndReason = ChildDeleted, now, "IKE SA deleted"
		t.count(&t.ikeSADeletions, TallyIKESADeletion, now)
		t.emit(Event{Time: now, Kind: event.ChildSADeleted, Child: c.snapshot(), DeletedBy: sender, Reason: "IKE SA deleted"})
	}
}

// abandon fails the negotiations of an IKE SA that is going away: no answer
// can come any more.
func (t *Tracker) abandon(sa *ikeSA, now time.Time) {
	for _, n := range t.negs {
		if n.sa == sa && n.State == NegotiationPending {
			t.failNegotiation(n, "IKE SA deleted before an answer", now)
		}
	}
}
