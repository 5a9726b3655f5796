package analyzer

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ipsecmon/ikestate"
)

// Relation says how an SA came to replace the one before it in its
// tunnel's lineage.
type Relation uint8

const (
	RelationNone Relation = iota
	// RelationRekey: an IKE rekey — IKEv2 CREATE_CHILD_SA with REKEY_SA
	// (RFC 7296 §1.3.3), IKEv1 a Quick Mode for the same peers and
	// selectors while the old pair lived (RFC 2409 has no rekey notify).
	RelationRekey
	// RelationReauth: IKEv2 reauthentication (RFC 7296 §2.8.3): a new IKE
	// SA's IKE_AUTH created a pair of the same tunnel while the old one lived.
	RelationReauth
	// RelationInferred: no IKE in the capture tells: the SA of the same
	// direction (endpoints, protocol, encapsulation ports) that appeared
	// before it.
	RelationInferred
)

var relationNames = [...]string{"", "rekey", "reauthentication", "inferred"}

func (r Relation) String() string {
	if int(r) < len(relationNames) {
		return relationNames[r]
	}
	return fmt.Sprintf("relation(%d)", uint8(r))
}

func (r Relation) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// lineage is what an SA keeps about its place in its tunnel beyond the
// links (SA.prev, SA.next): plain figures only. An SA linked by inference
// (no IKE) and never carrying traffic after its successor started needs
// none of it, so a flood of SAs between two hosts costs no more than the
// SAs themselves.
type lineage struct {
	// relation is how the SA replaced prev when IKE said so (zero: by
	// inference, when prev is set); rekeyAt when (the negotiation).
	relation Relation
	rekeyAt  int64
	// tunnel is the tunnel's identity once IKE showed it (the SA's own
	// negotiation, or its successor's); nil: from the SA's endpoints.
	tunnel *TunnelKey

	// As the old SA of a rekey: its packets accepted after its successor's
	// first accepted packet (switchAt), from the first of them on.
	switchAt        int64
	topAtSwitch     uint64 // its highest accepted number then
	hadTopAtSwitch  bool   // ... if it had accepted any
	afterSwitch     uint64 // packets accepted after switchAt
	aboveSwitch     uint64 // ... whose number is above topAtSwitch
	lastAfterSwitch int64  // the last of them

	// gone holds prev's figures once prev left the table (eviction).
	gone *oldSide
	// reported: the rekey event of this SA's pair was sent.
	reported bool
}

// replaced reports how the SA replaced another in its tunnel, and when
// (RelationNone: it did not).
func (s *SA) replaced() (Relation, int64) {
	var e *saExt
	if s.ext != nil {
		e = s.ext
	}
	switch {
	case e != nil && e.relation != RelationNone:
		return e.relation, e.rekeyAt
	case s.prev != nil || e != nil && e.gone != nil:
		return RelationInferred, s.FirstSeen
	}
	return RelationNone, 0
}

// TunnelKey is a tunnel's identity, whichever side is "me": the outer
// endpoints in address order, the IPsec protocol, and each side's traffic
// selectors as IKE negotiated them (empty when no negotiation in the
// capture shows them: the tunnel is then every SA between the endpoints).
// It does not change when the SAs are rekeyed, the IKE SA is rekeyed or
// the peers reauthenticate.
type TunnelKey struct {
	A, B       netip.Addr
	Proto      uint8
	SelA, SelB string
}

// childTunnelKey is the identity of the tunnel a negotiated pair belongs to.
func childTunnelKey(c *ikestate.ChildSA) *TunnelKey {
	i, r := c.Initiator.Addr().Unmap(), c.Responder.Addr().Unmap()
	si, sr := selectorKey(c.InitiatorSelectors), selectorKey(c.ResponderSelectors)
	if r.Less(i) {
		i, r, si, sr = r, i, sr, si
	}
	return &TunnelKey{A: i, B: r, Proto: c.Proto, SelA: si, SelB: sr}
}

func selectorKey(sel []ikestate.Selector) string {
	t := make([]string, len(sel))
	for i, s := range sel {
		t[i] = s.Text
	}
	return strings.Join(t, ",")
}

// endpointKey is the identity of a tunnel no negotiation shows: its
// endpoints and protocol.
func endpointKey(sa *SA) TunnelKey {
	a, b := sa.Src.Unmap(), sa.Key.Dst.Unmap()
	if b.Less(a) {
		a, b = b, a
	}
	return TunnelKey{A: a, B: b, Proto: sa.Key.Proto}
}

// tunnelKey is the identity of the SA's tunnel.
func (s *SA) tunnelKey() TunnelKey {
	if s.ext != nil && s.ext.tunnel != nil {
		return *s.ext.tunnel
	}
	return endpointKey(s)
}

// link makes o the predecessor of n in their tunnel (rel: how, when IKE
// says; RelationInferred otherwise). An SA has at most one of each; the old
// lineage takes the new SA's identity when it had none (a pair negotiated
// before the capture, rekeyed in it). Each SA's identity is set once, so
// the walk back costs O(SAs) over the whole run.
func (a *Analyzer) link(n, o *SA, rel Relation, at int64) {
	if n == o || n == nil || o == nil || n.prev != nil || o.next != nil {
		return
	}
	if a.sas[o.Key] != o {
		// o left the table (eviction) before its rekey was negotiated:
		// keep its figures, not the SA.
		old := o.asOld()
		a.linkGone(n, &old, rel, at)
		return
	}
	n.prev, o.next = o, n
	if rel == RelationInferred {
		return
	}
	ne := n.extension()
	ne.relation, ne.rekeyAt = rel, at
	if ne.tunnel == nil {
		return
	}
	for p := o; p != nil; p = p.prev {
		pe := p.extension()
		if pe.tunnel != nil {
			break
		}
		pe.tunnel = ne.tunnel
	}
}

// linkGone makes the SA that left the table with figures o the
// predecessor of n: n keeps the figures, as link does for an SA evicted
// before its rekey.
func (a *Analyzer) linkGone(n *SA, o *oldSide, rel Relation, at int64) {
	if n.prev != nil {
		return
	}
	if ne := n.extension(); ne.gone == nil {
		ne.relation, ne.rekeyAt, ne.gone = rel, at, o
	}
}

// linkNegotiated places a negotiated pair in its tunnel: it replaces the
// pair named by its rekey (IKEv2 REKEY_SA, IKEv1 same selectors), or, made
// in an IKE_AUTH while a pair of the same tunnel lived, the pair it
// reauthenticates. A CREATE_CHILD_SA without REKEY_SA beside a live pair of
// the same tunnel is a further SA of the tunnel (RFC 9611 per-CPU SAs),
// not a replacement.
func (a *Analyzer) linkNegotiated(now int64, c *ikestate.ChildSA, ir, ri *SA) {
	key := childTunnelKey(c)
	for _, s := range []*SA{ir, ri} {
		if s != nil {
			s.extension().tunnel = key
		}
	}
	var old [2]*SA
	var gone [2]*oldSide // halves of the old pair that left the table
	rel := RelationRekey
	switch {
	case c.RekeyOf != 0:
		if p := a.ikeChildren[c.RekeyOf]; p != nil {
			old, gone = p.sas, p.gone
		}
	case c.RekeyOfSPI != 0:
		// A pair negotiated before the capture, known from its traffic:
		// REKEY_SA names the SPI the exchange's initiator receives on
		// (RFC 7296 §1.3.3).
		spec := *c
		spec.SPIInitiator = c.RekeyOfSPI
		_, k := childKeys(&spec)
		if o := a.sas[k]; o != nil {
			old[0] = o
			old[1] = o.pair
			if old[1] == nil && a.lastLearned != nil {
				old[1] = a.lastLearned[dirOf(o).reverse()]
			}
		}
	case c.Version == 2 && c.Exchange == "IKE_AUTH":
		if p := a.liveTunnels[*key]; p != nil && p.State == StateActive {
			old = [2]*SA{p, p.pair}
			rel = RelationReauth
		}
	}
	for _, n := range []*SA{ir, ri} {
		if n == nil {
			continue
		}
		for _, o := range old {
			if o != nil && o.Src == n.Src && o.Key.Dst == n.Key.Dst {
				a.link(n, o, rel, now)
			}
		}
		for _, g := range gone {
			if g != nil && g.src == n.Src && g.dst == n.Key.Dst {
				a.linkGone(n, g, rel, now)
			}
		}
	}
	if a.liveTunnels == nil {
		a.liveTunnels = map[TunnelKey]*SA{}
	}
	if ir != nil {
		a.liveTunnels[*key] = ir
	} else if ri != nil {
		a.liveTunnels[*key] = ri
	}
}

// forgetLive drops a pair that ended from the live tunnels (they only
// serve to recognise a reauthentication while the old pair lives).
func (a *Analyzer) forgetLive(sa *SA) {
	if sa == nil || sa.ext == nil || sa.ext.tunnel == nil {
		return
	}
	k := *sa.ext.tunnel
	if p := a.liveTunnels[k]; p == sa || (p != nil && p == sa.pair) {
		delete(a.liveTunnels, k)
	}
}

// maxLearnedDirections bounds the directions (endpoints, protocol,
// encapsulation ports) whose last learned SA is remembered for the
// inferred lineage: spoofed sources would make one per packet.
const maxLearnedDirections = 4096

// linkLearned places an SA learned from its traffic (no negotiation in the
// capture) after the last SA learned in the same direction. Without IKE
// this is all the capture tells; parallel SAs between the same endpoints
// (per-CPU SAs, several tunnels) are then read as successive ones.
func (a *Analyzer) linkLearned(sa *SA, now int64) {
	k := dirOf(sa)
	o, ok := a.lastLearned[k]
	if !ok && len(a.lastLearned) >= maxLearnedDirections {
		a.hits.learnedDirections++
		return
	}
	if a.lastLearned == nil {
		a.lastLearned = map[dirKey]*SA{}
	}
	if o != nil && o.neg == nil {
		a.link(sa, o, RelationInferred, now)
	}
	a.lastLearned[k] = sa
}

// afterSwitch counts an accepted packet of an SA whose successor may
// already have carried traffic: its first such packet opens the count.
// Called before the packet changes the SA's figures.
func (s *SA) afterSwitch(now int64, seq uint64) {
	n := s.next
	if n.FirstAccepted == 0 || n.FirstAccepted > now {
		return
	}
	e := s.extension()
	if e.switchAt == 0 {
		e.switchAt, e.topAtSwitch, e.hadTopAtSwitch = n.FirstAccepted, s.MaxSeq, s.Accepted > 0
	}
	e.afterSwitch++
	e.lastAfterSwitch = now
	if !e.hadTopAtSwitch || seq > e.topAtSwitch {
		e.aboveSwitch++
	}
}

// oldSide is what a rekey's figures need from the old SA of a direction.
type oldSide struct {
	spi      uint32
	src, dst netip.Addr
	overlap  time.Duration
	after    uint64
	lost     uint64
	badSPI   uint64
}

// asOld is the SA's side of the rekey that replaced it.
func (s *SA) asOld() oldSide {
	o := oldSide{spi: s.Key.SPI, src: s.Src, dst: s.Key.Dst, badSPI: s.BadSPIAfterEnd()}
	e := s.ext
	if e == nil || e.switchAt == 0 {
		return o
	}
	o.after = e.afterSwitch
	if e.lastAfterSwitch > e.switchAt {
		o.overlap = time.Duration(e.lastAfterSwitch - e.switchAt)
	}
	// Numbers above the highest accepted at the switch that never came.
	floor := e.topAtSwitch
	if !e.hadTopAtSwitch {
		floor = s.MinSeq - 1
	}
	if s.Accepted > 0 && s.MaxSeq > floor {
		if span := s.MaxSeq - floor; span > e.aboveSwitch {
			o.lost = span - e.aboveSwitch
		}
	}
	return o
}

// Rekey is one replacement of an SA pair by another in a tunnel: its
// figures per direction, from the old SA and the new one.
type Rekey struct {
	Time time.Time `json:"time"` // the new pair's negotiation (IKE), or its first packet (inferred)
	How  Relation  `json:"how"`
	// Hitless: no sequence number lost across the switch and no Bad SPI
	// packet after the old SA's deletion, in every direction whose new SA
	// carried traffic; unknown (null) when none did.
	Hitless    *bool            `json:"hitless"`
	Directions []RekeyDirection `json:"directions"`
}

// RekeyDirection is one direction of a rekey.
type RekeyDirection struct {
	Src, Dst       netip.Addr
	OldSPI, NewSPI uint32
	// Switched: the new SA carried a packet in the capture; the figures
	// below need it.
	Switched bool
	// Overlap: how long the old SA still carried traffic after the new
	// SA's first packet.
	Overlap time.Duration
	// OldPacketsAfter: packets accepted on the old SA after the new SA's
	// first packet.
	OldPacketsAfter uint64
	// Lost: sequence numbers that never arrived across the switch — on
	// the old SA above its highest number at the switch (up to its highest
	// later one), on the new SA below its lowest (a sender numbers a new SA
	// from 1, RFC 4303 §3.3.3). Packets lost after the old SA's last
	// captured one leave no trace.
	Lost uint64
	// BadSPI: packets for the old SA after its deletion or expiry.
	BadSPI uint64
}

// MarshalJSON writes SPIs as 0x%08x and the overlap in seconds.
func (d RekeyDirection) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Src             netip.Addr `json:"src"`
		Dst             netip.Addr `json:"dst"`
		OldSPI          string     `json:"old_spi"`
		NewSPI          string     `json:"new_spi"`
		Switched        bool       `json:"switched"`
		Overlap         float64    `json:"overlap_seconds"`
		OldPacketsAfter uint64     `json:"old_packets_after_switch"`
		Lost            uint64     `json:"lost_across_switch"`
		BadSPI          uint64     `json:"bad_spi_after_delete"`
	}{d.Src, d.Dst, fmt.Sprintf("0x%08x", d.OldSPI), fmt.Sprintf("0x%08x", d.NewSPI), d.Switched, d.Overlap.Seconds(), d.OldPacketsAfter, d.Lost, d.BadSPI})
}

// rekeyDirection is the rekey that made n, in n's direction (false when
// n replaced nothing).
func rekeyDirection(n *SA) (RekeyDirection, Relation, int64, bool) {
	how, at := n.replaced()
	if how == RelationNone {
		return RekeyDirection{}, RelationNone, 0, false
	}
	var o oldSide
	switch {
	case n.prev != nil:
		o = n.prev.asOld()
	case n.ext != nil && n.ext.gone != nil:
		o = *n.ext.gone
	default:
		return RekeyDirection{}, RelationNone, 0, false
	}
	d := RekeyDirection{Src: n.Src, Dst: n.Key.Dst, OldSPI: o.spi, NewSPI: n.Key.SPI, Switched: n.Accepted > 0,
		Overlap: o.overlap, OldPacketsAfter: o.after, Lost: o.lost, BadSPI: o.badSPI}
	if n.Accepted > 0 && n.MinSeq > 1 {
		d.Lost += n.MinSeq - 1
	}
	return d, how, at, true
}

// pairRekey is the rekey that made the pair of in and out (either may be
// nil), or nil when neither replaced an SA.
func pairRekey(in, out *SA) *Rekey {
	var r *Rekey
	for _, s := range []*SA{in, out} {
		if s == nil {
			continue
		}
		d, how, at, ok := rekeyDirection(s)
		if !ok {
			continue
		}
		if r == nil {
			r = &Rekey{Time: time.Unix(0, at).UTC(), How: how}
		}
		if at < r.Time.UnixNano() {
			r.Time = time.Unix(0, at).UTC()
		}
		r.Directions = append(r.Directions, d)
	}
	if r == nil {
		return nil
	}
	switched, hitless := false, true
	for _, d := range r.Directions {
		if d.Switched {
			switched = true
			if d.Lost > 0 || d.BadSPI > 0 {
				hitless = false
			}
		} else if d.BadSPI > 0 {
			hitless = false
		}
	}
	if switched || !hitless {
		r.Hitless = &hitless
	}
	return r
}
