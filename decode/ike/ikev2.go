package ike

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"ipsecmon/algo"
)

// TransformType is an IKEv2 transform type (RFC 7296 §3.3.2).
type TransformType uint8

const (
	TransformENCR  TransformType = 1
	TransformPRF   TransformType = 2
	TransformINTEG TransformType = 3
	TransformDH    TransformType = 4 // "Key Exchange Method" since RFC 9370
	TransformESN   TransformType = 5
)

var transformTypeNames = map[TransformType]string{1: "ENCR", 2: "PRF", 3: "INTEG", 4: "DH", 5: "ESN",
	6: "ADDKE1", 7: "ADDKE2", 8: "ADDKE3", 9: "ADDKE4", 10: "ADDKE5", 11: "ADDKE6", 12: "ADDKE7"}

func (t TransformType) String() string { return nameOf(transformTypeNames, t) }

// TransformName names transform id of type t ("ENCR_AES_CBC", "D-H 14 (MODP-2048)").
func TransformName(t TransformType, id uint16) string {
	switch t {
	case TransformENCR:
		return ianaName(algo.IKEv2Encr, id)
	case TransformPRF:
		return ianaName(algo.IKEv2PRF, id)
	case TransformINTEG:
		return ianaName(algo.IKEv2Integ, id)
	case TransformDH:
		return DHGroup(id).String()
	case TransformESN:
		switch id {
		case 0:
			return "No ESN"
		case 1:
			return "ESN"
		}
	}
	return nameOf(map[uint16]string{}, id)
}

// AttrKeyLength is the only IKEv2 transform attribute (RFC 7296 §3.3.5).
const AttrKeyLength uint16 = 14

// Transform is an IKEv2 transform substructure.
type Transform struct {
	Type  TransformType
	ID    uint16
	Attrs []Attribute
}

// KeyLen is the Key Length attribute in bits, 0 when absent.
func (t Transform) KeyLen() int {
	for _, a := range t.Attrs {
		if a.Type == AttrKeyLength {
			v, _ := a.Uint()
			return int(v)
		}
	}
	return 0
}

func (t Transform) String() string {
	s := TransformName(t.Type, t.ID)
	if k := t.KeyLen(); k != 0 {
		s += fmt.Sprintf("-%d", k)
	}
	return s
}

// Proposal is an IKEv2 proposal substructure (RFC 7296 §3.3.1). The SPI is
// the sender's: for IKE the new IKE SPI, for AH/ESP the SPI it receives on.
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte
	Transforms []Transform
}

// SPI32 is the 4-byte AH/ESP SPI, false for other sizes.
func (p Proposal) SPI32() (uint32, bool) {
	if len(p.SPI) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(p.SPI), true
}

// Suite is one choice per transform type, as a responder returns it.
type Suite struct {
	Enc       algo.Enc
	EncID     uint16
	EncKeyLen int // bits, without salt; 0 = not stated
	PRF       algo.PRF
	PRFID     uint16
	Integ     algo.Auth
	IntegID   uint16
	HasInteg  bool
	DH        DHGroup
	HasDH     bool
	ESN       bool
}

// Suite reads the first transform of each type: a responder's accepted
// proposal has exactly one per type (RFC 7296 §3.3.6).
func (p Proposal) Suite() Suite {
	var s Suite
	seen := map[TransformType]bool{}
	for _, t := range p.Transforms {
		if seen[t.Type] {
			continue
		}
		seen[t.Type] = true
		switch t.Type {
		case TransformENCR:
			s.Enc, s.EncID, s.EncKeyLen = algo.EncFromIKEv2(t.ID), t.ID, t.KeyLen()
			if s.EncKeyLen == 0 {
				s.EncKeyLen = DefaultKeyBits(s.Enc)
			}
		case TransformPRF:
			s.PRF, s.PRFID = algo.PRFFromIKEv2(t.ID), t.ID
		case TransformINTEG:
			s.Integ, s.IntegID, s.HasInteg = algo.AuthFromIKEv2(t.ID), t.ID, true
		case TransformDH:
			s.DH, s.HasDH = DHGroup(t.ID), t.ID != 0
		case TransformESN:
			s.ESN = t.ID == 1
		}
	}
	if !s.HasInteg {
		s.Integ = algo.AuthNone
	}
	return s
}

// ParseSA reads the body of an IKEv2 SA payload: a list of proposals.
func ParseSA(body []byte) ([]Proposal, error) {
	var out []Proposal
	err := eachSubstructure(PayloadProposal, body, func(i int, b []byte) error {
		var p Proposal
		h, err := parseProposalCommon(b, func(hdr []byte, attrs []Attribute) error {
			p.Transforms = append(p.Transforms, Transform{
				Type: TransformType(hdr[0]), ID: binary.BigEndian.Uint16(hdr[2:]), Attrs: attrs,
			})
			return nil
		})
		if err != nil {
			return fmt.Errorf("proposal %d: %w", i, err)
		}
		p.Number, p.Protocol, p.SPI = h.Number, h.Protocol, h.SPI
		out = append(out, p)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("SA: %w", err)
	}
	return out, nil
}

// KE is an IKEv2 key exchange payload (RFC 7296 §3.4).
type KE struct {
	Group DHGroup
	Data  []byte
}

// ParseKE reads the body of an IKEv2 KE payload.
func ParseKE(body []byte) (KE, error) {
	if len(body) < 4 {
		return KE{}, fmt.Errorf("KE: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	return KE{Group: DHGroup(binary.BigEndian.Uint16(body)), Data: body[4:]}, nil
}

// ID is an IKEv2 identification payload (IDi/IDr, RFC 7296 §3.5).
type ID struct {
	Type IDType
	Data []byte
}

// ParseID reads the body of an IDi or IDr payload.
func ParseID(body []byte) (ID, error) {
	if len(body) < 4 {
		return ID{}, fmt.Errorf("ID: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	return ID{Type: IDType(body[0]), Data: body[4:]}, nil
}

func (id ID) String() string { return idString(id.Type, id.Data) }

// AuthMethod is an IKEv2 authentication method (RFC 7296 §3.8, RFC 7427).
type AuthMethod uint8

var authMethodNames = map[AuthMethod]string{
	1: "RSA Digital Signature", 2: "Shared Key Message Integrity Code", 3: "DSS Digital Signature",
	9: "ECDSA-SHA256-P256", 10: "ECDSA-SHA384-P384", 11: "ECDSA-SHA512-P521",
	12: "Generic Secure Password", 13: "NULL Authentication", 14: "Digital Signature",
}

func (m AuthMethod) String() string { return nameOf(authMethodNames, m) }

// Auth is an IKEv2 AUTH payload.
type Auth struct {
	Method AuthMethod
	Data   []byte
}

// ParseAuth reads the body of an AUTH payload.
func ParseAuth(body []byte) (Auth, error) {
	if len(body) < 4 {
		return Auth{}, fmt.Errorf("AUTH: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	return Auth{Method: AuthMethod(body[0]), Data: body[4:]}, nil
}

// Notify is an IKEv2 notify payload (RFC 7296 §3.10).
type Notify struct {
	Protocol ProtocolID
	Type     NotifyType
	SPI      []byte
	Data     []byte
}

// ParseNotify reads the body of an IKEv2 notify payload.
func ParseNotify(body []byte) (Notify, error) {
	var n Notify
	if len(body) < 4 {
		return n, fmt.Errorf("notify: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	n.Protocol = ProtocolID(body[0])
	spiSize := int(body[1])
	n.Type = NotifyType(binary.BigEndian.Uint16(body[2:]))
	if spiSize > len(body)-4 {
		return n, fmt.Errorf("notify %v: SPI size %d, only %d bytes left: %w", n.Type, spiSize, len(body)-4, ErrTruncated)
	}
	n.SPI = body[4 : 4+spiSize : 4+spiSize]
	n.Data = body[4+spiSize:]
	return n, nil
}

// Delete is an IKEv2 delete payload (RFC 7296 §3.11): IKE (no SPIs; the
// IKE SA the message belongs to) or the AH/ESP SPIs the sender receives on.
type Delete struct {
	Protocol ProtocolID
	SPIs     [][]byte
}

// ParseDelete reads the body of an IKEv2 delete payload.
func ParseDelete(body []byte) (Delete, error) {
	var d Delete
	if len(body) < 4 {
		return d, fmt.Errorf("delete: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	d.Protocol = ProtocolID(body[0])
	spis, err := splitSPIs(body[4:], int(body[1]), int(binary.BigEndian.Uint16(body[2:])))
	if err != nil {
		return d, fmt.Errorf("delete %v: %w", d.Protocol, err)
	}
	d.SPIs = spis
	return d, nil
}

// TSType is a traffic selector type (RFC 7296 §3.13.1).
type TSType uint8

const (
	TSIPv4Range TSType = 7
	TSIPv6Range TSType = 8
)

// TrafficSelector is one selector of a TSi/TSr payload.
type TrafficSelector struct {
	Type               TSType
	Protocol           uint8 // 0 = any
	StartPort, EndPort uint16
	Start, End         netip.Addr
}

func (ts TrafficSelector) String() string {
	var s string
	if p, ok := rangePrefix(ts.Start, ts.End); ok {
		s = p.String()
	} else if ts.Start.IsValid() {
		s = ts.Start.String() + "-" + ts.End.String()
	} else {
		return fmt.Sprintf("TS type %d", ts.Type)
	}
	if ts.Protocol != 0 {
		s += fmt.Sprintf("[%d", ts.Protocol)
		if ts.StartPort == ts.EndPort {
			s += fmt.Sprintf("/%d", ts.StartPort)
		} else if ts.StartPort != 0 || ts.EndPort != 65535 {
			s += fmt.Sprintf("/%d-%d", ts.StartPort, ts.EndPort)
		}
		s += "]"
	}
	return s
}

// Prefix is the selector's address range as a prefix, when it is one.
func (ts TrafficSelector) Prefix() (netip.Prefix, bool) { return rangePrefix(ts.Start, ts.End) }

// ParseTS reads the body of a TSi or TSr payload.
func ParseTS(body []byte) ([]TrafficSelector, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("TS: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	n := int(body[0])
	rest := body[4:]
	out := make([]TrafficSelector, 0, min(n, len(rest)/8))
	for i := 0; i < n; i++ {
		if len(rest) < 4 {
			return out, fmt.Errorf("TS %d: %d bytes left, need 4: %w", i, len(rest), ErrTruncated)
		}
		ts := TrafficSelector{Type: TSType(rest[0]), Protocol: rest[1]}
		l := int(binary.BigEndian.Uint16(rest[2:]))
		if l < 8 || l > len(rest) {
			return out, fmt.Errorf("TS %d: selector length %d with %d bytes left: %w", i, l, len(rest), ErrMalformed)
		}
		ts.StartPort = binary.BigEndian.Uint16(rest[4:])
		ts.EndPort = binary.BigEndian.Uint16(rest[6:])
		addrs := rest[8:l]
		switch ts.Type {
		case TSIPv4Range, TSIPv6Range:
			al := 4
			if ts.Type == TSIPv6Range {
				al = 16
			}
			if len(addrs) != 2*al {
				return out, fmt.Errorf("TS %d: type %d with %d address bytes: %w", i, ts.Type, len(addrs), ErrMalformed)
			}
			ts.Start, _ = netip.AddrFromSlice(addrs[:al])
			ts.End, _ = netip.AddrFromSlice(addrs[al:])
		}
		out = append(out, ts)
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return out, fmt.Errorf("TS: %d bytes after %d selectors: %w", len(rest), n, ErrMalformed)
	}
	return out, nil
}

// Encrypted is the body of an SK payload (RFC 7296 §3.14): IV, ciphertext
// and ICV, which only the keys can tell apart.
type Encrypted struct {
	Data []byte
}

// Fragment is an SKF payload (RFC 7383 §2.5).
type Fragment struct {
	Number, Total uint16
	Data          []byte // IV, ciphertext, ICV
}

// ParseFragment reads the body of an SKF payload.
func ParseFragment(body []byte) (Fragment, error) {
	if len(body) < 4 {
		return Fragment{}, fmt.Errorf("SKF: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	f := Fragment{Number: binary.BigEndian.Uint16(body), Total: binary.BigEndian.Uint16(body[2:]), Data: body[4:]}
	if f.Number == 0 || f.Total == 0 || f.Number > f.Total {
		return f, fmt.Errorf("SKF: fragment %d of %d: %w", f.Number, f.Total, ErrMalformed)
	}
	return f, nil
}

// CPAttribute is a configuration attribute (RFC 7296 §3.15.1).
type CPAttribute struct {
	Type  uint16
	Value []byte
}

// CP is a configuration payload.
type CP struct {
	Type  uint8 // 1 REQUEST, 2 REPLY, 3 SET, 4 ACK
	Attrs []CPAttribute
}

// ParseCP reads the body of a CP payload.
func ParseCP(body []byte) (CP, error) {
	if len(body) < 4 {
		return CP{}, fmt.Errorf("CP: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	cp := CP{Type: body[0]}
	for b := body[4:]; len(b) > 0; {
		if len(b) < 4 {
			return cp, fmt.Errorf("CP attribute %d: %d bytes left: %w", len(cp.Attrs), len(b), ErrTruncated)
		}
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l > len(b)-4 {
			return cp, fmt.Errorf("CP attribute %d: length %d, %d bytes left: %w", len(cp.Attrs), l, len(b)-4, ErrTruncated)
		}
		cp.Attrs = append(cp.Attrs, CPAttribute{Type: binary.BigEndian.Uint16(b) & 0x7fff, Value: b[4 : 4+l : 4+l]})
		b = b[4+l:]
	}
	return cp, nil
}

// EAP is an EAP message carried in IKEv2 (RFC 3748 §4).
type EAP struct {
	Code       uint8 // 1 Request, 2 Response, 3 Success, 4 Failure
	Identifier uint8
	Type       uint8 // requests and responses only
	Data       []byte
}

// ParseEAP reads the body of an EAP payload.
func ParseEAP(body []byte) (EAP, error) {
	if len(body) < 4 {
		return EAP{}, fmt.Errorf("EAP: %d bytes, need 4: %w", len(body), ErrTruncated)
	}
	e := EAP{Code: body[0], Identifier: body[1]}
	l := int(binary.BigEndian.Uint16(body[2:]))
	if l < 4 || l > len(body) {
		return e, fmt.Errorf("EAP: length %d in a %d-byte payload: %w", l, len(body), ErrMalformed)
	}
	if (e.Code == 1 || e.Code == 2) && l >= 5 {
		e.Type = body[4]
		e.Data = body[5:l]
	}
	return e, nil
}
