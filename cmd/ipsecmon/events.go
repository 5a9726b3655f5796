package main

import (
	"fmt"
	"io"
	"sync"

	"ipsecmon/analyzer"
	"ipsecmon/eventlog"
)

// eventLog writes events as JSON lines in the event log's schema
// (--events; package eventlog) and keeps the most recent ones for the
// watch view.
type eventLog struct {
	mu     sync.Mutex
	w      io.Writer      // stdout for --events -, else file
	file   *eventlog.File // --events FILE: rotation and reopening
	stderr io.Writer
	err    error  // the first write error
	lost   uint64 // events not written because of an error
	recent []analyzer.Event
	keep   int
}

// eventFlags are --events and how its file rotates.
type eventFlags struct {
	name       string
	rotateSize string
	keep       int
}

func openEventLog(o eventFlags, live bool, stdout, stderr io.Writer, keep int) (*eventLog, error) {
	l := &eventLog{keep: keep, stderr: stderr}
	if o.name == "-" || o.name == "" {
		if o.rotateSize != "" {
			return nil, fmt.Errorf("--events-rotate-size applies to an --events FILE")
		}
		if o.name == "-" {
			l.w = stdout
		}
		return l, nil
	}
	size, err := parseSize("--events-rotate-size", o.rotateSize)
	if err != nil {
		return nil, err
	}
	if o.keep < 0 {
		return nil, fmt.Errorf("--events-keep %d: want 0 or more", o.keep)
	}
	// A live run appends, so that a restart does not lose what a shipper
	// has not read yet; a run over files writes the file afresh.
	f, err := eventlog.OpenFile(o.name, eventlog.Options{RotateSize: int64(size), Keep: o.keep, Truncate: !live})
	if err != nil {
		return nil, fmt.Errorf("--events: %w", err)
	}
	l.file, l.w = f, f
	return l, nil
}

// wanted says whether the log takes events at all: without --events and
// without a view of recent events it writes nowhere, and the analyzer is
// then run as without a log (the anomaly_events limit, which bounds what
// events name, is not shown, as when files are read at once).
func (l *eventLog) wanted() bool { return l != nil && (l.w != nil || l.keep > 0) }

func (l *eventLog) add(e analyzer.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		b, err := eventlog.Marshal(e)
		if err == nil {
			_, err = l.w.Write(b)
		}
		if err != nil {
			// Said once; later events are still tried (a disk that
			// fills may empty) and the ones lost counted.
			if l.err == nil {
				l.err = err
				fmt.Fprintf(l.stderr, "ipsecmon: --events: %v (events not written are counted)\n", err)
			}
			l.lost++
		}
	}
	if l.keep > 0 {
		if len(l.recent) == l.keep {
			copy(l.recent, l.recent[1:])
			l.recent = l.recent[:l.keep-1]
		}
		l.recent = append(l.recent, e)
	}
}

func (l *eventLog) last() []analyzer.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]analyzer.Event(nil), l.recent...)
}

// reopen closes and reopens --events FILE (SIGHUP, after logrotate moved
// it away).
func (l *eventLog) reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

func (l *eventLog) close() error {
	if l.file != nil {
		if err := l.file.Close(); err != nil && l.err == nil {
			l.err = err
		}
	}
	if l.err != nil && l.lost > 0 {
		return fmt.Errorf("%w; %d events not written", l.err, l.lost)
	}
	return l.err
}
