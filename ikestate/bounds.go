package ikestate

import (
	"cmp"
	"slices"

	"ipsecmon/decode/ike"
	"ipsecmon/ikecrypt"
)

// Limits bound what the tracker holds: IKE is cleartext up to its
// encrypted payloads, so anyone on the path can make it hold more —
// IKE_SA_INIT requests from spoofed sources, messages on one IKE SA,
// fragments of messages that never complete.
type Limits struct {
	// IKESAs caps the IKE SAs kept. A new one makes room as a responder
	// under a flood would (cookies, RFC 7296 §2.6): half-open SAs (never
	// established) go first, oldest first; then the oldest of the others.
	IKESAs int
	// Negotiations caps the phase 2 / CHILD negotiations kept: finished
	// ones go first, then the oldest pending.
	Negotiations int
	// Messages caps the digests kept to tell retransmissions, over all
	// IKE SAs: a retransmission comes within seconds, the oldest go first.
	Messages int
	// Exchanges caps the request/response exchanges kept (message IDs with
	// their CBC and fragment state), over all IKE SAs, the oldest first.
	Exchanges int
	// Children caps the SA pairs kept: ended ones go first, then the
	// oldest (one forgotten while active keeps Active SAs counted, but no
	// longer known: its end would go unseen).
	Children int
	// Fragments caps the SKF fragments (RFC 7383) held for messages not yet
	// whole, over all exchanges; the oldest exchange's go first.
	Fragments int
	// Peers caps the address pairs whose decryption is remembered (which
	// makes an unknown SPI between them a Bad SPI); further pairs are
	// never authoritative.
	Peers int
}

// DefaultLimits hold a gateway's worth of IKE in tens of MiB: make stress
// floods each at 400,000 messages.
var DefaultLimits = Limits{IKESAs: 10_000, Negotiations: 16_384, Children: 16_384, Messages: 16_384, Exchanges: 16_384, Fragments: 16_384, Peers: 16_384}

// Forgotten counts what the limits discarded.
type Forgotten struct {
	IKESAs, HalfOpen uint64 // IKE SAs forgotten; of them, never established
	Negotiations     uint64
	PendingForgotten uint64 // of the negotiations, still pending when forgotten
	FailedForgotten  uint64 // of the negotiations, failed
	Children         uint64
	Messages         uint64 // retransmission digests forgotten
	Exchanges        uint64
	Fragments        uint64
	Peers            uint64 // peer pairs not recorded
}

// SetLimits replaces the limits (before the first message).
func (t *Tracker) SetLimits(l Limits) { t.lim = l }

// Limits returns the limits in force.
func (t *Tracker) Limits() Limits { return t.lim }

// Forgotten returns what the limits discarded so far.
func (t *Tracker) Forgotten() Forgotten { return t.forgot }

// fifo is a queue whose popped slots are reclaimed in bulk.
type fifo[T any] struct {
	q    []T
	head int
	// popped counts the values popped: none, and the queue still holds
	// all it was given.
	popped int
}

func (f *fifo[T]) push(v T) { f.q = append(f.q, v) }
func (f *fifo[T]) len() int { return len(f.q) - f.head }

func (f *fifo[T]) pop() T {
	v := f.q[f.head]
	var zero T
	f.q[f.head] = zero
	f.head++
	f.popped++
	if f.head > len(f.q)/2 && f.head > 64 {
		f.q = append(f.q[:0], f.q[f.head:]...)
		f.head = 0
	}
	return v
}

// exRef names one exchange of one IKE SA.
type exRef struct {
	sa *ikeSA
	v1 *v1Exchange
	k1 uint32
	v2 *v2Exchange
	k2 v2ExKey
}

// digestRef names one retransmission digest of one IKE SA.
type digestRef struct {
	sa *ikeSA
	d  [32]byte
}

// remember keeps a message's digest, forgetting the oldest over the limit.
func (t *Tracker) remember(sa *ikeSA, d [32]byte, info MessageInfo) {
	if sa.seen == nil {
		return // forgotten meanwhile
	}
	sa.seen[d] = &seenMsg{info: info}
	t.digests.push(digestRef{sa, d})
	for t.lim.Messages > 0 && t.digests.len() > t.lim.Messages {
		r := t.digests.pop()
		if _, ok := r.sa.seen[r.d]; ok {
			delete(r.sa.seen, r.d)
			t.forgot.Messages++
		}
	}
}

// keepExchange records a new exchange, forgetting the oldest over the limit.
func (t *Tracker) keepExchange(r exRef) {
	t.exchanges.push(r)
	for t.lim.Exchanges > 0 && t.exchanges.len() > t.lim.Exchanges {
		o := t.exchanges.pop()
		switch {
		case o.v1 != nil && o.sa.v1ex[o.k1] == o.v1:
			delete(o.sa.v1ex, o.k1)
		case o.v2 != nil && o.sa.v2ex[o.k2] == o.v2:
			t.dropFragments(o.v2)
			delete(o.sa.v2ex, o.k2)
		default:
			continue // replaced or gone with its IKE SA
		}
		t.forgot.Exchanges++
	}
}

// noteFragment counts fragment num of a message side of ex as held,
// forgetting the oldest exchanges' fragments over the limit.
func (t *Tracker) noteFragment(ex *v2Exchange, side int, num uint16) {
	if ex.fragCount[side] == nil {
		ex.fragCount[side] = map[uint16]bool{}
	}
	if ex.fragCount[side][num] {
		return
	}
	ex.fragCount[side][num] = true
	if ex.fragsHeld == 0 {
		t.fragExchanges.push(ex)
	}
	ex.fragsHeld++
	t.fragsHeld++
	t.fragsPeak = max(t.fragsPeak, t.fragsHeld)
	for t.lim.Fragments > 0 && t.fragsHeld > t.lim.Fragments && t.fragExchanges.len() > 0 {
		o := t.fragExchanges.pop()
		t.forgot.Fragments += uint64(o.fragsHeld)
		t.dropFragments(o)
		if o == ex {
			// This message alone is over the limit: it starts again
			// with this fragment.
			ex.fragCount[side] = map[uint16]bool{num: true}
			ex.fragsHeld, t.fragsHeld = 1, t.fragsHeld+1
			t.forgot.Fragments--
			t.fragExchanges.push(ex)
			break
		}
	}
}

// dropFragments forgets what an exchange holds of messages not yet whole
// (it is then on fragExchanges no more, or will be skipped there).
func (t *Tracker) dropFragments(ex *v2Exchange) {
	t.fragsHeld -= ex.fragsHeld
	ex.fragsHeld = 0
	ex.fragCount = [2]map[uint16]bool{}
	ex.frags = [2]*ikecrypt.Fragments{}
}

// wholeMessage forgets the fragments of a side once its message is whole.
func (t *Tracker) wholeMessage(ex *v2Exchange, side int) {
	n := len(ex.fragCount[side])
	t.fragsHeld -= n
	ex.fragsHeld -= n
	ex.fragCount[side] = nil
	ex.frags[side] = nil
}

// makeRoomForSA forgets IKE SAs until one more fits: the oldest half-open
// one, else the oldest.
func (t *Tracker) makeRoomForSA() {
	for t.lim.IKESAs > 0 && len(t.sas)-t.sasGone >= t.lim.IKESAs {
		victim := -1
		for ; t.halfOpenAt < len(t.sas); t.halfOpenAt++ {
			if sa := t.sas[t.halfOpenAt]; sa.seen != nil && sa.state == IKESANegotiating {
				victim = t.halfOpenAt
				break
			}
		}
		if victim < 0 {
			for ; t.oldestAt < len(t.sas); t.oldestAt++ {
				if t.sas[t.oldestAt].seen != nil {
					victim = t.oldestAt
					break
				}
			}
		}
		if victim < 0 {
			return
		}
		t.forgetSA(t.sas[victim])
	}
}

// forgetSA drops an IKE SA from the tracker. Its negotiations and pairs
// keep their record of it (IKESARef); what it held for messages to come
// goes.
func (t *Tracker) forgetSA(sa *ikeSA) {
	t.forgot.IKESAs++
	if sa.established.IsZero() {
		t.forgot.HalfOpen++
	} else {
		t.goneEstablished++
	}
	for _, ex := range sa.v2ex {
		t.dropFragments(ex)
	}
	sa.seen, sa.v1ex, sa.v2ex = nil, nil, nil
	sa.authReq, sa.gxi, sa.gxr, sa.ni, sa.nr = nil, nil, nil, nil, nil
	t.unindex(sa)
	t.sasGone++
	if t.sasGone > len(t.sas)/2 && t.sasGone > 64 {
		t.sas = slices.DeleteFunc(t.sas, func(s *ikeSA) bool { return s.seen == nil })
		t.sasGone, t.halfOpenAt, t.oldestAt = 0, 0, 0
	}
}

// forgotten reports an IKE SA the limits dropped.
func (sa *ikeSA) forgotten() bool { return sa.seen == nil }

// IKE SAs are found by version, initiator SPI and responder SPI. A message
// with a zero responder SPI (the first of an exchange) belongs to the
// newest SA with its initiator SPI; one with a responder SPI to the newest
// SA with both, or with that initiator SPI and no responder SPI yet. The
// index answers both in O(1), however many SAs share an initiator SPI (a
// scan of them made 80,000 such SAs take 13 s).
type saIndex struct {
	byISPI map[versionSPI][]*ikeSA  // per version and initiator SPI, oldest first
	exact  map[versionSPIs][]*ikeSA // per version and both SPIs, oldest first
	noR    map[versionSPI][]*ikeSA  // SAs without a responder SPI yet, oldest first
}

type versionSPI struct {
	v    int
	ispi ike.SPI
}

type versionSPIs struct {
	v          int
	ispi, rspi ike.SPI
}

func newSAIndex() saIndex {
	return saIndex{byISPI: map[versionSPI][]*ikeSA{}, exact: map[versionSPIs][]*ikeSA{}, noR: map[versionSPI][]*ikeSA{}}
}

// lookupSA finds the IKE SA of a message, or nil.
func (t *Tracker) lookupSA(version int, ispi, rspi ike.SPI) *ikeSA {
	k := versionSPI{version, ispi}
	if rspi.IsZero() {
		if l := t.index.byISPI[k]; len(l) > 0 {
			return l[len(l)-1]
		}
		return nil
	}
	var best *ikeSA
	if l := t.index.exact[versionSPIs{version, ispi, rspi}]; len(l) > 0 {
		best = l[len(l)-1]
	}
	if l := t.index.noR[k]; len(l) > 0 && (best == nil || l[len(l)-1].ref.ID > best.ref.ID) {
		best = l[len(l)-1]
	}
	return best
}

// indexSA enters a new IKE SA.
func (t *Tracker) indexSA(sa *ikeSA) {
	k := versionSPI{sa.ref.Version, sa.ref.ISPI}
	t.index.byISPI[k] = append(t.index.byISPI[k], sa)
	if sa.ref.RSPI.IsZero() {
		t.index.noR[k] = append(t.index.noR[k], sa)
	} else {
		ek := versionSPIs{sa.ref.Version, sa.ref.ISPI, sa.ref.RSPI}
		t.index.exact[ek] = append(t.index.exact[ek], sa)
	}
}

// setRSPI gives an SA the responder SPI it lacked.
func (t *Tracker) setRSPI(sa *ikeSA, rspi ike.SPI) {
	k := versionSPI{sa.ref.Version, sa.ref.ISPI}
	t.index.noR[k] = remove(t.index.noR[k], sa)
	if len(t.index.noR[k]) == 0 {
		delete(t.index.noR, k)
	}
	sa.ref.RSPI = rspi
	ek := versionSPIs{sa.ref.Version, sa.ref.ISPI, rspi}
	l := append(t.index.exact[ek], sa)
	slices.SortFunc(l, func(x, y *ikeSA) int { return cmp.Compare(x.ref.ID, y.ref.ID) }) // oldest first
	t.index.exact[ek] = l
}

// unindex removes a forgotten SA; an older SA with the same SPIs is then
// the one they find, as before this one came.
func (t *Tracker) unindex(sa *ikeSA) {
	k := versionSPI{sa.ref.Version, sa.ref.ISPI}
	for _, m := range []map[versionSPI][]*ikeSA{t.index.byISPI, t.index.noR} {
		if l := remove(m[k], sa); len(l) > 0 {
			m[k] = l
		} else {
			delete(m, k)
		}
	}
	ek := versionSPIs{sa.ref.Version, sa.ref.ISPI, sa.ref.RSPI}
	if l := remove(t.index.exact[ek], sa); len(l) > 0 {
		t.index.exact[ek] = l
	} else {
		delete(t.index.exact, ek)
	}
}

// remove takes sa out of l, cheaply when it is the first (the oldest,
// which is what the limits forget).
func remove(l []*ikeSA, sa *ikeSA) []*ikeSA {
	if len(l) > 0 && l[0] == sa {
		return l[1:]
	}
	return slices.DeleteFunc(l, func(s *ikeSA) bool { return s == sa })
}

// forgetNegotiations drops negotiations over the limit: finished ones
// first (in order), then the oldest pending.
func (t *Tracker) forgetNegotiations() {
	t.negs = forgetOldest(t.negs, t.lim.Negotiations, func(n *negotiation) bool { return n.State != NegotiationPending }, func(n *negotiation) {
		t.forgot.Negotiations++
		switch {
		case n.Kind == NegotiateIKERekey:
		case n.State == NegotiationPending:
			t.forgot.PendingForgotten++
		case n.State == NegotiationFailed:
			t.forgot.FailedForgotten++
		}
	})
}

// forgetChildren drops pairs over the limit (never keep, just made): ended
// ones first, then the oldest.
func (t *Tracker) forgetChildren(keep *childSA) {
	t.children = forgetOldest(t.children, t.lim.Children, func(c *childSA) bool { return c != keep && c.State != ChildActive }, func(c *childSA) {
		t.forgot.Children++
		c.forgotten = true
		if c.State == ChildActive {
			t.activeForgotten++
		}
		for _, spi := range []uint32{c.SPIInitiator, c.SPIResponder} {
			k := spiKey{c.Proto, spi}
			if l := slices.DeleteFunc(t.bySPI[k], func(o *childSA) bool { return o == c }); len(l) > 0 {
				t.bySPI[k] = l
			} else {
				delete(t.bySPI, k)
			}
		}
		c.sa.children = slices.DeleteFunc(c.sa.children, func(o *childSA) bool { return o == c })
	})
}

// forgetOldest shortens l, oldest first, to three quarters of limit once
// it is over (so that it is rebuilt seldom): first the items done says are
// finished, then the oldest of the others. gone is told of each.
func forgetOldest[T comparable](l []T, limit int, done func(T) bool, gone func(T)) []T {
	if limit <= 0 || len(l) <= limit {
		return l
	}
	over := len(l) - limit + limit/4
	drop := make(map[T]bool, over)
	for pass := 0; pass < 2 && len(drop) < over; pass++ {
		for _, x := range l {
			if len(drop) == over {
				break
			}
			if !drop[x] && (pass == 1 || done(x)) {
				drop[x] = true
				gone(x)
			}
		}
	}
	return slices.DeleteFunc(l, func(x T) bool { return drop[x] })
}
