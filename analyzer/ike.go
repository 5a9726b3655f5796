package analyzer

import (
	"fmt"
	"maps"
	"net/netip"
	"time"

	"ipsecmon/decode"
	"ipsecmon/espcrypto"
	"ipsecmon/event"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// Negotiated is what the IKE negotiation that created an SA said about it.
type Negotiated struct {
	Child *ikestate.ChildSA // the pair as negotiated (no keys)
	// Initiator: this SA carries traffic from the negotiation's initiator.
	Initiator bool
}

// IKE hands an IKE message to the tracker and applies what it concluded.
func (a *Analyzer) ike(now int64, p *decode.Packet, ref Ref) {
	a.tracker.Handle(ikestate.Message{
		Time:  time.Unix(0, now).UTC(),
		Src:   netip.AddrPortFrom(p.Src, p.SrcPort),
		Dst:   netip.AddrPortFrom(p.Dst, p.DstPort),
		Data:  p.IKE,
		Frame: ikestate.FrameRef{Source: ref.Source, Index: ref.Index},
	})
	a.applyIKE()
}

// applyIKE turns the tracker's events into SA table changes and analyzer events.
func (a *Analyzer) applyIKE() {
	for _, e := range a.tracker.Drain() {
		ev := e
		switch e.Kind {
		case event.ChildSANegotiated:
			a.negotiated(e.Time.UnixNano(), e.Child)
		case event.ChildSADeleted:
			if e.Child == nil {
				a.endLearned(e.Time.UnixNano(), e.DeletedProto, e.DeletedSPI, e.DeletedBy.Addr())
			} else {
				a.ended(e.Time.UnixNano(), e.Child, StateDeleted)
			}
		case event.ChildSAExpired:
			a.ended(e.Time.UnixNano(), e.Child, StateExpired)
		case event.Message:
			if !a.cfg.IKEMessageEvents {
				continue
			}
		}
		if e.Kind == event.MessageError {
			a.counts.IKEErrors++
		}
		if a.cfg.OnEvent != nil {
			kind := e.Kind
			if kind == event.ChildSANegotiated && e.Child != nil && e.Child.RekeyOf != 0 {
				kind = event.ChildSARekeyed
			}
			out := Event{Time: e.Time, Kind: kind, IKE: &ev, Detail: e.Reason}
			if e.Frame != nil {
				out.Source, out.Frame = e.Frame.Source, e.Frame.Index
			}
			if e.Error != "" {
				out.Detail = e.Error
			}
			a.emit(out)
		}
	}
}

// childKeys returns the SA keys of both directions of a negotiated pair.
func childKeys(c *ikestate.ChildSA) (ir, ri SAKey) {
	ir = SAKey{Dst: c.Responder.Addr(), SPI: c.SPIResponder, Proto: c.Proto}
	ri = SAKey{Dst: c.Initiator.Addr(), SPI: c.SPIInitiator, Proto: c.Proto}
	if c.UDPEncap && c.Proto == ipproto.ESP {
		ir.SrcPort, ir.DstPort = c.EncapInitiatorPort, c.EncapResponderPort
		ri.SrcPort, ri.DstPort = c.EncapResponderPort, c.EncapInitiatorPort
	}
	return
}

// negotiated records a pair the IKE negotiation created: both SAs enter the
// table (they are active even before they carry a packet), paired, with the
// negotiated algorithms, mode and, when derivable, keys.
func (a *Analyzer) negotiated(now int64, c *ikestate.ChildSA) {
	if c == nil || c.Inferred || c.SPIInitiator == 0 && c.SPIResponder == 0 {
		return // SPIs were encrypted: the pair is only counted
	}
	child := *c
	child.KeysIR, child.KeysRI = nil, nil
	kIR, kRI := childKeys(c)
	// An SPI is 0 when the message that carried it is not in the capture
	// (an IKEv2 answer without its request): that direction has no entry.
	var ir, ri *SA
	if c.SPIResponder != 0 {
		ir = a.negotiatedSA(now, kIR, c.Initiator.Addr(), &Negotiated{Child: &child, Initiator: true}, c.KeysIR)
	}
	if c.SPIInitiator != 0 {
		ri = a.negotiatedSA(now, kRI, c.Responder.Addr(), &Negotiated{Child: &child}, c.KeysRI)
	}
	if ir != nil && ri != nil {
		ir.pair, ri.pair = ri, ir
		ir.pairFromIKE, ri.pairFromIKE = true, true
	}
	a.linkNegotiated(now, c, ir, ri)
	a.keepPair(c.ID, ir, ri)
}

// ikePair is what the analyzer keeps of a negotiated pair, for the IKE
// events that name it later (its Delete, its expiry, its rekey): its SAs
// while they are in the table; once one leaves it (eviction), only what a
// rekey of the pair needs from it, so that an evicted SA is not held.
type ikePair struct {
	sas  [2]*SA
	gone [2]*oldSide
}

// keepPair records the SAs of negotiated pair id. The pairs are those the
// IKE tracker keeps (limit ike_sa_pairs): once it forgot one, no event can
// name it any more, and its entry goes too — checked in bulk whenever the
// entries reach twice the tracker's cap, so that a long-running gateway's
// negotiations do not pile up here.
func (a *Analyzer) keepPair(id int, ir, ri *SA) {
	if a.ikeChildren == nil {
		a.ikeChildren = map[int]*ikePair{}
	}
	a.ikeChildren[id] = &ikePair{sas: [2]*SA{ir, ri}}
	if lim := a.tracker.Limits().Children; lim > 0 && len(a.ikeChildren) >= 2*lim {
		maps.DeleteFunc(a.ikeChildren, func(id int, _ *ikePair) bool { return !a.tracker.KeepsChild(id) })
	}
}

// leavePair replaces an evicted SA in its negotiated pair's entry by the
// figures a later rekey of the pair needs.
func (a *Analyzer) leavePair(sa *SA) {
	if sa.neg == nil {
		return
	}
	p := a.ikeChildren[sa.neg.Child.ID]
	if p == nil {
		return
	}
	for i, s := range p.sas {
		if s == sa {
			old := sa.asOld()
			p.sas[i], p.gone[i] = nil, &old
		}
	}
}

func (a *Analyzer) negotiatedSA(now int64, key SAKey, src netip.Addr, n *Negotiated, k *keys.SA) *SA {
	sa := a.sas[key]
	if sa == nil {
		// Negotiated SAs are not refused for room: only decrypted IKE
		// creates them, which an attacker without the keys cannot forge.
		sa = &SA{Key: key, Src: src, FirstSeen: now, LastSeen: now, Window: a.newWindow(a.cfg.ReplayWindow)}
		a.attachKeys(sa) // keys given explicitly take precedence over derived ones
		a.insert(sa)
	}
	sa.neg = n
	c := n.Child
	if c.Mode != ModeUnknown {
		sa.Mode = c.Mode
	}
	if sa.key == nil {
		o := &ikeKeyOrigin{ikeSA: c.IKESA.ID, child: c.ID, exchange: c.Exchange}
		ki := &KeyInfo{Origin: o.String(), Enc: c.Enc, EncKeyBits: c.EncKeyBits, Auth: c.Auth, fromIKE: o}
		sa.key = ki
		sa.ESN = c.ESN
	}
	if sa.tr == nil && k != nil {
		if tr, err := espcrypto.NewFromKeys(k); err == nil {
			sa.tr = &cipher{t: tr}
			// A new KeyInfo, not a change to the old: frozen copies share it.
			ki := *sa.key
			ki.fromIKE = &ikeKeyOrigin{ikeSA: c.IKESA.ID, child: c.ID, exchange: c.Exchange, derived: true}
			ki.Origin = ki.fromIKE.String()
			ki.material = k
			sa.key = &ki
		}
	}
	return sa
}

// ended marks a pair deleted or expired.
func (a *Analyzer) ended(now int64, c *ikestate.ChildSA, st State) {
	if c == nil {
		return
	}
	var pair [2]*SA // an evicted SA is no longer in its entry: its end changes nothing
	if p := a.ikeChildren[c.ID]; p != nil {
		pair = p.sas
	} else {
		// Negotiated before the capture began: the SAs were learned from traffic.
		if c.SPIInitiator == 0 && c.SPIResponder == 0 {
			return
		}
		kIR, kRI := childKeys(c)
		pair = [2]*SA{a.sas[kIR], a.sas[kRI]}
	}
	for _, sa := range pair {
		if sa != nil && sa.State == StateActive {
			sa.State, sa.EndedAt = st, now
		}
		a.forgetLive(sa)
	}
}

// endLearned ends a pair negotiated before the capture began, which the
// table only knows from its traffic: the Delete names the SPI its sender
// receives on, and the pair goes with it (RFC 7296 §1.4.1, RFC 2408 §3.15)
// — the other half is the active SA the other way between the same peers,
// when there is exactly one.
func (a *Analyzer) endLearned(now int64, proto uint8, spi uint32, sender netip.Addr) {
	hit, other := a.learnedPair(proto, spi, sender)
	for _, sa := range []*SA{hit, other} {
		if sa != nil && sa.State == StateActive {
			sa.State, sa.EndedAt = StateDeleted, now
		}
	}
}

// ikeBadSPI decides, for a packet of an SA the table does not have, whether
// the IKE negotiations show it has no SA: its SA was deleted, or every
// negotiation between these peers was decrypted and none created it.
func (a *Analyzer) ikeBadSPI(key SAKey, src netip.Addr) (bad bool, active *ikestate.ChildSA) {
	if a.tracker == nil {
		return false, nil
	}
	c, st, auth := a.tracker.LookupSPI(key.Proto, key.SPI, src, key.Dst)
	switch st {
	case ikestate.SPIDeleted, ikestate.SPIExpired:
		return true, nil
	case ikestate.SPIActive:
		return false, &c
	}
	return auth, nil
}

// Tracker exposes the IKE tracker for the IKE views (nil when IKE is off).
func (a *Analyzer) Tracker() *ikestate.Tracker { return a.tracker }

// ikeKeyOrigin is where an SA's KeyInfo came from when IKE gave it: the
// origin text is made from the IDs, so that Merge can shift them.
type ikeKeyOrigin struct {
	ikeSA, child int
	exchange     string
	derived      bool // keys derived from the negotiation, not only its algorithms
}

func (o *ikeKeyOrigin) String() string {
	if o.derived {
		return fmt.Sprintf("derived from IKE SA %d (%s)", o.ikeSA, o.exchange)
	}
	return fmt.Sprintf("IKE SA %d (%s)", o.ikeSA, o.exchange)
}
