package decode

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"ipsecmon/decode/ike"
)

// Layer types ipsecmon adds to gopacket. gopacket reserves 1000-1999 for
// application types that its parser looks up by array index (its fast path).
var (
	LayerTypeRawIP    = gopacket.RegisterLayerType(1917, gopacket.LayerTypeMetadata{Name: "RawIP", Decoder: gopacket.DecodeFunc(decodeUnsupported)})
	LayerTypeUDPEncap = gopacket.RegisterLayerType(1919, gopacket.LayerTypeMetadata{Name: "UDPEncap", Decoder: gopacket.DecodeFunc(decodeUnsupported)})
	LayerTypeIKE      = gopacket.RegisterLayerType(1920, gopacket.LayerTypeMetadata{Name: "IKE", Decoder: gopacket.DecodeFunc(decodeUnsupported)})
)

// ipsecmon only uses these layers through DecodingLayerParser; the
// gopacket.Packet path is not supported.
func decodeUnsupported(_ []byte, _ gopacket.PacketBuilder) error {
	return fmt.Errorf("decode: ipsecmon layers are DecodingLayers only")
}

// Well-known ports: IKE (RFC 7296 §2) and IKE/ESP over UDP (RFC 3948).
const (
	PortIKE     = 500
	PortNATT    = 4500
	PortGTPU    = 2152
	protoIPIP   = 4
	protoIPv6   = 41
	protoNoNext = 59
)

// RawIP is the first layer of link types that carry bare IP (LINKTYPE_RAW,
// IPV4, IPV6): the version nibble says which.
type RawIP struct {
	layers.BaseLayer
	next gopacket.LayerType
}

func (r *RawIP) LayerType() gopacket.LayerType  { return LayerTypeRawIP }
func (r *RawIP) CanDecode() gopacket.LayerClass { return LayerTypeRawIP }
func (r *RawIP) NextLayerType() gopacket.LayerType {
	return r.next
}

func (r *RawIP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 1 {
		df.SetTruncated()
		return errEmpty
	}
	switch data[0] >> 4 {
	case 4:
		r.next = layers.LayerTypeIPv4
	case 6:
		r.next = layers.LayerTypeIPv6
	default:
		return fmt.Errorf("raw IP: version %d is neither 4 nor 6", data[0]>>4)
	}
	r.BaseLayer = layers.BaseLayer{Contents: data[:0], Payload: data}
	return nil
}

// IPv6Ext walks the IPv6 extension headers that may stand between the fixed
// header and ESP/AH (RFC 8200 §4). gopacket's own skipper treats the
// Fragment header like any other, which would make a non-first fragment look
// like the start of an ESP packet; this one records fragmentation and stops.
type IPv6Ext struct {
	layers.BaseLayer
	NextHeader layers.IPProtocol
	// Fragment header fields, when this header is one.
	IsFragment  bool
	FragOffset  uint16 // in 8-byte units
	MoreFrags   bool
	FragID      uint32
	headerClass gopacket.LayerType
}

var ipv6ExtClass = gopacket.NewLayerClass([]gopacket.LayerType{
	layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing,
	layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Fragment,
})

func (e *IPv6Ext) LayerType() gopacket.LayerType  { return e.headerClass }
func (e *IPv6Ext) CanDecode() gopacket.LayerClass { return ipv6ExtClass }
func (e *IPv6Ext) NextLayerType() gopacket.LayerType {
	if e.IsFragment && (e.FragOffset != 0 || e.MoreFrags) {
		return gopacket.LayerTypeFragment
	}
	return e.NextHeader.LayerType()
}

func (e *IPv6Ext) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("IPv6 extension header: %d of 8 bytes", len(data))
	}
	e.NextHeader = layers.IPProtocol(data[0])
	e.IsFragment = false
	n := (int(data[1]) + 1) * 8
	// The Fragment header has a fixed length; its second byte is reserved (RFC 8200 §4.5).
	if e.headerClass == layers.LayerTypeIPv6Fragment {
		n = 8
		e.IsFragment = true
		fo := binary.BigEndian.Uint16(data[2:4])
		e.FragOffset = fo >> 3
		e.MoreFrags = fo&1 == 1
		e.FragID = binary.BigEndian.Uint32(data[4:8])
	}
	if n > len(data) {
		df.SetTruncated()
		return fmt.Errorf("IPv6 extension header length %d exceeds the %d bytes left", n, len(data))
	}
	e.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

// UDP decodes the UDP header and routes IKE (500) and NAT-T (4500) onwards;
// gopacket's own UDP would hand both to its generic payload layer.
type UDP struct {
	layers.BaseLayer
	SrcPort, DstPort uint16
	Length           uint16
}

func (u *UDP) LayerType() gopacket.LayerType  { return layers.LayerTypeUDP }
func (u *UDP) CanDecode() gopacket.LayerClass { return layers.LayerTypeUDP }
func (u *UDP) NextLayerType() gopacket.LayerType {
	switch {
	case (u.SrcPort == PortNATT && u.DstPort == PortIKE || u.SrcPort == PortIKE && u.DstPort == PortNATT) && plainIKE(u.Payload, int(u.Length)-8):
		// A NAT that maps port 500 to 4500 (or the other way) puts plain
		// IKE between 4500 and 500: the daemon's port-500 socket sends and
		// receives IKE without a non-ESP marker (RFC 7296 §2.23). ESP is
		// possible there too (a NAT mapping 4500 to 500), so the content
		// decides: a whole IKE header that starts with a non-zero SPI.
		return LayerTypeIKE
	case u.SrcPort == PortNATT || u.DstPort == PortNATT:
		return LayerTypeUDPEncap
	case u.SrcPort == PortIKE || u.DstPort == PortIKE:
		return LayerTypeIKE
	case u.SrcPort == PortGTPU || u.DstPort == PortGTPU:
		// Mobile networks carry subscribers' IPsec inside GTP-U tunnels.
		return layers.LayerTypeGTPv1U
	}
	return gopacket.LayerTypeZero
}

// plainIKE reports a UDP payload that is one whole IKE message without a
// non-ESP marker: the initiator SPI is never zero (RFC 7296 §3.1), so its
// first four bytes are no marker; the major version is 1 or 2; the header's
// length is the UDP length field's (the capture may be cut shorter). ESP
// ciphertext passes all three by chance about once in 2^36.
func plainIKE(b []byte, udpPayload int) bool {
	if len(b) < 28 || b[0]|b[1]|b[2]|b[3] == 0 {
		return false
	}
	v := b[17] >> 4
	return (v == 1 || v == 2) && binary.BigEndian.Uint32(b[24:28]) == uint32(udpPayload)
}

func (u *UDP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("UDP header: %d of 8 bytes", len(data))
	}
	u.SrcPort = binary.BigEndian.Uint16(data[0:2])
	u.DstPort = binary.BigEndian.Uint16(data[2:4])
	u.Length = binary.BigEndian.Uint16(data[4:6])
	u.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

// UDPEncapKind is what RFC 3948 §2 says a UDP 4500 payload is.
type UDPEncapKind uint8

const (
	EncapESP       UDPEncapKind = iota + 1
	EncapIKE                    // non-ESP marker (four zero bytes) then IKE
	EncapKeepalive              // a single 0xFF byte (RFC 3948 §2.3)
)

// UDPEncap classifies a UDP 4500 payload.
type UDPEncap struct {
	layers.BaseLayer
	Kind UDPEncapKind
}

func (u *UDPEncap) LayerType() gopacket.LayerType  { return LayerTypeUDPEncap }
func (u *UDPEncap) CanDecode() gopacket.LayerClass { return LayerTypeUDPEncap }
func (u *UDPEncap) NextLayerType() gopacket.LayerType {
	switch u.Kind {
	case EncapESP:
		return layers.LayerTypeIPSecESP
	case EncapIKE:
		return LayerTypeIKE
	}
	return gopacket.LayerTypeZero
}

func (u *UDPEncap) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	switch {
	case len(data) == 1 && data[0] == 0xff:
		u.Kind = EncapKeepalive
		u.BaseLayer = layers.BaseLayer{Contents: data, Payload: data[:0]}
		return nil
	case len(data) >= 4 && data[0]|data[1]|data[2]|data[3] == 0:
		u.Kind = EncapIKE
		u.BaseLayer = layers.BaseLayer{Contents: data[:4], Payload: data[4:]}
		return nil
	case len(data) >= 8:
		u.Kind = EncapESP
		u.BaseLayer = layers.BaseLayer{Contents: data[:0], Payload: data}
		return nil
	}
	u.Kind = 0
	df.SetTruncated()
	return fmt.Errorf("UDP 4500 payload of %d bytes is neither a NAT keepalive, a non-ESP marker nor an ESP header", len(data))
}

// ESP is the cleartext part of an ESP header (RFC 4303 §2): SPI and
// sequence number. Everything after them is opaque without keys.
type ESP struct {
	layers.BaseLayer
	SPI, Seq uint32
}

func (e *ESP) LayerType() gopacket.LayerType     { return layers.LayerTypeIPSecESP }
func (e *ESP) CanDecode() gopacket.LayerClass    { return layers.LayerTypeIPSecESP }
func (e *ESP) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

func (e *ESP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return fmt.Errorf("ESP header: %d of 8 bytes", len(data))
	}
	e.SPI = binary.BigEndian.Uint32(data[0:4])
	e.Seq = binary.BigEndian.Uint32(data[4:8])
	e.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

// AH is the Authentication Header (RFC 4302 §2). Its next header is in the
// clear, so the mode (tunnel when 4 or 41) and the inner protocol are visible
// without keys.
type AH struct {
	layers.BaseLayer
	NextHeader layers.IPProtocol
	SPI, Seq   uint32
	ICV        []byte
}

func (a *AH) LayerType() gopacket.LayerType  { return layers.LayerTypeIPSecAH }
func (a *AH) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPSecAH }
func (a *AH) NextLayerType() gopacket.LayerType {
	// An AH+ESP bundle (RFC 4301 §4.5) carries a second SA worth tracking.
	if a.NextHeader == layers.IPProtocolESP {
		return layers.LayerTypeIPSecESP
	}
	return gopacket.LayerTypeZero
}

func (a *AH) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 12 {
		df.SetTruncated()
		return fmt.Errorf("AH header: %d of 12 bytes", len(data))
	}
	// Payload Len is the AH length in 32-bit words minus 2 (RFC 4302 §2.2).
	n := (int(data[1]) + 2) * 4
	if n < 12 {
		return fmt.Errorf("AH payload length %d gives a header shorter than 12 bytes", data[1])
	}
	if n > len(data) {
		df.SetTruncated()
		return fmt.Errorf("AH header length %d exceeds the %d bytes left", n, len(data))
	}
	a.NextHeader = layers.IPProtocol(data[0])
	a.SPI = binary.BigEndian.Uint32(data[4:8])
	a.Seq = binary.BigEndian.Uint32(data[8:12])
	a.ICV = data[12:n]
	a.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

// IKEHeader is the fixed ISAKMP/IKE header (RFC 2408 §3.1, RFC 7296 §3.1)
// as a layer, enough to recognise and count IKE traffic; package decode/ike
// reads it (and parses the rest).
type IKEHeader struct {
	layers.BaseLayer
	ike.Header
}

func (h *IKEHeader) LayerType() gopacket.LayerType     { return LayerTypeIKE }
func (h *IKEHeader) CanDecode() gopacket.LayerClass    { return LayerTypeIKE }
func (h *IKEHeader) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

func (h *IKEHeader) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	hdr, err := ike.ReadHeader(data)
	if err != nil {
		if errors.Is(err, ike.ErrTruncated) {
			df.SetTruncated()
		}
		return err
	}
	h.Header = hdr
	h.BaseLayer = layers.BaseLayer{Contents: data, Payload: data[ike.HeaderLen:]}
	return nil
}
