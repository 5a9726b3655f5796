package decode

import (
	"encoding/binary"
	"net/netip"

	"ipsecmon/ipproto"
)

// TooBig is an ICMP "fragmentation needed and DF set" (type 3 code 4, RFC
// 792, with the next-hop MTU of RFC 1191 §4) or an ICMPv6 "packet too big"
// (type 2, RFC 4443 §3.2) about an IPsec or IKE packet: the path's MTU was
// smaller than a packet a peer sent, and the router that dropped it says
// so, quoting the start of the packet.
type TooBig struct {
	MTU uint32 // the next hop's MTU (0: the router did not say, RFC 792's form)
	// The quoted packet's header: its addresses, protocol (ESP, AH or
	// UDP), UDP ports, and the SPI when the quote reaches it (ESP, AH, ESP
	// in UDP 4500).
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	SPI              uint32
	HasSPI           bool
}

// IKE reports a quoted IKE message (UDP 500, or 4500 behind the non-ESP
// marker or too short to tell).
func (t *TooBig) IKE() bool { return t.Proto == ipproto.UDP && !t.HasSPI }

// ParseTooBig reads an ICMP (ipVersion 4) or ICMPv6 (6) message. ok is
// false for any other message, for a quote that is not of an IPsec or IKE
// packet, and for one too short to name the quoted packet's protocol and
// addresses; it never fails otherwise.
func ParseTooBig(ipVersion uint8, icmp []byte) (t TooBig, ok bool) {
	if len(icmp) < 8 {
		return t, false
	}
	var quote []byte
	switch {
	case ipVersion == 4 && icmp[0] == 3 && icmp[1] == 4:
		t.MTU = uint32(binary.BigEndian.Uint16(icmp[6:8]))
		q := icmp[8:]
		if len(q) < 20 || q[0]>>4 != 4 {
			return t, false
		}
		hl := int(q[0]&0x0f) * 4
		if hl < 20 || len(q) < hl {
			return t, false
		}
		t.Proto = q[9]
		t.Src, t.Dst = netip.AddrFrom4([4]byte(q[12:16])), netip.AddrFrom4([4]byte(q[16:20]))
		quote = q[hl:]
	case ipVersion == 6 && icmp[0] == 2 && icmp[1] == 0:
		t.MTU = binary.BigEndian.Uint32(icmp[4:8])
		q := icmp[8:]
		if len(q) < 40 || q[0]>>4 != 6 {
			return t, false
		}
		t.Proto = q[6]
		t.Src, t.Dst = netip.AddrFrom16([16]byte(q[8:24])), netip.AddrFrom16([16]byte(q[24:40]))
		quote = q[40:]
	default:
		return t, false
	}
	switch t.Proto {
	case ipproto.ESP:
		if len(quote) >= 4 {
			t.SPI, t.HasSPI = binary.BigEndian.Uint32(quote), true
		}
		return t, true
	case ipproto.AH:
		if len(quote) >= 8 {
			t.SPI, t.HasSPI = binary.BigEndian.Uint32(quote[4:8]), true
		}
		return t, true
	case ipproto.UDP:
		if len(quote) < 4 {
			return t, false
		}
		t.SrcPort, t.DstPort = binary.BigEndian.Uint16(quote), binary.BigEndian.Uint16(quote[2:4])
		if t.SrcPort != PortIKE && t.DstPort != PortIKE && t.SrcPort != PortNATT && t.DstPort != PortNATT {
			return t, false
		}
		// RFC 3948 §2.2: a UDP 4500 payload starting with a non-zero SPI is
		// ESP; zero is the non-ESP marker of IKE.
		natt := t.SrcPort == PortNATT || t.DstPort == PortNATT
		if natt && len(quote) >= 12 {
			if spi := binary.BigEndian.Uint32(quote[8:12]); spi != 0 {
				t.SPI, t.HasSPI = spi, true
			}
		}
		return t, true
	}
	return t, false
}
