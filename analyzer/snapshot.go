package analyzer

import (
	"net/netip"
	"time"

	"ipsecmon/bounds"
	"ipsecmon/ikestate"
)

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
}

// Snapshot computes the views from the current state. Rows hold copies of
// the SAs, so a snapshot stays valid while the analyzer carries on (a live
// capture renders it while packets keep coming).
func (a *Analyzer) Snapshot() *Snapshot {
	a.flush()
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
	s.Rows = a.pairRows(mine)
	a.stats(s, mine)
	s.Policy = a.policyFindings(s)
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
