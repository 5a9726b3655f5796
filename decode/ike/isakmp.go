package ike

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// DOIIPsec is the IPsec Domain of Interpretation (RFC 2407 §4.2).
const DOIIPsec uint32 = 1

// SAv1 is an IKEv1 Security Association payload (RFC 2408 §3.4).
type SAv1 struct {
	DOI       uint32
	Situation uint32
	Proposals []ProposalV1
}

// ProposalV1 is a proposal (RFC 2408 §3.5). Proposals that share a number
// form one SA bundle (e.g. AH and ESP together); different numbers are
// alternatives in the sender's order of preference.
type ProposalV1 struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte
	Transforms []TransformV1
}

// SPI32 is the 4-byte AH/ESP SPI of the proposal, false for other sizes.
func (p ProposalV1) SPI32() (uint32, bool) {
	if len(p.SPI) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.SPI), true
}

// TransformV1 is a transform (RFC 2408 §3.6). ID is KEY_IKE (1) in phase 1 and
// an AH/ESP/IPCOMP transform ID in phase 2 (RFC 2407 §4.4).
type TransformV1 struct {
	Number uint8
	ID     uint8
	Attrs  []Attribute
}

// ParseSAv1 reads the body of an SA payload.
func ParseSAv1(body []byte) (SAv1, error) {
	var sa SAv1
	if len(body) < 8 {
		return sa, fmt.Errorf("SA: %d bytes, need 8 for DOI and situation: %w", len(body), ErrTruncated)
	}
	sa.DOI = binary.BigEndian.Uint32(body)
	sa.Situation = binary.BigEndian.Uint32(body[4:])
	rest := body[8:]
	// SIT_SECRECY and SIT_INTEGRITY add labelled-domain data (RFC 2407 §4.6.1),
	// never seen in practice; refuse rather than misread the proposals.
	if sa.DOI == DOIIPsec && sa.Situation&^1 != 0 {
		return sa, fmt.Errorf("SA: situation %#x with labelled domain data is not supported: %w", sa.Situation, ErrMalformed)
	}
	err := eachSubstructure(PayloadProposal, rest, func(i int, b []byte) error {
		var p ProposalV1
		h, err := parseProposalCommon(b, func(hdr []byte, attrs []Attribute) error {
			p.Transforms = append(p.Transforms, TransformV1{Number: hdr[0], ID: hdr[1], Attrs: attrs})
			return nil
		})
		if err != nil {
			return fmt.Errorf("proposal %d: %w", i, err)
		}
		p.Number, p.Protocol, p.SPI = h.Number, h.Protocol, h.SPI
		sa.Proposals = append(sa.Proposals, p)
		return nil
	})
	if err != nil {
		return sa, fmt.Errorf("SA: %w", err)
	}
	return sa, nil
}

// IDv1 is an IKEv1 identification payload (RFC 2407 §4.6.2): a phase 1
// identity or, in Quick Mode, a client ID (IDci/IDcr) selecting traffic.
type IDv1 struct {
	Type     IDType
	Protocol uint8 // IP protocol, 0 = any
	Port     uint16
	Data     []byte
}

// ParseIDv1 reads the body of an ID payload.
func ParseIDv1(body []byte) (IDv1, error) {
	if len(body) < 4 {
		return IDv1{}, fmt.Errorf("ID: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	return IDv1{
		Type:     IDType(body[0]),
		Protocol: body[1],
		Port:     binary.BigEndian.Uint16(body[2:]),
		Data:     body[4:],
	}, nil
}

// AddrRange returns the addresses an address-type ID covers: a single
// address, a subnet (address and mask, RFC 2407 §4.6.2.4) or a range.
func (id IDv1) AddrRange() (lo, hi netip.Addr, err error) {
	return idAddrRange(id.Type, id.Data)
}

func idAddrRange(t IDType, d []byte) (lo, hi netip.Addr, err error) {
	n := idAddrLen(t)
	if n == 0 {
		return lo, hi, fmt.Errorf("ID type %v is not an address: %w", t, ErrMalformed)
	}
	if len(d) != n {
		return lo, hi, fmt.Errorf("ID type %v: %d bytes of data, want %d: %w", t, len(d), n, ErrMalformed)
	}
	switch t {
	case IDIPv4, IDIPv6:
		a, _ := netip.AddrFromSlice(d)
		return a, a, nil
	case IDIPv4Range, IDIPv6Range:
		lo, _ = netip.AddrFromSlice(d[:n/2])
		hi, _ = netip.AddrFromSlice(d[n/2:])
		if hi.Less(lo) {
			return lo, hi, fmt.Errorf("ID range %v-%v is reversed: %w", lo, hi, ErrMalformed)
		}
		return lo, hi, nil
	}
	// Subnet: the mask need not be contiguous on the wire; the covered range is
	// address&mask .. address|^mask either way.
	h := n / 2
	l := make([]byte, h)
	u := make([]byte, h)
	for i := 0; i < h; i++ {
		l[i] = d[i] & d[h+i]
		u[i] = d[i] | ^d[h+i]
	}
	lo, _ = netip.AddrFromSlice(l)
	hi, _ = netip.AddrFromSlice(u)
	return lo, hi, nil
}

func idAddrLen(t IDType) int {
	switch t {
	case IDIPv4:
		return 4
	case IDIPv6:
		return 16
	case IDIPv4Subnet, IDIPv4Range:
		return 8
	case IDIPv6Subnet, IDIPv6Range:
		return 32
	}
	return 0
}

// Prefix is the subnet an ID names when it is one (single address, subnet
// with a contiguous mask, or a range that is exactly a prefix).
func (id IDv1) Prefix() (netip.Prefix, bool) {
	lo, hi, err := id.AddrRange()
	if err != nil {
		return netip.Prefix{}, false
	}
	return rangePrefix(lo, hi)
}

func rangePrefix(lo, hi netip.Addr) (netip.Prefix, bool) {
	if !lo.IsValid() || !hi.IsValid() || lo.Is4() != hi.Is4() {
		return netip.Prefix{}, false
	}
	for bits := 0; bits <= lo.BitLen(); bits++ {
		p, err := lo.Prefix(bits)
		if err != nil || p.Addr() != lo {
			continue
		}
		if lastAddr(p) == hi {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// String shows the identity in the usual textual form.
func (id IDv1) String() string {
	s := idString(id.Type, id.Data)
	if id.Protocol != 0 || id.Port != 0 {
		s += fmt.Sprintf(" proto %d port %d", id.Protocol, id.Port)
	}
	return s
}

func idString(t IDType, d []byte) string {
	switch t {
	case IDIPv4, IDIPv6, IDIPv4Subnet, IDIPv6Subnet, IDIPv4Range, IDIPv6Range:
		lo, hi, err := idAddrRange(t, d)
		if err != nil {
			return t.String() + " (malformed)"
		}
		if lo == hi {
			return lo.String()
		}
		if p, ok := rangePrefix(lo, hi); ok {
			return p.String()
		}
		return lo.String() + "-" + hi.String()
	case IDFQDN, IDUserFQDN, IDKeyID:
		return printable(d)
	}
	return fmt.Sprintf("%v (%d bytes)", t, len(d))
}

// printable quotes non-printable bytes so that identities from the wire
// cannot inject control characters into logs and views.
func printable(d []byte) string {
	out := make([]byte, 0, len(d))
	for _, c := range d {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = fmt.Appendf(out, "\\x%02x", c)
		}
	}
	return string(out)
}

// NotifyV1 is an IKEv1 notification payload (RFC 2408 §3.14).
type NotifyV1 struct {
	DOI      uint32
	Protocol ProtocolID
	Type     NotifyTypeV1
	SPI      []byte
	Data     []byte
}

// ParseNotifyV1 reads the body of a notification payload.
func ParseNotifyV1(body []byte) (NotifyV1, error) {
	var n NotifyV1
	if len(body) < 8 {
		return n, fmt.Errorf("notify: %d bytes, need 8: %w", len(body), ErrTruncated)
	}
	n.DOI = binary.BigEndian.Uint32(body)
	n.Protocol = ProtocolID(body[4])
	spiSize := int(body[5])
	n.Type = NotifyTypeV1(binary.BigEndian.Uint16(body[6:]))
	if spiSize > len(body)-8 {
		return n, fmt.Errorf("notify %v: SPI size %d, only %d bytes left: %w", n.Type, spiSize, len(body)-8, ErrTruncated)
	}
	n.SPI = body[8 : 8+spiSize : 8+spiSize]
	n.Data = body[8+spiSize:]
	return n, nil
}

// DeleteV1 is an IKEv1 delete payload (RFC 2408 §3.15). For AH/ESP it names
// the SPIs the sender receives on; for ISAKMP the SPI is the cookie pair.
type DeleteV1 struct {
	DOI      uint32
	Protocol ProtocolID
	SPIs     [][]byte
}

// ParseDeleteV1 reads the body of a delete payload.
func ParseDeleteV1(body []byte) (DeleteV1, error) {
	var d DeleteV1
	if len(body) < 8 {
		return d, fmt.Errorf("delete: %d bytes, need 8: %w", len(body), ErrTruncated)
	}
	d.DOI = binary.BigEndian.Uint32(body)
	d.Protocol = ProtocolID(body[4])
	size := int(body[5])
	count := int(binary.BigEndian.Uint16(body[6:]))
	spis, err := splitSPIs(body[8:], size, count)
	if err != nil {
		return d, fmt.Errorf("delete %v: %w", d.Protocol, err)
	}
	d.SPIs = spis
	return d, nil
}

func splitSPIs(b []byte, size, count int) ([][]byte, error) {
	if size*count != len(b) {
		return nil, fmt.Errorf("%d SPIs of %d bytes announced, %d bytes present: %w", count, size, len(b), ErrMalformed)
	}
	if size == 0 {
		return nil, nil
	}
	out := make([][]byte, count)
	for i := range out {
		out[i] = b[i*size : (i+1)*size : (i+1)*size]
	}
	return out, nil
}

// Cert is a CERT payload (IKEv1 RFC 2408 §3.9; IKEv2 RFC 7296 §3.6) or a
// certificate request (Data = certification authorities).
type Cert struct {
	Encoding CertEncoding
	Data     []byte
}

// ParseCert reads a CERT or CERTREQ body (same layout in both versions).
func ParseCert(body []byte) (Cert, error) {
	if len(body) < 1 {
		return Cert{}, fmt.Errorf("certificate: empty payload: %w", ErrTruncated)
	}
	return Cert{Encoding: CertEncoding(body[0]), Data: body[1:]}, nil
}

// NATOA is an IKEv1 NAT Original Address payload (RFC 3947 §5.2).
type NATOA struct {
	Addr netip.Addr
}

// ParseNATOA reads the body of a NAT-OA payload.
func ParseNATOA(body []byte) (NATOA, error) {
	if len(body) < 4 {
		return NATOA{}, fmt.Errorf("NAT-OA: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	t := IDType(body[0])
	if (t != IDIPv4 && t != IDIPv6) || len(body)-4 != idAddrLen(t) {
		return NATOA{}, fmt.Errorf("NAT-OA: ID type %v with %d address bytes: %w", IDType(body[0]), len(body)-4, ErrMalformed)
	}
	a, _ := netip.AddrFromSlice(body[4:])
	return NATOA{Addr: a}, nil
}

// AttrPayload is an IKEv1 Mode Config attribute payload (draft-dukes-ike-mode-cfg §3.2).
type AttrPayload struct {
	Type  uint8 // 1 REQUEST, 2 REPLY, 3 SET, 4 ACK
	ID    uint16
	Attrs []Attribute
}

// ParseAttrPayload reads the body of an attribute payload.
func ParseAttrPayload(body []byte) (AttrPayload, error) {
	if len(body) < 4 {
		return AttrPayload{}, fmt.Errorf("attributes: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	attrs, err := ParseAttributes(body[4:])
	if err != nil {
		return AttrPayload{}, fmt.Errorf("attributes: %w", err)
	}
	return AttrPayload{Type: body[0], ID: binary.BigEndian.Uint16(body[2:]), Attrs: attrs}, nil
}
