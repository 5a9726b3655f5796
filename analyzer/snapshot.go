package analyzer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/ikestate"
)

// Figure is one statistic: a number, or "the input cannot tell" (null in
// JSON, n/a in tables). A figure that is a sum over SAs may be Partial: the
// number covers only what is known and Note says what was left out.
type Figure struct {
	Value uint64
	Known bool
	Note  string
	// Inferred: not Known, but Value is what the cleartext headers suggest
	// (e.g. IKEv2 exchanges completed without keys). JSON still says null
	// for the figure itself and reports the inference separately.
	Inferred bool
}

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

// StatNames holds each statistic's display name and JSON key.
var StatNames = [NumStats]struct{ Display, Key string }{
	{"Active Security Associations", "active_security_associations"},
	{"Offloaded Security Associations", "offloaded_security_associations"},
	{"Pending Key Operations", "pending_key_operations"},
	{"Key Additions", "key_additions"},
	{"Key Deletions", "key_deletions"},
	{"Rekeys", "rekeys"},
	{"Active Tunnels", "active_tunnels"},
	{"Bad SPI Packets", "bad_spi_packets"},
	{"Packets Not Decrypted", "packets_not_decrypted"},
	{"Packets Not Authenticated", "packets_not_authenticated"},
	{"Packets With Replay Detection", "packets_with_replay_detection"},
	{"Confidential Bytes Sent", "confidential_bytes_sent"},
	{"Confidential Bytes Received", "confidential_bytes_received"},
	{"Authenticated Bytes Sent", "authenticated_bytes_sent"},
	{"Authenticated Bytes Received", "authenticated_bytes_received"},
	{"Transport Bytes Sent", "transport_bytes_sent"},
	{"Transport Bytes Received", "transport_bytes_received"},
	{"Bytes Sent In Tunnels", "bytes_sent_in_tunnels"},
	{"Bytes Received In Tunnels", "bytes_received_in_tunnels"},
	{"Offloaded Bytes Sent", "offloaded_bytes_sent"},
	{"Offloaded Bytes Received", "offloaded_bytes_received"},
}

// Direction of an SA relative to "me".
type Direction uint8

const (
	DirUnknown Direction = iota // neither endpoint is one of mine (a transit capture)
	DirIn
	DirOut
)

// QuickModeSA is one row of the Security Associations view: an inbound and
// an outbound SA of one negotiation, or a lone direction.
type QuickModeSA struct {
	In, Out *SA // either may be nil; both nil never
	// Pairing says how In and Out were put together: "negotiated" (IKE),
	// "inferred" (opposite addresses, the only candidate), or "" (lone).
	Pairing string
	// MyAddr and PeerAddr are the outer endpoints; for a transit capture
	// (neither is mine) MyAddr is the source of the first SA seen.
	MyAddr, PeerAddr netip.Addr
	Transit          bool
	// Policy is the 1-based index in Snapshot.Policies of the negotiation
	// policy the pair was negotiated with (0: not negotiated in the capture).
	Policy int
}

// SAs returns In and Out, whichever exist.
func (q *QuickModeSA) SAs() []*SA {
	var r []*SA
	if q.In != nil {
		r = append(r, q.In)
	}
	if q.Out != nil {
		r = append(r, q.Out)
	}
	return r
}

// Any returns one of the pair (the first seen).
func (q *QuickModeSA) Any() *SA {
	switch {
	case q.In == nil:
		return q.Out
	case q.Out == nil:
		return q.In
	case q.Out.FirstSeen < q.In.FirstSeen:
		return q.Out
	}
	return q.In
}

// Mode is the row's mode when every member agrees and is known.
func (q *QuickModeSA) Mode() Mode {
	m := ModeUnknown
	for i, s := range q.SAs() {
		if i == 0 {
			m = s.Mode
		} else if s.Mode != m {
			return ModeUnknown
		}
	}
	return m
}

// Snapshot is the analyzer's state at one moment, ready for the views.
type Snapshot struct {
	Me       []netip.Addr // the addresses treated as mine
	MeChosen bool         // Me was picked from the traffic, not given
	Stats    [NumStats]Figure
	Rows     []*QuickModeSA
	Counts   Counts
	First    time.Time
	Last     time.Time
	SAs      int
	// NotInspected counts accepted packets whose integrity was not checked.
	NotInspected uint64
	// BadSPIByDst splits Bad SPI packets by destination; nil when Bad SPI
	// cannot be told.
	BadSPIByDst map[netip.Addr]uint64
	// SAKnowledgeComplete: every SA that existed is known (authoritative SA
	// list or decrypted IKE), not only those that carried packets.
	SAKnowledgeComplete bool
	// IKE holds the IKE tracker's counters when the capture had IKE.
	IKE *ikestate.Counters
	// Policies groups the phase 2 negotiations by identical offer lists;
	// PolicyOfChild maps a child SA ID to its index in Policies.
	Policies      []ikestate.Policy
	PolicyOfChild map[int]int
	// IKESAs are the Main Mode / IKE SAs (the mmsas view); Negotiations every
	// phase 2 negotiation.
	IKESAs       []ikestate.IKESA
	Negotiations []ikestate.Negotiation
	// Policy holds what the capture shows against the configured policy
	// (nil without --policy).
	Policy *PolicyFindings
}

// Snapshot computes the views from the current state. Rows hold copies of
// the SAs, so a snapshot stays valid while the analyzer carries on (a live
// capture renders it while packets keep coming).
func (a *Analyzer) Snapshot() *Snapshot {
	a.flush()
	s := &Snapshot{Counts: a.counts, SAs: len(a.order)}
	s.First, s.Last = a.TimeSpan()
	if a.BadSPIKnown() {
		s.SAKnowledgeComplete = true
		s.BadSPIByDst = map[netip.Addr]uint64{}
		for k, n := range a.badSPIs {
			s.BadSPIByDst[k.Dst] += n
		}
	}
	mine := a.mine(s)
	s.Rows = a.pairRows(mine)
	a.stats(s, mine)
	s.Policy = a.policyFindings(s, mine)
	copies := make([]SA, 0, len(a.order))
	clone := func(p **SA) {
		if *p != nil {
			copies = append(copies, **p)
			c := &copies[len(copies)-1]
			c.pair = nil
			c.Window.ring = nil // the live window is not part of a snapshot
			*p = c
		}
	}
	for _, r := range s.Rows {
		clone(&r.In)
		clone(&r.Out)
	}
	return s
}

// mine returns a membership test for "this computer", choosing the address
// that is an endpoint of the most SAs when none was configured.
func (a *Analyzer) mine(s *Snapshot) func(netip.Addr) bool {
	if len(a.cfg.Me) > 0 {
		for _, p := range a.cfg.Me {
			if p.IsSingleIP() {
				s.Me = append(s.Me, p.Addr())
			}
		}
		prefixes := a.cfg.Me
		return func(ip netip.Addr) bool {
			for _, p := range prefixes {
				if p.Contains(ip) {
					return true
				}
			}
			return false
		}
	}
	count := map[netip.Addr]int{}
	firstSeen := map[netip.Addr]int{}
	for i, t := range a.tallies() {
		for j, ip := range []netip.Addr{t.dst, t.src} {
			if !ip.IsValid() {
				continue
			}
			count[ip] += int(t.sas)
			if _, ok := firstSeen[ip]; !ok {
				// Ties go to the receiver of the first SA seen.
				firstSeen[ip] = 2*i + j
			}
		}
	}
	var best netip.Addr
	for ip, n := range count {
		switch {
		case !best.IsValid(), n > count[best]:
			best = ip
		case n == count[best] && (firstSeen[ip] < firstSeen[best] || firstSeen[ip] == firstSeen[best] && ip.Less(best)):
			best = ip
		}
	}
	if !best.IsValid() {
		return func(netip.Addr) bool { return false }
	}
	s.Me, s.MeChosen = []netip.Addr{best}, true
	return func(ip netip.Addr) bool { return ip == best }
}

// dirKey is one direction between two endpoints for one protocol and encapsulation.
type dirKey struct {
	proto            uint8
	src, dst         netip.Addr
	srcPort, dstPort uint16
}

func dirOf(sa *SA) dirKey {
	return dirKey{sa.Key.Proto, sa.Src, sa.Key.Dst, sa.Key.SrcPort, sa.Key.DstPort}
}

func (k dirKey) reverse() dirKey {
	return dirKey{k.proto, k.dst, k.src, k.dstPort, k.srcPort}
}

// pairRows builds the SA view's rows. Without IKE, two SAs are paired only
// when each is the other's only candidate: opposite addresses, same
// protocol, mirrored encapsulation ports. When there are several (successive
// connections between the same two hosts), the only one whose lifetime
// overlaps still counts as the only candidate.
func (a *Analyzer) pairRows(mine func(netip.Addr) bool) []*QuickModeSA {
	groups := map[dirKey][]*SA{}
	for _, sa := range a.order {
		if sa.pair == nil {
			k := dirOf(sa)
			groups[k] = append(groups[k], sa)
		}
	}
	candidates := func(sa *SA) []*SA {
		rev := groups[dirOf(sa).reverse()]
		if len(rev) == 1 && rev[0] != sa {
			return rev
		}
		var c []*SA
		for _, o := range rev {
			if o != sa && overlaps(sa, o) {
				c = append(c, o)
			}
		}
		return c
	}
	done := map[*SA]bool{}
	var rows []*QuickModeSA
	for _, sa := range a.order {
		if done[sa] {
			continue
		}
		done[sa] = true
		row := &QuickModeSA{}
		other := sa.pair
		if other != nil {
			row.Pairing = "negotiated"
		} else if c := candidates(sa); len(c) == 1 && !done[c[0]] {
			if back := candidates(c[0]); len(back) == 1 && back[0] == sa {
				other = c[0]
				row.Pairing = "inferred"
			}
		}
		if other != nil {
			done[other] = true
		}
		place := func(x *SA) {
			switch {
			case mine(x.Key.Dst):
				row.In = x
			case mine(x.Src):
				row.Out = x
			}
		}
		place(sa)
		if other != nil {
			place(other)
		}
		if row.In == nil && row.Out == nil {
			// Transit: present the first SA seen as outbound from its source.
			row.Transit = true
			row.Out, row.In = sa, other
		}
		switch {
		case row.Transit:
			row.MyAddr, row.PeerAddr = sa.Src, sa.Key.Dst
		case row.In != nil:
			row.MyAddr, row.PeerAddr = row.In.Key.Dst, row.In.Src
		default:
			row.MyAddr, row.PeerAddr = row.Out.Src, row.Out.Key.Dst
		}
		rows = append(rows, row)
	}
	return rows
}

// overlaps reports whether two SAs were in use at the same time.
func overlaps(x, y *SA) bool {
	return x.FirstSeen <= y.endOfUse() && y.FirstSeen <= x.endOfUse()
}

// endOfUse is the end of an SA's life as far as pairing is concerned.
func (s *SA) endOfUse() int64 {
	if s.EndedAt != 0 {
		return s.EndedAt
	}
	return s.LastSeen
}

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

// stats fills the Quick Mode Statistics.
func (a *Analyzer) stats(s *Snapshot, mine func(netip.Addr) bool) {
	st := &s.Stats
	var active, replayed uint64
	var confS, confR, authS, authR uint64
	var trS, trR, tuS, tuR uint64
	var unknownMode, unknownModeBytes, transit, transitBytes, modeCandidates uint64
	var keyed, notAuth, notDecr, uninspected, uninspectedSAs uint64
	for _, t := range a.tallies() {
		keyed += t.keyed
		notAuth += t.notAuthenticated
		notDecr += t.notDecr
		uninspected += t.unverified
		if t.keyed < t.sas {
			uninspectedSAs += t.sas - t.keyed
		}
		if t.state == StateActive {
			active += t.sas
		}
		replayed += t.replayed
		dir := DirUnknown
		switch {
		case t.dst.IsValid() && mine(t.dst):
			dir = DirIn
		case t.src.IsValid() && mine(t.src):
			dir = DirOut
		}
		if dir == DirUnknown {
			transit += t.sas
			transitBytes += t.bytes
			continue
		}
		modeCandidates += t.sas
		add := func(sent, recv *uint64) {
			if dir == DirOut {
				*sent += t.bytes
			} else {
				*recv += t.bytes
			}
		}
		if t.proto == ProtoESP && !t.nullEnc {
			add(&confS, &confR)
		} else {
			add(&authS, &authR)
		}
		switch t.mode {
		case ModeTransport:
			add(&trS, &trR)
		case ModeTunnel:
			add(&tuS, &tuR)
		default:
			unknownMode += t.sas
			unknownModeBytes += t.bytes
		}
	}
	st[ActiveSAs] = known(active)
	st[ReplayDetected] = known(replayed)
	st[ConfidentialSent], st[ConfidentialReceived] = known(confS), known(confR)
	st[AuthenticatedSent], st[AuthenticatedReceived] = known(authS), known(authR)
	if transit > 0 {
		note := fmt.Sprintf("excludes %d bytes of %d SAs between other hosts", transitBytes, transit)
		for _, i := range []Stat{ConfidentialSent, ConfidentialReceived, AuthenticatedSent, AuthenticatedReceived} {
			st[i].Note = note
		}
	}

	// Mode-dependent figures: null when no SA's mode is known, otherwise the
	// known part with a note on what is missing.
	modeKnown := modeCandidates > unknownMode
	modeFig := func(v uint64) Figure {
		if !modeKnown {
			return Figure{Note: "the mode of ESP SAs is not visible without keys"}
		}
		f := known(v)
		if unknownMode > 0 {
			f.Note = fmt.Sprintf("excludes %d bytes of %d SAs of unknown mode (ESP without keys)", unknownModeBytes, unknownMode)
		}
		return f
	}
	st[TransportSent], st[TransportReceived] = modeFig(trS), modeFig(trR)
	st[TunnelSent], st[TunnelReceived] = modeFig(tuS), modeFig(tuR)

	var tunnels, rowsUnknown uint64
	for _, r := range s.Rows {
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
	case !modeKnown && len(s.Rows) > 0:
		st[ActiveTunnels] = Figure{Note: "the mode of ESP SAs is not visible without keys"}
	default:
		st[ActiveTunnels] = known(tunnels)
		if rowsUnknown > 0 {
			st[ActiveTunnels].Note = fmt.Sprintf("excludes %d SA pairs of unknown mode", rowsUnknown)
		}
	}

	offload := "offload happens in the NIC and is not visible on the wire"
	st[OffloadedSAs] = Figure{Note: offload}
	st[OffloadedSent] = Figure{Note: offload}
	st[OffloadedReceived] = Figure{Note: offload}
	a.lifecycle(s)
	if a.BadSPIKnown() {
		st[BadSPIPackets] = known(a.counts.BadSPI)
	} else {
		st[BadSPIPackets] = Figure{Note: "needs an authoritative list of SAs (ip xfrm state, --complete-keys) or the decrypted IKE negotiations"}
	}
	if keyed == 0 {
		st[NotDecrypted] = Figure{Note: "needs keys"}
		st[NotAuthenticated] = Figure{Note: "needs keys"}
	} else {
		st[NotDecrypted], st[NotAuthenticated] = known(notDecr), known(notAuth)
		if uninspected > 0 {
			note := fmt.Sprintf("%d accepted packets (of %d SAs without keys, or cut by the snap length) were not inspected", uninspected, uninspectedSAs)
			st[NotDecrypted].Note, st[NotAuthenticated].Note = note, note
		}
	}
	s.NotInspected = uninspected
}

// lifecycle fills the figures only the IKE negotiations can give.
func (a *Analyzer) lifecycle(s *Snapshot) {
	st := &s.Stats
	var c ikestate.Counters
	if a.tracker != nil {
		c = a.tracker.Counters()
	}
	if c.Messages == 0 {
		for _, i := range []Stat{PendingKeyOps, KeyAdditions, KeyDeletions, Rekeys} {
			st[i] = Figure{Note: "needs the IKE negotiations; the capture has no IKE message"}
		}
		return
	}
	s.IKE = &c
	s.IKESAs = a.tracker.IKESAs()
	s.Negotiations = a.tracker.Negotiations()
	s.Policies = a.tracker.Policies()
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
	conv := func(f ikestate.Figure, what string) Figure {
		switch {
		case f.Known:
			return known(uint64(f.Value))
		case f.Inferred:
			return Figure{Value: uint64(f.Value), Inferred: true, Note: fmt.Sprintf("%d inferred from the cleartext IKE headers; %s needs the decrypted negotiations", f.Value, what)}
		}
		return Figure{Note: what + " needs the decrypted IKE negotiations (give IKE keys with --keys)"}
	}
	if c.Undecrypted > 0 && st[ActiveSAs].Known {
		// Encrypted IKE messages may hold Delete payloads this run could not
		// read: the SAs seen may have ended.
		st[ActiveSAs] = Figure{Value: st[ActiveSAs].Value, Inferred: true, Note: fmt.Sprintf(
			"%d SAs seen and not known to have ended; %d encrypted IKE messages (Delete payloads among them?) need IKE keys", st[ActiveSAs].Value, c.Undecrypted)}
	}
	st[PendingKeyOps] = conv(c.PendingKeyOps, "telling pending negotiations")
	st[KeyAdditions] = conv(c.KeyAdditions, "counting completed negotiations")
	st[KeyDeletions] = conv(c.KeyDeletions, "seeing Delete payloads")
	st[Rekeys] = conv(c.Rekeys, "telling rekeys")
}

func anyActive(r *QuickModeSA) bool {
	for _, s := range r.SAs() {
		if s.State == StateActive {
			return true
		}
	}
	return false
}

// SortRowsByFirstSeen orders rows by when their first SA appeared.
func SortRowsByFirstSeen(rows []*QuickModeSA) {
	slices.SortStableFunc(rows, func(x, y *QuickModeSA) int {
		return cmp.Compare(x.Any().FirstSeen, y.Any().FirstSeen)
	})
}
