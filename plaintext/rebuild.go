// Package plaintext turns verified IPsec packets back into the packets
// they carried and writes them out in capture order (`ipsecmon decrypt`).
// The plaintext comes from the analyzer's own verification
// (analyzer.Config.OnOpened): there is no second decryption here.
//
// Tunnel mode (next header 4 or 41) carries a whole IP packet, written as
// it left the tunnel. Transport mode carries only what followed the IP
// header, which is rebuilt from the outer one as a receiver rebuilds it
// (Linux xfrm4/xfrm6 transport input): the protocol becomes the ESP/AH
// next header, the length covers the payload, the IPv4 checksum is
// computed again; UDP encapsulation (RFC 3948) and AH headers in front of
// ESP are removed.
package plaintext

import (
	"encoding/binary"
	"errors"
	"fmt"

	"ipsecmon/ipdefrag"
	"ipsecmon/ipproto"
)

// Protocol numbers of the IP-in-IP payloads (tunnel mode).
const (
	protoIPv4 = 4
	protoIPv6 = 41
	protoUDP  = 17
	protoNone = 59 // RFC 4303 §2.6: dummy packet
)

// Tunnel reports a next header that makes the plaintext a whole IP packet.
func Tunnel(nh uint8) bool { return nh == protoIPv4 || nh == protoIPv6 }

// Packet returns the IP packet a verified IPsec packet carried: the
// payload itself in tunnel mode; in transport mode the payload behind an
// IP header rebuilt from header (the outer IP packet up to the IPsec
// header, as analyzer.Opened gives it). The result is newly allocated.
func Packet(header []byte, nh uint8, payload []byte) ([]byte, error) {
	if Tunnel(nh) {
		return append([]byte(nil), payload...), nil
	}
	if len(header) == 0 {
		return nil, errors.New("no IP header in front of the IPsec header")
	}
	switch header[0] >> 4 {
	case 4:
		return transport4(header, nh, payload)
	case 6:
		return transport6(header, nh, payload)
	}
	return nil, fmt.Errorf("IP version %d in front of the IPsec header", header[0]>>4)
}

func transport4(header []byte, nh uint8, payload []byte) ([]byte, error) {
	if len(header) < 20 {
		return nil, fmt.Errorf("IPv4 header of %d bytes", len(header))
	}
	ihl := int(header[0]&0x0f) * 4
	if ihl < 20 || ihl > len(header) {
		return nil, fmt.Errorf("IPv4 header length %d in %d bytes", ihl, len(header))
	}
	total := ihl + len(payload)
	if total > 0xffff {
		return nil, fmt.Errorf("IPv4 packet of %d bytes", total)
	}
	out := make([]byte, total)
	copy(out, header[:ihl])
	copy(out[ihl:], payload)
	binary.BigEndian.PutUint16(out[2:], uint16(total))
	// The payload is whole (a fragmented datagram was reassembled before
	// it was verified): keep DF, clear MF and the offset.
	out[6] &= 0x40
	out[7] = 0
	out[9] = nh
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:], ipdefrag.Checksum(out[:ihl]))
	return out, nil
}

// transport6 keeps the fixed header and the extension headers that came
// before ESP, AH or the UDP of RFC 3948, and points the last of them at
// the payload's protocol.
func transport6(header []byte, nh uint8, payload []byte) ([]byte, error) {
	if len(header) < 40 {
		return nil, fmt.Errorf("IPv6 header of %d bytes", len(header))
	}
	at, next, off := 6, header[6], 40 // at: the Next Header byte naming what is at off
	for next != ipproto.ESP && next != ipproto.AH && next != protoUDP {
		if off+8 > len(header) || !extension(next) {
			return nil, fmt.Errorf("IPv6 header chain: next header %d at byte %d does not lead to ESP, AH or UDP", next, off)
		}
		n := (int(header[off+1]) + 1) * 8
		if next == 44 {
			n = 8 // the Fragment header's length field is reserved
		}
		if off+n > len(header) {
			return nil, fmt.Errorf("IPv6 extension header %d at byte %d runs past the header", next, off)
		}
		at, next, off = off, header[off], off+n
	}
	plen := off - 40 + len(payload)
	if plen > 0xffff {
		return nil, fmt.Errorf("IPv6 payload of %d bytes", plen)
	}
	out := make([]byte, off+len(payload))
	copy(out, header[:off])
	copy(out[off:], payload)
	out[at] = nh
	binary.BigEndian.PutUint16(out[4:], uint16(plen))
	return out, nil
}

// extension reports the IPv6 extension headers that may come before ESP
// (RFC 8200 §4.1: Hop-by-Hop, Routing, Fragment, Destination Options).
func extension(nh uint8) bool { return nh == 0 || nh == 43 || nh == 44 || nh == 60 }
