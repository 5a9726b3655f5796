package analyzer

import (
	"slices"

	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Direction of an SA relative to "me".
type Direction uint8

const (
	DirUnknown Direction = iota // neither endpoint is one of mine (a transit capture)
	DirIn
	DirOut
)

// tallies returns the live SAs and the evicted totals in one list.
func (a *Analyzer) tallies() []tally {
	ts := make([]tally, 0, len(a.order)+len(a.evicted))
	for _, sa := range a.order {
		ts = append(ts, sa.tally())
	}
	for _, t := range a.evicted {
		ts = append(ts, *t)
	}
	return ts
}

// sums are the per-SA totals the statistics add up.
type sums struct {
	active, replayed                                     uint64
	confS, confR, authS, authR                           uint64
	trS, trR, tuS, tuR                                   uint64
	unknownMode, unknownModeBytes, modeCandidates        uint64
	unknownModeKeyed, unknownModeListed                  uint64 // of unknownMode, SAs that had keys; that had a key entry
	transitSAs, transitBytes                             uint64 // SAs between other hosts, all kinds
	keyed, notAuth, notDecr, uninspected, uninspectedSAs uint64
	// transit: SAs between two other hosts and their bytes, by protocol
	// and by mode (each byte figure leaves out only its own kind).
	transit   map[transitKind]*[2]uint64
	integrity IntegrityOnlyESP
}

// transitKind is what a byte figure counts: a protocol or a mode.
type transitKind uint8

const (
	transitESP transitKind = iota
	transitAH
	transitTransport
	transitTunnel
)

func (u *sums) addTransit(k transitKind, t *tally) {
	if u.transit == nil {
		u.transit = map[transitKind]*[2]uint64{}
	}
	c := u.transit[k]
	if c == nil {
		c = &[2]uint64{}
		u.transit[k] = c
	}
	c[0] += t.sas
	c[1] += t.bytes
}

// add counts one tally, sent or received as side says.
func (u *sums) add(t *tally, side side) {
	u.keyed += t.keyed
	u.notAuth += t.notAuthenticated
	u.notDecr += t.notDecr
	u.uninspected += t.unverified
	if t.keyed < t.sas {
		u.uninspectedSAs += t.sas - t.keyed
	}
	if t.state == StateActive {
		u.active += t.sas
	}
	u.replayed += t.replayed
	if t.proto == ipproto.ESP {
		switch {
		case t.nullEnc:
			u.integrity.SAs += t.sas
		case !t.encKnown:
			u.integrity.EncryptionUnknown += t.sas
		}
	}
	dir := side(t.src, t.dst)
	if dir == DirUnknown {
		u.transitSAs += t.sas
		u.transitBytes += t.bytes
		k := transitAH
		if t.proto == ipproto.ESP {
			k = transitESP
		}
		u.addTransit(k, t)
		switch t.mode {
		case ModeTransport:
			u.addTransit(transitTransport, t)
		case ModeTunnel:
			u.addTransit(transitTunnel, t)
		}
		return
	}
	u.modeCandidates += t.sas
	add := func(sent, recv *uint64) {
		if dir == DirOut {
			*sent += t.bytes
		} else {
			*recv += t.bytes
		}
	}
	// The seed's Confidential Bytes are "bytes sent/received using the ESP
	// protocol", Authenticated Bytes those "using the AH protocol": ESP with
	// NULL encryption is still ESP (its bytes are also summed apart).
	if t.proto == ipproto.ESP {
		add(&u.confS, &u.confR)
		if t.nullEnc {
			add(&u.integrity.BytesSent, &u.integrity.BytesReceived)
		}
	} else {
		add(&u.authS, &u.authR)
	}
	switch t.mode {
	case ModeTransport:
		add(&u.trS, &u.trR)
	case ModeTunnel:
		add(&u.tuS, &u.tuR)
	default:
		u.unknownMode += t.sas
		u.unknownModeBytes += t.bytes
		u.unknownModeKeyed += t.keyed
		u.unknownModeListed += t.listed
	}
}

// modeKnown: some SA that is mine has a known mode.
func (u *sums) modeKnown() bool { return u.modeCandidates > u.unknownMode }

// stats fills the Quick Mode Statistics.
func (a *Analyzer) stats(s *Snapshot, side side) {
	var u sums
	for _, t := range a.tallies() {
		u.add(&t, side)
	}
	st := &s.Stats
	st[ActiveSAs] = known(u.active)
	if n := a.unseenHalves(); n > 0 {
		st[ActiveSAs] = known(u.active + n)
		st[ActiveSAs].Why, st[ActiveSAs].N = WhyUnseenHalves, n
	}
	st[ReplayDetected] = known(u.replayed)
	byteFigures(st, &u)
	s.IntegrityOnly = u.integrity
	modeFigures(st, &u, a.cfg.Keys != nil)
	activeTunnels(st, s.Rows, a.cfg.Keys != nil)

	st[OffloadedSAs] = Figure{Why: WhyOffload}
	st[OffloadedSent] = Figure{Why: WhyOffload}
	st[OffloadedReceived] = Figure{Why: WhyOffload}
	a.lifecycle(s)
	if a.BadSPIKnown() {
		st[BadSPIPackets] = known(a.counts.BadSPI)
	} else {
		st[BadSPIPackets] = Figure{Why: WhyBadSPINeedsSAList}
	}
	verificationFigures(st, &u)
	s.NotInspected = u.uninspected
}

// byteFigures fills the confidential and authenticated bytes.
func byteFigures(st *[NumStats]Figure, u *sums) {
	st[ConfidentialSent], st[ConfidentialReceived] = known(u.confS), known(u.confR)
	st[AuthenticatedSent], st[AuthenticatedReceived] = known(u.authS), known(u.authR)
	markTransit(st, u, transitESP, ConfidentialSent, ConfidentialReceived)
	markTransit(st, u, transitAH, AuthenticatedSent, AuthenticatedReceived)
}

// markTransit says of figures that leave out the bytes of kind k between
// two other hosts how many (a figure keeps a reason it already has).
func markTransit(st *[NumStats]Figure, u *sums, k transitKind, stats ...Stat) {
	c := u.transit[k]
	if c == nil {
		return
	}
	for _, i := range stats {
		if st[i].Known && st[i].Why == WhyNone {
			st[i].Why, st[i].N, st[i].M = WhyTransit, c[1], c[0]
		}
	}
}

// modeFigures fills the mode-dependent figures: null when no SA's mode is
// known, otherwise the known part with a note on what is missing. With no
// SA of mine at all they are 0, and say what the SAs between other hosts
// carried.
func modeFigures(st *[NumStats]Figure, u *sums, keysGiven bool) {
	modeFig := func(v uint64) Figure {
		switch {
		case u.modeCandidates == 0 && u.transitSAs > 0:
			return Figure{Known: true, Why: WhyNoneMine, N: u.transitBytes, M: u.transitSAs}
		case u.modeCandidates == 0:
			return known(0)
		case !u.modeKnown():
			return modeUnknown(u.unknownModeKeyed, u.unknownModeListed, keysGiven)
		}
		f := known(v)
		if u.unknownMode > 0 {
			f.Why, f.N, f.M = WhyUnknownMode, u.unknownModeBytes, u.unknownMode
		}
		return f
	}
	st[TransportSent], st[TransportReceived] = modeFig(u.trS), modeFig(u.trR)
	st[TunnelSent], st[TunnelReceived] = modeFig(u.tuS), modeFig(u.tuR)
	markTransit(st, u, transitTransport, TransportSent, TransportReceived)
	markTransit(st, u, transitTunnel, TunnelSent, TunnelReceived)
}

// modeUnknown is a mode figure no SA's known mode can give, with the real
// reason: keys that did not decrypt (keyed SAs among them), key entries
// without usable keys (listed ones), keys that are for other SAs, or no
// keys at all.
func modeUnknown(keyed, listed uint64, keysGiven bool) Figure {
	switch {
	case keyed > 0:
		return Figure{Why: WhyModeKeysFailed, N: keyed}
	case listed > 0:
		return Figure{Why: WhyModeKeysUnusable, N: listed}
	case keysGiven:
		return Figure{Why: WhyModeNoKeyMatches}
	}
	return Figure{Why: WhyModeNeedsKeys}
}

// activeTunnels counts the rows with a live SA in tunnel mode.
func activeTunnels(st *[NumStats]Figure, rows []*QuickModeSA, keysGiven bool) {
	var tunnels, rowsUnknown, keyed, listed uint64
	modeKnown := false
	for _, r := range rows {
		switch {
		case r.Mode() != ModeUnknown:
			modeKnown = true
		case slices.ContainsFunc(r.SAs(), func(s *SA) bool { return s.tr != nil }):
			keyed++
		case slices.ContainsFunc(r.SAs(), func(s *SA) bool { return s.key != nil }):
			listed++
		}
		if anyActive(r) {
			switch r.Mode() {
			case ModeTunnel:
				tunnels++
			case ModeUnknown:
				rowsUnknown++
			}
		}
	}
	switch {
	case !modeKnown && len(rows) > 0:
		st[ActiveTunnels] = modeUnknown(keyed, listed, keysGiven)
	default:
		st[ActiveTunnels] = known(tunnels)
		if rowsUnknown > 0 {
			st[ActiveTunnels].Why, st[ActiveTunnels].N = WhyUnknownModePairs, rowsUnknown
		}
	}
}

// verificationFigures fills what only keys can tell.
func verificationFigures(st *[NumStats]Figure, u *sums) {
	if u.keyed == 0 {
		st[NotDecrypted] = Figure{Why: WhyNeedsKeys}
		st[NotAuthenticated] = Figure{Why: WhyNeedsKeys}
		return
	}
	st[NotDecrypted], st[NotAuthenticated] = known(u.notDecr), known(u.notAuth)
	if u.uninspected > 0 {
		for _, i := range []Stat{NotDecrypted, NotAuthenticated} {
			st[i].Why, st[i].N, st[i].M = WhyNotInspected, u.uninspected, u.uninspectedSAs
		}
	}
}

// lifecycle fills the figures only the IKE negotiations can give.
func (a *Analyzer) lifecycle(s *Snapshot) {
	st := &s.Stats
	iv := a.ikeView()
	c := iv.counters
	if c.Messages == 0 {
		f := Figure{Why: WhyNoIKE}
		if n := a.counts.IKEv1Messages + a.counts.IKEv2Messages; n > 0 {
			// Counted as IKE on the wire, yet not one header could be read
			// (e.g. a length field of 0): the events say why.
			f = Figure{Why: WhyIKEUnreadable, N: n}
		}
		for _, i := range []Stat{PendingKeyOps, KeyAdditions, KeyDeletions, Rekeys} {
			st[i] = f
		}
		return
	}
	s.IKE = &c
	s.IKEHistory = iv.history
	s.IKESAs = iv.ikeSAs
	s.Negotiations = iv.negotiations
	s.Policies = iv.policies
	indexPolicies(s)
	conv := func(f ikestate.Figure) Figure {
		switch {
		case f.Known:
			return known(uint64(f.Value))
		case f.Inferred:
			return Figure{Value: uint64(f.Value), Inferred: true, Why: WhyIKEInferred, N: uint64(f.Value)}
		}
		return Figure{Why: WhyIKENeedsKeys}
	}
	if c.Undecrypted > 0 && st[ActiveSAs].Known {
		// Encrypted IKE messages may hold Delete payloads this run could not
		// read: the SAs seen may have ended.
		v := st[ActiveSAs].Value
		st[ActiveSAs] = Figure{Value: v, Inferred: true, Why: WhyIKEUndecrypted, N: v, M: uint64(c.Undecrypted)}
	}
	st[PendingKeyOps] = conv(c.PendingKeyOps)
	st[KeyAdditions] = conv(c.KeyAdditions)
	st[KeyDeletions] = conv(c.KeyDeletions)
	if st[KeyDeletions].Known && !c.Expirations.Known {
		st[KeyDeletions].Why = WhyUnannouncedExpiries
	}
	st[Rekeys] = conv(c.Rekeys)
}

// unseenHalves counts the live negotiated SAs whose other direction has no
// entry: an IKEv2 answer without its request names only the responder's SPI,
// yet the pair it establishes has two SAs.
func (a *Analyzer) unseenHalves() uint64 {
	var n uint64
	for _, sa := range a.order {
		if c := sa.Negotiation(); c != nil && sa.State == StateActive && (c.Child.SPIInitiator == 0 || c.Child.SPIResponder == 0) {
			n++
		}
	}
	return n
}

func anyActive(r *QuickModeSA) bool {
	for _, s := range r.SAs() {
		if s.State == StateActive {
			return true
		}
	}
	return false
}

// indexPolicies maps each negotiated child SA, and each row, to the
// negotiation policy it was negotiated with.
func indexPolicies(s *Snapshot) {
	s.PolicyOfChild = map[int]int{}
	children := map[int][]int{}
	for _, n := range s.Negotiations {
		children[n.ID] = n.Children
	}
	for i, p := range s.Policies {
		for _, nid := range p.Negotiations {
			for _, cid := range children[nid] {
				s.PolicyOfChild[cid] = i
			}
		}
	}
	for _, r := range s.Rows {
		for _, sa := range r.SAs() {
			if n := sa.Negotiation(); n != nil {
				if i, ok := s.PolicyOfChild[n.Child.ID]; ok {
					r.Policy = i + 1
				}
			}
		}
	}
}
