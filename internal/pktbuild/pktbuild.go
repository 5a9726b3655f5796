// Package pktbuild builds packets byte by byte for tests: each builder
// writes the header fields exactly as the RFCs lay them out, so the offsets,
// lengths and counts a test expects can be worked out on paper.
package pktbuild

import (
	"encoding/binary"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Cat concatenates byte slices.
func Cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// U16 and U32 are big-endian integers.
func U16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func U32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// Eth is an Ethernet header with the given EtherType.
func Eth(etype uint16) []byte {
	return Cat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, U16(etype))
}

// VLAN is an 802.1Q/802.1ad tag.
func VLAN(id, etype uint16) []byte { return Cat(U16(id), U16(etype)) }

// IPv4 builds an IPv4 header (20 bytes, no options) for a payload of n bytes.
func IPv4(proto uint8, src, dst [4]byte, n int, flagsFrag uint16) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	binary.BigEndian.PutUint16(h[6:], flagsFrag)
	h[8] = 64
	h[9] = proto
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	return h
}

// IPv6 builds a fixed IPv6 header for a payload of n bytes.
func IPv6(next uint8, src, dst [16]byte, n int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	h[6] = next
	h[7] = 64
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
	return h
}

// UDP is a UDP header for a payload of n bytes (checksum 0).
func UDP(sport, dport uint16, n int) []byte {
	return Cat(U16(sport), U16(dport), U16(uint16(8+n)), U16(0))
}

// ESP is an ESP header plus body bytes standing for IV, ciphertext and ICV.
func ESP(spi, seq uint32, body int) []byte {
	return Cat(U32(spi), U32(seq), make([]byte, body))
}

// AH is an AH header with an ICV of icv bytes (payload len = total/4 - 2).
func AH(next uint8, spi, seq uint32, icv int) []byte {
	total := 12 + icv
	return Cat([]byte{next, byte(total/4 - 2), 0, 0}, U32(spi), U32(seq), make([]byte, icv))
}

// IKEHeader is an IKE header (RFC 7296 §3.1) with length field n.
func IKEHeader(version, exchange, flags uint8, msgID uint32, n int) []byte {
	return Cat(make([]byte, 8), make([]byte, 8), []byte{33, version, exchange, flags}, U32(msgID), U32(uint32(n)))
}

// Documentation addresses (RFC 5737, RFC 3849).
var (
	A1  = [4]byte{192, 0, 2, 1}
	A2  = [4]byte{198, 51, 100, 2}
	V6A = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	V6B = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

// IPv4Addr returns a 10.0.0.x address for concise test tables.
func IPv4Addr(x byte) [4]byte { return [4]byte{10, 0, 0, x} }

// Frame is one packet for WritePcap.
type Frame struct {
	Data []byte
	// WireLen, when larger than len(Data), records a snap-length cut.
	WireLen int
}

// WritePcap writes frames as a raw-IP pcap, one second apart from t0.
func WritePcap(path string, t0 time.Time, frames []Frame) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		f.Close()
		return err
	}
	for i, fr := range frames {
		wl := fr.WireLen
		if wl < len(fr.Data) {
			wl = len(fr.Data)
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(fr.Data), Length: wl}
		if err := w.WritePacket(ci, fr.Data); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// ESPPacket is a raw IPv4 packet carrying an ESP packet of espLen bytes
// (from the SPI to the end of the IP packet).
func ESPPacket(src, dst [4]byte, spi, seq uint32, espLen int) []byte {
	return Cat(IPv4(50, src, dst, espLen, 0), ESP(spi, seq, espLen-8))
}

// ESPinUDPPacket is ESP of espLen bytes in UDP 4500 (RFC 3948).
func ESPinUDPPacket(src, dst [4]byte, spi, seq uint32, espLen int) []byte {
	return Cat(IPv4(17, src, dst, 8+espLen, 0), UDP(4500, 4500, espLen), ESP(spi, seq, espLen-8))
}

// AHPacket is IPv4 with an AH header (12-byte ICV) whose span from the AH
// header to the end of the packet is ahLen bytes; next is AH's next header.
func AHPacket(src, dst [4]byte, spi, seq uint32, next uint8, ahLen int) []byte {
	return Cat(IPv4(51, src, dst, ahLen, 0), AH(next, spi, seq, 12), make([]byte, ahLen-24))
}

// FragmentIPv6 splits an IPv6 packet the way its sender would (RFC 8200
// §4.5): the first unfrag bytes (fixed header and the extension headers
// that precede fragmentation) are repeated in every fragment, whose Next
// Header byte at nhAt then names the Fragment header (44); the rest is cut
// as cut does.
func FragmentIPv6(pkt []byte, unfrag, nhAt int, id uint32, sizes ...int) [][]byte {
	return cut(pkt[unfrag:], sizes, func(off int, piece []byte, more bool) []byte {
		fo := uint16(off/8) << 3
		if more {
			fo |= 1
		}
		f := Cat(pkt[:unfrag], []byte{pkt[nhAt], 0}, U16(fo), U32(id), piece)
		f[nhAt] = 44
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		return f
	})
}

// FragmentIPv4 splits an IPv4 packet with a 20-byte header as its sender
// would (RFC 791): the data is cut as cut does, MF set on all but the last
// fragment, the header repeated with its length, identification and
// offset set. Checksums stay 0, as pktbuild leaves them.
func FragmentIPv4(pkt []byte, id uint16, sizes ...int) [][]byte {
	return cut(pkt[20:], sizes, func(off int, piece []byte, more bool) []byte {
		fo := uint16(off / 8)
		if more {
			fo |= 0x2000
		}
		f := Cat(pkt[:20], piece)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		binary.BigEndian.PutUint16(f[4:], id)
		binary.BigEndian.PutUint16(f[6:], fo)
		return f
	})
}

// cut splits data into pieces of the given sizes (multiples of 8 but the
// last, which takes what remains) and makes each into a fragment.
func cut(data []byte, sizes []int, frag func(off int, piece []byte, more bool) []byte) [][]byte {
	var out [][]byte
	for off, i := 0, 0; off < len(data); i++ {
		n := len(data) - off
		if i < len(sizes) && sizes[i] < n {
			n = sizes[i]
		}
		out = append(out, frag(off, data[off:off+n], off+n < len(data)))
		off += n
	}
	return out
}
