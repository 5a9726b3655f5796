package ikestate

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/ikecrypt"
)

func isPhase1(e ike.ExchangeType) bool {
	return e == ike.ExchangeMain || e == ike.ExchangeAggressive || e == ike.ExchangeBase || e == ike.ExchangeAuthOnly
}

func (t *Tracker) handleV1(m Message, h ike.Header, msg []byte) {
	sa := t.lookupSA(1, h.ISPI, h.RSPI)
	if sa == nil {
		sa = t.newSA(1, h.ISPI, h.RSPI, m.Time)
		sa.initiator, sa.responder = m.Src, m.Dst
		// Only the first message of phase 1 names the initiator for sure.
		sa.initiatorKnown = h.RSPI.IsZero() && isPhase1(h.Exchange)
		if isPhase1(h.Exchange) {
			sa.exchange = h.Exchange
		}
		t.findKeysV1(sa)
	}
	if sa.ref.RSPI.IsZero() && !h.RSPI.IsZero() {
		t.setRSPI(sa, h.RSPI)
		t.findKeysV1(sa)
	}
	dup, digest := t.retransmission(sa, m, msg)
	if dup {
		return
	}
	sa.msgs++
	fromI := sa.fromInitiator(m.Src)
	sa.notePeers(m.Src, m.Dst, fromI)
	info := &MessageInfo{
		Src: m.Src, Dst: m.Dst, Version: 1, Exchange: h.Exchange.String(), MessageID: h.MessageID,
		ISPI: h.ISPI, RSPI: h.RSPI, Length: len(msg), Encrypted: h.Encrypted(),
	}
	idx := len(t.events)
	t.emit(Event{Time: m.Time, Kind: event.Message, Frame: frameOf(m)})
	var err error
	switch {
	case isPhase1(h.Exchange):
		info.Initiator = fromI
		err = t.v1Phase1(sa, m, h, msg, info, fromI)
	default:
		err = t.v1Phase2(sa, m, h, msg, info)
	}
	if err != nil {
		info.Note = err.Error()
		t.msgErrors++
		t.emit(Event{Time: m.Time, Kind: event.MessageError, Frame: frameOf(m), Error: err.Error()})
	}
	t.events[idx].Message = info
	t.remember(sa, digest, *info)
}

// findKeysV1 picks the key table entry for the SA's cookies.
func (t *Tracker) findKeysV1(sa *ikeSA) {
	for i := range t.ks.IKEv1 {
		k := &t.ks.IKEv1[i]
		if k.ICookie == sa.ref.ISPI && (!k.HasRCookie || k.RCookie == sa.ref.RSPI) {
			if sa.k1 != k {
				sa.k1, sa.block = k, nil
			}
			return
		}
	}
}

// cipherV1 readies the phase 1 cipher once the SA's algorithms are known.
func (t *Tracker) cipherV1(sa *ikeSA) error {
	if sa.block != nil {
		return nil
	}
	if sa.k1 == nil {
		return errNoKeys
	}
	enc, prf := sa.k1.Enc, sa.k1.PRF
	if sa.p1 != nil {
		if enc == algo.EncUnknown {
			enc = sa.p1.Cipher()
		}
		if prf == algo.PRFUnknown {
			prf = sa.p1.PRFAlg()
		}
	}
	if enc == algo.EncUnknown || prf == algo.PRFUnknown {
		return errors.New("phase 1 algorithms unknown: the SA exchange is not in the capture and the key entry does not name them")
	}
	b, err := ikecrypt.NewBlock(enc, sa.k1.EncKey)
	if err != nil {
		return err
	}
	sa.block, sa.prf = b, prf
	return nil
}

var errNoKeys = errors.New("no key for this SA")

// phase1IV is the IV of the first encrypted phase 1 message (RFC 2409 App. B).
func (sa *ikeSA) phase1IV() ([]byte, error) {
	if sa.gxi == nil || sa.gxr == nil {
		return nil, errors.New("phase 1 IV needs both KE payloads, which are not in the capture")
	}
	return ikecrypt.Phase1IV(sa.prf, sa.gxi, sa.gxr, sa.block.BlockSize())
}

// decryptV1 decrypts an E-flagged message body with iv and checks that the
// plaintext is a well-formed payload chain: a wrong key or IV shows up there.
func (t *Tracker) decryptV1(sa *ikeSA, h ike.Header, msg, iv []byte, info *MessageInfo) ([]ike.Payload, []byte, error) {
	sa.keyTries++
	pt, next, err := ikecrypt.DecryptCBC(sa.block, iv, h.Body(msg))
	if err != nil {
		t.decryptFailures++
		sa.keyFails++
		return nil, nil, fmt.Errorf("decrypt: %w", err)
	}
	names, ps, err := summarizeChain(1, h.NextPayload, pt)
	if err != nil {
		t.decryptFailures++
		sa.keyFails++
		return nil, nil, fmt.Errorf("decrypted payloads do not parse (wrong key or IV?): %w", err)
	}
	t.decrypted++
	info.Decrypted = true
	info.Payloads = names
	return ps, next, nil
}

func (t *Tracker) noteUndecrypted(sa *ikeSA, info *MessageInfo, why error) {
	t.undecrypted++
	t.noteDecryption(sa, false)
	if why != nil && !errors.Is(why, errNoKeys) {
		info.Note = "not decrypted: " + why.Error()
	}
}

func (t *Tracker) v1Phase1(sa *ikeSA, m Message, h ike.Header, msg []byte, info *MessageInfo, fromI bool) error {
	sa.p1Count++
	if sa.exchange == 0 {
		sa.exchange = h.Exchange
	}
	var ps []ike.Payload
	if h.Encrypted() {
		err := t.cipherV1(sa)
		if err == nil && sa.p1IV == nil {
			sa.p1IV, err = sa.phase1IV()
		}
		if err != nil {
			t.noteUndecrypted(sa, info, err)
		} else {
			var next []byte
			ps, next, err = t.decryptV1(sa, h, msg, sa.p1IV, info)
			if err != nil {
				return err
			}
			sa.p1IV, sa.lastP1 = next, next
			t.noteDecryption(sa, true)
		}
	} else {
		names, all, err := summarizeChain(1, h.NextPayload, h.Body(msg))
		info.Payloads = names
		if err != nil {
			return err
		}
		ps = all
	}
	sa.notePhase1(ps, fromI)
	t.v1Phase1Done(sa, m, h, info, fromI)
	return nil
}

// notePhase1 takes what phase 1 payloads tell about the ISAKMP SA: the
// chosen transform, the KE payloads that seed the IVs, identities, vendors.
func (sa *ikeSA) notePhase1(ps []ike.Payload, fromI bool) {
	for _, p := range ps {
		switch p.Type {
		case ike.PayloadSA:
			s, err := ike.ParseSAv1(p.Body)
			if err != nil || len(s.Proposals) == 0 || len(s.Proposals[0].Transforms) == 0 {
				continue
			}
			if !fromI || sa.p1 == nil {
				// The responder's SA holds the one transform it chose; until
				// it arrives, the initiator's first offer stands in.
				p1 := s.Proposals[0].Transforms[0].Phase1()
				sa.p1 = &p1
				sa.block = nil
				sa.suiteChosen = !fromI
			}
			if !fromI && multipleChoicesV1(s) {
				sa.multiChoice++
			}
		case ike.PayloadKE:
			if fromI {
				sa.gxi = bytes.Clone(p.Body)
			} else {
				sa.gxr = bytes.Clone(p.Body)
			}
		case ike.PayloadID:
			if id, err := ike.ParseIDv1(p.Body); err == nil {
				if fromI {
					sa.idI = id.String()
				} else {
					sa.idR = id.String()
				}
			}
		case ike.PayloadVendorID:
			if v := ike.VendorName(p.Body); v != "" {
				sa.vendorIDs = appendNew(sa.vendorIDs, v)
			}
		}
	}
}

// v1Phase1Done establishes the ISAKMP SA when phase 1's last message passes.
func (t *Tracker) v1Phase1Done(sa *ikeSA, m Message, h ike.Header, info *MessageInfo, fromI bool) {
	// Main Mode ends with the responder's sixth message, Aggressive Mode with
	// the initiator's third (RFC 2409 §5); both are visible in the headers.
	done := false
	switch h.Exchange {
	case ike.ExchangeMain:
		done = !fromI && (sa.p1Count >= 6 || h.Encrypted())
	case ike.ExchangeAggressive:
		done = fromI && sa.p1Count >= 3
	case ike.ExchangeBase:
		done = fromI && sa.p1Count >= 3
	}
	if done && sa.established.IsZero() {
		if sa.lastP1 == nil && sa.block != nil {
			// An unencrypted last message leaves the phase 1 IV as the chain's
			// last block (Aggressive Mode without an encrypted AM3).
			sa.lastP1, _ = sa.phase1IV()
		}
		sa.inferred = !info.Decrypted && h.Encrypted()
		sa.setState(IKESAEstablished, "", m.Time)
		sa.failReason = ""
		if sa.p1 != nil && sa.p1.LifeSeconds != 0 {
			t.noteExpiry(m.Time.Add(time.Duration(sa.p1.LifeSeconds) * time.Second))
		}
		t.emit(Event{Time: m.Time, Kind: event.IKESAEstablished, IKESA: sa.snapshot()})
	}
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// v1Phase2 handles Quick Mode, Informational, Transaction and other
// exchanges protected by the ISAKMP SA: each message ID is its own CBC
// chain, seeded from the last phase 1 block (RFC 2409 Appendix B).
func (t *Tracker) v1Phase2(sa *ikeSA, m Message, h ike.Header, msg []byte, info *MessageInfo) error {
	ex := sa.v1ex[h.MessageID]
	if ex == nil {
		ex = &v1Exchange{typ: h.Exchange, initiator: m.Src}
		if sa.v1ex == nil {
			sa.v1ex = map[uint32]*v1Exchange{} // only IKEv1 SAs with phase 2 need it
		}
		sa.v1ex[h.MessageID] = ex
		t.keepExchange(exRef{sa: sa, v1: ex, k1: h.MessageID})
		if h.Exchange == ike.ExchangeQuick {
			ex.neg = t.newNegotiation(sa, h.Exchange, h.MessageID, m.Src, m.Dst, m.Time)
			defer t.emit(Event{Time: m.Time, Kind: event.NegotiationStarted, Negotiation: ex.neg.snapshot()})
		}
	}
	ex.count++
	fromExI := m.Src == ex.initiator || m.Src.Addr() == ex.initiator.Addr() && m.Dst.Addr() != ex.initiator.Addr()
	info.Initiator = fromExI
	info.Response = !fromExI
	if !fromExI {
		ex.fromResp++
	}
	if ex.neg != nil {
		ex.neg.Messages++
	}
	var ps []ike.Payload
	if h.Encrypted() {
		err := t.cipherV1(sa)
		if err == nil && ex.iv == nil {
			if sa.lastP1 == nil && sa.gxi != nil && sa.gxr != nil {
				sa.lastP1, _ = sa.phase1IV()
			}
			if sa.lastP1 == nil {
				err = errors.New("the end of phase 1 is not in the capture")
			} else {
				ex.iv, err = ikecrypt.Phase2IV(sa.prf, sa.lastP1, h.MessageID)
			}
		}
		if err != nil {
			t.noteUndecrypted(sa, info, err)
			t.v1Undecrypted(ex)
		} else {
			var next []byte
			ps, next, err = t.decryptV1(sa, h, msg, ex.iv, info)
			if err != nil {
				t.v1Undecrypted(ex)
				return err
			}
			ex.iv = next
			ex.decrypted = true
			t.noteDecryption(sa, true)
		}
	} else {
		names, all, err := summarizeChain(1, h.NextPayload, h.Body(msg))
		info.Payloads = names
		if err != nil {
			return err
		}
		ps = all
		ex.decrypted = true
	}
	switch h.Exchange {
	case ike.ExchangeQuick:
		t.v1Quick(sa, ex, m, ps, fromExI)
	case ike.ExchangeInformational:
		t.v1Informational(sa, m, ps)
	}
	return nil
}

// v1Undecrypted records, once per exchange, that an exchange was followed
// from its headers only.
func (t *Tracker) v1Undecrypted(ex *v1Exchange) {
	if ex.decrypted || ex.undecryptedNoted {
		return
	}
	ex.undecryptedNoted = true
	switch ex.typ {
	case ike.ExchangeQuick:
		t.v1QMUndecrypted++
	case ike.ExchangeInformational:
		t.infoUndecrypted++
	}
}

func (t *Tracker) v1Quick(sa *ikeSA, ex *v1Exchange, m Message, ps []ike.Payload, fromExI bool) {
	if ps != nil {
		q := &qmData{}
		for _, p := range ps {
			switch p.Type {
			case ike.PayloadSA:
				if s, err := ike.ParseSAv1(p.Body); err == nil {
					q.sas = append(q.sas, s)
				}
			case ike.PayloadNonce:
				q.nonce = bytes.Clone(p.Body)
			case ike.PayloadKE:
				q.pfs = true
			case ike.PayloadID:
				if id, err := ike.ParseIDv1(p.Body); err == nil {
					id.Data = bytes.Clone(id.Data)
					q.ids = append(q.ids, id)
				}
			case ike.PayloadNotify:
				if n, err := ike.ParseNotifyV1(p.Body); err == nil {
					n.SPI, n.Data = bytes.Clone(n.SPI), bytes.Clone(n.Data)
					q.notifies = append(q.notifies, n)
				}
			}
		}
		i := 1
		if fromExI {
			i = 0
		}
		if ex.qm[i] == nil && (len(q.sas) > 0 || q.nonce != nil) {
			ex.qm[i] = q
			if i == 0 && ex.neg != nil {
				ex.neg.Offered = offersV1(q.sas)
			}
		}
		for _, n := range q.notifies {
			if n.Type.Error() && ex.neg != nil {
				t.failNegotiation(ex.neg, n.Type.String(), m.Time)
			}
		}
	}
	// QM3 (the initiator speaking after the responder) completes the exchange.
	if fromExI && ex.fromResp > 0 && ex.neg != nil && ex.neg.State == NegotiationPending {
		t.completeQuickMode(sa, ex, m.Time)
	}
}

func offersV1(sas []ike.SAv1) []Method {
	var out []Method
	for _, s := range sas {
		// Proposals with the same number form one bundle (RFC 2408 §4.2).
		for i := 0; i < len(s.Proposals); {
			j := i
			for j < len(s.Proposals) && s.Proposals[j].Number == s.Proposals[i].Number {
				j++
			}
			bundle := s.Proposals[i:j]
			n := 0
			for _, p := range bundle {
				n = max(n, len(p.Transforms))
			}
			for k := 0; k < n; k++ {
				out = append(out, methodV1(bundle, k))
			}
			i = j
		}
	}
	return out
}

// methodV1 is the k-th transform alternative of a proposal bundle.
func methodV1(bundle []ike.ProposalV1, k int) Method {
	var m Method
	for _, p := range bundle {
		if len(p.Transforms) == 0 {
			continue
		}
		tr := p.Transforms[min(k, len(p.Transforms)-1)]
		q := tr.Phase2(p.Protocol)
		if m.Protocol != "" {
			m.Protocol += "+"
		}
		m.Protocol += p.Protocol.String()
		enc, auth := q.Algorithms()
		if p.Protocol == ike.ProtoESP {
			reg := ike.TransformIDName(p.Protocol, tr.ID)
			bits := q.EncKeyBits()
			m.Encryption = append(m.Encryption, encName(enc, bits, reg))
		}
		if auth != algo.AuthNone && auth != algo.AuthUnknown || q.AuthAlg != 0 {
			reg := ike.AuthAlgV1Name(q.AuthAlg)
			if q.AuthAlg == 0 {
				reg = ike.TransformIDName(p.Protocol, tr.ID)
			}
			m.Integrity = appendNew(m.Integrity, authName(auth, reg))
		} else if p.Protocol == ike.ProtoAH {
			m.Integrity = appendNew(m.Integrity, ike.TransformIDName(p.Protocol, tr.ID))
		}
		if q.Group != 0 {
			m.PFS = appendNew(m.PFS, q.Group.Display())
		}
		if q.ESN {
			m.ESN = []string{"ESN"}
		}
		if q.Encap != 0 {
			m.Mode = q.Encap.String()
		}
		m.LifeSeconds, m.LifeKilobytes = max(m.LifeSeconds, q.LifeSeconds), max(m.LifeKilobytes, q.LifeKilobytes)
	}
	return m
}

// completeQuickMode turns a finished Quick Mode into SA pairs: one per
// protocol of the chosen bundle, with the SPIs each side proposed.
func (t *Tracker) completeQuickMode(sa *ikeSA, ex *v1Exchange, now time.Time) {
	n := ex.neg
	n.State, n.Ended = NegotiationCompleted, now
	qi, qr := ex.qm[0], ex.qm[1]
	if qi == nil || qr == nil || len(qr.sas) == 0 {
		// Headers only: one pair was added (RFC 2409 §5.5 needs all three
		// messages), its contents unknown.
		n.Kind, n.Inferred = NegotiateUnknown, true
		t.count(&t.addsKnown, TallyAddition, now)
		// Whether it replaced a live pair needs the selectors, which are
		// encrypted: two tunnels between the same peers are as likely.
		c := t.newChild(sa, n, ProtoUnknown, now)
		c.Inferred = true
		c.KeysReason = "Quick Mode not decrypted"
		t.emitChild(c)
		return
	}
	for i, rsa := range qr.sas {
		if multipleChoicesV1(rsa) {
			sa.multiChoice++
		}
		var isa *ike.SAv1
		if i < len(qi.sas) {
			isa = &qi.sas[i]
		}
		if len(rsa.Proposals) == 0 {
			continue
		}
		m := methodV1(rsa.Proposals, 0)
		n.Chosen = &m
		for _, rp := range rsa.Proposals {
			if len(rp.Transforms) == 0 || (rp.Protocol != ike.ProtoESP && rp.Protocol != ike.ProtoAH) {
				continue
			}
			c := t.qmChild(sa, n, rp, isa, qr.notifies, qi.ids, now)
			t.keysV1(sa, c, qi, qr)
			if old := t.liveSibling(c); old != nil {
				c.RekeyOf = old.ID
				n.Rekey = true
				t.count(&t.rekeysKnown, TallyRekey, now)
			}
			t.count(&t.addsKnown, TallyAddition, now)
			t.indexChild(c)
			t.emitChild(c)
		}
	}
}

// qmChild creates the pair of one protocol (rp) of a completed Quick Mode:
// the responder's SPI from its answer, the initiator's from the matching
// proposal of its offer (isa), lifetimes, mode and selectors.
func (t *Tracker) qmChild(sa *ikeSA, n *negotiation, rp ike.ProposalV1, isa *ike.SAv1, notifies []ike.NotifyV1, ids []ike.IDv1, now time.Time) *childSA {
	c := t.newChild(sa, n, rp.Protocol.IPProto(), now)
	c.SPIResponder, _ = rp.SPI32()
	if isa != nil {
		for _, ip := range isa.Proposals {
			if ip.Number == rp.Number && ip.Protocol == rp.Protocol {
				c.SPIInitiator, _ = ip.SPI32()
			}
		}
	}
	q := rp.Transforms[0].Phase2(rp.Protocol)
	c.Enc, c.Auth = q.Algorithms()
	if rp.Protocol == ike.ProtoAH {
		c.Enc = algo.EncUnknown
	}
	c.EncKeyBits = q.EncKeyBits()
	c.ESN = q.ESN
	c.LifeSeconds, c.LifeKilobytes = q.LifeSeconds, q.LifeKilobytes
	if q.Group != 0 {
		c.PFSGroup, c.PFSGroupID = q.Group.String(), uint16(q.Group)
	}
	switch {
	case q.Encap == 0:
	case q.Encap.Tunnel():
		c.Mode = ModeTunnel
	default:
		c.Mode = ModeTransport
	}
	if q.Encap.UDP() {
		c.UDPEncap = true
		c.EncapInitiatorPort, c.EncapResponderPort = n.Initiator.Port(), n.Responder.Port()
	}
	// RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) shortens the lifetime of the SA its SPI names.
	for _, nt := range notifies {
		if nt.Type == ike.NotifyV1ResponderLifetime && (len(nt.SPI) == 0 || bytes.Equal(nt.SPI, rp.SPI)) {
			if attrs, err := ike.ParseAttributes(nt.Data); err == nil {
				lq := ike.TransformV1{Attrs: attrs}.Phase2(rp.Protocol)
				if lq.LifeSeconds != 0 {
					c.LifeSeconds = lq.LifeSeconds
				}
				if lq.LifeKilobytes != 0 {
					c.LifeKilobytes = lq.LifeKilobytes
				}
			}
		}
	}
	c.InitiatorSelectors, c.ResponderSelectors = selectorsV1(ids, n.Initiator, n.Responder)
	if c.LifeSeconds != 0 {
		c.expiry = now.Add(time.Duration(c.LifeSeconds) * time.Second)
		t.noteExpiry(c.expiry)
	}
	return c
}

// selectorsV1 reads IDci/IDcr; without them the pair protects the ISAKMP
// SA's own addresses (RFC 2409 §5.5).
func selectorsV1(ids []ike.IDv1, ini, res netip.AddrPort) ([]Selector, []Selector) {
	if len(ids) != 2 {
		return []Selector{addrSelector(ini.Addr())}, []Selector{addrSelector(res.Addr())}
	}
	conv := func(id ike.IDv1) Selector {
		s := Selector{Text: id.String(), Protocol: id.Protocol}
		if id.Port != 0 {
			s.StartPort, s.EndPort = id.Port, id.Port
		}
		if p, ok := id.Prefix(); ok {
			// A selector is a prefix even when the ID names one address.
			s.Prefix = p
			s.Text = p.String()
			if id.Protocol != 0 || id.Port != 0 {
				s.Text += fmt.Sprintf("[%d/%d]", id.Protocol, id.Port)
			}
		}
		return s
	}
	return []Selector{conv(ids[0])}, []Selector{conv(ids[1])}
}

func addrSelector(a netip.Addr) Selector {
	p := netip.PrefixFrom(a, a.BitLen())
	return Selector{Text: p.String(), Prefix: p}
}

func (t *Tracker) v1Informational(sa *ikeSA, m Message, ps []ike.Payload) {
	for _, p := range ps {
		switch p.Type {
		case ike.PayloadNotify:
			n, err := ike.ParseNotifyV1(p.Body)
			if err != nil || !n.Type.Error() {
				continue
			}
			if sa.established.IsZero() {
				// An error during phase 1 ends the attempt unless the exchange
				// goes on (peers do retransmit and carry on); Finish decides.
				sa.failReason = n.Type.String()
				continue
			}
			// An error from the peer answering a Quick Mode fails that negotiation.
			for _, ex := range sa.v1ex {
				if ex.neg != nil && ex.neg.State == NegotiationPending && m.Src.Addr() != ex.initiator.Addr() {
					t.failNegotiation(ex.neg, n.Type.String(), m.Time)
				}
			}
		case ike.PayloadDelete:
			d, err := ike.ParseDeleteV1(p.Body)
			if err != nil {
				continue
			}
			if d.Protocol == ike.ProtoISAKMP {
				// IKEv1 children outlive their ISAKMP SA.
				if sa.state != IKESADeleted {
					t.abandon(sa, m.Time)
					sa.setState(IKESADeleted, "delete payload", m.Time)
					t.emit(Event{Time: m.Time, Kind: event.IKESADeleted, IKESA: sa.snapshot(), Reason: "delete payload"})
				}
				continue
			}
			t.deleteSPIs(sa, d.Protocol, d.SPIs, m.Src, m.Time, false)
		}
	}
}
