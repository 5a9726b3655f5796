package analyzer

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"ipsecmon/bounds"
	"ipsecmon/ikestate"
)

// Snapshot is the analyzer's state at one moment, ready for the views.
type Snapshot struct {
	Me       []netip.Addr // the addresses treated as mine
	MeChosen bool         // Me was picked from the traffic, not given
	// MeLinked are the chosen addresses after the first, tied to it because
	// the host sent its SAs from the same link address (dual stack).
	MeLinked []netip.Addr
	// MeBothEnds are the endpoint pairs of SAs whose two ends --me covers
	// (see sides); MeUnmatched says --me covers no SA endpoint, and
	// MeCandidates are then the SAs' endpoints, the busiest first.
	MeGiven      []netip.Prefix // --me as given (Me holds its single addresses)
	MeBothEnds   []EndpointPair
	MeUnmatched  bool
	MeCandidates []MeEndpoint
	Stats        [NumStats]Figure
	Rows         []*QuickModeSA
	Counts       Counts
	First        time.Time
	Last         time.Time
	SAs          int
	// NotInspected counts accepted packets whose integrity was not checked.
	NotInspected uint64
	// BadSPIByDst splits Bad SPI packets by destination; nil when Bad SPI
	// cannot be told.
	BadSPIByDst map[netip.Addr]uint64
	// SAKnowledgeComplete: every SA that existed is known (authoritative SA
	// list or decrypted IKE), not only those that carried packets.
	SAKnowledgeComplete bool
	// IntegrityOnly sums the ESP SAs without confidentiality.
	IntegrityOnly IntegrityOnlyESP
	// IKE holds the IKE tracker's counters when the capture had IKE;
	// IKEHistory when each lifecycle count changed.
	IKE        *ikestate.Counters
	IKEHistory ikestate.History
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
	// Limits are the memory bounds in force and what each discarded.
	Limits []bounds.Limit
	// PathMTU is what ICMP said about IPsec and IKE packets too big for
	// the path, per SA (or IKE between two peers), in order of the first
	// report.
	PathMTU []PathMTU
	// Tunnels group the SA pairs by tunnel, across rekeys.
	Tunnels []*Tunnel
}

// Snapshot computes the views from the current state. Rows hold copies of
// the SAs, so a snapshot stays valid while the analyzer carries on (a live
// capture renders it while packets keep coming).
func (a *Analyzer) Snapshot() *Snapshot { return a.Freeze().Snapshot() }

// Frozen is the analyzer's state copied at one moment: what a snapshot is
// computed from. Freeze is the part that must not overlap packet
// processing — a copy of the SA table and of the IKE tracker's lists — and
// Frozen.Snapshot (pairing, statistics, policy) runs on the copy while
// packets keep coming: a live view or a metrics scrape of 100,000 SAs does
// not stop the capture path for the pairing of all of them.
type Frozen struct {
	a *Analyzer // detached: no tracker, its SAs are copies
	// live is the analyzer's SA list the copies were made from (in the
	// same order), until Snapshot has pointed the copies' pairs at copies.
	live []*SA
}

// ikeView is what a snapshot takes from the IKE tracker.
type ikeView struct {
	counters     ikestate.Counters
	history      ikestate.History
	historyLost  uint64
	limits       ikestate.Limits
	forgotten    ikestate.Forgotten
	ikeSAs       []ikestate.IKESA
	negotiations []ikestate.Negotiation
	policies     []ikestate.Policy
}

// Freeze copies the state a snapshot needs. Call it where Packet may not
// run at the same time (a live run's lock); the Frozen is then the
// caller's alone.
func (a *Analyzer) Freeze() *Frozen {
	a.flush()
	d := &Analyzer{cfg: a.cfg, counts: a.counts, first: a.first, end: a.end, hits: a.hits, pmtu: maps.Clone(a.pmtu),
		covered: a.covered, ikeBad: a.ikeBad, badSPIs: maps.Clone(a.badSPIs), filterHits: maps.Clone(a.filterHits), links: maps.Clone(a.links)}
	d.cfg.OnEvent, d.reports = nil, a.cfg.OnEvent != nil || a.reports
	if len(a.evicted) > 0 {
		d.evicted = make(map[tallyKey]*tally, len(a.evicted))
		for k, t := range a.evicted {
			c := *t
			d.evicted[k] = &c
		}
	}
	iv := &ikeView{}
	if a.tracker != nil {
		iv.counters = a.tracker.Counters()
		iv.historyLost = a.tracker.HistoryLost()
		iv.limits, iv.forgotten = a.tracker.Limits(), a.tracker.Forgotten()
		if iv.counters.Messages > 0 {
			iv.history = a.tracker.History()
			iv.ikeSAs = a.tracker.IKESAs()
			iv.negotiations = a.tracker.Negotiations()
			iv.policies = a.tracker.Policies()
		}
	}
	d.iv = iv
	if len(a.retired) > 0 {
		d.retired = make(map[TunnelKey]*retiredTunnel, len(a.retired))
		for k, r := range a.retired {
			c := *r
			c.details = slices.Clone(r.details)
			d.retired[k] = &c
		}
	}
	copies := make([]SA, len(a.order))
	for i, sa := range a.order {
		copies[i] = *sa
		copies[i].Window.ring = nil // the live window is not part of a snapshot
		if sa.ext != nil {
			e := *sa.ext
			copies[i].ext = &e
		}
	}
	d.order = make([]*SA, len(copies))
	for i := range copies {
		d.order[i] = &copies[i]
	}
	// The pair pointers still name live SAs: they are only compared, never
	// followed, until they name the copies.
	f := &Frozen{a: d}
	f.live = a.order
	return f
}

// Snapshot computes the views from the frozen state.
func (f *Frozen) Snapshot() *Snapshot {
	a := f.a
	if f.live != nil {
		copyOf := make(map[*SA]*SA, len(f.live))
		for i, sa := range f.live {
			copyOf[sa] = a.order[i]
		}
		for _, c := range a.order {
			if c.pair != nil {
				c.pair = copyOf[c.pair]
			}
			if c.prev != nil {
				c.prev = copyOf[c.prev]
			}
			if c.next != nil {
				c.next = copyOf[c.next]
			}
		}
		f.live = nil
	}
	s := &Snapshot{Counts: a.counts, SAs: len(a.order), Limits: a.Limits()}
	s.First, s.Last = a.TimeSpan()
	if a.BadSPIKnown() {
		s.SAKnowledgeComplete = true
		s.BadSPIByDst = map[netip.Addr]uint64{}
		for d, n := range a.badSPIs {
			s.BadSPIByDst[d] = n
		}
	}
	mine := a.mine(s)
	side := a.sides(mine, s)
	s.Rows = a.pairRows(side)
	a.stats(s, side)
	s.Tunnels = a.tunnels(s, mine)
	s.PathMTU = a.pathMTUs()
	s.Policy = a.policyFindings(s)
	return s
}

// IntegrityOnlyESP sums the ESP SAs known (from keys or IKE) to use NULL
// encryption (RFC 2410, or NULL with AES-GMAC, RFC 4543): their traffic is
// authenticated but crosses the wire in the clear. Their bytes are part of
// Confidential Bytes, which the seed defines as every byte of ESP.
type IntegrityOnlyESP struct {
	SAs           uint64 `json:"security_associations"` // transit SAs included
	BytesSent     uint64 `json:"bytes_sent"`
	BytesReceived uint64 `json:"bytes_received"`
	// EncryptionUnknown counts the ESP SAs whose encryption the input does
	// not show (no keys, no decrypted IKE): any of them may be NULL too.
	EncryptionUnknown uint64 `json:"security_associations_encryption_unknown"`
}
