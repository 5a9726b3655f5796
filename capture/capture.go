// Package capture is where packets come from: pcap and pcapng files (plain
// or gzip-compressed, or standard input) and, in live.go, network interfaces.
// It hands out frames with their link type and position and knows nothing of
// what is inside them.
package capture

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frame is one captured packet. Data is valid until the next call to Next,
// or, when Kept, until the consumer releases it (Releaser).
type Frame struct {
	Data     []byte
	CI       gopacket.CaptureInfo
	LinkType layers.LinkType
	Source   string // file name or interface
	Index    int    // 1-based position in Source, as Wireshark numbers frames
	// Kept: Data stays valid until the source's Release covers Index, so
	// a consumer may hold it instead of copying it.
	Kept bool
}

// Releaser is a source whose frames can outlive the next call to Next: a
// consumer that calls Release gets Kept frames, and must call it again as
// it lets them go, or the source allocates anew for every chunk it reads.
type Releaser interface {
	// Release says that the frames up to index are no longer held.
	Release(index int)
}

// Release passes a release on to src when it is a Releaser: what a source
// wrapping another does with its Release.
func Release(src Source, index int) {
	if r, ok := src.(Releaser); ok {
		r.Release(index)
	}
}

// Source yields frames until io.EOF.
type Source interface {
	// Next fills f with the next frame. Any error other than io.EOF names the
	// source and packet; after such an error the source is finished.
	Next(f *Frame) error
	Name() string
	Close() error
}

// Progress reports how far a file source has read, for progress bars.
type Progress interface {
	// Position returns bytes read so far and the total (0 when unknown, e.g. stdin).
	Position() (done, total int64)
}

// FormatError is an unreadable input: not a capture, or a damaged record.
type FormatError struct {
	Source string
	Packet int // 0 when the file header itself is bad, or the damage was found at the end
	Err    error
	// AtEnd: found after the last record (a gzip checksum), so nothing of
	// the file was left unread.
	AtEnd bool
}

func (e *FormatError) Error() string {
	if e.Packet == 0 {
		return fmt.Sprintf("%s: %v", e.Source, e.Err)
	}
	return fmt.Sprintf("%s: packet %d: %v", e.Source, e.Packet, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Magic numbers (pcap: tcpdump.org/manpages/pcap-savefile.5; pcapng: its Section Header Block type).
const (
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapNano    = 0xa1b23c4d
	magicPcapngBlock = 0x0a0d0d0a
)

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// chunkReader is what a file is read with, pcapReader or pcapngReader:
// its frames are Kept once Release has been called, while kept says so.
type chunkReader interface {
	packetReader
	Release(index int)
	kept() bool
}

type fileSource struct {
	name     string
	closer   io.Closer
	counter  *countingReader
	total    int64
	r        chunkReader
	linkType layers.LinkType // pcap: the file's; pcapng: per interface
	pcapng   bool
	n        int
	done     bool
}

// Open opens a capture file; "-" is standard input. pcap (µs and ns),
// pcapng (several interfaces and link types) and gzip-compressed forms of
// either are recognised by their magic numbers, not by the file name.
func Open(name string) (Source, error) {
	var f *os.File
	if name == "-" {
		f = os.Stdin
		name = "stdin"
	} else {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, err
		}
	}
	var total int64
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			f.Close()
			return nil, &FormatError{Source: name, Err: errors.New("is a directory, not a capture file")}
		}
		if st.Mode().IsRegular() {
			total = st.Size()
		}
	}
	src, err := newReaderSource(name, f, total)
	if err != nil {
		f.Close()
		return nil, err
	}
	src.closer = f
	return src, nil
}

// NewReader reads a capture from r (used by tests and stdin).
func NewReader(name string, r io.Reader) (Source, error) {
	return newReaderSource(name, r, 0)
}

func newReaderSource(name string, r io.Reader, total int64) (*fileSource, error) {
	cr := &countingReader{r: r}
	src := &fileSource{name: name, counter: cr, total: total}
	br := bufio.NewReaderSize(cr, 1<<16)
	head, err := br.Peek(4)
	switch {
	case err == nil:
	case len(head) == 0 && errors.Is(err, io.EOF):
		return nil, &FormatError{Source: name, Err: errors.New("empty (0 bytes), not a capture file")}
	case errors.Is(err, io.EOF):
		return nil, &FormatError{Source: name, Err: fmt.Errorf("too short to be a capture file (%d bytes)", len(head))}
	default:
		return nil, &FormatError{Source: name, Err: fmt.Errorf("reading: %w", unwrapPath(err))}
	}
	var in io.Reader = br
	if head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FormatError{Source: name, Err: fmt.Errorf("gzip: %w", err)}
		}
		br = bufio.NewReaderSize(zr, 1<<16)
		in = br
		if head, err = br.Peek(4); err != nil {
			return nil, &FormatError{Source: name, Err: fmt.Errorf("gzip content too short to be a capture file: %w", err)}
		}
	}
	switch m := binary.LittleEndian.Uint32(head); {
	case m == magicPcapMicro || m == magicPcapNano || binary.BigEndian.Uint32(head) == magicPcapMicro || binary.BigEndian.Uint32(head) == magicPcapNano:
		pr, err := newPcapReader(in)
		if err != nil {
			return nil, &FormatError{Source: name, Err: fmt.Errorf("pcap header: %w", err)}
		}
		src.r, src.linkType = pr, pr.LinkType()
	case m == magicPcapngBlock:
		nr, err := newPcapngReader(in)
		if err != nil {
			return nil, &FormatError{Source: name, Err: fmt.Errorf("pcapng header: %w", err)}
		}
		src.r, src.pcapng = nr, true
	default:
		return nil, &FormatError{Source: name, Err: fmt.Errorf("not a pcap or pcapng file (magic %08x)", binary.BigEndian.Uint32(head))}
	}
	return src, nil
}

func (s *fileSource) Name() string { return s.name }

func (s *fileSource) Close() error {
	if s.closer != nil && s.closer != os.Stdin {
		return s.closer.Close()
	}
	return nil
}

func (s *fileSource) Position() (int64, int64) { return s.counter.n.Load(), s.total }

func (s *fileSource) Next(f *Frame) error {
	if s.done {
		return io.EOF
	}
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		s.done = true
		if err == io.EOF && !s.pcapng && ci.CaptureLength > 0 {
			// pcapgo reads a record's data with io.ReadFull, which says
			// io.EOF, not io.ErrUnexpectedEOF, when none of it is there;
			// the header it did read is in ci (a clean end leaves ci empty).
			return &FormatError{Source: s.name, Packet: s.n + 1,
				Err: fmt.Errorf("file ends after a packet record's header: its %d bytes are missing (truncated capture)", ci.CaptureLength)}
		}
		if err == io.EOF {
			return io.EOF
		}
		if errors.Is(err, gzip.ErrChecksum) {
			return &FormatError{Source: s.name, Err: s.damage(err), AtEnd: true}
		}
		return &FormatError{Source: s.name, Packet: s.n + 1, Err: s.damage(err)}
	}
	s.n++
	lt := s.linkType
	if len(ci.AncillaryData) > 0 {
		// pcapng's, from pcapngReader or pcapgo after a failover.
		if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			lt = l
		}
	}
	*f = Frame{Data: data, CI: ci, LinkType: lt, Source: s.name, Index: s.n, Kept: s.r.kept()}
	return nil
}

// Release lets frames be Kept (pcapng's only until a block that pcapgo
// reads for pcapngReader: see failover).
func (s *fileSource) Release(index int) { s.r.Release(index) }

// unwrapPath drops the operation and path a read error repeats (the
// message names the file already).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// damage says in the analyst's terms what a read error found, the way
// tshark tells a capture cut short from a damaged one.
func (s *fileSource) damage(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrChecksum):
		// gzip's checksum covers the whole stream: it is checked after the
		// last byte, once every packet has been read and analysed.
		return fmt.Errorf("the gzip checksum, checked after the data, does not match: all %d packets were read and analysed, but the file is damaged and any of them may be corrupt", s.n)
	case errors.As(err, &corrupt):
		return fmt.Errorf("damaged gzip data at byte %d of the decompressed stream", int64(corrupt))
	case errors.Is(err, io.ErrUnexpectedEOF) && s.pcapng:
		// A pcapng block's length is not checked against the file before
		// its body is read: a damaged length and a cut file look alike.
		return errors.New("a block runs past the end of the file: the capture was cut short or the block's length field is damaged")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("file ends in the middle of a packet record (truncated capture)")
	case s.pcapng:
		return fmt.Errorf("damaged block: %w", err)
	}
	return fmt.Errorf("damaged record: %w", err)
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
