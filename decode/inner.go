package decode

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Inner summarises what an IPsec SA carries: the payload after AH (cleartext)
// or after ESP decryption. For tunnel mode (next header 4 or 41, RFC 4301
// §5.1.2) it holds the inner addresses; for TCP, UDP and SCTP the ports,
// which fill the SA view's Protocol, My Port and Peer Port columns.
type Inner struct {
	Tunnel           bool
	Src, Dst         netip.Addr // inner addresses (tunnel mode only)
	Proto            uint8      // transport protocol finally carried
	HasPorts         bool
	SrcPort, DstPort uint16
}

// ParseInner reads the start of an IPsec payload whose next header is nh.
func ParseInner(nh uint8, data []byte) (Inner, error) {
	var in Inner
	switch nh {
	case protoIPIP:
		in.Tunnel = true
		if len(data) < 20 || data[0]>>4 != 4 {
			return in, fmt.Errorf("inner IPv4 header: %d bytes, version %d", len(data), versionOf(data))
		}
		ihl := int(data[0]&0x0f) * 4
		if ihl < 20 || ihl > len(data) {
			return in, fmt.Errorf("inner IPv4 header length %d", ihl)
		}
		in.Src = netip.AddrFrom4([4]byte(data[12:16]))
		in.Dst = netip.AddrFrom4([4]byte(data[16:20]))
		nh = data[9]
		// A non-first inner fragment has no transport header to read.
		if binary.BigEndian.Uint16(data[6:8])&0x1fff != 0 {
			in.Proto = nh
			return in, nil
		}
		data = data[ihl:]
	case protoIPv6:
		in.Tunnel = true
		if len(data) < 40 || data[0]>>4 != 6 {
			return in, fmt.Errorf("inner IPv6 header: %d bytes, version %d", len(data), versionOf(data))
		}
		in.Src = netip.AddrFrom16([16]byte(data[8:24]))
		in.Dst = netip.AddrFrom16([16]byte(data[24:40]))
		nh = data[6]
		data = data[40:]
		for isIPv6Ext(nh) && len(data) >= 8 {
			n := (int(data[1]) + 1) * 8
			if nh == 44 { // Fragment header: fixed 8 bytes; later fragments carry no ports
				if binary.BigEndian.Uint16(data[2:4])>>3 != 0 {
					in.Proto = data[0]
					return in, nil
				}
				n = 8
			}
			if n > len(data) {
				break
			}
			nh = data[0]
			data = data[n:]
		}
	}
	in.Proto = nh
	switch nh {
	case 6, 17, 132: // TCP, UDP, SCTP: ports first
		if len(data) >= 4 {
			in.HasPorts = true
			in.SrcPort = binary.BigEndian.Uint16(data[0:2])
			in.DstPort = binary.BigEndian.Uint16(data[2:4])
		}
	}
	return in, nil
}

// InnerHead is how much of a payload ParseInner reads, unless
// ReadsPastHead says it reads more: the largest IPv4 header (60 bytes)
// and the ports after it; an IPv6 header (40) and the ports.
const InnerHead = 64

// ReadsPastHead reports whether ParseInner(nh, data) may read past
// data[:InnerHead], given those first bytes: an inner IPv6 packet whose
// fixed header is followed by extension headers (their chain has no bound
// but the packet's length).
func ReadsPastHead(nh uint8, head []byte) bool {
	return nh == protoIPv6 && len(head) >= 40 && isIPv6Ext(head[6])
}

func isIPv6Ext(nh uint8) bool {
	return nh == 0 || nh == 43 || nh == 44 || nh == 60
}

func versionOf(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0] >> 4)
}
