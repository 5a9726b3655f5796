package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapngReader reads pcapng the way pcapgo.NgReader does with the options
// ipsecmon opens it with (ngOptions), answers and errors alike
// (FuzzPcapngReader and TestPcapngReaderAsPcapgo compare them; its error
// texts are pcapgo's word for word, capitals included, since analysts and
// tests read them after "damaged block:"), into the chunks
// pcapReader reads classic pcap into: a frame's data stays where it was
// read until released, instead of being copied into one reused buffer.
//
// It follows pcapgo step by step rather than block by block: pcapgo reads
// a block's fields and options one after the other and trusts the block
// length only for what it discards at the end, in uint32 arithmetic that
// wraps. length is pcapgo's currentBlock.length and changes where pcapgo
// changes it, so a damaged length fails at the same byte with the same
// error.
//
// Name resolution and decryption secrets blocks, rare in what ipsecmon
// reads and with parsers of their own in pcapgo (their errors included),
// are left to pcapgo: at the first one, the reader hands pcapgo an
// equivalent section header and the current section's interfaces, then
// the file from that block on, and reads the rest of the file through it
// (frames are no longer Kept). Nothing before that block is read twice.
type pcapngReader struct {
	chunks
	big    bool   // the current section is big-endian
	length uint32 // pcapgo's currentBlock.length: what is left of the block
	ifaces []ngIface
	ci     gopacket.CaptureInfo
	ancil  [1]any           // ci.AncillaryData, reused as pcapgo's is
	opt    [8]byte          // the start of the last option's value
	typ    uint32           // of the block being read
	ng     *pcapgo.NgReader // reads the rest of the file after failover
}

// ngOptions are the options ipsecmon reads pcapng with.
var ngOptions = pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true}

// ngIface is what an interface description block says that answers
// depend on: the link type, snap length (simple packets) and timestamps.
type ngIface struct {
	linkType layers.LinkType
	snaplen  uint32
	tsresol  uint8
	offset   uint64
	// A timestamp is ts/secondMask seconds and ts%secondMask*scaleUp/scaleDown ns, as in pcapgo.
	secondMask, scaleUp, scaleDown uint64
}

// pcapng block types and option codes (IETF draft-ietf-opsawg-pcapng).
const (
	ngIDB = 1
	ngPB  = 2 // obsolete packet block
	ngSPB = 3
	ngNRB = 4
	ngISB = 5
	ngEPB = 6
	ngDSB = 0xa
	ngSHB = magicPcapngBlock

	ngByteOrderMagic = 0x1a2b3c4d
	ngOptTsresol     = 9
	ngOptTsoffset    = 14
)

func newPcapngReader(in io.Reader) (*pcapngReader, error) {
	return newPcapngReaderSize(in, chunkSize)
}

func newPcapngReaderSize(in io.Reader, size int) (*pcapngReader, error) {
	p := &pcapngReader{chunks: newChunks(in, size)}
	// pcapgo first peeks at two bytes for a gzip magic (Open has gunzipped
	// before this reader, and only a pcapng magic leads here).
	if err := p.need(2); err != nil {
		return nil, err
	}
	typ, err := p.block()
	if err != nil {
		return nil, err
	}
	if typ != ngSHB {
		//lint:ignore ST1005 pcapgo's words (see pcapngReader)
		return nil, fmt.Errorf("Unknown magic %x", typ)
	}
	if err := p.sectionHeader(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pcapngReader) u16(b []byte) uint16 {
	if p.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (p *pcapngReader) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (p *pcapngReader) order() interface {
	binary.ByteOrder
	binary.AppendByteOrder
} {
	if p.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// read returns the next n (at most a chunk's half) bytes, with pcapgo's
// readBytes errors: io.ErrUnexpectedEOF for any shortfall.
func (p *pcapngReader) read(n int) ([]byte, error) {
	if err := p.need(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	b := p.buf[p.r : p.r+n]
	p.r += n
	return b, nil
}

// consume passes over n bytes of any length, keeping the first of them in
// keep, with readBytes' errors.
func (p *pcapngReader) consume(n int, keep []byte) error {
	for n > 0 {
		if p.r == p.w {
			if err := p.need(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := min(n, p.w-p.r)
		keep = keep[copy(keep, p.buf[p.r:p.r+k]):]
		p.r += k
		n -= k
	}
	return nil
}

// discard is pcapgo's discard: bufio.Reader.Discard's errors, and the
// block's length goes down only when it worked.
func (p *pcapngReader) discard(n int) error {
	if err := p.consume(n, nil); err != nil {
		if err == io.ErrUnexpectedEOF {
			return err
		}
		return fmt.Errorf("could not discard %d bytes: %v", n, err)
	}
	p.length -= uint32(n)
	return nil
}

// block reads a block's type and length (pcapgo's readBlock): io.EOF only
// when the file ends where a block would start. A section header's byte
// order applies to its own length.
func (p *pcapngReader) block() (uint32, error) {
	if err := p.need(8); err != nil {
		return 0, err // io.EOF with no byte of it, io.ErrUnexpectedEOF with some
	}
	h := p.buf[p.r : p.r+8]
	typ := p.u32(h)
	if typ != ngSHB {
		p.r += 8
		p.length = p.u32(h[4:]) - 8
		return typ, nil
	}
	h, err := p.read(12)
	if err != nil {
		return 0, err
	}
	switch {
	case binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic:
		p.big = true
	case binary.LittleEndian.Uint32(h[8:]) == ngByteOrderMagic:
		p.big = false
	default:
		//lint:ignore ST1005 pcapgo's words (see pcapngReader)
		return 0, errors.New("Wrong byte order value in Section Header")
	}
	p.length = p.u32(h[4:]) - 12
	return typ, nil
}

// option reads one option (pcapgo's readOption) and returns its code, 0 at
// the end of options; the value's length and its first bytes are in
// vlen and p.opt. A block with 4 bytes left has ended its options even
// without an end-of-options option.
func (p *pcapngReader) option() (code uint16, vlen int, err error) {
	if p.length == 4 {
		return 0, 0, nil
	}
	h, err := p.read(4)
	if err != nil {
		return 0, 0, err
	}
	p.length -= 4
	code, vlen = p.u16(h), int(p.u16(h[2:]))
	if code == 0 {
		if vlen != 0 {
			//lint:ignore ST1005 pcapgo's words (see pcapngReader)
			return 0, 0, errors.New("End of Options must be zero length")
		}
		return 0, 0, nil
	}
	if vlen == 0 {
		return code, 0, nil
	}
	if err := p.consume(vlen, p.opt[:]); err != nil {
		return 0, 0, err
	}
	if pad := (4 - vlen%4) % 4; pad > 0 {
		if err := p.discard(pad); err != nil {
			return 0, 0, err
		}
	}
	p.length -= uint32(vlen)
	return code, vlen, nil
}

// options passes over a block's options, up to their end.
func (p *pcapngReader) options() error {
	for {
		code, _, err := p.option()
		if err != nil || code == 0 {
			return err
		}
	}
}

// sectionHeader reads a section header after its type, byte order and
// length (pcapgo's readSectionHeader): a section of another version than
// 1.0 is skipped up to the next section header, which is read instead.
func (p *pcapngReader) sectionHeader() error {
	p.ifaces = p.ifaces[:0]
	for {
		h, err := p.read(12)
		if err != nil {
			return err
		}
		p.length -= 12
		if p.u16(h) == 1 && p.u16(h[2:]) == 0 {
			break
		}
		if err := p.discard(int(p.length)); err != nil {
			return err
		}
		for {
			typ, err := p.block()
			if err != nil {
				return err
			}
			if typ == ngSHB {
				break
			}
			if err := p.discard(int(p.length)); err != nil {
				return err
			}
		}
	}
	if err := p.options(); err != nil {
		return err
	}
	return p.discard(int(p.length))
}

// iface reads an interface description block (pcapgo's
// readInterfaceDescriptor).
func (p *pcapngReader) iface() error {
	h, err := p.read(8)
	if err != nil {
		return err
	}
	p.length -= 8
	// pcapgo reads the link type as 16 bits, the reserved field after it unread.
	f := ngIface{linkType: layers.LinkType(p.u16(h)), snaplen: p.u32(h[4:])}
	for {
		code, vlen, err := p.option()
		if err != nil {
			return err
		}
		if code == 0 {
			break
		}
		// A value too short for its option is skipped, as pcapgo does.
		switch {
		case code == ngOptTsresol && vlen >= 1:
			f.tsresol = p.opt[0]
		case code == ngOptTsoffset && vlen >= 8:
			f.offset = p.order().Uint64(p.opt[:])
		}
	}
	if err := p.discard(int(p.length)); err != nil {
		return err
	}
	if f.tsresol == 0 {
		f.tsresol = 6
	}
	exp := f.tsresol & 0x7f
	if f.tsresol&0x80 != 0 {
		if exp > 63 {
			//lint:ignore ST1005 pcapgo's words (see pcapngReader)
			return fmt.Errorf("Timestamp resolution 2^-%d is too high", exp)
		}
		f.secondMask = 1 << exp
	} else {
		if exp > 63 {
			//lint:ignore ST1005 pcapgo's words (see pcapngReader)
			return fmt.Errorf("Timestamp resolution 10^-%d is too high", exp)
		}
		// 10^20 to 10^63 overflow and wrap in pcapgo, and are accepted.
		f.secondMask = 1
		for range exp {
			f.secondMask *= 10
		}
	}
	f.scaleUp, f.scaleDown = 1, 1
	if f.secondMask < 1e9 {
		f.scaleUp = 1e9 / f.secondMask
	} else {
		f.scaleDown = f.secondMask / 1e9
	}
	p.ifaces = append(p.ifaces, f)
	return nil
}

func (p *pcapngReader) noIface(id int) error {
	//lint:ignore ST1005 pcapgo's words (see pcapngReader)
	return fmt.Errorf("Interface id %d not present in section (have only %d interfaces)", id, len(p.ifaces))
}

// time is pcapgo's convertTime.
func (f *ngIface) time(ts uint64) time.Time {
	return time.Unix(int64(ts/f.secondMask+f.offset), int64(ts%f.secondMask*f.scaleUp/f.scaleDown)).UTC()
}

// statistics passes over an interface statistics block, with pcapgo's
// checks (readInterfaceStatistics): its counters change no answer here.
func (p *pcapngReader) statistics() error {
	h, err := p.read(12)
	if err != nil {
		return err
	}
	p.length -= 12
	if id := int(p.u32(h)); id >= len(p.ifaces) {
		return p.noIface(id)
	}
	if err := p.options(); err != nil {
		return err
	}
	return p.discard(int(p.length))
}

// packetHeader reads blocks up to a packet's and its header, into p.ci
// (pcapgo's readPacketHeader). It returns done when it has handed the
// rest of the file to pcapgo.
func (p *pcapngReader) packetHeader() (done bool, err error) {
	for {
		typ, err := p.block()
		if err != nil {
			return false, err
		}
		p.typ = typ
		switch typ {
		case ngEPB, ngPB:
			h, err := p.read(20)
			if err != nil {
				return false, err
			}
			p.length -= 20
			id := int(p.u32(h))
			if typ == ngPB {
				id = int(p.u16(h)) // then 16 bits of drops count
			}
			p.ci.InterfaceIndex = id
			if id >= len(p.ifaces) {
				return false, p.noIface(id)
			}
			p.ci.Timestamp = p.ifaces[id].time(uint64(p.u32(h[4:]))<<32 | uint64(p.u32(h[8:])))
			p.ci.CaptureLength = int(p.u32(h[12:]))
			p.ci.Length = int(p.u32(h[16:]))
		case ngSPB:
			h, err := p.read(4)
			if err != nil {
				return false, err
			}
			p.length -= 4
			p.ci.Timestamp = time.Time{}
			p.ci.InterfaceIndex = 0
			p.ci.Length = int(p.u32(h))
			p.ci.CaptureLength = p.ci.Length
			if len(p.ifaces) == 0 {
				//lint:ignore ST1005 pcapgo's words (see pcapngReader)
				return false, errors.New("At least one Interface is needed for a packet")
			}
			if s := p.ifaces[0].snaplen; s != 0 && uint32(p.ci.CaptureLength) > s {
				p.ci.CaptureLength = int(s)
			}
		case ngIDB:
			err = p.iface()
		case ngISB:
			err = p.statistics()
		case ngSHB:
			err = p.sectionHeader()
		case ngNRB, ngDSB:
			return true, p.failover()
		default:
			err = p.discard(int(p.length))
		}
		if err != nil {
			return false, err
		}
		if typ == ngEPB || typ == ngPB || typ == ngSPB {
			p.ancil[0] = p.ifaces[p.ci.InterfaceIndex].linkType
			return false, nil
		}
	}
}

// failover hands pcapgo the rest of the file from the block just begun:
// first a section header of the same byte order and the current section's
// interfaces (what pcapgo's answers from here depend on), then that block.
// pcapgo reads the synthetic blocks as it reads any, without a record.
func (p *pcapngReader) failover() error {
	o := p.order()
	// Section header: version 1.0, section length unknown, no options.
	syn := o.AppendUint32(nil, ngSHB)
	syn = o.AppendUint32(syn, 28)
	syn = o.AppendUint32(syn, ngByteOrderMagic)
	syn = o.AppendUint16(syn, 1)
	syn = o.AppendUint16(syn, 0)
	syn = o.AppendUint64(syn, ^uint64(0))
	syn = o.AppendUint32(syn, 28)
	for _, f := range p.ifaces {
		syn = o.AppendUint32(syn, ngIDB)
		syn = o.AppendUint32(syn, 44)
		syn = o.AppendUint16(syn, uint16(f.linkType))
		syn = o.AppendUint16(syn, 0)
		syn = o.AppendUint32(syn, f.snaplen)
		syn = o.AppendUint16(syn, ngOptTsresol)
		syn = o.AppendUint16(syn, 1)
		syn = append(syn, f.tsresol, 0, 0, 0)
		syn = o.AppendUint16(syn, ngOptTsoffset)
		syn = o.AppendUint16(syn, 8)
		syn = o.AppendUint64(syn, f.offset)
		syn = append(syn, 0, 0, 0, 0) // end of options
		syn = o.AppendUint32(syn, 44)
	}
	// The block's type and length were read just before: they are still
	// in the chunk, before r.
	rest := []io.Reader{bytes.NewReader(syn), bytes.NewReader(p.buf[p.r-8 : p.w])}
	if p.err != nil {
		rest = append(rest, errReader{p.err})
	} else {
		rest = append(rest, p.in)
	}
	ng, err := pcapgo.NewNgReader(io.MultiReader(rest...), ngOptions)
	if err != nil {
		return fmt.Errorf("pcapng failover: %w", err) // the synthetic header is valid: not expected
	}
	p.ng = ng
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// kept says whether the frames returned are Kept: once Release has been
// called, and until pcapgo reads the rest of the file.
func (p *pcapngReader) kept() bool { return p.releasing && p.ng == nil }

// ZeroCopyReadPacketData returns the next packet. Its data is valid until
// the next call, or, once Release has been called and while kept says so,
// until it is released. ci.AncillaryData[0] is the packet's link type,
// overwritten by the next call as pcapgo's is.
func (p *pcapngReader) ZeroCopyReadPacketData() (data []byte, ci gopacket.CaptureInfo, err error) {
	if p.ng != nil {
		return p.ng.ZeroCopyReadPacketData()
	}
	done, err := p.packetHeader()
	if done && err == nil {
		return p.ng.ZeroCopyReadPacketData()
	}
	if err != nil {
		return nil, ci, err
	}
	ci = p.ci
	ci.AncillaryData = p.ancil[:]
	n := ci.CaptureLength
	if data, err = p.record(n); err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, ci, err
	}
	// Counted now, and pinned: what follows the data in the block (read
	// now, since pcapgo returns its errors with this record) may move on
	// to another chunk, which must not read into this record's one.
	p.index++
	p.pinned = true
	defer func() { p.pinned = false }()
	p.length -= uint32(n)
	if pad := (4 - n&3) & 3; pad > 0 {
		if err = p.discard(pad); err != nil {
			return nil, ci, err
		}
	}
	if p.typ == ngEPB {
		if err = p.options(); err != nil {
			return nil, ci, err
		}
	}
	// pcapgo returns the record with an error found after it; fileSource
	// counts it as the damaged one.
	if err = p.discard(int(p.length)); err != nil {
		return nil, ci, err
	}
	return data, ci, nil
}
