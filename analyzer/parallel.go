package analyzer

import (
	"net/netip"
	"runtime"
	"sync/atomic"

	"ipsecmon/decode"
	"ipsecmon/espcrypto"
	"ipsecmon/ipproto"
)

// Verification on several cores.
//
// The caller's goroutine reads, decodes and looks up each packet's SA as
// before; instead of verifying the packet there, it copies the bytes into
// a batch. A full batch is split among long-lived workers, each SA's
// packets going to the one worker that has them in flight, and the caller
// moves on to fill the next batch. Batches are applied (replay windows,
// counters, events) on the caller's goroutine in capture order once their
// workers are done, so the figures equal a single-threaded run's; only the
// stateless ICV check and decryption run elsewhere.
//
// Nothing waits for a whole batch round trip: up to maxInflight batches are
// verified while the next one fills, and the caller blocks only when all of
// them are still being verified. The earlier design (two batches, a barrier
// per batch, SAs sharded by SPI modulo the workers, goroutines started per
// batch) left the workers idle while the caller applied a batch and the
// caller idle while the slower shard finished: two workers were slower
// than one on this repository's benchmark.

// batchSize is the packets per batch: large enough that handing a batch
// over costs little per packet (two channel operations per worker).
// Together with inflightPerWorker it sets how far the caller runs ahead of
// the workers; on the bench capture 512 and 4 took 2 workers from 0.70x
// to 0.62x the floor (256 and 3 before; 1024 or 8 in flight gained
// nothing more). At most (inflightPerWorker*workers+1)*batchSize packets
// wait, which bounds what a worker holds.
const batchSize = 512

// inflightPerWorker batches may be verified at once per worker.
const inflightPerWorker = 4

// job is one IPsec header waiting in a batch. Its bytes are copied into the
// batch's arena (the capture's buffer is reused for the next frame) unless
// the packet is Kept: then the job points at the capture's bytes, which
// the worker reads where they were read from the file.
type job struct {
	sa      *SA
	tr      *espcrypto.Transform // set for packets a worker verifies
	now     int64
	src     netip.Addr
	h       decode.IPsecHeader
	ip      []byte // AH: the whole outer IP packet (its ICV covers it)
	ref     Ref
	off, n  int  // the copied bytes: arena[off:off+n]
	wholeIP bool // the copy is the IP packet (AH), not the header onwards
	kept    bool // no copy: ip and h point at the packet's own bytes
	worker  int32
	events  []deferred // raised while the packet's SA was looked up
	// For Config.OnOpened: the IP header in front of an ESP header. It
	// keeps its array from batch to batch.
	hdr []byte
}

// outcome is what a worker found of a job. Outcomes are kept apart from the
// jobs so that the lines a worker writes are not the lines the caller
// fills with the next jobs: sharing them moved every job's lines from one
// core to the other and back.
type outcome struct {
	pre opened
	// plain is the plaintext for Config.OnOpened, copied on the worker
	// (the transform's buffer is the next packet's); it keeps its array
	// from batch to batch.
	plain []byte
}

// task is what a worker reads of a job, in an array of its own: the job's
// lines then never leave the caller's core, and the worker reads one line
// per packet besides the packet's bytes.
type task struct {
	tr       *espcrypto.Transform
	data     []byte // kept: ESP from its header on, AH the whole IP packet
	off, n   int32  // not kept: the arena's copy
	at       int32  // AH: where its header starts in the IP packet
	ah, kept bool
}

// batch is a run of consecutive IPsec headers.
type batch struct {
	jobs  []job
	tasks []task    // tasks[i] is jobs[i]'s, for the packets a worker verifies
	out   []outcome // out[i] is jobs[i]'s
	n     int
	arena []byte
	// mine[w] lists the jobs worker w verifies.
	mine    [][]int32
	pending atomic.Int32 // workers not finished with the batch
	done    bool         // every worker finished (set by the caller's goroutine)
	keep    bool         // keep each plaintext (Config.OnOpened)
	next    int          // jobs before it are applied (Holding)
}

// parallel is the caller's side: a ring of batches, the oldest dispatched
// one at head, the one being filled right after the dispatched ones.
type parallel struct {
	ring     []*batch
	head     int
	inflight int // dispatched, not yet applied
	queues   []chan *batch
	finished chan *batch
	// load[w] is the jobs given to worker w and not yet applied: an SA with
	// nothing in flight goes to the least loaded worker.
	load []int
}

// startWorkers sets up verification on Config.Workers cores once there is
// something to verify with: without keys every packet would be copied into
// a batch and handed back for nothing (a keyless stats run on 2 workers
// took 1.35× the time of one).
func (a *Analyzer) startWorkers() {
	if a.par == nil && a.cfg.Workers > 1 && !a.cfg.Keys.Empty() {
		a.par = newParallel(a, a.cfg.Workers)
	}
}

// newParallel starts the workers. They stop when the analyzer is garbage.
func newParallel(a *Analyzer, workers int) *parallel {
	maxInflight := inflightPerWorker * workers
	pl := &parallel{
		ring:     make([]*batch, maxInflight+1),
		queues:   make([]chan *batch, workers),
		finished: make(chan *batch, maxInflight),
		load:     make([]int, workers),
	}
	for i := range pl.ring {
		b := &batch{jobs: make([]job, batchSize), tasks: make([]task, batchSize), out: make([]outcome, batchSize), mine: make([][]int32, workers)}
		for w := range b.mine {
			b.mine[w] = make([]int32, 0, batchSize)
		}
		pl.ring[i] = b
	}
	for w := range pl.queues {
		// One slot per batch that can be in flight: dispatch never blocks.
		pl.queues[w] = make(chan *batch, maxInflight)
		go work(int32(w), pl.queues[w], pl.finished)
	}
	runtime.AddCleanup(a, func(qs []chan *batch) {
		for _, q := range qs {
			close(q)
		}
	}, pl.queues)
	return pl
}

// work verifies worker w's share of each batch it is handed.
func work(w int32, q <-chan *batch, finished chan<- *batch) {
	for b := range q {
		for _, i := range b.mine[w] {
			t, o := &b.tasks[i], &b.out[i]
			d := t.data
			if !t.kept {
				d = b.arena[t.off : t.off+t.n : t.off+t.n]
			}
			var ip []byte
			h := decode.IPsecHeader{Proto: ipproto.ESP, Data: d}
			if t.ah {
				ip, h.Proto, h.Offset, h.Data = d, ipproto.AH, int(t.at), d[min(int(t.at), len(d)):]
			}
			o.pre = open(t.tr, ip, &h, 0, b.keep)
			if o.pre.plain != nil {
				o.plain = append(o.plain[:0], o.pre.plain...)
				o.pre.plain = o.plain
			}
		}
		if b.pending.Add(-1) == 0 {
			finished <- b
		}
	}
}

// filling is the batch being filled.
func (pl *parallel) filling() *batch { return pl.ring[(pl.head+pl.inflight)%len(pl.ring)] }

// enqueue adds a packet to the batch being filled; sa is nil when the
// lookup already counted it (Bad SPI, untracked) and only its events wait.
func (a *Analyzer) enqueue(sa *SA, now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref) {
	pl := a.par
	b := pl.filling()
	j := &b.jobs[b.n]
	b.n++
	j.events = append(j.events[:0], a.deferred...)
	a.deferred = a.deferred[:0]
	j.sa, j.tr, j.now, j.src, j.ref, j.h = sa, nil, now, p.Src, ref, *h
	if sa != nil {
		in := h.Data
		j.wholeIP = h.Proto == ipproto.AH
		if j.wholeIP {
			in = p.IP // AH's ICV covers the whole IP packet
		}
		j.kept, j.ip = p.Kept, nil
		if !j.kept {
			j.off, j.n = len(b.arena), len(in)
			b.arena = append(b.arena, in...)
		} else if j.wholeIP {
			j.ip = p.IP
		}
		if a.cfg.OnOpened != nil && !j.wholeIP {
			j.hdr = append(j.hdr[:0], p.IP[:min(h.Offset, len(p.IP))]...)
			j.ip = j.hdr // ESP ignores it; OnOpened gets the header in front
		}
		// ESN SAs need the window's state to know the high bits: they are
		// verified when applied.
		if c := sa.tr; c != nil && !h.Truncated() && !sa.ESN {
			if c.inflight == 0 {
				c.worker = pl.leastLoaded()
			}
			c.inflight++
			pl.load[c.worker]++
			j.tr, j.worker = c.t, c.worker
			t := &b.tasks[b.n-1]
			*t = task{tr: c.t, ah: j.wholeIP, at: int32(h.Offset), kept: j.kept}
			switch {
			case !j.kept:
				t.off, t.n = int32(j.off), int32(j.n)
			case j.wholeIP:
				t.data = p.IP
			default:
				t.data = h.Data
			}
			b.mine[c.worker] = append(b.mine[c.worker], int32(b.n-1))
		}
	}
	if b.n == len(b.jobs) {
		a.dispatch()
	}
}

func (pl *parallel) leastLoaded() int32 {
	w := 0
	for i, l := range pl.load {
		if l < pl.load[w] {
			w = i
		}
	}
	return int32(w)
}

// view is a job's bytes: the packet's own when it is kept, else the
// arena's copy, which stops moving once the batch is full.
func (b *batch) view(j *job) (ip []byte, h decode.IPsecHeader) {
	ip, h = j.ip, j.h
	if j.kept {
		return ip, h
	}
	d := b.arena[j.off : j.off+j.n : j.off+j.n]
	if j.wholeIP {
		ip = d
		h.Data = d[min(h.Offset, len(d)):]
		if icv := 12 + len(h.ICV); icv <= len(h.Data) {
			h.ICV = h.Data[12:icv]
		}
	} else {
		h.Data = d
	}
	return ip, h
}

// dispatch hands the batch being filled to the workers, applies the
// batches they have finished, and waits only when every batch is in flight.
func (a *Analyzer) dispatch() {
	pl := a.par
	b := pl.filling()
	n := int32(0)
	for _, m := range b.mine {
		if len(m) > 0 {
			n++
		}
	}
	pl.inflight++
	b.keep = a.cfg.OnOpened != nil
	b.done = n == 0
	b.pending.Store(n)
	for w, m := range b.mine {
		if len(m) > 0 {
			pl.queues[w] <- b
		}
	}
	pl.collect(false)
	a.applyDone()
	if pl.inflight == len(pl.ring)-1 {
		pl.waitHead()
		a.applyDone()
	}
}

// collect marks the batches the workers have finished; with wait, it
// blocks until at least one more is.
func (pl *parallel) collect(wait bool) {
	if wait {
		b := <-pl.finished
		b.done = true
	}
	for {
		select {
		case b := <-pl.finished:
			b.done = true
		default:
			return
		}
	}
}

// waitHead blocks until the oldest batch in flight is verified.
func (pl *parallel) waitHead() {
	for !pl.ring[pl.head].done {
		pl.collect(true)
	}
}

// quiesce waits until no worker holds a batch, so that the caller's
// goroutine may use any SA's transform.
func (pl *parallel) quiesce() {
	for i := 0; i < pl.inflight; i++ {
		for !pl.ring[(pl.head+i)%len(pl.ring)].done {
			pl.collect(true)
		}
	}
}

// applyDone applies, in order, the oldest batches whose verification is done.
func (a *Analyzer) applyDone() {
	pl := a.par
	for pl.inflight > 0 && pl.ring[pl.head].done {
		b := pl.ring[pl.head]
		a.apply(b)
		b.n, b.arena, b.done, b.next = 0, b.arena[:0], false, 0
		for w := range b.mine {
			b.mine[w] = b.mine[w][:0]
		}
		pl.head = (pl.head + 1) % len(pl.ring)
		pl.inflight--
	}
}

// Holding reports the oldest packet whose bytes a worker may still read,
// or ok false when no packet waits: the bytes of packets handed to Packet
// before it are no longer held (see decode.Packet.Kept).
func (a *Analyzer) Holding() (ref Ref, ok bool) {
	pl := a.par
	if pl == nil {
		return Ref{}, false
	}
	for i := 0; i <= pl.inflight; i++ {
		b := pl.ring[(pl.head+i)%len(pl.ring)]
		if b.next < b.n {
			return b.jobs[b.next].ref, true
		}
	}
	return Ref{}, false
}

// Flush verifies and applies every packet waiting for a worker, so that
// their events are out. Offline runs need not call it (every result flushes
// first); a live run calls it when the link is quiet.
func (a *Analyzer) Flush() { a.flush() }

// Waiting is how many packets wait for a worker: their outcomes have not
// reached Config.OnOpened yet. 0 means every packet handed to Packet so
// far has been applied.
func (a *Analyzer) Waiting() int {
	pl := a.par
	if pl == nil {
		return 0
	}
	n := pl.filling().n
	for i := 0; i < pl.inflight; i++ {
		n += pl.ring[(pl.head+i)%len(pl.ring)].n
	}
	return n
}

// flush verifies and applies every packet waiting.
func (a *Analyzer) flush() {
	pl := a.par
	if pl == nil {
		return
	}
	if pl.filling().n > 0 {
		a.dispatch()
	}
	for pl.inflight > 0 {
		pl.waitHead()
		a.applyDone()
	}
}

// apply runs the receiver's checks of b in capture order.
func (a *Analyzer) apply(b *batch) {
	pl := a.par
	for i := b.next; i < b.n; i++ {
		j := &b.jobs[i]
		b.next = i + 1
		for k := range j.events {
			a.undefer(&j.events[k])
		}
		if j.sa == nil {
			continue
		}
		if !j.kept {
			j.ip, j.h = b.view(j)
		}
		var pre *opened
		if j.tr != nil {
			pre = &b.out[i].pre
			j.sa.tr.inflight--
			pl.load[j.worker]--
		}
		a.receive(j.sa, j.now, j.src, j.ip, &j.h, j.ref, 0, pre)
		// The job is left as it is: enqueue sets every field it reads
		// when the slot is filled again, and clearing it here wrote the
		// worker's cache lines from this core for every packet. What it
		// references lives until then: at most the ring's batches.
	}
}
