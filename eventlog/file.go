package eventlog

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// File is an event log on disk that log shippers can follow: each line is
// written whole with one write(2) in append mode, so a reader never sees
// half a line, and the file can be rotated under it two ways:
//
//   - by size (RotateSize > 0): when a line would take the file past
//     RotateSize bytes, NAME is renamed NAME.1 (NAME.1 to NAME.2, ..., the
//     oldest beyond Keep removed) and a new NAME is started, as logrotate
//     does; Vector and Fluent Bit follow the renamed file to its end and
//     then read the new one;
//   - from outside (logrotate's create mode, a mv): Reopen, on SIGHUP,
//     closes the file and opens NAME again, creating it.
//
// Disk use is bounded by RotateSize × (Keep + 1) when RotateSize is set.
type File struct {
	mu         sync.Mutex
	name       string
	rotateSize int64
	keep       int
	f          *os.File
	size       int64
	rotations  uint64
	closed     bool
}

// DefaultKeep is how many rotated files are kept by default.
const DefaultKeep = 5

// Options say how a File rotates.
type Options struct {
	// RotateSize: start a new file when a line would pass this many
	// bytes (0: never).
	RotateSize int64
	// Keep: rotated files kept (NAME.1 ... NAME.Keep).
	Keep int
	// Truncate empties an existing file at open instead of appending.
	Truncate bool
}

// OpenFile opens name for appending (creating it, mode 0640: events name
// hosts and SPIs, not for every user).
func OpenFile(name string, o Options) (*File, error) {
	if o.RotateSize < 0 || o.Keep < 0 {
		return nil, fmt.Errorf("eventlog: %s: rotate size %d and keep %d must not be negative", name, o.RotateSize, o.Keep)
	}
	l := &File{name: name, rotateSize: o.RotateSize, keep: o.Keep}
	if err := l.open(o.Truncate); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open(truncate bool) error {
	flags := os.O_WRONLY | os.O_APPEND | os.O_CREATE
	if truncate {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(l.name, flags, 0o640)
	if err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("eventlog: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends one whole line (ending in a newline) with one write,
// rotating first when it would pass the size limit. A line longer than the
// limit goes alone into a file of its own.
func (l *File) Write(line []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, errors.New("eventlog: write to a closed log")
	}
	if l.f == nil {
		// A failed rotation or reopen: try again, the cause may be gone.
		if err := l.open(false); err != nil {
			return 0, err
		}
	}
	if l.rotateSize > 0 && l.size > 0 && l.size+int64(len(line)) > l.rotateSize {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("eventlog: %w", err)
	}
	return n, nil
}

// rotate shifts NAME.i to NAME.i+1 (dropping what passes Keep), renames
// NAME to NAME.1 and starts a new NAME. With Keep 0 the old file is
// removed.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	l.f = nil
	old := func(i int) string { return fmt.Sprintf("%s.%d", l.name, i) }
	if l.keep == 0 {
		if err := os.Remove(l.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("eventlog: %w", err)
		}
	} else {
		if err := os.Remove(old(l.keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("eventlog: %w", err)
		}
		for i := l.keep - 1; i >= 1; i-- {
			if err := os.Rename(old(i), old(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("eventlog: %w", err)
			}
		}
		if err := os.Rename(l.name, old(1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("eventlog: %w", err)
		}
	}
	l.rotations++
	return l.open(false)
}

// Reopen closes the file and opens its name again (after an outside
// rotation moved it away, the name is created anew).
func (l *File) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("eventlog: reopen of a closed log")
	}
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return fmt.Errorf("eventlog: %w", err)
		}
		l.f = nil
	}
	return l.open(false)
}

// Rotations counts the size rotations so far.
func (l *File) Rotations() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rotations
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	return nil
}
