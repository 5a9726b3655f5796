package analyzer

import (
	"ipsecmon/bounds"
	"ipsecmon/ikestate"
)

// limitHits counts what the analyzer's limits discarded.
type limitHits struct {
	saTable      uint64 // packets of SAs refused for Config.MaxSAs
	replayMemory uint64 // packets of SAs refused for Config.ReplayMemory
	anomalies    uint64 // anomalies counted without their SA (maxBursts)
	linkAddrs    uint64 // SA sources whose link address was not kept (maxLinkAddrs)
}

// ikeView is what the tracker says now (a frozen copy's, when frozen). On
// the live analyzer only the counters are filled.
func (a *Analyzer) ikeView() *ikeView {
	switch {
	case a.iv != nil:
		return a.iv
	case a.tracker != nil:
		return &ikeView{counters: a.tracker.Counters(), historyLost: a.tracker.HistoryLost()}
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
		ls = append(ls, bounds.Limit{Name: "ike_history", Cap: ikestate.MaxHistory, Unit: "changes", Hits: a.ikeView().historyLost,
			Discarded: "lifecycle changes whose time was not kept (check cannot tell Key Additions/Deletions/Rekeys at later moments)"})
	}
	ls = append(ls, bounds.Limit{Name: "link_addresses", Cap: maxLinkAddrs, Unit: "SA sources", Hits: a.hits.linkAddrs,
		Discarded: "SA sources whose link address was not kept (the automatic --me cannot tie them to the chosen host)"})
	if a.cfg.OnEvent != nil {
		ls = append(ls, bounds.Limit{Name: "anomaly_events", Cap: maxBursts, Unit: "SAs with anomalies within a second", Hits: a.hits.anomalies, Discarded: "anomalies reported per kind without their SA"})
	}
	return ls
}
