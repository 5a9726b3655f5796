package pipeline

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode"
)

// Files analyses capture files concurrently: each file is read by its own
// Run and analyzer (cfg, its verification workers shared out), up to
// parallel files at once, and the finished states are joined
// (analyzer.Merge) into the one a single Run reading the files in the
// order given would reach. The views computed from it equal that run's.
//
// That holds only when the files cannot have interacted, and Files says
// so only when it can tell cheaply and soundly; otherwise it returns an
// error wrapping analyzer.ErrInteract with the reason, and the caller
// reads the files in order. Besides what analyzer.Merge rules out, the
// files are taken apart when
//
//   - an address occurs in more than one file: every packet's outer
//     source and destination, and the addresses the state holds (SAs
//     inside decrypted tunnels, IKE peers), are collected per file;
//   - any file has an IP fragment: reassembly's buffers, caps and
//     timeouts span the run;
//   - any file has a frame that is skipped or damaged, or cannot be
//     opened: the messages, and their limit per reason, span the run (the
//     sequential run reports them).
//
// Files never writes to stderr. The files are told apart as they are read
// (an address met in a second file, a fragment, a damaged frame
// stops every file at once), so that files which turn out to interact
// cost little more than reading them in order.
func Files(cfg analyzer.Config, names []string, parallel int) (*analyzer.Frozen, *InputStats, error) {
	parallel = max(1, min(parallel, len(names)))
	pcfg := cfg
	pcfg.Workers = max(1, cfg.Workers/parallel)
	sh := &shared{names: names, owner: map[netip.Addr]int{}}
	parts := make([]*filePart, len(names))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		p := &filePart{i: i, addrs: map[netip.Addr]struct{}{}, sh: sh}
		parts[i] = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.read(pcfg, name)
		}()
	}
	wg.Wait()
	if err := sh.failed(parts); err != nil {
		return nil, nil, err
	}
	// Each part ends where the whole run does.
	var end time.Time
	for _, p := range parts {
		if first, last := p.run.an.TimeSpan(); !first.IsZero() && last.After(end) {
			end = last
		}
	}
	for _, p := range parts {
		p.run.an.FinishAt(end)
		// The addresses only the state holds (inside decrypted tunnels).
		p.run.an.Addresses(p.add)
	}
	if err := sh.failed(parts); err != nil {
		return nil, nil, err
	}
	ans := make([]*analyzer.Analyzer, len(parts))
	st := &InputStats{Skipped: map[string]uint64{}}
	for i, p := range parts {
		ans[i] = p.run.an
		ps := p.run.Stats()
		st.Files = append(st.Files, ps.Files...)
		st.Frames += ps.Frames
		st.Bytes += ps.Bytes
		if i == 0 {
			st.Limits = ps.Limits // the same caps, nothing discarded
		}
	}
	f, err := analyzer.Merge(ans)
	if err != nil {
		return nil, nil, err
	}
	return f, st, nil
}

// shared is what the parts of Files claim: the addresses, by the file
// that met them first.
type shared struct {
	names []string
	stop  atomic.Bool
	mu    sync.Mutex
	owner map[netip.Addr]int
}

// failed returns the reason why the parts cannot be merged (the first
// part's that has one other than being stopped), nil when none failed.
func (sh *shared) failed(parts []*filePart) error {
	var first error
	for _, p := range parts {
		switch {
		case p.err == nil:
		case p.err != errStopped:
			return &analyzer.InteractError{Reason: p.err.Error()}
		case first == nil:
			first = p.err
		}
	}
	if first != nil {
		return &analyzer.InteractError{Reason: first.Error()}
	}
	return nil
}

// filePart is one file's share of Files.
type filePart struct {
	i     int
	run   *Run
	addrs map[netip.Addr]struct{}
	last  [2]netip.Addr // the addresses added last, which most packets repeat
	n     int
	sh    *shared
	err   error
}

func (p *filePart) read(cfg analyzer.Config, name string) {
	p.run = New(analyzer.New(cfg), Options{OnFrame: p.frame})
	if p.sh.stop.Load() {
		p.err = errStopped
		return
	}
	src, err := capture.Open(name)
	if err != nil {
		p.fail(err)
		return
	}
	defer src.Close()
	if err := p.run.Source(stoppable{src, &p.sh.stop}); err != nil {
		p.fail(err)
		return
	}
	switch st := p.run.Stats(); {
	case p.err != nil:
	case p.sh.stop.Load():
		p.err = errStopped
	case len(st.Skipped) > 0 || st.FragmentsReassembled > 0:
		p.fail(fmt.Errorf("%s: %d frames skipped or reassembled", name, st.SkippedTotal()+st.FragmentsReassembled))
	}
}

var errStopped = fmt.Errorf("stopped: another file cannot be analysed apart")

func (p *filePart) fail(err error) {
	if p.err == nil || p.err == errStopped {
		p.err = err
	}
	p.sh.stop.Store(true)
}

// frame collects the addresses of every frame the run analysed.
func (p *filePart) frame(f *capture.Frame, d *decode.Packet, reassembled bool) {
	switch {
	case d == nil:
		p.fail(fmt.Errorf("%s: packet %d could not be decoded", f.Source, f.Index))
	case d.Kind == decode.KindFragment || reassembled:
		p.fail(fmt.Errorf("%s: packet %d is an IP fragment", f.Source, f.Index))
	default:
		p.add(d.Src)
		p.add(d.Dst)
	}
}

// add claims an address for this file: one that another file claimed
// stops every file.
func (p *filePart) add(a netip.Addr) {
	if !a.IsValid() || a == p.last[0] || a == p.last[1] {
		return
	}
	p.last[p.n] = a
	p.n ^= 1
	if _, ok := p.addrs[a]; ok {
		return
	}
	p.addrs[a] = struct{}{}
	p.sh.mu.Lock()
	j, ok := p.sh.owner[a]
	if !ok {
		p.sh.owner[a] = p.i
	}
	p.sh.mu.Unlock()
	if ok && j != p.i {
		p.fail(fmt.Errorf("address %v is in %s and %s", a, p.sh.names[min(p.i, j)], p.sh.names[max(p.i, j)]))
	}
}

// stoppable ends a source early once another file has failed.
type stoppable struct {
	capture.Source
	stop *atomic.Bool
}

func (s stoppable) Release(index int) { capture.Release(s.Source, index) }

func (s stoppable) Next(f *capture.Frame) error {
	if s.stop.Load() {
		return errStopped
	}
	return s.Source.Next(f)
}
