package ikestate

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/keys"
)

// expiryGrace is how long after a pair's negotiated lifetime the tracker
// waits for a Delete before it calls the pair expired: daemons send the
// Delete when the hard lifetime fires, moments after the deadline.
const expiryGrace = 30 * time.Second

// expiryTolerance is how early a Delete may come and still announce an
// expiry: the peers installed the pair a few milliseconds after the Quick
// Mode's last message, and the hard lifetime has no jitter (only the soft
// one does), so a Delete well before the deadline is an ordinary deletion.
const expiryTolerance = time.Second

type spiKey struct {
	proto uint8
	spi   uint32
}

type peerKey struct{ a, b netip.Addr }

func peersOf(x, y netip.AddrPort) peerKey {
	a, b := x.Addr(), y.Addr()
	if b.Less(a) {
		a, b = b, a
	}
	return peerKey{a, b}
}

// seenMsg is what the tracker remembers of a message so that an identical
// retransmission is reported the same way without being processed again.
type seenMsg struct {
	info MessageInfo
}

type negotiation struct {
	Negotiation
	sa *ikeSA
}

type childSA struct {
	ChildSA
	sa     *ikeSA
	expiry time.Time // zero: no negotiated lifetime
	peers  peerKey
	// forgotten: the limits dropped it from children (the sibling index
	// drops it when it meets it).
	forgotten bool
}

// Tracker follows IKE traffic. It is not safe for concurrent use.
type Tracker struct {
	ks       *keys.Set
	sas      []*ikeSA // oldest first; forgotten ones until compacted
	index    saIndex
	negs     []*negotiation
	children []*childSA
	bySPI    map[spiKey][]*childSA
	siblings siblingIndex
	events   []Event
	now      time.Time
	finished bool
	// nextExpiry is the earliest lifetime end among live SAs, so that Handle
	// scans for expiries only when one is due.
	nextExpiry time.Time

	msgs, retrans, msgErrors       int
	decrypted, undecrypted         int
	decryptFailures, integFailures int
	addsKnown, addsInferred        int
	rekeysKnown                    int
	deletions, expirations         int
	ikeSADeletions                 int               // pairs closed with their IKEv2 IKE SA
	v1QMUndecrypted                int               // Quick Modes read from headers only
	v2ChildUndecrypted             int               // IKE_AUTH / CREATE_CHILD_SA exchanges read from headers only
	v2CreateUndecrypted            int               // of those, CREATE_CHILD_SA: only they can rekey
	infoUndecrypted                int               // Informational exchanges read from headers only
	peers                          map[peerKey]uint8 // peerDecrypted, peerUndecrypted bits

	// history holds every change of the lifecycle counts above, so that
	// they can be told at an earlier moment.
	history History

	// What the limits keep in check (bounds.go).
	lim                  Limits
	forgot               Forgotten
	digests              fifo[digestRef]
	exchanges            fifo[exRef]
	fragExchanges        fifo[*v2Exchange]
	fragsHeld            int
	fragsPeak            int // the most fragsHeld has been
	sasGone              int // forgotten SAs still in sas
	halfOpenAt, oldestAt int // where makeRoomForSA's searches resume in sas
	goneEstablished      int // forgotten SAs that had been established
	nextSAID, nextNegID  int
	nextChildID          int
	activeForgotten      int // pairs forgotten while active
}

// New makes a tracker. ks may be nil: the tracker then works from the
// cleartext headers alone.
func New(ks *keys.Set) *Tracker {
	if ks == nil {
		ks = &keys.Set{}
	}
	return &Tracker{
		ks:    ks,
		index: newSAIndex(),
		bySPI: map[spiKey][]*childSA{},
		peers: map[peerKey]uint8{},
		lim:   DefaultLimits,
	}
}

// SetKeys replaces the key set (a live run re-reads its key files on
// SIGHUP): IKE SAs without keys so far look for them again, so that their
// later messages decrypt. Messages already seen are not read again.
func (t *Tracker) SetKeys(ks *keys.Set) {
	if ks == nil {
		ks = &keys.Set{}
	}
	t.ks = ks
	for _, sa := range t.sas {
		switch {
		case sa.forgotten():
		case sa.ref.Version == 2 && sa.k2 == nil:
			t.findKeysV2(sa)
		case sa.ref.Version == 1 && sa.k1 == nil:
			t.findKeysV1(sa)
		}
	}
}

// Handle processes one IKE message. It never panics: a message that cannot
// be read becomes a message-error event.
func (t *Tracker) Handle(m Message) {
	defer func() {
		if r := recover(); r != nil {
			// A bug must not take the analyzer down with a capture; report it
			// against the frame like any other unreadable message.
			t.msgErrors++
			t.emit(Event{Time: m.Time, Kind: event.MessageError, Frame: frameOf(m), Error: fmt.Sprintf("internal error: %v", r)})
		}
	}()
	if m.Time.After(t.now) {
		t.now = m.Time
	}
	if !t.nextExpiry.IsZero() && m.Time.Sub(t.nextExpiry) > expiryGrace {
		t.expire(m.Time, false)
	}
	h, err := ike.ParseHeader(m.Data)
	if err != nil {
		t.msgErrors++
		t.emit(Event{Time: m.Time, Kind: event.MessageError, Frame: frameOf(m), Error: err.Error()})
		return
	}
	t.msgs++
	msg := m.Data[:h.Length]
	switch h.Major() {
	case 1:
		t.handleV1(m, h, msg)
	case 2:
		t.handleV2(m, h, msg)
	}
}

func frameOf(m Message) *FrameRef {
	f := m.Frame
	return &f
}

// Drain returns the events since the last call, in the order they happened.
func (t *Tracker) Drain() []Event {
	ev := t.events
	t.events = nil
	return ev
}

func (t *Tracker) emit(e Event) { t.events = append(t.events, e) }

// Finish ends the input at end: pairs whose lifetime ran out by then
// expire, and negotiations still open are reported pending.
func (t *Tracker) Finish(end time.Time) {
	if t.finished {
		return
	}
	t.finished = true
	if end.After(t.now) {
		t.now = end
	}
	t.expire(end, true)
	for _, n := range t.negs {
		if n.State == NegotiationPending {
			t.emit(Event{Time: end, Kind: event.NegotiationPending, Negotiation: n.snapshot()})
		}
	}
	for _, sa := range t.sas {
		if !sa.forgotten() && sa.keysMismatch() {
			t.emit(Event{Time: end, Kind: event.IKEKeysMismatch, IKESA: sa.snapshot(), Reason: fmt.Sprintf(
				"the keys given for IKE SA %d failed on all %d messages they were tried on: they do not match this IKE SA", sa.ref.ID, sa.keyTries)})
		}
	}
	for _, sa := range t.sas {
		if !sa.forgotten() && sa.state == IKESANegotiating && sa.failReason != "" {
			// The last answer was an error and no retry followed.
			sa.setState(IKESAFailed, sa.failReason, end)
			t.emit(Event{Time: end, Kind: event.IKESAFailed, IKESA: sa.snapshot(), Reason: sa.failReason})
		}
	}
}

// expire ends the pairs whose negotiated lifetime has run out. During the
// input a grace period lets the Delete that usually follows arrive first.
// ISAKMP SAs past their phase 1 lifetime are marked expired too (no count).
func (t *Tracker) expire(now time.Time, final bool) {
	for _, sa := range t.sas {
		if sa.forgotten() || sa.state != IKESAEstablished || sa.p1 == nil || sa.p1.LifeSeconds == 0 {
			continue
		}
		end := sa.established.Add(time.Duration(sa.p1.LifeSeconds) * time.Second)
		if final && !end.After(now) || !final && now.Sub(end) > expiryGrace {
			sa.setState(IKESAExpired, "phase 1 lifetime", end)
		}
	}
	t.nextExpiry = time.Time{}
	for _, c := range t.children {
		if c.State != ChildActive || c.expiry.IsZero() {
			continue
		}
		if final && !c.expiry.After(now) || !final && now.Sub(c.expiry) > expiryGrace {
			c.State, c.Ended, c.EndReason = ChildExpired, c.expiry, "lifetime"
			t.count(&t.expirations, TallyExpiration, c.expiry)
			t.emit(Event{Time: c.expiry, Kind: event.ChildSAExpired, Child: c.snapshot(), Reason: "negotiated lifetime ran out"})
			continue
		}
		t.noteExpiry(c.expiry)
	}
	for _, sa := range t.sas {
		if !sa.forgotten() && sa.state == IKESAEstablished && sa.p1 != nil && sa.p1.LifeSeconds != 0 {
			t.noteExpiry(sa.established.Add(time.Duration(sa.p1.LifeSeconds) * time.Second))
		}
	}
}

func (t *Tracker) noteExpiry(at time.Time) {
	if t.nextExpiry.IsZero() || at.Before(t.nextExpiry) {
		t.nextExpiry = at
	}
}

// IKESAs returns the IKE SAs seen so far (the mmsas view).
func (t *Tracker) IKESAs() []IKESA {
	out := make([]IKESA, 0, len(t.sas)-t.sasGone)
	for _, sa := range t.sas {
		if !sa.forgotten() {
			out = append(out, *sa.snapshot())
		}
	}
	return out
}

// Negotiations returns every phase 2 / CHILD negotiation seen so far.
func (t *Tracker) Negotiations() []Negotiation {
	out := make([]Negotiation, 0, len(t.negs))
	for _, n := range t.negs {
		out = append(out, *n.snapshot())
	}
	return out
}

// ChildSAs returns every SA pair seen so far.
func (t *Tracker) ChildSAs() []ChildSA {
	out := make([]ChildSA, 0, len(t.children))
	for _, c := range t.children {
		out = append(out, *c.snapshot())
	}
	return out
}

// Policies groups the negotiations with identical offer lists (the policies view).
func (t *Tracker) Policies() []Policy {
	negs := make([]Negotiation, len(t.negs))
	for i, n := range t.negs {
		negs[i] = n.Negotiation
	}
	return PoliciesOf(negs)
}

// PoliciesOf groups negotiations, in the order given, by identical offer
// lists: the policies view of a tracker that saw them in that order.
func PoliciesOf(negs []Negotiation) []Policy {
	var out []Policy
	index := map[string]int{}
	for i := range negs {
		n := &negs[i]
		if len(n.Offered) == 0 || n.Kind == NegotiateIKERekey {
			continue
		}
		var parts []string
		for _, m := range n.Offered {
			parts = append(parts, m.String())
		}
		k := strings.Join(parts, " | ")
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Policy{Offered: n.Offered})
		}
		p := &out[i]
		p.Negotiations = append(p.Negotiations, n.ID)
		for _, a := range []netip.AddrPort{n.Initiator, n.Responder} {
			if !slices.Contains(p.Peers, a) {
				p.Peers = append(p.Peers, a)
			}
		}
		if n.Chosen != nil && !slices.ContainsFunc(p.Chosen, func(m Method) bool { return m.String() == n.Chosen.String() }) {
			p.Chosen = append(p.Chosen, *n.Chosen)
		}
	}
	return out
}

// LookupSPI tells what the tracker knows about an ESP (50) or AH (51) SPI.
// Authoritative is set when every negotiation the tracker saw between the
// peers that created or would have created the SPI was decrypted, so that
// an unknown SPI there is a Bad SPI rather than a gap in the tracker's view.
func (t *Tracker) LookupSPI(proto uint8, spi uint32, src, dst netip.Addr) (ChildSA, SPIStatus, bool) {
	pk := peersOf(netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0))
	auth := t.peers[pk] == peerDecrypted
	cs := t.bySPI[spiKey{proto, spi}]
	// Prefer a live pair between these peers, then any pair between them.
	var best *childSA
	for _, c := range cs {
		if c.peers != pk && (src.IsValid() || dst.IsValid()) {
			continue
		}
		if best == nil || c.State == ChildActive {
			best = c
		}
	}
	if best == nil {
		return ChildSA{}, SPIUnknown, auth
	}
	st := SPIActive
	switch best.State {
	case ChildDeleted:
		st = SPIDeleted
	case ChildExpired:
		st = SPIExpired
	}
	return *best.snapshot(), st, auth
}

// Counters computes the lifecycle figures.
func (t *Tracker) Counters() Counters { return t.tally().counters() }

// tally is what the lifecycle figures are computed from: counts, and flags
// that say whether any message left a figure unknown. Every field is a
// count or an "any" flag, so that the tallies of trackers that read
// separate inputs add up to the tally of one tracker reading them all
// (Join).
type tally struct {
	msgs, retrans, msgErrors               int
	decrypted, undecrypted                 int
	decryptFailures, integFailures         int
	ikeSAs, ikeSAsEstablished              int
	addsKnown, addsInferred, rekeysKnown   int
	deletions, ikeSADeletions, expirations int
	v1QMUndecrypted, v2ChildUndecrypted    int
	v2CreateUndecrypted, infoUndecrypted   int
	pending, failed                        int // negotiations, the forgotten ones included
	pendingForgotten                       uint64
	activePairs, activeForgotten           int
	pendingInferred, failedInferred        bool
}

func (t *Tracker) tally() tally {
	x := tally{
		msgs: t.msgs, retrans: t.retrans, msgErrors: t.msgErrors,
		decrypted: t.decrypted, undecrypted: t.undecrypted, decryptFailures: t.decryptFailures, integFailures: t.integFailures,
		ikeSAs: len(t.sas) - t.sasGone + int(t.forgot.IKESAs), ikeSAsEstablished: t.goneEstablished,
		addsKnown: t.addsKnown, addsInferred: t.addsInferred, rekeysKnown: t.rekeysKnown,
		deletions: t.deletions, ikeSADeletions: t.ikeSADeletions, expirations: t.expirations,
		v1QMUndecrypted: t.v1QMUndecrypted, v2ChildUndecrypted: t.v2ChildUndecrypted,
		v2CreateUndecrypted: t.v2CreateUndecrypted, infoUndecrypted: t.infoUndecrypted,
		pendingForgotten: t.forgot.PendingForgotten, activeForgotten: t.activeForgotten,
	}
	for _, sa := range t.sas {
		if !sa.forgotten() && !sa.established.IsZero() {
			x.ikeSAsEstablished++
		}
	}
	for _, n := range t.negs {
		if n.Kind == NegotiateIKERekey {
			continue // an IKE SA rekey is not a key operation of the Quick Mode statistics
		}
		switch n.State {
		case NegotiationPending:
			x.pending++
			x.pendingInferred = x.pendingInferred || n.Inferred
		case NegotiationFailed:
			x.failed++
			x.failedInferred = x.failedInferred || n.Inferred
		}
	}
	// Negotiations the limits forgot are counted as they stood then; a
	// pending one may have ended since, unseen: the figure is then inferred.
	x.pending += int(t.forgot.PendingForgotten)
	x.failed += int(t.forgot.FailedForgotten)
	for _, ch := range t.children {
		if ch.State == ChildActive {
			x.activePairs++
		}
	}
	return x
}

// add sums y into x.
func (x *tally) add(y tally) {
	for _, p := range []struct{ a, b *int }{
		{&x.msgs, &y.msgs}, {&x.retrans, &y.retrans}, {&x.msgErrors, &y.msgErrors},
		{&x.decrypted, &y.decrypted}, {&x.undecrypted, &y.undecrypted}, {&x.decryptFailures, &y.decryptFailures},
		{&x.integFailures, &y.integFailures}, {&x.ikeSAs, &y.ikeSAs}, {&x.ikeSAsEstablished, &y.ikeSAsEstablished},
		{&x.addsKnown, &y.addsKnown}, {&x.addsInferred, &y.addsInferred}, {&x.rekeysKnown, &y.rekeysKnown},
		{&x.deletions, &y.deletions}, {&x.ikeSADeletions, &y.ikeSADeletions}, {&x.expirations, &y.expirations},
		{&x.v1QMUndecrypted, &y.v1QMUndecrypted}, {&x.v2ChildUndecrypted, &y.v2ChildUndecrypted},
		{&x.v2CreateUndecrypted, &y.v2CreateUndecrypted}, {&x.infoUndecrypted, &y.infoUndecrypted},
		{&x.pending, &y.pending}, {&x.failed, &y.failed}, {&x.activePairs, &y.activePairs}, {&x.activeForgotten, &y.activeForgotten},
	} {
		*p.a += *p.b
	}
	x.pendingForgotten += y.pendingForgotten
	x.pendingInferred = x.pendingInferred || y.pendingInferred
	x.failedInferred = x.failedInferred || y.failedInferred
}

func (x tally) counters() Counters {
	c := Counters{
		Messages: x.msgs, Retransmissions: x.retrans, MessageErrors: x.msgErrors,
		Decrypted: x.decrypted, Undecrypted: x.undecrypted, DecryptFailures: x.decryptFailures,
		IntegrityFailures: x.integFailures, IKESAs: x.ikeSAs, IKESAsEstablished: x.ikeSAsEstablished,
	}
	// IKEv1 additions show in the cleartext headers (three Quick Mode
	// messages); IKEv2 ones and everything about contents need decryption.
	childKnown := x.v1QMUndecrypted == 0 && x.v2ChildUndecrypted == 0
	// IKE_AUTH never rekeys (RFC 7296 §1.3): unread IKE_AUTH exchanges leave
	// the rekey count intact.
	rekeysKnown := x.v1QMUndecrypted == 0 && x.v2CreateUndecrypted == 0
	delKnown := x.infoUndecrypted == 0 && x.v2ChildUndecrypted == 0
	c.KeyAdditions = figure(x.addsKnown+x.addsInferred, x.addsInferred == 0 && x.v2ChildUndecrypted == 0)
	c.Rekeys = figure(x.rekeysKnown, rekeysKnown)
	c.Rekeys.Inferred = false
	// A host deletes an SA's keys whatever the cause: a Delete payload, its
	// IKE SA's deletion, or its hard lifetime (which needs the negotiated
	// lifetimes: every Quick Mode read).
	c.DeletedByPayload = figure(x.deletions, delKnown)
	c.DeletedWithIKESA = figure(x.ikeSADeletions, delKnown)
	c.Expirations = figure(x.expirations, delKnown && childKnown)
	// Known once every Delete was read; lifetimes of Quick Modes read from
	// their headers only are not (Expirations says so, the view notes it).
	c.KeyDeletions = figure(x.deletions+x.ikeSADeletions+x.expirations, delKnown)
	for _, f := range []*Figure{&c.DeletedByPayload, &c.DeletedWithIKESA, &c.Expirations, &c.KeyDeletions} {
		f.Inferred = false
	}
	c.PendingKeyOps = figure(x.pending, !x.pendingInferred && x.pendingForgotten == 0)
	c.FailedNegotiations = figure(x.failed, childKnown && x.infoUndecrypted == 0)
	c.FailedNegotiations.Inferred = !c.FailedNegotiations.Known && x.failedInferred
	active := 2 * (x.activeForgotten + x.activePairs)
	// Live pairs are known when additions and endings are; with additions
	// only inferred they are an inference; when endings are hidden, unknown.
	c.ActiveSAs = figure(active, c.KeyAdditions.Known && delKnown && childKnown && x.activeForgotten == 0)
	if !c.ActiveSAs.Known && !delKnown {
		c.ActiveSAs.Inferred = false
	}
	return c
}

func figure(v int, known bool) Figure {
	return Figure{Value: v, Known: known, Inferred: !known}
}

func (t *Tracker) newSA(version int, ispi, rspi ike.SPI, now time.Time) *ikeSA {
	t.makeRoomForSA()
	t.nextSAID++
	sa := &ikeSA{
		ref:     IKESARef{ID: t.nextSAID, Version: version, ISPI: ispi, RSPI: rspi},
		state:   IKESANegotiating,
		started: now,
		seen:    map[[32]byte]*seenMsg{},
	}
	t.sas = append(t.sas, sa)
	t.indexSA(sa)
	return sa
}

// retransmission reports and counts a byte-identical repeat of a message
// already processed for sa.
func (t *Tracker) retransmission(sa *ikeSA, m Message, msg []byte) (bool, [32]byte) {
	d := sha256.Sum256(msg)
	prev, ok := sa.seen[d]
	if !ok {
		return false, d
	}
	t.retrans++
	info := prev.info
	info.Src, info.Dst = m.Src, m.Dst
	info.Retransmission = true
	t.emit(Event{Time: m.Time, Kind: event.Message, Frame: frameOf(m), Message: &info})
	return true, d
}

func (t *Tracker) newNegotiation(sa *ikeSA, ex ike.ExchangeType, mid uint32, ini, res netip.AddrPort, now time.Time) *negotiation {
	t.nextNegID++
	n := &negotiation{sa: sa, Negotiation: Negotiation{
		ID: t.nextNegID, IKESA: sa.ref, Version: sa.ref.Version, Exchange: ex.String(), MessageID: mid,
		Initiator: ini, Responder: res, Kind: NegotiateChild, State: NegotiationPending, Started: now,
	}}
	t.negs = append(t.negs, n)
	t.forgetNegotiations()
	return n
}

func (n *negotiation) snapshot() *Negotiation {
	c := n.Negotiation
	c.IKESA = n.sa.ref
	c.Offered = slices.Clone(n.Offered)
	c.Children = slices.Clone(n.Children)
	if n.Chosen != nil {
		m := *n.Chosen
		c.Chosen = &m
	}
	return &c
}

func (t *Tracker) failNegotiation(n *negotiation, reason string, now time.Time) {
	if n.State != NegotiationPending {
		return
	}
	n.State, n.Reason, n.Ended = NegotiationFailed, reason, now
	t.emit(Event{Time: now, Kind: event.NegotiationFailed, Negotiation: n.snapshot(), Reason: reason})
}

func (c *childSA) snapshot() *ChildSA {
	s := c.ChildSA
	s.IKESA = c.sa.ref
	s.InitiatorSelectors = slices.Clone(c.InitiatorSelectors)
	s.ResponderSelectors = slices.Clone(c.ResponderSelectors)
	return &s
}

// decryptedFor records, per peer pair, whether the tracker read the
// negotiations there (for LookupSPI's authority).
func (t *Tracker) noteDecryption(sa *ikeSA, ok bool) {
	pk := peersOf(sa.initiator, sa.responder)
	bit := peerUndecrypted
	if ok {
		bit = peerDecrypted
	}
	if _, known := t.peers[pk]; !known && t.lim.Peers > 0 && len(t.peers) >= t.lim.Peers {
		// Not recorded: the pair is never authoritative (the safe side).
		t.forgot.Peers++
		return
	}
	t.peers[pk] |= bit
}

// What the tracker read between two peers: peers[pk] is their OR.
const (
	peerDecrypted uint8 = 1 << iota
	peerUndecrypted
)
