package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"ipsecmon/analyzer"
)

// eventLog writes events as JSON lines (--events) and keeps the most recent
// ones for the watch view.
type eventLog struct {
	mu     sync.Mutex
	enc    *json.Encoder
	f      *os.File
	err    error
	recent []analyzer.Event
	keep   int
}

func openEventLog(name string, stdout io.Writer, keep int) (*eventLog, error) {
	l := &eventLog{keep: keep}
	switch name {
	case "":
	case "-":
		l.enc = json.NewEncoder(stdout)
	default:
		f, err := os.Create(name)
		if err != nil {
			return nil, fmt.Errorf("--events: %w", err)
		}
		l.f, l.enc = f, json.NewEncoder(f)
	}
	return l, nil
}

func (l *eventLog) add(e analyzer.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enc != nil && l.err == nil {
		l.err = l.enc.Encode(e)
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

func (l *eventLog) close() error {
	if l.f != nil {
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = err
		}
	}
	return l.err
}
