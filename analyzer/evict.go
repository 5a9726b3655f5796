package analyzer

import (
	"net/netip"
	"slices"
	"time"

	"ipsecmon/algo"
	"ipsecmon/event"
)

// tallyKey groups evicted SAs whose figures add up the same way in the
// statistics: same endpoints, protocol, mode and end state.
type tallyKey struct {
	src, dst netip.Addr
	proto    uint8
	mode     Mode
	state    State
	nullEnc  bool // ESP known to use NULL encryption: integrity only
	encKnown bool // the SA's encryption is known (keys or IKE)
}

// tally is what the statistics need from an SA. Live SAs and the totals of
// evicted ones are both reduced to tallies.
type tally struct {
	tallyKey
	sas                                 uint64
	accepted, bytes, wireBytes          uint64
	replayed, notAuthenticated, notDecr uint64
	keyed                               uint64 // SAs among these that had keys
	listed                              uint64 // SAs among these with a key entry, usable or not
	unverified                          uint64 // accepted packets not checked with keys
}

// maxEvictedTallies bounds the evicted totals (limit evicted_totals):
// beyond it, endpoints are forgotten and only the direction-less sums
// remain, which the statistics cannot call sent or received: they count as
// transit, and the limit counts the SAs.
const maxEvictedTallies = 4096

func (s *SA) tally() tally {
	return tally{
		tallyKey: tallyKey{s.Src, s.Key.Dst, s.Key.Proto, s.Mode, s.State, s.IntegrityOnly(), s.key != nil && s.key.Enc != algo.EncUnknown},
		sas:      1, accepted: s.Accepted, bytes: s.Bytes, wireBytes: s.WireBytes,
		replayed: s.Replayed, notAuthenticated: s.NotAuthenticated, notDecr: s.NotDecrypted,
		keyed: boolCount(s.tr != nil), listed: boolCount(s.key != nil), unverified: s.Unverified,
	}
}

func (t *tally) add(o tally) {
	t.sas += o.sas
	t.accepted += o.accepted
	t.bytes += o.bytes
	t.wireBytes += o.wireBytes
	t.replayed += o.replayed
	t.notAuthenticated += o.notAuthenticated
	t.notDecr += o.notDecr
	t.keyed += o.keyed
	t.listed += o.listed
	t.unverified += o.unverified
}

func boolCount(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// sweep evicts idle SAs and SAs that ended long enough ago.
func (a *Analyzer) sweep(now int64) {
	a.lastSweep = now
	idle, ended := int64(a.cfg.IdleTimeout), int64(a.cfg.EvictEnded)
	a.order = slices.DeleteFunc(a.order, func(sa *SA) bool {
		evict := (idle > 0 && now-sa.LastSeen > idle) ||
			(ended > 0 && sa.State != StateActive && now-sa.endedAt() > ended)
		if evict {
			a.evict(sa)
		}
		return evict
	})
}

func (a *Analyzer) evict(sa *SA) {
	delete(a.sas, sa.Key)
	if a.ends != nil {
		a.ends.evicted()
	}
	a.retire(sa)
	a.leavePair(sa)
	a.counts.EvictedSAs++
	a.windowBytes -= ReplayWindowBytes(sa.Window.Size())
	a.tableFull = false // room again: the next refusal is announced anew
	if a.cfg.OnEvent != nil {
		a.emit(Event{Time: time.Unix(0, a.end).UTC(), Kind: event.SAEvicted, SA: eventSA(sa.Key, sa.Src), Detail: "state " + sa.State.String() + ", idle since " + time.Unix(0, sa.LastSeen).UTC().Format(time.RFC3339)})
	}
	for _, kind := range []event.Kind{event.Replay, event.AuthenticationFailure, event.DecryptionFailure} {
		bk := burstKey{sa.Key, kind}
		if b := a.bursts[bk]; b != nil && b.pending > 0 {
			a.emit(Event{Time: time.Unix(0, a.end).UTC(), Kind: kind, SA: eventSA(sa.Key, sa.Src), Count: b.pending, Source: b.ref.Source, Frame: b.ref.Index})
		}
		delete(a.bursts, bk)
	}
	if a.evicted == nil {
		a.evicted = map[tallyKey]*tally{}
	}
	t := sa.tally()
	k := t.tallyKey
	if _, ok := a.evicted[k]; !ok && len(a.evicted) >= maxEvictedTallies {
		k = tallyKey{proto: k.proto, mode: k.mode, state: k.state, nullEnc: k.nullEnc, encKnown: k.encKnown}
		a.hits.evictedTotals++
	}
	if e := a.evicted[k]; e != nil {
		e.add(t)
	} else {
		t.tallyKey = k
		a.evicted[k] = &t
	}
}

// endedAt is when the SA was deleted or expired (its last packet if unknown).
func (s *SA) endedAt() int64 {
	if s.EndedAt != 0 {
		return s.EndedAt
	}
	return s.LastSeen
}
