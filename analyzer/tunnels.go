package analyzer

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/event"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Tunnel is one tunnel: the same peers, protocol and traffic selectors over
// time, followed across CHILD SA rekeys, IKE SA rekeys and
// reauthentication. Its figures add up every SA pair of its lineage,
// those evicted from the table included.
type Tunnel struct {
	Key TunnelKey
	// Local and Remote are the outer endpoints, Local the one of "me"
	// (on a transit capture the source of its first SA).
	Local, Remote netip.Addr
	// LocalTS and RemoteTS are the traffic selectors IKE negotiated (nil
	// when no negotiation in the capture shows them); LocalID and
	// RemoteID the IKE identities of its latest IKE SA, when shown.
	LocalTS, RemoteTS []ikestate.Selector
	LocalID, RemoteID string
	// Rows are its live SA pairs in order of appearance.
	Rows []*QuickModeSA
	// ChildSAs counts its SA pairs; Rekeys those that replaced another
	// (rekey, reauthentication, or inferred from traffic alone).
	ChildSAs, Rekeys uint64
	// Inferred: the lineage comes from the traffic alone (no negotiation).
	Inferred bool
	In, Out  TunnelTraffic
	First    time.Time
	Last     time.Time
	// State is "active" while one of its SAs lives, else how its last
	// pair ended ("deleted", "expired"; "ended" once evicted).
	State string
	// RekeyDetails lists its rekeys in time order; DetailsDropped counts
	// older ones no longer kept (limit rekey_details).
	RekeyDetails   []*Rekey
	DetailsDropped uint64
}

// TunnelTraffic sums one direction of a tunnel over its SAs.
type TunnelTraffic struct {
	Packets, Bytes uint64 // accepted, the SA view's wire basis
	// PlainBytes is the decrypted payload; PlainKnown says every SA with
	// accepted packets had keys.
	PlainBytes uint64
	PlainKnown bool
	// The sequence analysis, summed over the SAs (see SA.Lost etc.).
	Lost, Reordered, Duplicates, Late uint64
}

func (t *TunnelTraffic) add(s *SA) {
	t.Packets += s.Accepted
	t.Bytes += s.Bytes
	if s.Keyed() {
		t.PlainBytes += s.PlainBytes
	} else if s.Accepted > 0 {
		t.PlainKnown = false
	}
	t.Lost += s.Lost()
	t.Reordered += s.Reordered()
	t.Duplicates += s.Duplicates()
	t.Late += s.Late()
}

func (t *TunnelTraffic) merge(o TunnelTraffic) {
	t.Packets += o.Packets
	t.Bytes += o.Bytes
	t.PlainBytes += o.PlainBytes
	t.PlainKnown = t.PlainKnown && o.PlainKnown
	t.Lost += o.Lost
	t.Reordered += o.Reordered
	t.Duplicates += o.Duplicates
	t.Late += o.Late
}

// retiredTunnel keeps what the SAs of a tunnel that left the table
// (eviction) contributed, so that its totals never go back.
type retiredTunnel struct {
	// dirs[0] is traffic to Key.A, dirs[1] to Key.B.
	dirs [2]TunnelTraffic
	// pairs and rekeys count negotiated pairs; lone and loneRekeys the SAs
	// without a negotiated partner, per direction (a pair of them is one
	// row of the SA view).
	pairs, rekeys     uint64
	lone, loneRekeys  [2]uint64
	first, last       int64
	state             State
	child             *ikestate.ChildSA // the latest negotiation, for selectors and identities
	details           []*Rekey
	detailsDropped    uint64
	inferred, learned bool
}

// maxRetired bounds the tunnels whose evicted SAs are remembered, and
// maxRekeyDetails the rekeys listed per tunnel.
const (
	maxRetired      = 4096
	maxRekeyDetails = 64
)

func (r *retiredTunnel) addDetail(k *Rekey, hits *limitHits) {
	if k == nil {
		return
	}
	if len(r.details) >= maxRekeyDetails {
		r.details = slices.Delete(r.details, 0, 1)
		r.detailsDropped++
		hits.rekeyDetails++
	}
	r.details = append(r.details, k)
}

// retire keeps an evicted SA's part in its tunnel: totals, the pair and
// its rekey, and cuts it out of the lineage (its successor keeps the
// figures it needs), reporting the rekey whose old pair is now gone.
func (a *Analyzer) retire(sa *SA) {
	if a.lastLearned != nil && a.lastLearned[dirOf(sa)] == sa {
		delete(a.lastLearned, dirOf(sa))
	}
	a.forgetLive(sa)
	key := sa.tunnelKey()
	r := a.retired[key]
	if r == nil {
		if len(a.retired) >= maxRetired {
			a.hits.retiredTunnels++
		} else {
			if a.retired == nil {
				a.retired = map[TunnelKey]*retiredTunnel{}
			}
			r = &retiredTunnel{first: sa.FirstSeen, dirs: [2]TunnelTraffic{{PlainKnown: true}, {PlainKnown: true}}}
			a.retired[key] = r
		}
	}
	if r != nil {
		d := 0
		if sa.Key.Dst.Unmap() != key.A {
			d = 1
		}
		r.dirs[d].add(sa)
		r.first = min(r.first, sa.FirstSeen)
		r.last = max(r.last, sa.LastSeen)
		r.state = sa.State
		if n := sa.Negotiation(); n != nil {
			r.child = n.Child
		} else {
			r.learned = true
		}
		how, _ := sa.replaced()
		rekeyed := how != RelationNone
		if how == RelationInferred {
			r.inferred = true
		}
		mate := sa.pair
		switch {
		case mate == nil:
			r.lone[d]++
			if rekeyed {
				r.loneRekeys[d]++
				r.addDetail(pairRekey(sa, nil), &a.hits)
			}
		case a.sas[mate.Key] != mate: // the last of its pair to leave
			r.pairs++
			if k := pairRekey(sa, mate); k != nil {
				r.rekeys++
				r.addDetail(k, &a.hits)
			}
		}
	}
	if how, _ := sa.replaced(); how != RelationNone {
		a.reportRekey(sa, sa.pair, "its new SA left the table")
	}
	if n := sa.next; n != nil {
		old := sa.asOld()
		if n.ext == nil || n.ext.relation == RelationNone {
			// Inferred: keep that it replaced something once the link goes.
			n.extension().rekeyAt = n.FirstSeen
		}
		n.extension().gone = &old
		n.prev, sa.next = nil, nil
		if m := n.pair; m == nil || m.prev == nil {
			a.reportRekey(n, m, "the old SA left the table")
		}
	}
	if p := sa.prev; p != nil {
		p.next, sa.prev = nil, nil
	}
}

// reportRekey sends the rekey event of the pair of n and m (m may be nil)
// once its figures are final.
func (a *Analyzer) reportRekey(n, m *SA, why string) {
	if a.cfg.OnEvent == nil {
		return
	}
	if e := a.rekeyEvent(n, m, why); e != nil {
		a.emit(*e)
	}
}

// rekeyEvent marks the rekey of the pair of n and m reported and returns
// its event (nil when it was reported already or is no rekey).
func (a *Analyzer) rekeyEvent(n, m *SA, why string) *Event {
	for _, s := range []*SA{n, m} {
		if s != nil && s.ext != nil && s.ext.reported {
			return nil
		}
	}
	for _, s := range []*SA{n, m} {
		if s != nil {
			s.extension().reported = true
		}
	}
	k := pairRekey(n, m)
	if k == nil {
		return nil
	}
	key := n.tunnelKey()
	return &Event{Time: k.Time, Kind: event.Rekey, Tunnel: &key, Rekey: k, Detail: "figures final: " + why}
}

// reportRekeys sends, at the end of the input, the rekey events not sent
// yet, in time order: one per negotiated pair, one per direction for SAs
// without one.
func (a *Analyzer) reportRekeys() {
	if a.cfg.OnEvent == nil {
		return
	}
	var es []Event
	for _, sa := range a.order {
		if e := a.rekeyEvent(sa, sa.pair, "end of the input"); e != nil {
			es = append(es, *e)
		}
	}
	sortByTime(es)
	for _, e := range es {
		a.emit(e)
	}
}

// TunnelKey in JSON: the peers in address order, the protocol and each
// peer's selectors.
func (k TunnelKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		A     netip.Addr `json:"a"`
		B     netip.Addr `json:"b"`
		Proto string     `json:"protocol"`
		SelA  string     `json:"a_selectors,omitempty"`
		SelB  string     `json:"b_selectors,omitempty"`
	}{k.A, k.B, ipproto.Name(k.Proto), k.SelA, k.SelB})
}

// tunnels groups the snapshot's rows into tunnels and adds what evicted SAs
// left. mine orients each tunnel.
func (a *Analyzer) tunnels(s *Snapshot, mine func(netip.Addr) bool) []*Tunnel {
	byKey := map[TunnelKey]*Tunnel{}
	var out []*Tunnel
	get := func(k TunnelKey, my netip.Addr) *Tunnel {
		t := byKey[k]
		if t == nil {
			t = &Tunnel{Key: k, In: TunnelTraffic{PlainKnown: true}, Out: TunnelTraffic{PlainKnown: true}}
			switch {
			case mine(k.A) && !mine(k.B):
				t.Local, t.Remote = k.A, k.B
			case mine(k.B) && !mine(k.A):
				t.Local, t.Remote = k.B, k.A
			case my == k.B:
				t.Local, t.Remote = k.B, k.A
			default:
				t.Local, t.Remote = k.A, k.B
			}
			byKey[k] = t
			out = append(out, t)
		}
		return t
	}
	rows := slices.Clone(s.Rows)
	SortRowsByFirstSeen(rows)
	for _, q := range rows {
		k := rowTunnelKey(q)
		t := get(k, q.MyAddr.Unmap())
		t.Rows = append(t.Rows, q)
	}
	for k := range a.retired {
		get(k, netip.Addr{})
	}
	iks := map[int]*ikestate.IKESA{}
	for i := range s.IKESAs {
		iks[s.IKESAs[i].ID] = &s.IKESAs[i]
	}
	for _, t := range out {
		a.fillTunnel(t, iks)
	}
	slices.SortStableFunc(out, func(x, y *Tunnel) int { return x.First.Compare(y.First) })
	return out
}

// rowTunnelKey is the tunnel of a row: a member's identity from IKE when
// one has it, else the endpoints.
func rowTunnelKey(q *QuickModeSA) TunnelKey {
	for _, s := range q.SAs() {
		if s.ext != nil && s.ext.tunnel != nil {
			return *s.ext.tunnel
		}
	}
	return q.Any().tunnelKey()
}

// fillTunnel adds up a tunnel's rows. A pair that IKE negotiated is one
// child SA and, if it replaced one, one rekey with both directions; SAs
// without a negotiated partner are counted per direction — without IKE the
// capture does not say which SAs form a pair, nor which replaced which
// (the SA view pairs them only when unambiguous, which a make-before-break
// rekey's overlap is not) — so the tunnel has as many child SAs and rekeys
// as its busier direction, and their rekeys are listed per direction.
func (a *Analyzer) fillTunnel(t *Tunnel, iks map[int]*ikestate.IKESA) {
	var child *ikestate.ChildSA
	active := false
	var lastState State
	first, last := int64(0), int64(0)
	var lone, loneRekeys [2]uint64
	for _, q := range t.Rows {
		var in, out *SA
		for _, s := range q.SAs() {
			if s.Key.Dst.Unmap() == t.Local {
				t.In.add(s)
				in = s
			} else {
				t.Out.add(s)
				out = s
			}
			if first == 0 || s.FirstSeen < first {
				first = s.FirstSeen
			}
			last = max(last, s.LastSeen)
			if s.State == StateActive {
				active = true
			}
			lastState = s.State
			if n := s.Negotiation(); n != nil {
				child = n.Child
			} else if s.ext == nil || s.ext.tunnel == nil {
				t.Inferred = true
			}
		}
		if in != nil && out != nil && in.pair == out {
			t.ChildSAs++
			if k := pairRekey(in, out); k != nil {
				t.Rekeys++
				t.RekeyDetails = append(t.RekeyDetails, k)
			}
			continue
		}
		for d, s := range []*SA{in, out} {
			if s == nil {
				continue
			}
			lone[d]++
			if k := pairRekey(s, nil); k != nil {
				loneRekeys[d]++
				t.RekeyDetails = append(t.RekeyDetails, k)
				if k.How == RelationInferred {
					t.Inferred = true
				}
			}
		}
	}
	state := ""
	if r := a.retired[t.Key]; r != nil {
		in, out := r.dirs[0], r.dirs[1]
		if t.Local != t.Key.A {
			in, out = out, in
		}
		t.In.merge(in)
		t.Out.merge(out)
		t.ChildSAs += r.pairs
		t.Rekeys += r.rekeys
		for d := range lone {
			lone[d] += r.lone[d]
			loneRekeys[d] += r.loneRekeys[d]
		}
		t.RekeyDetails = append(slices.Clone(r.details), t.RekeyDetails...)
		t.DetailsDropped = r.detailsDropped
		if first == 0 || r.first < first {
			first = r.first
		}
		last = max(last, r.last)
		if child == nil {
			child = r.child
		}
		t.Inferred = t.Inferred || r.inferred || r.learned && r.child == nil
		if len(t.Rows) == 0 {
			state = "ended"
		}
	}
	t.ChildSAs += max(lone[0], lone[1])
	t.Rekeys += max(loneRekeys[0], loneRekeys[1])
	slices.SortStableFunc(t.RekeyDetails, func(x, y *Rekey) int { return x.Time.Compare(y.Time) })
	switch {
	case active:
		state = "active"
	case len(t.Rows) > 0:
		state = lastState.String()
	}
	t.State = state
	if first != 0 {
		t.First = time.Unix(0, first).UTC()
	}
	if last != 0 {
		t.Last = time.Unix(0, last).UTC()
	}
	if child != nil && (t.Key.SelA != "" || t.Key.SelB != "") {
		t.LocalTS, t.RemoteTS = child.InitiatorSelectors, child.ResponderSelectors
		if child.Initiator.Addr().Unmap() != t.Local {
			t.LocalTS, t.RemoteTS = t.RemoteTS, t.LocalTS
		}
		if ik := iks[child.IKESA.ID]; ik != nil && (ik.LocalID != "" || ik.RemoteID != "") {
			t.LocalID, t.RemoteID = ik.LocalID, ik.RemoteID
			if ik.Initiator.Addr().Unmap() != t.Local {
				t.LocalID, t.RemoteID = t.RemoteID, t.LocalID
			}
		}
	}
}

// sortByTime orders events by time, keeping the order of equal ones.
func sortByTime(es []Event) {
	slices.SortStableFunc(es, func(x, y Event) int { return cmp.Compare(x.Time.UnixNano(), y.Time.UnixNano()) })
}
