package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapReader reads classic pcap the way pcapgo.Reader does, answers and
// errors alike (FuzzPcapReader compares them; its header errors start in
// lower case), but reads the file into chunks that frames point into
// instead of copying each record into one reused buffer. A chunk is used again only once its frames are released
// (Release): until then a frame's data stays where it was read, and a
// verification worker on another core reads it there. Copying every packet
// out of the read buffer, and again into a batch for the worker, was most
// of what handing it over cost (BenchmarkKeyed: 2 workers took 0.73× the
// single-threaded floor with the copies).
//
// Without Release, a chunk is reused as soon as the reader moves on, like
// a read buffer, and frames are not Kept.
type pcapReader struct {
	in       io.Reader
	order    binary.ByteOrder
	factor   uint32 // ns per unit of a timestamp's fraction
	snaplen  uint32
	linkType layers.LinkType

	buf  []byte // the chunk being read: buf[r:w] is read and not yet parsed
	r, w int
	size int   // of a chunk (chunkSize; tests use small ones)
	min  int   // minRead, or less for small chunks
	err  error // what in said after the bytes at w (io.EOF at the end)

	index     int     // records returned
	releasing bool    // Release was called: frames are Kept
	released  int     // records up to this index are released
	held      []chunk // chunks left behind with frames in them, oldest first
	free      [][]byte
}

type chunk struct {
	buf  []byte
	last int // index of the last record returned from it
}

const (
	// chunkSize is a chunk's size: large reads, few chunks in use.
	chunkSize = 1 << 20
	// minRead is the least room a read is asked to fill, at least the
	// bufio.Reader's size in front, so that its reads bypass its buffer.
	minRead = 64 << 10
	// maxHeld chunks wait for their release; beyond that the oldest is
	// left to the garbage collector (the frames in it stay valid).
	maxHeld = 64
	// maxPcapCapture is libpcap's largest snap length; pcapgo takes
	// records up to it, or up to a larger snap length the file declares.
	maxPcapCapture = 262144
)

func newPcapReader(in io.Reader) (*pcapReader, error) {
	return newPcapReaderSize(in, chunkSize)
}

func newPcapReaderSize(in io.Reader, size int) (*pcapReader, error) {
	p := &pcapReader{in: in, buf: make([]byte, size), size: size, min: min(minRead, size/4)}
	// pcapgo first peeks at two bytes (for a gzip magic, which Open has
	// dealt with before this reader): shorter than that is io.EOF to it.
	if err := p.need(2); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return nil, err
	}
	if err := p.need(24); err != nil {
		return nil, err
	}
	h := p.buf[p.r : p.r+24]
	p.r += 24
	switch magic := binary.LittleEndian.Uint32(h); magic {
	case magicPcapNano:
		p.order, p.factor = binary.LittleEndian, 1
	case 0x4d3cb2a1:
		p.order, p.factor = binary.BigEndian, 1
	case magicPcapMicro:
		p.order, p.factor = binary.LittleEndian, 1000
	case 0xd4c3b2a1:
		p.order, p.factor = binary.BigEndian, 1000
	default:
		return nil, fmt.Errorf("unknown magic %x", magic)
	}
	if v := p.order.Uint16(h[4:]); v != 2 {
		return nil, fmt.Errorf("unknown major version %d", v)
	}
	if v := p.order.Uint16(h[6:]); v != 4 {
		return nil, fmt.Errorf("unknown minor version %d", v)
	}
	p.snaplen = p.order.Uint32(h[16:])
	p.linkType = layers.LinkType(p.order.Uint32(h[20:]))
	return p, nil
}

func (p *pcapReader) LinkType() layers.LinkType { return p.linkType }

// Release says that the frames up to index (1-based, as Frame.Index) are
// no longer held: their chunks may be read into again. From the first
// call on, frames are Kept.
func (p *pcapReader) Release(index int) {
	p.releasing = true
	p.released = max(p.released, index)
	for len(p.held) > 0 && p.held[0].last <= p.released {
		p.free = append(p.free, p.held[0].buf)
		p.held = p.held[1:]
	}
}

// need makes n unparsed bytes available at buf[r:], moving them to another
// chunk when this one has no room, with io.ReadFull's errors: io.EOF when
// none are left, io.ErrUnexpectedEOF when some are.
func (p *pcapReader) need(n int) error {
	if p.w-p.r >= n {
		return nil
	}
	if len(p.buf)-p.r < max(n, p.min) && n <= p.size/2 {
		p.next()
	}
	for p.w-p.r < n && p.err == nil {
		var m int
		m, p.err = p.in.Read(p.buf[p.w:])
		p.w += m
	}
	switch have := p.w - p.r; {
	case have >= n:
		return nil
	case have == 0:
		return p.err
	case p.err == io.EOF:
		return io.ErrUnexpectedEOF
	default:
		return p.err
	}
}

// next moves the unparsed bytes to the start of a chunk not in use and
// leaves the current chunk to the frames in it.
func (p *pcapReader) next() {
	var c []byte
	if n := len(p.free); n > 0 {
		c, p.free = p.free[n-1], p.free[:n-1]
	} else if !p.releasing {
		c = p.buf // frames are not kept: reuse it in place
	} else {
		c = make([]byte, p.size)
	}
	if p.releasing && p.index > p.released {
		// Frames in the old chunk may still be held.
		if len(p.held) == maxHeld {
			p.held = p.held[1:]
		}
		p.held = append(p.held, chunk{buf: p.buf, last: p.index})
	} else if &c[0] != &p.buf[0] {
		p.free = append(p.free, p.buf)
	}
	p.w = copy(c, p.buf[p.r:p.w])
	p.buf, p.r = c, 0
}

// ZeroCopyReadPacketData returns the next record. Its data is valid until
// the next call, or, once Release has been called, until it is released.
func (p *pcapReader) ZeroCopyReadPacketData() (data []byte, ci gopacket.CaptureInfo, err error) {
	if err = p.need(16); err != nil {
		return nil, ci, err
	}
	h := p.buf[p.r : p.r+16]
	p.r += 16
	// pcapgo multiplies in 32 bits: a fraction out of range wraps the same.
	ci.Timestamp = time.Unix(int64(p.order.Uint32(h[0:])), int64(p.order.Uint32(h[4:])*p.factor)).UTC()
	ci.CaptureLength = int(p.order.Uint32(h[8:]))
	ci.Length = int(p.order.Uint32(h[12:]))
	if ci.CaptureLength > max(int(p.snaplen), maxPcapCapture) {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", ci.CaptureLength, p.snaplen)
	}
	if ci.CaptureLength > ci.Length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", ci.CaptureLength, ci.Length)
	}
	n := ci.CaptureLength
	if n > p.size/2 {
		data, err = p.large(n)
	} else if err = p.need(n); err == nil {
		data = p.buf[p.r : p.r+n : p.r+n]
		p.r += n
	}
	if err != nil {
		return nil, ci, err
	}
	p.index++
	return data, ci, nil
}

// large reads a record too long for a chunk into its own buffer, which
// grows with the bytes actually read: a header cannot make the reader
// allocate what the file does not hold.
func (p *pcapReader) large(n int) ([]byte, error) {
	var b bytes.Buffer
	k := min(n, p.w-p.r)
	b.Write(p.buf[p.r : p.r+k])
	p.r += k
	if k < n && p.err == nil {
		m, err := io.CopyN(&b, p.in, int64(n-k))
		if err != nil {
			p.err = err
		}
		k += int(m)
	}
	switch {
	case k == n:
		return b.Bytes(), nil
	case k == 0 && p.err == io.EOF:
		return nil, io.EOF
	case p.err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	default:
		return nil, p.err
	}
}
