package analyzer

import (
	"net/netip"
	"sync"

	"ipsecmon/decode"
	"ipsecmon/ipproto"
)

// batchSize packets are collected before their verification is spread over
// the workers: large enough that starting goroutines costs little per
// packet, small enough to keep memory and latency low.
const batchSize = 512

// maxBatchAge flushes a batch after this much capture time, so that a live
// view of a quiet link is not held back.
const maxBatchAge = int64(100e6) // 100 ms

// job is one IPsec header waiting in a batch. Its bytes are copied: the
// capture's buffer is reused for the next frame.
type job struct {
	sa     *SA
	now    int64
	src    netip.Addr
	h      decode.IPsecHeader
	ip     []byte // the whole outer IP packet (AH's ICV covers it)
	ref    Ref
	buf    []byte
	crypto bool
	pre    opened
	events []Event // raised while the packet's SA was looked up
}

// parallel verifies a batch's packets on worker goroutines, each SA on one
// of them so its transform is used by one goroutine at a time, while the
// caller decodes the next batch; results are applied in capture order on
// the caller's goroutine. Only the stateless part (ICV check and
// decryption) runs ahead; replay windows, counters and events advance in
// order, so the figures equal a single-threaded run's.
type parallel struct {
	workers  int
	bufs     [2][]job
	n        [2]int
	cur      int  // the batch being filled
	inflight bool // the other batch is being verified
	first    int64
	shards   [][]int
	wg       sync.WaitGroup
}

// newParallel spreads verification over one goroutine per core; the
// caller's goroutine decodes the next batch meanwhile.
func newParallel(workers int) *parallel {
	pl := &parallel{workers: workers, shards: make([][]int, workers)}
	pl.bufs[0], pl.bufs[1] = make([]job, batchSize), make([]job, batchSize)
	return pl
}

// enqueue adds a packet to the batch; sa is nil when the lookup already
// counted it (Bad SPI, untracked) and only its events wait.
func (pl *parallel) enqueue(a *Analyzer, sa *SA, now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref) {
	c := pl.cur
	if pl.n[c] == 0 {
		pl.first = now
	}
	j := &pl.bufs[c][pl.n[c]]
	pl.n[c]++
	j.events = append(j.events[:0], a.deferred...)
	a.deferred = a.deferred[:0]
	j.sa, j.now, j.src, j.ref, j.h, j.crypto = sa, now, p.Src, ref, *h, false
	if sa != nil {
		if h.Proto == ipproto.AH {
			// AH's ICV covers the whole IP packet.
			j.buf = append(j.buf[:0], p.IP...)
			j.ip = j.buf
			j.h.Data = j.buf[min(h.Offset, len(j.buf)):]
		} else {
			j.buf = append(j.buf[:0], h.Data...)
			j.ip, j.h.Data = nil, j.buf
		}
		// ESN SAs need the window's state to know the high bits: they are
		// verified when applied.
		j.crypto = sa.tr != nil && !h.Truncated() && !sa.ESN
	}
	if pl.n[c] == len(pl.bufs[c]) || now-pl.first > maxBatchAge {
		a.rotate()
	}
}

// rotate hands the filled batch to the workers and starts filling the
// other one, once the batch verified before it has been applied.
func (a *Analyzer) rotate() {
	pl := a.par
	a.applyInflight()
	pl.dispatch(pl.cur)
	pl.inflight = true
	pl.cur ^= 1
}

// applyInflight waits for the batch the workers have and applies it.
func (a *Analyzer) applyInflight() {
	pl := a.par
	if !pl.inflight {
		return
	}
	pl.wg.Wait()
	pl.inflight = false
	a.apply(pl.cur ^ 1)
}

// flush verifies and applies every packet waiting.
func (a *Analyzer) flush() {
	pl := a.par
	if pl == nil {
		return
	}
	a.applyInflight()
	if pl.n[pl.cur] == 0 {
		return
	}
	pl.dispatch(pl.cur)
	pl.wg.Wait()
	a.apply(pl.cur)
}

// dispatch starts the workers on batch b; wg tracks them.
func (pl *parallel) dispatch(b int) {
	for w := range pl.shards {
		pl.shards[w] = pl.shards[w][:0]
	}
	jobs := pl.bufs[b][:pl.n[b]]
	for i := range jobs {
		if j := &jobs[i]; j.crypto {
			w := int(j.sa.Key.SPI % uint32(pl.workers))
			pl.shards[w] = append(pl.shards[w], i)
		}
	}
	for w := 0; w < pl.workers; w++ {
		if len(pl.shards[w]) == 0 {
			continue
		}
		pl.wg.Add(1)
		go func(idx []int) {
			defer pl.wg.Done()
			for _, i := range idx {
				j := &jobs[i]
				j.pre = open(j.sa.tr, j.ip, &j.h, 0)
			}
		}(pl.shards[w])
	}
}

// apply runs the receiver's checks of batch b in capture order.
func (a *Analyzer) apply(b int) {
	pl := a.par
	n := pl.n[b]
	pl.n[b] = 0
	jobs := pl.bufs[b]
	for i := 0; i < n; i++ {
		j := &jobs[i]
		for _, e := range j.events {
			a.emit(e)
		}
		if j.sa == nil {
			continue
		}
		var pre *opened
		if j.crypto {
			pre = &j.pre
		}
		a.receive(j.sa, j.now, j.src, j.ip, &j.h, j.ref, 0, pre)
		j.sa, j.pre = nil, opened{}
	}
}
