package analyzer

import (
	"fmt"

	"ipsecmon/bounds"
	"ipsecmon/ikestate"
)

// limitHits counts what the analyzer's limits discarded.
type limitHits struct {
	saTable      uint64 // packets of SAs refused for Config.MaxSAs
	replayMemory uint64 // packets of SAs refused for Config.ReplayMemory
	anomalies    uint64 // anomalies counted without their SA (maxBursts)
	linkAddrs    uint64 // SA sources whose link address was not kept (maxLinkAddrs)
	// retiredTunnels: evicted SAs whose tunnel's totals were not kept
	// (maxRetired); rekeyDetails: rekeys no longer listed (maxRekeyDetails).
	retiredTunnels, rekeyDetails uint64
	// learnedDirections: SAs learned in a direction beyond
	// maxLearnedDirections, which got no inferred predecessor.
	learnedDirections uint64
	// pathMTU: ICMP too-big reports about SAs beyond maxPathMTU.
	pathMTU uint64
	// evictedTotals: evicted SAs whose totals were kept without their
	// endpoints (maxEvictedTallies).
	evictedTotals uint64
}

// ikeView is what the tracker says now (a frozen copy's, when frozen). On
// the live analyzer only the counters are filled.
func (a *Analyzer) ikeView() *ikeView {
	switch {
	case a.iv != nil:
		return a.iv
	case a.tracker != nil:
		return &ikeView{counters: a.tracker.Counters(), historyLost: a.tracker.HistoryLost(), limits: a.tracker.Limits(), forgotten: a.tracker.Forgotten()}
	}
	return &ikeView{}
}

// Limits returns the analyzer's limits that are set, with what each
// discarded so far.
func (a *Analyzer) Limits() []bounds.Limit {
	var ls []bounds.Limit
	if a.cfg.MaxSAs > 0 {
		ls = append(ls, bounds.Limit{Name: "sa_table", Cap: int64(a.cfg.MaxSAs), Unit: "SAs", Hits: a.hits.saTable, Discarded: "packets of new SAs not analysed (--max-sas)"})
	}
	if a.cfg.ReplayMemory > 0 {
		ls = append(ls, bounds.Limit{Name: "replay_window_memory", Cap: a.cfg.ReplayMemory, Unit: "bytes", Hits: a.hits.replayMemory, Discarded: "packets of new SAs not analysed (--replay-memory)"})
	}
	if a.tracker != nil || a.iv != nil {
		iv := a.ikeView()
		ls = append(ls, bounds.Limit{Name: "ike_history", Cap: ikestate.MaxHistory, Unit: "changes", Hits: iv.historyLost,
			Discarded: "lifecycle changes whose time was not kept (check cannot tell Key Additions/Deletions/Rekeys at later moments)"})
		l, f := iv.limits, iv.forgotten
		for _, x := range []struct {
			name string
			cap  int
			unit string
			hits uint64
			what string
		}{
			{"ike_sas", l.IKESAs, "IKE SAs", f.IKESAs, fmt.Sprintf("IKE SAs forgotten (%d never established, forgotten first); their later messages start new ones", f.HalfOpen)},
			{"ike_negotiations", l.Negotiations, "negotiations", f.Negotiations, fmt.Sprintf("negotiations forgotten, finished ones first (%d still pending, counted as pending)", f.PendingForgotten)},
			{"ike_sa_pairs", l.Children, "SA pairs", f.Children, "negotiated SA pairs forgotten, ended ones first (active ones still counted as active)"},
			{"ike_messages", l.Messages, "messages", f.Messages, "message digests forgotten, oldest first: a retransmission of those would be read as a new message"},
			{"ike_exchanges", l.Exchanges, "exchanges", f.Exchanges, "exchanges forgotten, oldest first: an answer to one is read without its request"},
			{"ike_fragments", l.Fragments, "fragments", f.Fragments, "IKEv2 fragments dropped, oldest exchange's first: their messages are not reassembled"},
			{"ike_peers", l.Peers, "peer pairs", f.Peers, "times an address pair's decryption was not recorded: its unknown SPIs are not Bad SPI"},
		} {
			if x.cap > 0 {
				ls = append(ls, bounds.Limit{Name: x.name, Cap: int64(x.cap), Unit: x.unit, Hits: x.hits, Discarded: x.what})
			}
		}
	}
	ls = append(ls, bounds.Limit{Name: "link_addresses", Cap: maxLinkAddrs, Unit: "SA sources", Hits: a.hits.linkAddrs,
		Discarded: "SA sources whose link address was not kept (the automatic --me cannot tie them to the chosen host)"})
	ls = append(ls, bounds.Limit{Name: "learned_directions", Cap: maxLearnedDirections, Unit: "directions", Hits: a.hits.learnedDirections,
		Discarded: "SAs learned from traffic in further directions, not placed after an earlier SA of their direction (the tunnels view counts them as separate pairs, not rekeys)"})
	ls = append(ls, bounds.Limit{Name: "path_mtu_reports", Cap: maxPathMTU, Unit: "SAs", Hits: a.hits.pathMTU,
		Discarded: "ICMP fragmentation-needed / packet-too-big reports about further SAs, not kept"})
	if a.cfg.IdleTimeout > 0 || a.cfg.EvictEnded > 0 {
		ls = append(ls, bounds.Limit{Name: "retired_tunnels", Cap: maxRetired, Unit: "tunnels", Hits: a.hits.retiredTunnels,
			Discarded: "evicted SAs whose figures left the tunnels view (the statistics keep them)"},
			bounds.Limit{Name: "rekey_details", Cap: maxRekeyDetails, Unit: "rekeys per tunnel of evicted SAs", Hits: a.hits.rekeyDetails,
				Discarded: "rekeys of evicted SAs no longer listed in rekeys_detail (still counted in rekeys)"},
			bounds.Limit{Name: "evicted_totals", Cap: maxEvictedTallies, Unit: "totals of evicted SAs by endpoints", Hits: a.hits.evictedTotals,
				Discarded: "evicted SAs whose totals were kept without their endpoints: counted as between other hosts (transit), neither sent nor received"})
	}
	if a.cfg.OnEvent != nil || a.reports {
		ls = append(ls, bounds.Limit{Name: "anomaly_events", Cap: maxBursts, Unit: "SAs with anomalies within a second", Hits: a.hits.anomalies, Discarded: "anomalies reported per kind without their SA"})
	}
	return ls
}
