package capture

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer saves frames to pcapng for later forensics, starting a new file
// whenever the current one would pass MaxSize bytes (0: never).
type Writer struct {
	path    string
	maxSize int64
	seq     int
	f       *os.File
	cw      *countingWriter
	bw      *bufio.Writer
	ng      *pcapgo.NgWriter
	ifaces  map[ifaceKey]int
	files   []string
}

type ifaceKey struct {
	source string
	lt     layers.LinkType
}

// NewWriter creates path (or, with rotation, path with -0001, -0002, ...
// before its extension).
func NewWriter(path string, maxSize int64) (*Writer, error) {
	w := &Writer{path: path, maxSize: maxSize}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) name() string {
	if w.maxSize <= 0 {
		return w.path
	}
	ext := filepath.Ext(w.path)
	return fmt.Sprintf("%s-%04d%s", strings.TrimSuffix(w.path, ext), w.seq, ext)
}

func (w *Writer) open() error {
	w.seq++
	name := w.name()
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w.cw = &countingWriter{w: f}
	w.f, w.bw = f, bufio.NewWriterSize(w.cw, 1<<16)
	w.ifaces = map[ifaceKey]int{}
	w.ng = nil
	w.files = append(w.files, name)
	return nil
}

func (w *Writer) iface(fr *Frame) (int, error) {
	k := ifaceKey{fr.Source, fr.LinkType}
	if id, ok := w.ifaces[k]; ok {
		return id, nil
	}
	intf := pcapgo.NgInterface{Name: fr.Source, LinkType: fr.LinkType, SnapLength: 262144}
	var id int
	if w.ng == nil {
		ng, err := pcapgo.NewNgWriterInterface(w.bw, intf, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return 0, err
		}
		w.ng = ng
	} else {
		var err error
		if id, err = w.ng.AddInterface(intf); err != nil {
			return 0, err
		}
	}
	w.ifaces[k] = id
	return id, nil
}

// Write appends one frame.
func (w *Writer) Write(fr *Frame) error {
	// An enhanced packet block is 32 bytes plus the data padded to 4.
	need := int64(32 + (len(fr.Data)+3)&^3)
	size := w.cw.n + int64(w.bw.Buffered())
	if w.ng == nil {
		// The section header and first interface block come with the first packet.
		need += 200
	}
	if w.maxSize > 0 && w.ng != nil && size+need > w.maxSize {
		if err := w.closeFile(); err != nil {
			return err
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	if _, ok := w.ifaces[ifaceKey{fr.Source, fr.LinkType}]; !ok && w.ng != nil && w.maxSize > 0 && size+need+100 > w.maxSize {
		// A new interface block would not fit either.
		if err := w.closeFile(); err != nil {
			return err
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	id, err := w.iface(fr)
	if err != nil {
		return err
	}
	ci := fr.CI
	ci.InterfaceIndex = id
	ci.AncillaryData = nil
	if err := w.ng.WritePacket(ci, fr.Data); err != nil {
		return err
	}
	return nil
}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Files lists the files written so far.
func (w *Writer) Files() []string { return w.files }

// Flush pushes buffered packets to the file.
func (w *Writer) Flush() error {
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

func (w *Writer) closeFile() error {
	if w.ng == nil {
		// Nothing was captured: still leave a valid (empty) pcapng file.
		ng, err := pcapgo.NewNgWriterInterface(w.bw, pcapgo.NgInterface{Name: "none", LinkType: layers.LinkTypeEthernet}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			w.f.Close()
			return err
		}
		w.ng = ng
	}
	if err := w.Flush(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// Close flushes and closes the current file.
func (w *Writer) Close() error { return w.closeFile() }
