package decode

import "encoding/binary"

// Hand-built packets for the tests: each builder writes the header fields
// exactly as the RFCs lay them out, so expected offsets and lengths in the
// tests can be worked out on paper.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func ethHdr(etype uint16) []byte {
	return cat([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, u16(etype))
}

func vlanTag(id, etype uint16) []byte { return cat(u16(id), u16(etype)) }

// ipv4 builds an IPv4 header (20 bytes, no options) for a payload of n bytes.
func ipv4(proto uint8, src, dst [4]byte, n int, flagsFrag uint16) []byte {
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

func ipv6(next uint8, src, dst [16]byte, n int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	h[6] = next
	h[7] = 64
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
	return h
}

func udp(sport, dport uint16, n int) []byte {
	return cat(u16(sport), u16(dport), u16(uint16(8+n)), u16(0))
}

// esp is an ESP header plus body bytes standing for IV, ciphertext and ICV.
func esp(spi, seq uint32, body int) []byte {
	return cat(u32(spi), u32(seq), make([]byte, body))
}

// ah is an AH header with an ICV of icv bytes (payload len = total/4 - 2).
func ah(next uint8, spi, seq uint32, icv int) []byte {
	total := 12 + icv
	return cat([]byte{next, byte(total/4 - 2), 0, 0}, u32(spi), u32(seq), make([]byte, icv))
}

// ikeHdr is an IKE header (RFC 7296 §3.1) with length field n.
func ikeHdr(version, exchange, flags uint8, msgID uint32, n int) []byte {
	return cat(make([]byte, 8), make([]byte, 8), []byte{33, version, exchange, flags}, u32(msgID), u32(uint32(n)))
}

var (
	a1  = [4]byte{192, 0, 2, 1}
	a2  = [4]byte{198, 51, 100, 2}
	v6a = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	v6b = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)
