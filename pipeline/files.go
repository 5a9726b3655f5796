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
// Files never writes to stderr; a file that fails stops the others early.
func Files(cfg analyzer.Config, names []string, parallel int) (*analyzer.Frozen, *InputStats, error) {
	parallel = max(1, min(parallel, len(names)))
	pcfg := cfg
	pcfg.Workers = max(1, cfg.Workers/parallel)
	parts := make([]*filePart, len(names))
	var stop atomic.Bool
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		p := &filePart{addrs: map[netip.Addr]struct{}{}, stop: &stop}
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
	for i, p := range parts {
		if p.err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", analyzer.ErrInteract, names[i], p.err)
		}
	}
	// Each part ends where the whole run does.
	var end time.Time
	for _, p := range parts {
		if first, last := p.run.an.TimeSpan(); !first.IsZero() && last.After(end) {
			end = last
		}
	}
	owner := map[netip.Addr]int{}
	for i, p := range parts {
		p.run.an.FinishAt(end)
		p.run.an.Addresses(p.add)
		for a := range p.addrs {
			if j, ok := owner[a]; ok && j != i {
				return nil, nil, fmt.Errorf("%w: address %v is in %s and %s", analyzer.ErrInteract, a, names[j], names[i])
			}
			owner[a] = i
		}
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

// filePart is one file's share of Files.
type filePart struct {
	run   *Run
	addrs map[netip.Addr]struct{}
	last  [2]netip.Addr // the addresses added last, which most packets repeat
	n     int
	stop  *atomic.Bool
	err   error
}

func (p *filePart) read(cfg analyzer.Config, name string) {
	p.run = New(analyzer.New(cfg), Options{OnFrame: p.frame})
	if p.stop.Load() {
		p.err = errStopped
		return
	}
	src, err := capture.Open(name)
	if err != nil {
		p.fail(err)
		return
	}
	defer src.Close()
	if err := p.run.Source(stoppable{src, p.stop}); err != nil {
		p.fail(err)
		return
	}
	switch st := p.run.Stats(); {
	case p.err != nil:
	case p.stop.Load():
		p.err = errStopped
	case len(st.Skipped) > 0 || st.FragmentsReassembled > 0:
		p.fail(fmt.Errorf("%d frames skipped or reassembled", st.SkippedTotal()+st.FragmentsReassembled))
	}
}

var errStopped = fmt.Errorf("stopped: another file cannot be analysed apart")

func (p *filePart) fail(err error) {
	if p.err == nil {
		p.err = err
	}
	p.stop.Store(true)
}

// frame collects the addresses of every frame the run analysed.
func (p *filePart) frame(_ *capture.Frame, d *decode.Packet, reassembled bool) {
	switch {
	case d == nil:
		p.fail(fmt.Errorf("a frame could not be decoded"))
	case d.Kind == decode.KindFragment || reassembled:
		p.fail(fmt.Errorf("IP fragments"))
	default:
		p.add(d.Src)
		p.add(d.Dst)
	}
}

func (p *filePart) add(a netip.Addr) {
	if !a.IsValid() || a == p.last[0] || a == p.last[1] {
		return
	}
	p.addrs[a] = struct{}{}
	p.last[p.n] = a
	p.n ^= 1
}

// stoppable ends a source early once another file has failed.
type stoppable struct {
	capture.Source
	stop *atomic.Bool
}

func (s stoppable) Next(f *capture.Frame) error {
	if s.stop.Load() {
		return errStopped
	}
	return s.Source.Next(f)
}
