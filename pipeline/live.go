package pipeline

import (
	"fmt"
	"io"
	"sync"
	"time"

	"ipsecmon/capture"
)

// LiveOptions are the stop conditions and extras of a live run.
type LiveOptions struct {
	// Count stops after this many frames (0: no limit); Duration after this
	// long (0: no limit).
	Count    uint64
	Duration time.Duration
	// Writer, when set, receives every frame captured (every frame the
	// capture filter passed, as tcpdump -w writes them). It is flushed at least every
	// FlushInterval, so that a crash or an OOM kill loses at most that much.
	Writer *capture.Writer
}

// FlushInterval is how often a live run's -w file is flushed (tcpdump -U
// flushes every packet; a second bounds the loss at far fewer writes).
const FlushInterval = time.Second

// Live feeds frames from live sources into a Run. Each source has its own
// goroutine; the Run is guarded by one lock, which readers take through With.
type Live struct {
	mu      sync.Mutex
	run     *Run
	sources []*capture.LiveSource
	opts    LiveOptions
	frames  uint64
	stop    sync.Once
	wg      sync.WaitGroup
	done    chan struct{}
	errs    []error
}

// StartLive starts reading the sources into r.
func (r *Run) StartLive(sources []*capture.LiveSource, o LiveOptions) *Live {
	l := &Live{run: r, sources: sources, opts: o, done: make(chan struct{})}
	for _, s := range sources {
		r.stats.Files = append(r.stats.Files, FileStats{Name: s.Name()})
	}
	for i, s := range sources {
		l.wg.Add(1)
		go l.read(i, s)
	}
	if o.Duration > 0 {
		time.AfterFunc(o.Duration, l.Stop)
	}
	readersDone := make(chan struct{})
	go l.applyEvery(ApplyInterval, readersDone)
	flushed := make(chan struct{})
	if o.Writer != nil {
		go l.flushEvery(FlushInterval, readersDone, flushed)
	} else {
		close(flushed)
	}
	// Done only once the flusher is gone too: the writer is the caller's
	// to close then.
	go func() { l.wg.Wait(); l.Stop(); close(readersDone); <-flushed; close(l.done) }()
	return l
}

// ApplyInterval bounds how long a live run holds packets back for
// verification on several cores (analyzer.Config.Workers) when the link
// goes quiet: their events are out at most this late.
const ApplyInterval = 100 * time.Millisecond

// applyEvery has the analyzer apply what it holds, until stop is closed.
func (l *Live) applyEvery(d time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			l.run.an.Flush()
			l.mu.Unlock()
		case <-stop:
			return
		}
	}
}

// flushEvery flushes the writer until stop is closed.
func (l *Live) flushEvery(d time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.FlushWriter()
		case <-stop:
			return
		}
	}
}

// FlushWriter pushes what the -w writer holds to its file (on a signal,
// and every FlushInterval).
func (l *Live) FlushWriter() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.Writer == nil {
		return
	}
	if err := l.opts.Writer.Flush(); err != nil {
		l.errs = append(l.errs, fmt.Errorf("writing: %w", err))
		l.opts.Writer = nil
	}
}

func (l *Live) read(i int, s *capture.LiveSource) {
	defer l.wg.Done()
	var f capture.Frame
	for {
		err := s.Next(&f)
		if err == io.EOF {
			return
		}
		l.mu.Lock()
		if err != nil {
			l.errs = append(l.errs, err)
			l.run.stats.Files[i].Error = err.Error()
			l.mu.Unlock()
			return
		}
		if l.opts.Count > 0 && l.frames >= l.opts.Count {
			l.mu.Unlock()
			l.Stop()
			return
		}
		l.frames++
		l.run.stats.Files[i].Frames++
		l.run.Frame(&f)
		if l.opts.Writer != nil {
			if err := l.opts.Writer.Write(&f); err != nil {
				l.errs = append(l.errs, fmt.Errorf("writing %s: %w", f.Source, err))
				l.opts.Writer = nil
			}
		}
		reached := l.opts.Count > 0 && l.frames >= l.opts.Count
		l.mu.Unlock()
		if reached {
			l.Stop()
			return
		}
	}
}

// Stop ends the capture; Done is closed once every source has stopped.
func (l *Live) Stop() {
	l.stop.Do(func() {
		for _, s := range l.sources {
			s.Stop()
		}
	})
}

// Done is closed when the live run has ended.
func (l *Live) Done() <-chan struct{} { return l.done }

// With runs fn while no frame is being analysed.
func (l *Live) With(fn func(r *Run)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(l.run)
}

// Errors returns the errors that ended sources early.
func (l *Live) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// CaptureStats returns libpcap's counters per source.
func (l *Live) CaptureStats() []capture.Stats {
	st := make([]capture.Stats, len(l.sources))
	for i, s := range l.sources {
		st[i], _ = s.Stats()
	}
	return st
}

// Sources returns the live sources.
func (l *Live) Sources() []*capture.LiveSource { return l.sources }
