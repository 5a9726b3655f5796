package capture

import (
	"bytes"
	"io"
)

// chunks is the reading both file readers share (pcapReader, pcapngReader):
// the file is read into chunks that frames point into, and a chunk is read
// into again only once its frames are released (Release). Without Release,
// a chunk is reused as soon as the reader moves on, like a read buffer, and
// frames are not Kept.
type chunks struct {
	in io.Reader

	buf  []byte // the chunk being read: buf[r:w] is read and not yet parsed
	r, w int
	size int   // of a chunk (chunkSize; tests use small ones)
	min  int   // minRead, or less for small chunks
	err  error // what in said after the bytes at w (io.EOF at the end)

	index     int     // records returned
	pinned    bool    // the record being read, in buf, is to be returned: buf must not be read into again
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
)

func newChunks(in io.Reader, size int) chunks {
	return chunks{in: in, buf: make([]byte, size), size: size, min: min(minRead, size/4)}
}

// Release says that the frames up to index (1-based, as Frame.Index) are
// no longer held: their chunks may be read into again. From the first
// call on, frames are Kept.
func (p *chunks) Release(index int) {
	p.releasing = true
	p.released = max(p.released, index)
	for len(p.held) > 0 && p.held[0].last <= p.released {
		p.free = append(p.free, p.held[0].buf)
		p.held = p.held[1:]
	}
}

// kept says whether the frames returned are Kept: once Release has been
// called.
func (p *chunks) kept() bool { return p.releasing }

// need makes n unparsed bytes available at buf[r:], moving them to another
// chunk when this one has no room, with io.ReadFull's errors: io.EOF when
// none are left, io.ErrUnexpectedEOF when some are.
func (p *chunks) need(n int) error {
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
func (p *chunks) next() {
	var c []byte
	if n := len(p.free); n > 0 {
		c, p.free = p.free[n-1], p.free[:n-1]
	} else if !p.releasing && !p.pinned {
		c = p.buf // frames are not kept: reuse it in place
	} else {
		c = make([]byte, p.size)
	}
	switch {
	case p.releasing && p.index > p.released:
		// Frames in the old chunk may still be held.
		if len(p.held) == maxHeld {
			p.held = p.held[1:]
		}
		p.held = append(p.held, chunk{buf: p.buf, last: p.index})
	case p.pinned:
		// The record about to be returned is in it: it is left to the
		// garbage collector, as a held chunk beyond maxHeld is.
	case &c[0] != &p.buf[0]:
		p.free = append(p.free, p.buf)
	}
	p.w = copy(c, p.buf[p.r:p.w])
	p.buf, p.r = c, 0
}

// record returns a record's n bytes: in the chunk, or in a buffer of its
// own when longer than half a chunk. Its errors are need's.
func (p *chunks) record(n int) ([]byte, error) {
	if n > p.size/2 {
		return p.large(n)
	}
	if err := p.need(n); err != nil {
		return nil, err
	}
	data := p.buf[p.r : p.r+n : p.r+n]
	p.r += n
	return data, nil
}

// large reads a record too long for a chunk into its own buffer, which
// grows with the bytes actually read: a header cannot make the reader
// allocate what the file does not hold.
func (p *chunks) large(n int) ([]byte, error) {
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
