package analyzer

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"ipsecmon/ikestate"
)

// Several capture files can be read each by its own analyzer, on its own
// core, and their states joined into the one a single analyzer reading
// them in order would have reached (Merge) — but only when nothing one
// file showed could have changed how another was read. What couples the
// files of a sequential run, and how Merge rules it out:
//
//   - lookups by address and SPI (the SA table, Bad SPI, the Deletes of
//     pairs negotiated before the capture, the IKE tracker's peers): the
//     caller checks that the files' addresses are disjoint (Addresses gives
//     those the state holds; the caller adds every packet's);
//   - the IKE tracker: its IDs, policies, history and limits span the run.
//     With IKE in one part, that part's tracker is the run's; in several,
//     the trackers are joined (ikestate.Join: IDs shifted by those of the
//     parts before, IKE SPIs and rekeyed SPIs disjoint, the limits fit
//     together), and the IDs the SA table holds (the pairs' negotiations,
//     the origin of keys IKE gave) are shifted with them;
//   - time: the tracker ends the run at its last packet (expiries, pending
//     negotiations): each part finishes at the run's end (FinishAt);
//     eviction by idle time or end is excluded (Config.IdleTimeout,
//     EvictEnded), and no SA may have been evicted;
//   - caps: no limit may have discarded anything in a part, and the joined
//     tables must fit the caps (SAs, replay-window memory, link addresses,
//     learned directions, path MTU reports) as they would have in one run;
//   - callbacks per packet come out in the order of the run: Merge refuses
//     a Config with OnAccepted or OnOpened. OnEvent is allowed (with it the
//     analyzer counts anomaly bursts under a cap the Limits show), but each
//     part calls it from its own goroutine, in the order of its own input:
//     the caller must not depend on the order across inputs.
//
// When in doubt the caller reads the files in order.

// ErrInteract says the parts' inputs may have interacted: read them in
// order instead. The error is an *InteractError, which says why.
var ErrInteract = errors.New("the inputs may interact")

// InteractError is ErrInteract with its reason, for a caller that tells
// the user why the inputs are read in order.
type InteractError struct{ Reason string }

func (e *InteractError) Error() string        { return ErrInteract.Error() + ": " + e.Reason }
func (e *InteractError) Is(target error) bool { return target == ErrInteract }

func interact(format string, a ...any) error {
	return &InteractError{Reason: fmt.Sprintf(format, a...)}
}

// FinishAt is Finish for one part of a run over several inputs: the IKE
// tracker ends the input at end, the last packet of the whole run, when
// that is later than the part's own (a sequential run's tracker expires
// the pairs of its first file at the end of its last).
func (a *Analyzer) FinishAt(end time.Time) {
	a.finish(max(a.end, end.UnixNano()))
}

// Addresses calls add with every address the state holds: the SAs'
// endpoints (those inside decrypted tunnels too), Bad SPI destinations,
// path MTU reports, and the IKE peers.
func (a *Analyzer) Addresses(add func(netip.Addr)) {
	a.flush()
	for _, sa := range a.order {
		add(sa.Key.Dst)
		add(sa.Src)
		if sa.Key.Src.IsValid() {
			add(sa.Key.Src)
		}
	}
	for d := range a.badSPIs {
		add(d)
	}
	for k, r := range a.pmtu {
		add(k.Dst)
		add(r.Src)
		add(r.Router)
	}
	for x := range a.links {
		add(x)
	}
	if a.tracker == nil {
		return
	}
	for _, s := range a.tracker.IKESAs() {
		add(s.Initiator.Addr())
		add(s.Responder.Addr())
	}
	for _, n := range a.tracker.Negotiations() {
		add(n.Initiator.Addr())
		add(n.Responder.Addr())
	}
}

// hasIKE: the part's tracker saw an IKE message, readable or not.
func (a *Analyzer) hasIKE() bool {
	if a.tracker == nil {
		return false
	}
	c := a.tracker.Counters()
	return c.Messages > 0 || c.MessageErrors > 0 || a.counts.IKEv1Messages+a.counts.IKEv2Messages+a.counts.IKEErrors > 0
}

// Merge joins the finished parts, each of which read one input, in the
// order of the inputs, into the frozen state one analyzer reading the
// inputs in that order would have had; its Snapshot computes the views
// (the choice of --me, pairing, statistics) once, over all of it. The
// caller has checked that the parts' addresses are disjoint. ErrInteract
// when the parts may have interacted in a sequential run (see above).
func Merge(parts []*Analyzer) (*Frozen, error) {
	if len(parts) == 0 {
		return nil, errors.New("analyzer: nothing to merge")
	}
	cfg := parts[0].cfg
	switch {
	case cfg.OnAccepted != nil || cfg.OnOpened != nil:
		return nil, interact("per-packet callbacks come in the order of the run")
	case cfg.IdleTimeout > 0 || cfg.EvictEnded > 0:
		return nil, interact("eviction by time depends on the other inputs' clock")
	}
	ike, ikes := -1, 0 // the part with IKE; 2 when more than one has
	var sas, learned, pmtu, bursts int
	var window int64
	links := map[netip.Addr]linkAddr{}
	for i, p := range parts {
		p.flush()
		switch {
		case p.hits != limitHits{}:
			return nil, interact("a limit discarded something in input %d", i+1)
		case p.counts.EvictedSAs > 0 || p.counts.Untracked > 0:
			return nil, interact("input %d filled the SA table", i+1)
		case len(p.retired) > 0 || len(p.evicted) > 0:
			return nil, interact("input %d evicted SAs", i+1)
		case p.lastBurstPrune != 0:
			return nil, interact("input %d filled the anomaly counters", i+1)
		}
		if p.hasIKE() {
			if ike >= 0 {
				ikes = 2
			}
			ike = i
		}
		sas += len(p.order)
		window += p.windowBytes
		learned += len(p.lastLearned)
		pmtu += len(p.pmtu)
		bursts += len(p.bursts)
		maps.Copy(links, p.links)
	}
	switch {
	case cfg.MaxSAs > 0 && sas > cfg.MaxSAs:
		return nil, interact("%d SAs together exceed --max-sas %d", sas, cfg.MaxSAs)
	case cfg.ReplayMemory > 0 && window > cfg.ReplayMemory:
		return nil, interact("replay windows of %d bytes together exceed --replay-memory", window)
	case len(links) > maxLinkAddrs || learned > maxLearnedDirections || pmtu > maxPathMTU || bursts > maxBursts:
		return nil, interact("the inputs together exceed a limit of the run")
	}
	var joined *ikestate.Joined
	if ikes > 1 {
		ts := make([]*ikestate.Tracker, len(parts))
		for i, p := range parts {
			ts[i] = p.tracker
		}
		var err error
		if joined, err = ikestate.Join(ts); err != nil {
			var c *ikestate.CoupledError
			if errors.As(err, &c) {
				return nil, interact("%s", c.Reason)
			}
			return nil, err
		}
	}
	// With IKE in one part, its tracker is the run's (the others' are
	// empty); in several, the trackers joined.
	src := parts[0]
	if ike >= 0 {
		src = parts[ike]
	}
	frozen := make([]*Frozen, len(parts))
	for i, p := range parts {
		frozen[i] = p.Freeze()
	}
	s := frozen[slices.Index(parts, src)].a
	d := &Analyzer{cfg: s.cfg, reports: s.reports, covered: s.covered, iv: s.iv} // Freeze's cfg, without OnEvent
	if joined != nil {
		d.iv = &ikeView{counters: joined.Counters, history: joined.History, limits: joined.Limits,
			ikeSAs: joined.IKESAs, negotiations: joined.Negotiations, policies: joined.Policies}
	}
	m := &Frozen{a: d}
	for i, f := range frozen {
		add(d, f.a)
		if joined != nil {
			renumber(f.a.order, joined.Offsets[i])
		}
		d.order = append(d.order, f.a.order...)
		m.live = append(m.live, f.live...)
	}
	return m, nil
}

// renumber shifts the IKE IDs the frozen SAs of one part name (their
// negotiation, their key info's origin) to the run's. The copies share
// those with the part's live SAs: they get copies of their own.
func renumber(sas []*SA, o ikestate.Offsets) {
	for _, sa := range sas {
		if sa.neg != nil {
			n := *sa.neg
			c := *n.Child
			o.ChildSA(&c)
			n.Child = &c
			sa.neg = &n
		}
		if sa.key != nil && sa.key.fromIKE != nil {
			ki := *sa.key
			from := *ki.fromIKE
			from.ikeSA += o.IKESAs
			from.child += o.Children
			ki.fromIKE, ki.Origin = &from, from.String()
			if ki.material != nil && from.derived {
				k := *ki.material
				k.Origin = ikestate.ChildKeyOrigin(from.ikeSA, from.child)
				ki.material = &k
			}
			sa.key = &ki
		}
	}
}

// add sums what part p counted into d; the SAs are joined by the caller.
func add(d, p *Analyzer) {
	// Every count is a uint64 summed over the inputs.
	c, o := reflect.ValueOf(&d.counts).Elem(), reflect.ValueOf(p.counts)
	for i := range c.NumField() {
		c.Field(i).SetUint(c.Field(i).Uint() + o.Field(i).Uint())
	}
	if p.first != 0 && (d.first == 0 || p.first < d.first) {
		d.first = p.first
	}
	d.end = max(d.end, p.end)
	d.ikeBad = d.ikeBad || p.ikeBad
	d.pmtu = union(d.pmtu, p.pmtu)
	d.links = union(d.links, p.links)
	d.badSPIs = sum(d.badSPIs, p.badSPIs)
	d.filterHits = sum(d.filterHits, p.filterHits)
}

// sum adds the counts of b to a's.
func sum[K comparable](a, b map[K]uint64) map[K]uint64 {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = make(map[K]uint64, len(b))
	}
	for k, n := range b {
		a[k] += n
	}
	return a
}

// union adds the entries of b to a (the parts' keys are disjoint).
func union[K comparable, V any](a, b map[K]V) map[K]V {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = make(map[K]V, len(b))
	}
	maps.Copy(a, b)
	return a
}
