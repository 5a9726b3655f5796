package capture

import (
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
	chunks
	order    binary.ByteOrder
	factor   uint32 // ns per unit of a timestamp's fraction
	snaplen  uint32
	linkType layers.LinkType
}

// maxPcapCapture is libpcap's largest snap length; pcapgo takes records up
// to it, or up to a larger snap length the file declares.
const maxPcapCapture = 262144

func newPcapReader(in io.Reader) (*pcapReader, error) {
	return newPcapReaderSize(in, chunkSize)
}

func newPcapReaderSize(in io.Reader, size int) (*pcapReader, error) {
	p := &pcapReader{chunks: newChunks(in, size)}
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
	if data, err = p.record(ci.CaptureLength); err != nil {
		return nil, ci, err
	}
	p.index++
	return data, ci, nil
}
