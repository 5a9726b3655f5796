package ikestate

import (
	"errors"
	"fmt"
)

// Several inputs (capture files of different gateways) can each be read
// by a tracker of its own and the trackers joined (Join) into the views
// one tracker reading the inputs in order shows — when nothing one input
// held could have changed how another was read. One tracker couples its
// inputs by
//
//   - its numbering: IDs of IKE SAs, negotiations and pairs run across the
//     inputs. A tracker's IDs are 1, 2, … in the order of its input, so the
//     run's are each tracker's shifted by the IDs the trackers before it
//     used (Offsets); text that names an ID (a rekeyed IKE SA's reason, a
//     derived key's origin) is made from the ID when shown, so that it is
//     shifted with it;
//   - lookups: IKE SAs by version and initiator SPI (never by address: NAT
//     moves peers), pairs by ESP/AH SPI (a REKEY_SA names one), Deletes and
//     the sibling and decryption indexes by address. Join refuses trackers
//     whose IKE SAs share an initiator SPI, or whose REKEY_SA names an SPI of
//     another tracker's pair; the caller checks that the inputs' addresses
//     are disjoint;
//   - its limits: no limit may have discarded anything, and what each
//     limit counts must fit it summed over the trackers (a queue that was
//     ever popped, or fragments held at their peaks, count as over);
//   - time: pairs and IKE SAs of an earlier input expire while a later one
//     is read, when its messages are a lifetime past theirs. Their state
//     and the time they carry are those Finish gives them at the run's end,
//     which each tracker must have been given (the analyzer's FinishAt);
//     only the order of the History's changes differs, which its counts by
//     time do not see.
//
// Counters, Policies and History are computed over the joined lists, as
// one tracker computes them over its own.

// Offsets shift the IDs of one tracker of a Join to the run's.
type Offsets struct{ IKESAs, Negotiations, Children int }

// ChildSA shifts a pair's IDs (the pair, its IKE SA, the pair it rekeyed).
func (o Offsets) ChildSA(c *ChildSA) {
	c.ID += o.Children
	c.IKESA.ID += o.IKESAs
	if c.RekeyOf != 0 {
		c.RekeyOf += o.Children
	}
}

// ChildKeyOrigin is the origin of the keys derived for pair child of IKE
// SA ikeSA (keys.SA.Origin).
func ChildKeyOrigin(ikeSA, child int) string {
	return fmt.Sprintf("IKE SA %d child SA %d", ikeSA, child)
}

func (o Offsets) ikeSA(s *IKESA) {
	s.ID += o.IKESAs
	if s.RekeyOf != nil {
		r := *s.RekeyOf
		r.ID += o.IKESAs
		s.RekeyOf = &r
	}
	if s.ReplacedBy != 0 {
		s.ReplacedBy += o.IKESAs
		s.StateReason = replacedReason(s.ReplacedBy)
	}
}

func (o Offsets) negotiation(n *Negotiation) {
	n.ID += o.Negotiations
	n.IKESA.ID += o.IKESAs
	for i := range n.Children {
		n.Children[i] += o.Children
	}
}

// Joined is the views of trackers joined.
type Joined struct {
	Counters     Counters
	History      History
	Limits       Limits
	IKESAs       []IKESA
	Negotiations []Negotiation
	Policies     []Policy
	// Offsets shift the IDs each tracker gave (those of the pairs the
	// caller kept from its events) to the run's.
	Offsets []Offsets
}

// ErrCoupled says the trackers' inputs may have interacted: read them
// with one tracker, in order. The error is a *CoupledError, which says why.
var ErrCoupled = errors.New("ikestate: the inputs may interact")

// CoupledError is ErrCoupled with its reason.
type CoupledError struct{ Reason string }

func (e *CoupledError) Error() string        { return ErrCoupled.Error() + ": " + e.Reason }
func (e *CoupledError) Is(target error) bool { return target == ErrCoupled }

func coupled(format string, a ...any) error {
	return &CoupledError{Reason: fmt.Sprintf(format, a...)}
}

// Join joins finished trackers, each of which read one input, in the order
// of the inputs, or returns an error wrapping ErrCoupled when one tracker
// reading them in order could have seen them otherwise (see above).
func Join(ts []*Tracker) (*Joined, error) {
	if len(ts) == 0 {
		return nil, errors.New("ikestate: nothing to join")
	}
	j := &Joined{Limits: ts[0].lim, Offsets: make([]Offsets, len(ts))}
	var x tally
	var sas, negs, children, digests, exchanges, frags, peers, changes int
	ispis := map[versionSPI]int{}
	childSPIs := map[uint32]int{}
	for i, t := range ts {
		switch {
		case !t.finished:
			return nil, fmt.Errorf("ikestate: input %d not finished", i+1)
		case t.lim != j.Limits:
			return nil, coupled("inputs 1 and %d have different IKE limits", i+1)
		case t.forgot != Forgotten{} || t.history.Lost > 0 || t.digests.popped+t.exchanges.popped+t.fragExchanges.popped > 0:
			return nil, coupled("an IKE tracker limit discarded something in input %d", i+1)
		}
		for _, sa := range t.sas {
			k := versionSPI{sa.ref.Version, sa.ref.ISPI}
			if o, ok := ispis[k]; ok && o != i {
				return nil, coupled("IKE SPI %x is in inputs %d and %d", sa.ref.ISPI[:], o+1, i+1)
			}
			ispis[k] = i
		}
		for _, c := range t.children {
			for _, spi := range []uint32{c.SPIInitiator, c.SPIResponder} {
				if spi == 0 {
					continue
				}
				if o, ok := childSPIs[spi]; ok && o != i {
					return nil, coupled("SPI %08x is negotiated in inputs %d and %d", spi, o+1, i+1)
				}
				childSPIs[spi] = i
			}
		}
		x.add(t.tally())
		j.Offsets[i] = Offsets{IKESAs: sas, Negotiations: negs, Children: children}
		sas += t.nextSAID
		negs += t.nextNegID
		children += t.nextChildID
		digests += t.digests.len()
		exchanges += t.exchanges.len()
		frags += t.fragsPeak
		peers += len(t.peers)
		changes += len(t.history.Changes)
	}
	// A REKEY_SA naming another input's pair would have found it.
	for i, t := range ts {
		for _, c := range t.children {
			if o, ok := childSPIs[c.RekeyOfSPI]; ok && o != i {
				return nil, coupled("input %d rekeys SPI %08x, negotiated in input %d", i+1, c.RekeyOfSPI, o+1)
			}
		}
	}
	l := j.Limits
	for _, c := range []struct {
		n, limit int
		what     string
	}{
		{sas, l.IKESAs, "IKE SAs"}, {negs, l.Negotiations, "negotiations"}, {children, l.Children, "SA pairs"},
		{digests, l.Messages, "IKE messages"}, {exchanges, l.Exchanges, "IKE exchanges"}, {frags, l.Fragments, "IKE fragments"},
		{peers, l.Peers, "IKE peer pairs"}, {changes, MaxHistory, "lifecycle changes"},
	} {
		if c.limit > 0 && c.n > c.limit {
			return nil, coupled("%d %s together exceed the IKE tracker's limit of %d", c.n, c.what, c.limit)
		}
	}
	j.Counters = x.counters()
	for i, t := range ts {
		o := j.Offsets[i]
		for _, s := range t.IKESAs() {
			o.ikeSA(&s)
			j.IKESAs = append(j.IKESAs, s)
		}
		for _, n := range t.Negotiations() {
			o.negotiation(&n)
			j.Negotiations = append(j.Negotiations, n)
		}
		j.History.Changes = append(j.History.Changes, t.history.Changes...)
	}
	j.Policies = PoliciesOf(j.Negotiations)
	return j, nil
}
