package espcrypto

import (
	"crypto/subtle"
	"encoding/binary"

	"ipsecmon/ipproto"
)

const ahFixedLen = 12 // next header, length, reserved, SPI, sequence number

// VerifyAH checks the ICV of an AH packet (RFC 4302 §3.4.4). pkt is the
// whole IP packet (IPv4 or IPv6, starting at the IP header) and ahOff the
// offset of the AH header in it. The ICV is computed over a copy of the
// packet in which the fields that change in transit are zeroed (RFC 4302
// §3.3.3.1) and the ICV itself is zero; pkt is not modified. seqHi is the
// ESN high half, appended to the packet for the ICV when the SA uses ESN
// (RFC 4302 §3.3.3.2.1).
//
// On success Payload is the data after the AH header and NextHeader the AH
// next header. SAs with an "unchecked" integrity placeholder are accepted
// after the header checks.
func (t *Transform) VerifyAH(pkt []byte, ahOff int, seqHi uint32) Result {
	if t.proto != ipproto.AH {
		return Result{Outcome: Malformed, Reason: ReasonBadHeader}
	}
	end, r := ipEnd(pkt)
	if r != ReasonNone {
		return Result{Outcome: Malformed, Reason: r}
	}
	if ahOff < 0 || ahOff+ahFixedLen > end {
		return Result{Outcome: Malformed, Reason: ReasonTruncated}
	}
	ahLen := (int(pkt[ahOff+1]) + 2) * 4
	if ahOff+ahLen > end {
		return Result{Outcome: Malformed, Reason: ReasonTruncated}
	}
	if ahLen-ahFixedLen < t.icvLen {
		return Result{Outcome: Malformed, Reason: ReasonBadHeader}
	}
	res := Result{NextHeader: pkt[ahOff], Payload: pkt[ahOff+ahLen : end]}
	if !t.check {
		// Still make sure the header chain is one we understand.
		if r := t.zeroMutable(pkt[:end], ahOff, false); r != ReasonNone {
			return Result{Outcome: Malformed, Reason: r}
		}
		res.Outcome = Accepted
		return res
	}
	t.buf2 = grow(t.buf2, end)
	s := t.buf2
	copy(s, pkt[:end])
	if r := t.zeroMutable(s, ahOff, true); r != ReasonNone {
		return Result{Outcome: Malformed, Reason: r}
	}
	icvOff := ahOff + ahFixedLen
	// Linux zeroes the truncated ICV only; any padding after it is covered
	// as sent (RFC 4302 §2.6 includes it in the ICV computation).
	clear(s[icvOff : icvOff+t.icvLen])
	t.mac.Reset()
	t.mac.Write(s)
	if t.esn {
		binary.BigEndian.PutUint32(t.hi[:], seqHi)
		t.mac.Write(t.hi[:])
	}
	sum := t.mac.Sum(t.sum[:0])
	if subtle.ConstantTimeCompare(sum[:t.icvLen], pkt[icvOff:icvOff+t.icvLen]) != 1 {
		return Result{Outcome: NotAuthenticated, Reason: ReasonICVMismatch, NextHeader: res.NextHeader}
	}
	res.Outcome = Accepted
	return res
}

// ipEnd is the end of the IP packet as its header states (trailing link
// padding is not covered by the ICV).
func ipEnd(pkt []byte) (int, Reason) {
	if len(pkt) < 1 {
		return 0, ReasonTruncated
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return 0, ReasonTruncated
		}
		ihl := int(pkt[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(pkt[2:]))
		if ihl < 20 || total < ihl {
			return 0, ReasonBadHeader
		}
		if total > len(pkt) || ihl > len(pkt) {
			return 0, ReasonTruncated
		}
		// RFC 4302 §3.4.1: AH is verified on the reassembled packet.
		if binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
			return 0, ReasonFragment
		}
		return total, ReasonNone
	case 6:
		if len(pkt) < 40 {
			return 0, ReasonTruncated
		}
		plen := int(binary.BigEndian.Uint16(pkt[4:]))
		if plen == 0 {
			return 0, ReasonUnsupported // jumbogram
		}
		if 40+plen > len(pkt) {
			return 0, ReasonTruncated
		}
		return 40 + plen, ReasonNone
	}
	return 0, ReasonBadHeader
}

// zeroMutable puts s, a copy of the packet, into the form the ICV covers.
// With write false it only validates the header chain.
func (t *Transform) zeroMutable(s []byte, ahOff int, write bool) Reason {
	if s[0]>>4 == 4 {
		return zeroIPv4(s, ahOff, write)
	}
	return zeroIPv6(s, ahOff, write)
}

// zeroIPv4 follows RFC 4302 §3.3.3.1.1 and Appendix A.1, as Linux does:
// TOS, flags and fragment offset, TTL and checksum are zeroed; of the
// options, EOL, NOP, the security options and Router Alert are kept and all
// others zeroed whole; with a source route the destination is the route's
// last address, where the packet is going.
func zeroIPv4(s []byte, ahOff int, write bool) Reason {
	ihl := int(s[0]&0x0f) * 4
	if ahOff != ihl {
		return ReasonBadHeader
	}
	if write {
		s[1] = 0
		s[6], s[7] = 0, 0
		s[8] = 0
		s[10], s[11] = 0, 0
	}
	opts := s[20:ihl]
	for i := 0; i < len(opts); {
		typ := opts[i]
		if typ == 0 { // end of options; the rest is padding, kept as sent
			break
		}
		if typ == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) {
			return ReasonBadHeader
		}
		l := int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return ReasonBadHeader
		}
		opt := opts[i : i+l]
		switch typ {
		case 130, 133, 134, 148, 149: // immutable: security, extended/commercial security, router alert, SDB
		case 131, 137: // loose and strict source route: mutable but predictable
			if l < 7 {
				return ReasonBadHeader
			}
			if write {
				copy(s[16:20], opt[l-4:])
				clear(opt)
			}
		default:
			if write {
				clear(opt)
			}
		}
		i += l
	}
	return ReasonNone
}

// zeroIPv6 follows RFC 4302 §3.3.3.1.2, as Linux does: traffic class, flow
// label and hop limit are zeroed; Hop-by-Hop and Destination options whose
// type has the "may change en route" bit (0x20, RFC 8200 §4.2) have their
// data zeroed; a Type 0 or Type 2 routing header still in transit is put in
// the order the destination will see.
func zeroIPv6(s []byte, ahOff int, write bool) Reason {
	if write {
		s[0] &= 0xf0
		s[1], s[2], s[3] = 0, 0, 0
		s[7] = 0
	}
	nh := s[6]
	off := 40
	for off < ahOff {
		if off+8 > len(s) {
			return ReasonTruncated
		}
		var l int
		switch nh {
		case 0, 60: // Hop-by-Hop, Destination Options
			l = (int(s[off+1]) + 1) * 8
			if off+l > ahOff {
				return ReasonBadHeader
			}
			if r := zeroOptions(s[off+2:off+l], write); r != ReasonNone {
				return r
			}
		case 43: // Routing
			l = (int(s[off+1]) + 1) * 8
			if off+l > ahOff {
				return ReasonBadHeader
			}
			if r := predictRouting(s, s[off:off+l], write); r != ReasonNone {
				return r
			}
		case 44:
			return ReasonFragment
		default:
			return ReasonBadHeader
		}
		nh = s[off]
		off += l
	}
	if off != ahOff || nh != ipproto.AH {
		return ReasonBadHeader
	}
	return ReasonNone
}

func zeroOptions(opts []byte, write bool) Reason {
	for i := 0; i < len(opts); {
		if opts[i] == 0 { // Pad1
			i++
			continue
		}
		if i+1 >= len(opts) {
			return ReasonBadHeader
		}
		l := int(opts[i+1])
		if i+2+l > len(opts) {
			return ReasonBadHeader
		}
		if write && opts[i]&0x20 != 0 {
			clear(opts[i+2 : i+2+l])
		}
		i += 2 + l
	}
	return ReasonNone
}

// predictRouting rewrites a Type 0 (RFC 2460) or Type 2 (RFC 6275) routing
// header with segments left as the final destination receives it: the
// addresses visited so far, the current destination, the rest of the route
// but the last, which becomes the destination; segments left becomes 0.
func predictRouting(s, rh []byte, write bool) Reason {
	segLeft := int(rh[3])
	if segLeft == 0 {
		return ReasonNone
	}
	typ := rh[2]
	if typ != 0 && typ != 2 {
		return ReasonUnsupported
	}
	n := (len(rh) - 8) / 16
	if segLeft > n {
		return ReasonBadHeader
	}
	if !write {
		return ReasonNone
	}
	addrs := rh[8 : 8+16*n]
	var final [16]byte
	copy(final[:], addrs[16*(n-1):])
	first := n - segLeft
	copy(addrs[16*(first+1):], addrs[16*first:16*(n-1)])
	copy(addrs[16*first:], s[24:40])
	copy(s[24:40], final[:])
	rh[3] = 0
	return ReasonNone
}
