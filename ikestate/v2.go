package ikestate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/ikecrypt"
)

func (t *Tracker) findKeysV2(sa *ikeSA) {
	for i := range t.ks.IKEv2 {
		k := &t.ks.IKEv2[i]
		if k.SPIi == sa.ref.ISPI && k.SPIr == sa.ref.RSPI {
			sa.k2 = k
			return
		}
	}
}

func (t *Tracker) handleV2(m Message, h ike.Header, msg []byte) {
	sa := t.lookupSA(2, h.ISPI, h.RSPI)
	if sa == nil {
		sa = t.newSA(2, h.ISPI, h.RSPI, m.Time)
		// The I flag names the original initiator in every message (RFC 7296 §3.1).
		sa.initiatorKnown = true
		if h.Exchange == ike.ExchangeIKESAInit {
			sa.exchange = h.Exchange
		}
		sa.notePeers(m.Src, m.Dst, h.Initiator())
		t.findKeysV2(sa)
	}
	if sa.ref.RSPI.IsZero() && !h.RSPI.IsZero() {
		t.setRSPI(sa, h.RSPI)
		t.findKeysV2(sa)
	}
	dup, digest := t.retransmission(sa, m, msg)
	if dup {
		sa.noteRetransmitV2(h, m.Time)
		return
	}
	sa.msgs++
	sa.notePeers(m.Src, m.Dst, h.Initiator())
	info := &MessageInfo{
		Src: m.Src, Dst: m.Dst, Version: 2, Exchange: h.Exchange.String(), MessageID: h.MessageID,
		ISPI: h.ISPI, RSPI: h.RSPI, Initiator: h.Initiator(), Response: h.Response(), Length: len(msg),
	}
	idx := len(t.events)
	t.emit(Event{Time: m.Time, Kind: event.Message, Frame: frameOf(m)})
	defer func() {
		t.events[idx].Message = info
		t.remember(sa, digest, *info)
	}()

	ex := t.exchangeV2(sa, m, h)

	content, complete, decrypted, err := t.v2Payloads(sa, ex, h, msg, info)
	if err != nil {
		info.Note = err.Error()
		t.msgErrors++
		t.emit(Event{Time: m.Time, Kind: event.MessageError, Frame: frameOf(m), Error: err.Error()})
		return
	}
	if !complete {
		return // more SKF fragments to come
	}
	reqSeen, respSeen := ex.reqSeen, ex.respSeen
	sa.noteExchangeV2(ex, h, decrypted)
	sa.noteLivenessV2(ex, h, m.Time, reqSeen, respSeen)
	// An IKE_SA_INIT "response" from the initiator (seen in the wild: the
	// R flag set on its own offer) chose nothing.
	answer := h.Response() && !(h.Exchange == ike.ExchangeIKESAInit && h.Initiator())
	if answer && content != nil && content.hasSA && multipleChoicesV2(content.proposals) {
		sa.multiChoice++
	}
	switch h.Exchange {
	case ike.ExchangeIKESAInit:
		t.v2SAInit(sa, ex, m, h, content)
	case ike.ExchangeIKEAuth:
		t.v2Auth(sa, ex, m, h, content)
	case ike.ExchangeCreateChildSA:
		t.v2CreateChild(sa, ex, m, h, content)
	case ike.ExchangeInformationalV2:
		t.v2Informational(sa, ex, m, h, content)
	}
}

// exchangeV2 finds or starts the request/response pair a message belongs
// to. A request from the original initiator and the response to it share a
// key.
func (t *Tracker) exchangeV2(sa *ikeSA, m Message, h ike.Header) *v2Exchange {
	key := v2ExKey{h.MessageID, h.Initiator() != h.Response()}
	ex := sa.v2ex[key]
	if ex == nil || (!h.Response() && ex.respSeen && h.Exchange == ike.ExchangeIKESAInit) {
		// IKE_SA_INIT is retried with message ID 0 after COOKIE or INVALID_KE_PAYLOAD.
		if ex != nil {
			t.dropFragments(ex)
		}
		ex = &v2Exchange{typ: h.Exchange}
		if sa.v2ex == nil {
			sa.v2ex = map[v2ExKey]*v2Exchange{}
		}
		sa.v2ex[key] = ex
		t.keepExchange(exRef{sa: sa, v2: ex, k2: key})
	}
	if h.Response() {
		ex.requester, ex.responder = m.Dst, m.Src
	} else {
		ex.requester, ex.responder = m.Src, m.Dst
	}
	return ex
}

// noteExchangeV2 counts a complete message against its exchange and negotiation.
func (sa *ikeSA) noteExchangeV2(ex *v2Exchange, h ike.Header, decrypted bool) {
	if h.Response() {
		ex.respSeen = true
	} else {
		ex.reqSeen = true
	}
	if !decrypted {
		ex.undecrypted = true
	}
	if ex.neg != nil {
		ex.neg.Messages++
	} else if h.Exchange == ike.ExchangeIKEAuth && sa.authNeg != nil {
		sa.authNeg.Messages++
	}
}

// v2Payloads reads the cleartext payloads and opens SK/SKF. It returns the
// message's content (nil when encrypted payloads could not be read),
// whether the message is complete (all SKF fragments in) and whether
// everything in it was read.
func (t *Tracker) v2Payloads(sa *ikeSA, ex *v2Exchange, h ike.Header, msg []byte, info *MessageInfo) (*v2Content, bool, bool, error) {
	names, ps, err := summarizeChain(2, h.NextPayload, h.Body(msg))
	info.Payloads = names
	if err != nil {
		return nil, false, false, err
	}
	var inner []ike.Payload
	for _, p := range ps {
		if p.Type != ike.PayloadSK && p.Type != ike.PayloadSKF {
			continue
		}
		ips, complete, ok, err := t.openSK(sa, ex, h, msg, p, info)
		if err != nil || !ok {
			return nil, complete, ok, err
		}
		inner = ips
	}
	c := &v2Content{}
	for _, p := range append(ps, inner...) {
		c.add(p)
	}
	return c, true, true, nil
}

// openSK opens one SK or SKF payload (RFC 7296 §3.14, RFC 7383). It
// returns the inner payloads once the message is whole and verified, and
// like v2Payloads whether the message is complete and was read.
func (t *Tracker) openSK(sa *ikeSA, ex *v2Exchange, h ike.Header, msg []byte, p ike.Payload, info *MessageInfo) ([]ike.Payload, bool, bool, error) {
	info.Encrypted = true
	hdrLen := 4
	side := 0
	if h.Response() {
		side = 1
	}
	var frag ike.Fragment
	if p.Type == ike.PayloadSKF {
		var err error
		frag, err = ike.ParseFragment(p.Body)
		if err != nil {
			return nil, false, false, fmt.Errorf("payload %d (SKF): %w", p.Index, err)
		}
		hdrLen = 8
		info.Fragment = fmt.Sprintf("%d/%d", frag.Number, frag.Total)
		t.noteFragment(ex, side, frag.Number)
	}
	// complete reports a whole message and forgets its fragments.
	complete := func() bool {
		if p.Type == ike.PayloadSKF && len(ex.fragCount[side]) < int(frag.Total) {
			return false
		}
		t.wholeMessage(ex, side)
		return true
	}
	if sa.k2 == nil {
		t.undecrypted++
		t.noteDecryption(sa, false)
		if p.Type == ike.PayloadSK && h.Response() && sa.suite != nil {
			ex.shortResp = innerCapacity(sa.suite, len(p.Body)) < minChildAnswer
		}
		return nil, complete(), false, nil
	}
	end := ike.HeaderLen + p.Offset + len(p.Raw)
	pt, integ, oerr := ikecrypt.OpenSK(ikecrypt.Direction(sa.k2, h.Initiator()), msg[:end], ike.HeaderLen+p.Offset, hdrLen)
	info.Integrity = integ
	if integ == ikecrypt.IntegrityBad {
		t.integFailures++
	}
	sa.keyTries++
	if oerr != nil || integ == ikecrypt.IntegrityBad {
		sa.keyFails++
		// Contents that fail their checksum are not evidence of anything.
		t.decryptFailures++
		t.noteDecryption(sa, false)
		if oerr == nil {
			oerr = fmt.Errorf("integrity checksum does not verify")
		}
		info.Note = "not decrypted: " + oerr.Error()
		return nil, complete(), false, nil
	}
	t.decrypted++
	t.noteDecryption(sa, true)
	info.Decrypted = true
	first := p.Next
	if p.Type == ike.PayloadSKF {
		if ex.frags[side] == nil {
			ex.frags[side] = &ikecrypt.Fragments{}
		}
		done, ferr := ex.frags[side].Add(frag.Number, frag.Total, uint8(p.Next), pt)
		if ferr != nil {
			return nil, false, false, ferr
		}
		if !done {
			return nil, false, false, nil
		}
		f, whole, _ := ex.frags[side].Message()
		first, pt = ike.PayloadType(f), whole
		t.wholeMessage(ex, side)
	}
	inames, ips, ierr := summarizeChain(2, first, pt)
	info.Payloads = append(info.Payloads[:len(info.Payloads):len(info.Payloads)], inames...)
	if ierr != nil {
		return nil, true, false, fmt.Errorf("decrypted payloads: %w", ierr)
	}
	return ips, true, true, nil
}

// minChildAnswer is the smallest inner payload chain of a successful
// IKE_AUTH or CREATE_CHILD_SA answer: an SA payload with one proposal, SPI
// and transform (24 bytes) and a 16-byte nonce (20) — IKE_AUTH adds IDr and
// AUTH. An error answer is a lone 8-byte notify.
const minChildAnswer = 44

// innerCapacity bounds the plaintext of an SK payload body of n bytes under
// the IKE SA's negotiated algorithms (IV and ICV sizes, RFC 7296 §3.14).
func innerCapacity(s *ike.Suite, n int) int {
	iv := s.Enc.IVLen()
	icv := s.Integ.ICVLen()
	if s.Enc.AEAD() {
		icv = s.Enc.ICVLen()
	}
	if iv == 0 && !s.Enc.AEAD() && s.Enc != algo.EncNull {
		return n // unknown cipher: no bound
	}
	return n - iv - icv - 1
}

func (c *v2Content) add(p ike.Payload) {
	switch p.Type {
	case ike.PayloadSAv2:
		if props, err := ike.ParseSA(p.Body); err == nil {
			for i := range props {
				props[i].SPI = bytes.Clone(props[i].SPI)
			}
			c.proposals, c.hasSA = props, true
		}
	case ike.PayloadNonceV2:
		c.nonce = bytes.Clone(p.Body)
	case ike.PayloadKEv2:
		if ke, err := ike.ParseKE(p.Body); err == nil {
			c.ke = &ke
		}
	case ike.PayloadTSi:
		c.tsi, _ = ike.ParseTS(p.Body)
		c.hasTS = true
	case ike.PayloadTSr:
		c.tsr, _ = ike.ParseTS(p.Body)
		c.hasTS = true
	case ike.PayloadIDi, ike.PayloadIDr:
		if id, err := ike.ParseID(p.Body); err == nil {
			if p.Type == ike.PayloadIDi {
				c.idi = id.String()
			} else {
				c.idr = id.String()
			}
		}
	case ike.PayloadAuth:
		if a, err := ike.ParseAuth(p.Body); err == nil {
			c.auth, c.authMethod = true, a.Method.String()
		}
	case ike.PayloadNotifyV2:
		if n, err := ike.ParseNotify(p.Body); err == nil {
			n.SPI, n.Data = bytes.Clone(n.SPI), bytes.Clone(n.Data)
			c.notifies = append(c.notifies, n)
			switch n.Type {
			case ike.NotifyUseTransportMode:
				c.transportMode = true
			case ike.NotifyRekeySA:
				if len(n.SPI) == 4 {
					c.rekeySPI, c.rekeyProto, c.hasRekey = binary.BigEndian.Uint32(n.SPI), n.Protocol, true
				}
			}
		}
	case ike.PayloadDeleteV2:
		if d, err := ike.ParseDelete(p.Body); err == nil {
			for i := range d.SPIs {
				d.SPIs[i] = bytes.Clone(d.SPIs[i])
			}
			c.deletes = append(c.deletes, d)
		}
	}
}

func (t *Tracker) v2SAInit(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header, c *v2Content) {
	if c == nil {
		return
	}
	if !h.Response() {
		sa.failReason = "" // a new attempt
		sa.ni = c.nonce
		if sa.suite == nil && len(c.proposals) > 0 {
			s := c.proposals[0].Suite()
			sa.suite = &s
		}
		return
	}
	if n, ok := c.errorNotify(); ok {
		sa.failReason = n.String()
		return
	}
	for _, n := range c.notifies {
		if n.Type == ike.NotifyCookie {
			sa.failReason = "COOKIE requested and not returned"
			return
		}
	}
	sa.nr = c.nonce
	if len(c.proposals) > 0 {
		s := c.proposals[0].Suite()
		sa.suite, sa.suiteChosen = &s, true
	}
}

func (t *Tracker) v2Auth(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header, c *v2Content) {
	if sa.exchange == 0 {
		sa.exchange = ike.ExchangeIKESAInit
	}
	if !h.Response() {
		t.v2AuthRequest(sa, ex, m, h, c)
		return
	}
	if c == nil {
		t.v2AuthHeadersOnly(sa, ex, m, h)
		return
	}
	n := sa.authNeg
	if c.idr != "" {
		sa.idR = c.idr
	}
	errN, hasErr := c.errorNotify()
	if hasErr && (errN == ike.NotifyAuthenticationFailed || !c.auth) {
		sa.setState(IKESAFailed, errN.String(), m.Time)
		t.emit(Event{Time: m.Time, Kind: event.IKESAFailed, IKESA: sa.snapshot(), Reason: errN.String()})
		if n != nil {
			t.failNegotiation(n, errN.String(), m.Time)
		}
		return
	}
	if c.auth {
		if sa.authMethod == "" {
			sa.authMethod = c.authMethod
		}
		if sa.established.IsZero() {
			sa.setState(IKESAEstablished, "", m.Time)
			t.emit(Event{Time: m.Time, Kind: event.IKESAEstablished, IKESA: sa.snapshot()})
		}
	}
	if n == nil && c.hasSA && !hasErr {
		// The request is not in the capture (it began after it), yet an
		// answer with an SA payload establishes the first CHILD SA (RFC 7296
		// §1.2), as a CREATE_CHILD_SA answer alone does.
		n = t.newNegotiation(sa, ike.ExchangeIKEAuth, h.MessageID, ex.requester, ex.responder, m.Time)
		sa.authNeg = n
	}
	if n == nil || n.State != NegotiationPending {
		return
	}
	switch {
	case hasErr:
		// The IKE SA stands; its first CHILD SA was refused (RFC 7296 §1.2).
		t.failNegotiation(n, errN.String(), m.Time)
	case c.hasSA:
		// Without a readable request (sa.authReq nil) the pair is built from
		// the answer; the initiator's SPI, which only the offer carries,
		// stays unknown.
		n.Kind, n.Inferred = NegotiateChild, false
		t.childFromV2(sa, n, sa.authReq, c, sa.ni, sa.nr, m.Time)
	}
}

// v2AuthRequest starts the IKE_AUTH child negotiation (RFC 7296 §1.2).
func (t *Tracker) v2AuthRequest(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header, c *v2Content) {
	if sa.authNeg == nil && (c == nil || c.hasSA) {
		n := t.newNegotiation(sa, ike.ExchangeIKEAuth, h.MessageID, ex.requester, ex.responder, m.Time)
		sa.authNeg = n
		if c == nil {
			n.Kind, n.Inferred = NegotiateUnknown, true
		} else {
			sa.authReq = c
			n.Offered = offersV2(c.proposals)
		}
		t.emit(Event{Time: m.Time, Kind: event.NegotiationStarted, Negotiation: n.snapshot()})
	}
	if c != nil && c.idi != "" {
		sa.idI = c.idi
	}
	if c == nil {
		t.v2ChildUndecryptedOnce(ex, false)
	}
}

// v2AuthHeadersOnly reads an IKE_AUTH response that could not be
// decrypted: the first answered IKE_AUTH stands for the established IKE SA
// and its first pair.
func (t *Tracker) v2AuthHeadersOnly(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header) {
	n := sa.authNeg
	t.v2ChildUndecryptedOnce(ex, false)
	if sa.authChildInferred {
		return
	}
	sa.authChildInferred = true
	if ex.shortResp {
		const why = "answer too short for an SA payload (an error notify, read from the headers)"
		sa.inferred = true
		sa.setState(IKESAFailed, why, m.Time)
		t.emit(Event{Time: m.Time, Kind: event.IKESAFailed, IKESA: sa.snapshot(), Reason: why})
		if n != nil {
			n.Inferred = true
			t.failNegotiation(n, why, m.Time)
		}
		return
	}
	if sa.established.IsZero() {
		sa.inferred = true
		sa.setState(IKESAEstablished, "", m.Time)
		t.emit(Event{Time: m.Time, Kind: event.IKESAEstablished, IKESA: sa.snapshot()})
	}
	if n == nil {
		n = t.newNegotiation(sa, ike.ExchangeIKEAuth, h.MessageID, ex.requester, ex.responder, m.Time)
		n.Kind, n.Inferred = NegotiateUnknown, true
		sa.authNeg = n
	}
	t.inferredChild(sa, n, m.Time)
}

// v2ChildUndecryptedOnce notes an IKE_AUTH or (create) CREATE_CHILD_SA
// exchange read from its headers only.
func (t *Tracker) v2ChildUndecryptedOnce(ex *v2Exchange, create bool) {
	if !ex.undecryptedNoted {
		ex.undecryptedNoted = true
		t.v2ChildUndecrypted++
		if create {
			t.v2CreateUndecrypted++
		}
	}
}

// inferredChild records a pair whose existence the headers imply and whose
// contents are unknown.
func (t *Tracker) inferredChild(sa *ikeSA, n *negotiation, now time.Time) {
	n.State, n.Ended = NegotiationCompleted, now
	t.count(&t.addsInferred, TallyAddition, now)
	ch := t.newChild(sa, n, ProtoUnknown, now)
	ch.Inferred = true
	ch.KeysReason = n.Exchange + " not decrypted"
	t.emitChild(ch)
}

func offersV2(props []ike.Proposal) []Method {
	var out []Method
	for _, p := range props {
		out = append(out, methodV2(p))
	}
	return out
}

func methodV2(p ike.Proposal) Method {
	m := Method{Protocol: p.Protocol.String()}
	if p.Protocol == ike.ProtoISAKMP {
		m.Protocol = "IKE"
	}
	for _, tr := range p.Transforms {
		switch tr.Type {
		case ike.TransformENCR:
			e := algo.EncFromIKEv2(tr.ID)
			bits := tr.KeyLen()
			if bits == 0 {
				bits = ike.DefaultKeyBits(e)
			}
			m.Encryption = appendNew(m.Encryption, encName(e, bits, ike.TransformName(tr.Type, tr.ID)))
		case ike.TransformINTEG:
			m.Integrity = appendNew(m.Integrity, authName(algo.AuthFromIKEv2(tr.ID), tr.String()))
		case ike.TransformDH:
			m.PFS = appendNew(m.PFS, ike.DHGroup(tr.ID).Display())
		case ike.TransformESN:
			m.ESN = appendNew(m.ESN, tr.String())
		case ike.TransformPRF:
			if p.Protocol == ike.ProtoISAKMP {
				m.Integrity = appendNew(m.Integrity, "PRF "+prfName(algo.PRFFromIKEv2(tr.ID), tr.String()))
			}
		}
	}
	if p.Protocol != ike.ProtoISAKMP && len(m.Integrity) == 0 && aeadOnly(p) {
		// A combined-mode cipher is its own integrity (RFC 4106 §1, RFC
		// 7296 §3.3: no INTEG transform with it): named as the SA view
		// names an AEAD SA's ESP Integrity.
		m.Integrity = m.Encryption
	}
	return m
}

// aeadOnly: every encryption transform of p is a combined-mode cipher.
func aeadOnly(p ike.Proposal) bool {
	n := 0
	for _, tr := range p.Transforms {
		if tr.Type == ike.TransformENCR {
			if !algo.EncFromIKEv2(tr.ID).AEAD() {
				return false
			}
			n++
		}
	}
	return n > 0
}

// childFromV2 creates the pair of a completed IKE_AUTH or CREATE_CHILD_SA:
// the initiator's SPI from its offer, the responder's from its answer. req
// is nil when the offer is not in the capture: the initiator's SPI is then
// unknown (0), and the answer's notifies stand for the request's (a
// responder sends USE_TRANSPORT_MODE only when asked, RFC 7296 §1.3.1).
func (t *Tracker) childFromV2(sa *ikeSA, n *negotiation, req, resp *v2Content, ni, nr []byte, now time.Time) *childSA {
	n.State, n.Ended = NegotiationCompleted, now
	if req == nil {
		req = &v2Content{transportMode: resp.transportMode}
	}
	if len(resp.proposals) == 0 {
		return nil
	}
	rp := resp.proposals[0]
	m := methodV2(rp)
	n.Chosen = &m
	ch := t.newChild(sa, n, rp.Protocol.IPProto(), now)
	ch.SPIResponder, _ = rp.SPI32()
	for _, ip := range req.proposals {
		if ip.Number == rp.Number && ip.Protocol == rp.Protocol {
			ch.SPIInitiator, _ = ip.SPI32()
			break
		}
	}
	s := rp.Suite()
	ch.Enc, ch.EncKeyBits, ch.Auth, ch.ESN = s.Enc, s.EncKeyLen, s.Integ, s.ESN
	if rp.Protocol == ike.ProtoAH {
		ch.Enc, ch.EncKeyBits = 0, 0
	}
	if s.HasDH {
		ch.PFSGroup, ch.PFSGroupID = s.DH.String(), uint16(s.DH)
	}
	// Transport mode needs USE_TRANSPORT_MODE both ways (RFC 7296 §1.3.1).
	ch.Mode = ModeTunnel
	if req.transportMode && resp.transportMode {
		ch.Mode = ModeTransport
	}
	if sa.natt {
		ch.UDPEncap = true
		ch.EncapInitiatorPort, ch.EncapResponderPort = n.Initiator.Port(), n.Responder.Port()
	}
	tsi, tsr := resp.tsi, resp.tsr
	if !resp.hasTS {
		tsi, tsr = req.tsi, req.tsr
	}
	ch.InitiatorSelectors, ch.ResponderSelectors = selectorsV2(tsi), selectorsV2(tsr)
	if req.hasRekey {
		// REKEY_SA names the pair being replaced (RFC 7296 §1.3.3); it may
		// have been negotiated before the capture began: still a rekey.
		ch.RekeyOfSPI = req.rekeySPI
		n.Rekey = true
		t.count(&t.rekeysKnown, TallyRekey, now)
		if old := t.findChildBySPI(sa, req.rekeyProto.IPProto(), req.rekeySPI); old != nil {
			ch.RekeyOf = old.ID
		}
	}
	t.keysV2(sa, ch, ni, nr, req.ke != nil || resp.ke != nil)
	t.count(&t.addsKnown, TallyAddition, now)
	t.indexChild(ch)
	t.emitChild(ch)
	return ch
}

func selectorsV2(ts []ike.TrafficSelector) []Selector {
	var out []Selector
	for _, x := range ts {
		s := Selector{Text: x.String(), Protocol: x.Protocol}
		if x.StartPort != 0 || x.EndPort != 65535 {
			s.StartPort, s.EndPort = x.StartPort, x.EndPort
		}
		if p, ok := x.Prefix(); ok {
			s.Prefix = p
		}
		out = append(out, s)
	}
	return out
}

// findChildBySPI finds the pair of sa that owns spi on either side.
func (t *Tracker) findChildBySPI(sa *ikeSA, proto uint8, spi uint32) *childSA {
	var hit *childSA
	for _, c := range t.bySPI[spiKey{proto, spi}] {
		if c.sa == sa || hit == nil {
			hit = c
		}
	}
	return hit
}

func (t *Tracker) v2CreateChild(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header, c *v2Content) {
	if !h.Response() {
		if ex.neg != nil {
			return
		}
		n := t.newNegotiation(sa, ike.ExchangeCreateChildSA, h.MessageID, ex.requester, ex.responder, m.Time)
		ex.neg, ex.req = n, c
		if c == nil {
			n.Kind, n.Inferred = NegotiateUnknown, true
			t.v2ChildUndecryptedOnce(ex, true)
		} else {
			n.Offered = offersV2(c.proposals)
			if len(c.proposals) > 0 && c.proposals[0].Protocol == ike.ProtoISAKMP {
				n.Kind = NegotiateIKERekey
			}
			n.Rekey = c.hasRekey || n.Kind == NegotiateIKERekey
		}
		t.emit(Event{Time: m.Time, Kind: event.NegotiationStarted, Negotiation: n.snapshot()})
		return
	}
	n := ex.neg
	if n == nil {
		// The request is not in the capture.
		n = t.newNegotiation(sa, ike.ExchangeCreateChildSA, h.MessageID, ex.requester, ex.responder, m.Time)
		n.Kind, n.Inferred = NegotiateUnknown, true
		ex.neg = n
	}
	if n.State != NegotiationPending {
		return
	}
	if c == nil || ex.req == nil {
		t.v2ChildUndecryptedOnce(ex, true)
		if n.Kind == NegotiateIKERekey {
			n.State, n.Ended = NegotiationCompleted, m.Time
			return
		}
		n.Inferred = true
		if ex.shortResp {
			t.failNegotiation(n, "answer too short for an SA payload (an error notify, read from the headers)", m.Time)
			return
		}
		t.inferredChild(sa, n, m.Time)
		return
	}
	if errN, ok := c.errorNotify(); ok {
		t.failNegotiation(n, errN.String(), m.Time)
		return
	}
	if n.Kind == NegotiateIKERekey {
		t.rekeyIKESA(sa, n, ex.req, c, m.Time)
		return
	}
	t.childFromV2(sa, n, ex.req, c, ex.req.nonce, c.nonce, m.Time)
}

// rekeyIKESA replaces an IKE SA (RFC 7296 §2.18): the new SPIs are in the
// proposals, the rekey initiator becomes the new SA's initiator, and the
// CHILD SAs move over.
func (t *Tracker) rekeyIKESA(old *ikeSA, n *negotiation, req, resp *v2Content, now time.Time) {
	n.State, n.Ended = NegotiationCompleted, now
	if len(req.proposals) == 0 || len(resp.proposals) == 0 {
		return
	}
	rp := resp.proposals[0]
	var ispi, rspi ike.SPI
	for _, ip := range req.proposals {
		if ip.Number == rp.Number && len(ip.SPI) == 8 {
			copy(ispi[:], ip.SPI)
		}
	}
	if len(rp.SPI) == 8 {
		copy(rspi[:], rp.SPI)
	}
	m := methodV2(rp)
	n.Chosen = &m
	sa := t.newSA(2, ispi, rspi, now)
	sa.initiator, sa.responder, sa.initiatorKnown = n.Initiator, n.Responder, true
	sa.exchange = ike.ExchangeCreateChildSA
	sa.natt = old.natt
	sa.idI, sa.idR, sa.authMethod = old.idI, old.idR, old.authMethod
	if n.Initiator != old.initiator {
		sa.idI, sa.idR = old.idR, old.idI
	}
	s := rp.Suite()
	sa.suite, sa.suiteChosen = &s, true
	ref := old.ref
	sa.rekeyOf = &ref
	sa.ni, sa.nr = req.nonce, resp.nonce
	t.findKeysV2(sa)
	for _, c := range old.children {
		if c.State == ChildActive {
			c.sa = sa
			sa.children = append(sa.children, c)
		}
	}
	old.children = slices.DeleteFunc(old.children, func(c *childSA) bool { return c.sa == sa })
	sa.setState(IKESAEstablished, "", now)
	old.setState(IKESARekeyed, "", now)
	old.replacedBy = sa.ref.ID
	t.emit(Event{Time: now, Kind: event.IKESARekeyed, IKESA: sa.snapshot(), Reason: fmt.Sprintf("replaces IKE SA %d", old.ref.ID)})
}

func (t *Tracker) v2Informational(sa *ikeSA, ex *v2Exchange, m Message, h ike.Header, c *v2Content) {
	sa.noteCheckV2(h, c)
	if c == nil {
		if !ex.undecryptedNoted {
			ex.undecryptedNoted = true
			t.infoUndecrypted++
		}
		return
	}
	for _, d := range c.deletes {
		if d.Protocol == ike.ProtoISAKMP {
			if sa.state == IKESADeleted {
				continue
			}
			t.endChildrenOf(sa, m.Src, m.Time)
			t.abandon(sa, m.Time)
			reason := "delete payload"
			sa.setState(IKESADeleted, reason, m.Time)
			t.emit(Event{Time: m.Time, Kind: event.IKESADeleted, IKESA: sa.snapshot(), Reason: reason})
			continue
		}
		t.deleteSPIs(sa, d.Protocol, d.SPIs, m.Src, m.Time, h.Response())
	}
}
