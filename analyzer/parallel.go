package analyzer

import (
	"net/netip"
	"sync"

	"ipsecmon/decode"
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

// parallel verifies a batch's packets on several goroutines, each SA on
// one of them so its transform is used by one goroutine at a time, then
// applies the results in capture order on the caller's goroutine. Only the
// stateless part (ICV check and decryption) runs ahead; replay windows,
// counters and events advance in order, so the figures equal a
// single-threaded run's.
type parallel struct {
	workers int
	jobs    []job
	n       int
	first   int64
	shards  [][]int
}

func newParallel(workers int) *parallel {
	return &parallel{workers: workers, jobs: make([]job, batchSize), shards: make([][]int, workers)}
}

// enqueue adds a packet to the batch; sa is nil when the lookup already
// counted it (Bad SPI, untracked) and only its events wait.
func (pl *parallel) enqueue(a *Analyzer, sa *SA, now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref) {
	if pl.n == 0 {
		pl.first = now
	}
	j := &pl.jobs[pl.n]
	pl.n++
	j.events = append(j.events[:0], a.deferred...)
	a.deferred = a.deferred[:0]
	j.sa, j.now, j.src, j.ref, j.h, j.crypto = sa, now, p.Src, ref, *h, false
	if sa == nil {
		if pl.n == len(pl.jobs) {
			a.flush()
		}
		return
	}
	j.buf = append(j.buf[:0], p.IP...)
	j.ip = j.buf
	if h.Offset+len(h.Data) <= len(j.buf) {
		j.h.Data = j.buf[h.Offset : h.Offset+len(h.Data)]
	} else {
		// The header's bytes are not where Offset says within IP (never for
		// what decode produces); keep a copy of its own.
		j.h.Data = append([]byte(nil), h.Data...)
	}
	// ESN SAs need the window's state to know the high bits: they are
	// verified when applied.
	j.crypto = sa.tr != nil && !h.Truncated() && !sa.ESN
	if pl.n == len(pl.jobs) || now-pl.first > maxBatchAge {
		a.flush()
	}
}

// flush verifies and applies every packet waiting in the batch.
func (a *Analyzer) flush() {
	pl := a.par
	if pl == nil || pl.n == 0 {
		return
	}
	for w := range pl.shards {
		pl.shards[w] = pl.shards[w][:0]
	}
	for i := 0; i < pl.n; i++ {
		if j := &pl.jobs[i]; j.crypto {
			w := int(j.sa.Key.SPI % uint32(pl.workers))
			pl.shards[w] = append(pl.shards[w], i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < pl.workers; w++ {
		if len(pl.shards[w]) == 0 {
			continue
		}
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			pl.run(idx)
		}(pl.shards[w])
	}
	pl.run(pl.shards[0])
	wg.Wait()
	n := pl.n
	pl.n = 0
	for i := 0; i < n; i++ {
		j := &pl.jobs[i]
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

func (pl *parallel) run(idx []int) {
	for _, i := range idx {
		j := &pl.jobs[i]
		j.pre = open(j.sa.tr, j.ip, &j.h, 0)
	}
}
