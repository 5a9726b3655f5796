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
	perm    os.FileMode
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
	return NewWriterMode(path, maxSize, 0o666)
}

// NewWriterMode is NewWriter with the permissions new files get (less the
// umask); an existing file keeps its own, unless perm gives the group and
// others nothing: then it is made perm too, as it is about to hold what
// the encryption protected (decrypted traffic is written with 0600).
func NewWriterMode(path string, maxSize int64, perm os.FileMode) (*Writer, error) {
	w := &Writer{path: path, maxSize: maxSize, perm: perm}
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
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, w.perm)
	if err != nil {
		return err
	}
	if w.perm&0o077 == 0 {
		if err := f.Chmod(w.perm); err != nil {
			f.Close()
			return err
		}
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
func (w *Writer) Write(fr *Frame) error { return w.WritePacket(fr, PacketOptions{}) }

// PacketOptions are what a pcapng enhanced packet block can say about its
// packet besides the bytes.
type PacketOptions struct {
	// Comment is the packet's opt_comment, which Wireshark shows as the
	// packet comment (frame.comment).
	Comment string
	// Inbound or Outbound set the direction bits of epb_flags.
	Inbound, Outbound bool
}

func (o PacketOptions) ng() (pcapgo.NgPacketOptions, int) {
	var ng pcapgo.NgPacketOptions
	size := 0 // option bytes, the end-of-options option included
	if o.Comment != "" {
		ng.Comments = []string{o.Comment}
		size += 4 + (len(o.Comment)+3)&^3
	}
	if o.Inbound || o.Outbound {
		fl := &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound}
		if o.Outbound {
			fl.Direction = pcapgo.NgEpbFlagDirectionOutbound
		}
		ng.Flags = fl
		size += 8
	}
	if size > 0 {
		size += 4
	}
	return ng, size
}

// WritePacket appends one frame with the options of its packet block.
func (w *Writer) WritePacket(fr *Frame, o PacketOptions) error {
	opts, optSize := o.ng()
	// An enhanced packet block is 32 bytes plus the data padded to 4.
	need := int64(32 + (len(fr.Data)+3)&^3 + optSize)
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
	return w.ng.WritePacketWithOptions(ci, fr.Data, opts)
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
