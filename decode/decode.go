// Package decode turns captured frames into typed, zero-copy views of the
// parts of a packet that IPsec analysis needs: outer addresses, ESP/AH
// headers, UDP encapsulation (RFC 3948) and IKE messages. It keeps no state
// between packets and counts nothing; the analyzer does that.
//
// Link layers (Ethernet, 802.1Q/802.1ad, Linux cooked v1/v2, BSD loopback,
// raw IP) and IP come from gopacket's DecodingLayers; the IPsec layers are
// ipsecmon's own, because they must expose what gopacket's do not (wire
// lengths past a snap length, AH's cleartext next header, RFC 3948's three
// kinds of UDP 4500 payload) and gopacket has no IKE layer. One Decoder walks
// a packet without allocating.
package decode

import (
	"errors"
	"fmt"
	"net/netip"

	"ipsecmon/ipproto"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var errEmpty = errors.New("empty packet")

// Kind says what a packet is to ipsecmon.
type Kind uint8

const (
	KindOther        Kind = iota // not IPsec or IKE
	KindIPsec                    // one or two IPsec headers (ESP, AH, or an AH+ESP bundle)
	KindIKE                      // an IKE message on UDP 500, or on 4500 after a non-ESP marker
	KindNATKeepalive             // RFC 3948 §2.3
	KindFragment                 // an IP fragment of something that may be IPsec or IKE; needs reassembly
)

var kindNames = [...]string{"other", "ipsec", "ike", "nat-keepalive", "fragment"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// IPsecHeader is one ESP or AH header found in a packet.
type IPsecHeader struct {
	Proto uint8 // ipproto.ESP or ipproto.AH
	SPI   uint32
	Seq   uint32
	// Offset is where the header starts within Packet.IP.
	Offset int
	// WireLen is the length on the wire from the first byte of this header to
	// the end of the IP packet, from the IP length fields: what ipsecmon
	// counts as this SA's bytes even when the capture was cut short.
	WireLen int
	// Data is the captured part of the same span (shorter than WireLen when truncated).
	Data []byte
	// NextHeader and ICV are AH's cleartext fields (zero for ESP).
	NextHeader uint8
	ICV        []byte
}

// Truncated reports whether the capture holds less than the whole header-to-end span.
func (h *IPsecHeader) Truncated() bool { return len(h.Data) < h.WireLen }

// Packet is the decoded view of one frame. Slices point into the frame and
// are valid only until the frame's buffer is reused.
type Packet struct {
	Kind      Kind
	IPVersion uint8
	Src, Dst  netip.Addr
	// IP is the outer IP packet as captured, from its header to the end given
	// by its length field (link padding removed).
	IP []byte
	// IPWireLen is the IP packet's length per its header.
	IPWireLen int
	// Protocol is the IP protocol after the IPv4 header or IPv6 extension headers.
	Protocol uint8
	// UDP ports, when the packet is UDP; for cleartext TCP and SCTP the
	// ports too (UDP stays false).
	UDP              bool
	SrcPort, DstPort uint16
	// Encapsulated is set for ESP and IKE carried in UDP 4500 (RFC 3948).
	Encapsulated bool

	IPsec  [2]IPsecHeader
	NIPsec int

	// IKE is the IKE message (non-ESP marker removed) and its fixed header.
	IKE       []byte
	IKEHeader IKEHeader

	// Fragment fields, for KindFragment.
	FragID     uint32
	FragOffset int // bytes
	MoreFrags  bool
	// IPv4: FragHdrAt is the header's length. IPv6: where in IP the
	// Fragment header starts, and FragNHAt the offset of the Next Header
	// byte that names it (in the fixed header or the extension header
	// before it); IP[:FragHdrAt] is the unfragmentable part and
	// IP[FragHdrAt+8:] the fragment's data.
	FragHdrAt, FragNHAt int

	// TooBig is an ICMP fragmentation-needed / ICMPv6 packet-too-big
	// message about an IPsec or IKE packet (HasTooBig).
	TooBig    TooBig
	HasTooBig bool
	// Fragments is the number of IP fragments the packet was reassembled
	// from (set by the caller that reassembled it; 0 when it came whole).
	Fragments int
	// Kept: IP and every slice into it stay valid after the packet has been
	// handed on (its frame's source keeps the bytes until it is told they
	// are released), so a consumer may hold them instead of copying. Set
	// by the caller, like Fragments.
	Kept bool

	VLANs int
	// LinkSrc is the Ethernet source address, when the frame has one: it
	// ties the addresses one host sends from (a dual-stack host's IPv4 and
	// IPv6 addresses).
	LinkSrc    [6]byte
	HasLinkSrc bool
}

// ESP returns the packet's ESP header, if any.
func (p *Packet) ESP() *IPsecHeader {
	for i := 0; i < p.NIPsec; i++ {
		if p.IPsec[i].Proto == ipproto.ESP {
			return &p.IPsec[i]
		}
	}
	return nil
}

// Decoder decodes frames of any supported link type. It is not safe for
// concurrent use; give each goroutine its own.
type Decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	raw   RawIP
	ip4   layers.IPv4
	ip6   layers.IPv6
	ext   [4]IPv6Ext
	udp   UDP
	gtp   layers.GTPv1U
	encap UDPEncap
	esp   ESP
	ah    AH
	ike   IKEHeader

	// layers decodes every layer, from each link type's first (firstLayer).
	layers  gopacket.DecodingLayerContainer
	decoded []gopacket.LayerType
	// failed is the layer whose decoding failed and failedData the bytes
	// it was given, truncated whether a layer found its data cut short (the
	// gopacket.DecodeFeedback).
	failed     gopacket.LayerType
	failedData []byte
	truncated  bool
}

// NewDecoder returns a Decoder ready for every supported link type.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 16)}
	for i, t := range []gopacket.LayerType{layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Fragment} {
		d.ext[i].headerClass = t
	}
	var c gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
	for _, l := range d.layerList() {
		c = c.Put(l)
	}
	d.layers = c
	return d
}

// firstLayer is a link type's first layer. A switch, not a map: it runs
// for every packet, and hashing the key cost 1.7% of a live keyed run's
// CPU (perf record).
func firstLayer(lt layers.LinkType) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		12, // DLT_RAW as some systems write it
		14: // DLT_RAW on OpenBSD
		return LayerTypeRawIP, true
	}
	return gopacket.LayerTypeZero, false
}

// SetTruncated is the gopacket.DecodeFeedback a layer calls when its data
// is cut short.
func (d *Decoder) SetTruncated() { d.truncated = true }

// decodeLayers is gopacket.DecodingLayerParser's loop (unsupported layers
// end it without an error) that also remembers which layer failed: the
// parser does not say, and with a tunnel the struct of a repeated layer
// type no longer describes the outer one by then.
func (d *Decoder) decodeLayers(typ gopacket.LayerType, data []byte) (err error) {
	d.decoded, d.failed, d.failedData, d.truncated = d.decoded[:0], gopacket.LayerTypeZero, nil, false
	defer func() {
		// As DecodingLayerParser does: a layer's panic is that packet's error.
		if r := recover(); r != nil {
			d.failed = typ
			err = fmt.Errorf("%v: panic: %v", typ, r)
		}
	}()
	for len(data) > 0 {
		l, ok := d.layers.Decoder(typ)
		if !ok {
			return nil
		}
		if err := l.DecodeFromBytes(data, d); err != nil {
			d.failed, d.failedData = typ, data
			return err
		}
		d.decoded = append(d.decoded, typ)
		typ, data = l.NextLayerType(), l.LayerPayload()
	}
	return nil
}

// extSlot routes each IPv6 extension header type to its own layer struct, so
// that a chain of different headers keeps each one's fields.
type extSlot struct {
	*IPv6Ext
}

func (e extSlot) CanDecode() gopacket.LayerClass { return e.headerClass }

func (d *Decoder) layerList() []gopacket.DecodingLayer {
	return []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.raw, &d.ip4, &d.ip6,
		extSlot{&d.ext[0]}, extSlot{&d.ext[1]}, extSlot{&d.ext[2]}, extSlot{&d.ext[3]},
		&d.udp, &d.gtp, &d.encap, &d.esp, &d.ah, &d.ike,
	}
}

// SupportsLinkType reports whether Decode understands frames of lt.
func (d *Decoder) SupportsLinkType(lt layers.LinkType) bool {
	_, ok := firstLayer(lt)
	return ok
}

// Decode fills p from one frame. wireLen is the frame's original length
// (CaptureInfo.Length): when it exceeds len(data) the capture was cut by the
// snap length and short IPsec payloads are expected; otherwise a length field
// pointing past the data is malformed input. A non-nil error means the packet
// was malformed where it mattered; p.Kind is still set as far as decoding got.
func (d *Decoder) Decode(lt layers.LinkType, data []byte, wireLen int, p *Packet) error {
	*p = Packet{}
	first, ok := firstLayer(lt)
	if !ok {
		return &Error{Layer: "link", Err: fmt.Errorf("unsupported link type %d (%s)", int(lt), lt)}
	}
	snapped := wireLen > len(data)
	err := d.decodeLayers(first, data)
	if err != nil {
		err = &Error{Layer: d.failedLayer(), Err: err, Snapped: snapped && d.truncated && !d.headerCaptured()}
	}
	return d.fill(p, err, snapped)
}

// headerCaptured reports a failed layer whose header the capture holds
// whole: its fault is in the header itself, whatever the snap length cut
// after it. IPv4 says it was truncated as soon as its total length passes
// the captured bytes, and only then reads its options (RFC 791 §3.1: the
// header is IHL 32-bit words).
func (d *Decoder) headerCaptured() bool {
	b := d.failedData
	switch d.failed {
	case layers.LayerTypeIPv4:
		return len(b) >= 20 && len(b) >= int(b[0]&0x0f)*4
	}
	return false
}

// Error is a packet that could not be decoded where it mattered.
type Error struct {
	// Layer is the layer that failed, e.g. "IPv4" or "ESP"; "length" for an
	// IP length field pointing past the frame.
	Layer string
	Err   error
	// Snapped is set when the capture's snap length cut the packet inside
	// the headers: the packet was fine on the wire, the capture kept too little.
	Snapped bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// failedLayer names the layer decoding stopped in ("link" for the first).
func (d *Decoder) failedLayer() string {
	if len(d.decoded) == 0 {
		return "link"
	}
	return layerName(d.failed)
}

func layerName(t gopacket.LayerType) string {
	switch t {
	case layers.LayerTypeIPSecESP:
		return "ESP"
	case layers.LayerTypeIPSecAH:
		return "AH"
	case LayerTypeUDPEncap:
		return "UDP 4500"
	}
	return t.String()
}

func (d *Decoder) fill(p *Packet, err error, snapped bool) error {
	var ipPayloadWire int // wire bytes after the IP header(s), per the length fields
	var ipStart []byte
	nhAt := 0 // IPv6: offset in p.IP of the Next Header byte naming the next header
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			if len(d.eth.SrcMAC) == 6 {
				p.LinkSrc, p.HasLinkSrc = [6]byte(d.eth.SrcMAC), true
			}
		case layers.LayerTypeDot1Q:
			p.VLANs++
		case layers.LayerTypeIPv4:
			// With tunnels (GTP-U) the same IP struct holds the innermost
			// header: what comes after it describes that one, so start over.
			p.UDP, p.SrcPort, p.DstPort, p.Encapsulated = false, 0, 0, false
			ip := &d.ip4
			p.IPVersion = 4
			p.Src = netip.AddrFrom4([4]byte(ip.SrcIP))
			p.Dst = netip.AddrFrom4([4]byte(ip.DstIP))
			p.IPWireLen = int(ip.Length)
			p.Protocol = uint8(ip.Protocol)
			ipStart = ip.Contents
			p.IP = ip.Contents[:len(ip.Contents)+len(ip.Payload)]
			ipPayloadWire = int(ip.Length) - len(ip.Contents)
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				if interesting(p.Protocol) {
					p.Kind = KindFragment
					p.FragID = uint32(ip.Id)
					p.FragOffset = int(ip.FragOffset) * 8
					p.MoreFrags = ip.Flags&layers.IPv4MoreFragments != 0
					p.FragHdrAt = len(ip.Contents)
				}
				return d.lengthError(p, err, snapped)
			}
		case layers.LayerTypeIPv6:
			p.UDP, p.SrcPort, p.DstPort, p.Encapsulated = false, 0, 0, false
			ip := &d.ip6
			p.IPVersion = 6
			p.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
			p.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
			p.IPWireLen = 40 + int(ip.Length)
			p.Protocol = uint8(ip.NextHeader)
			if ip.HopByHop != nil {
				p.Protocol = uint8(ip.HopByHop.NextHeader)
			}
			ipStart = ip.Contents
			// The payload's position, not 40 + the Hop-by-Hop length: when an
			// inner IPv6 header (a tunnel) failed to decode, the struct holds
			// its Hop-by-Hop header without having stripped it from Payload.
			p.IP = ip.Contents[:cap(ip.Contents)-cap(ip.Payload)+len(ip.Payload)]
			ipPayloadWire = int(ip.Length) - hbhLen(ip)
			nhAt = 6
			if ip.HopByHop != nil {
				nhAt = 40
			}
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Fragment:
			e := d.extFor(t)
			ipPayloadWire -= len(e.Contents)
			p.Protocol = uint8(e.NextHeader)
			// Both slices end at the end of the frame's buffer, so their
			// capacities give the header's offset in p.IP.
			at := cap(p.IP) - cap(e.Contents)
			if e.IsFragment && (e.FragOffset != 0 || e.MoreFrags) {
				if interesting(p.Protocol) {
					p.Kind = KindFragment
					p.FragID = e.FragID
					p.FragOffset = int(e.FragOffset) * 8
					p.MoreFrags = e.MoreFrags
					p.FragHdrAt, p.FragNHAt = at, nhAt
				}
				return d.lengthError(p, err, snapped)
			}
			nhAt = at
		case layers.LayerTypeUDP:
			p.UDP = true
			p.SrcPort, p.DstPort = d.udp.SrcPort, d.udp.DstPort
			ipPayloadWire -= 8
		case LayerTypeUDPEncap:
			switch d.encap.Kind {
			case EncapKeepalive:
				p.Kind = KindNATKeepalive
			case EncapIKE:
				ipPayloadWire -= 4
				p.Encapsulated = true
			case EncapESP:
				p.Encapsulated = true
			}
		case layers.LayerTypeIPSecESP, layers.LayerTypeIPSecAH:
			if p.NIPsec == len(p.IPsec) {
				break
			}
			h := &p.IPsec[p.NIPsec]
			p.NIPsec++
			p.Kind = KindIPsec
			var contents []byte
			if t == layers.LayerTypeIPSecESP {
				h.Proto, h.SPI, h.Seq = ipproto.ESP, d.esp.SPI, d.esp.Seq
				contents = d.esp.Contents
				h.Data = d.esp.Contents[:len(d.esp.Contents)+len(d.esp.Payload)]
			} else {
				h.Proto, h.SPI, h.Seq = ipproto.AH, d.ah.SPI, d.ah.Seq
				h.NextHeader, h.ICV = uint8(d.ah.NextHeader), d.ah.ICV
				contents = d.ah.Contents
				h.Data = d.ah.Contents[:len(d.ah.Contents)+len(d.ah.Payload)]
			}
			h.Offset = offsetIn(ipStart, h.Data)
			h.WireLen = ipPayloadWire
			ipPayloadWire -= len(contents)
		case LayerTypeIKE:
			p.Kind = KindIKE
			p.IKEHeader = d.ike
			p.IKE = d.ike.Contents
		}
	}
	if err != nil {
		return err
	}
	if p.Kind == KindOther && !p.UDP && (p.Protocol == 6 || p.Protocol == 132) {
		// Cleartext TCP/SCTP: the ports, for matching packets to IPsec
		// policy filters. They follow the last IP or extension header.
		if pl := d.transportPayload(); len(pl) >= 4 {
			p.SrcPort = uint16(pl[0])<<8 | uint16(pl[1])
			p.DstPort = uint16(pl[2])<<8 | uint16(pl[3])
		}
	}
	if p.Kind == KindOther && (p.IPVersion == 4 && p.Protocol == ipproto.ICMP || p.IPVersion == 6 && p.Protocol == ipproto.ICMPv6) {
		p.TooBig, p.HasTooBig = ParseTooBig(p.IPVersion, d.transportPayload())
	}
	if p.Kind == KindOther && d.udpIsIKEPort() && len(d.decoded) > 0 && d.decoded[len(d.decoded)-1] == layers.LayerTypeUDP {
		// UDP 500/4500 whose payload decoding stopped without an error can only be empty.
		return &Error{Layer: "UDP", Err: fmt.Errorf("empty UDP %d/%d payload", p.SrcPort, p.DstPort)}
	}
	return d.lengthError(p, nil, snapped)
}

// transportPayload is what follows the innermost IP header and its
// extension headers in the last decoded packet.
func (d *Decoder) transportPayload() []byte {
	for i := len(d.decoded) - 1; i >= 0; i-- {
		switch t := d.decoded[i]; t {
		case layers.LayerTypeIPv4:
			return d.ip4.Payload
		case layers.LayerTypeIPv6:
			return d.ip6.Payload
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Fragment:
			return d.extFor(t).Payload
		}
	}
	return nil
}

func (d *Decoder) udpIsIKEPort() bool {
	u := &d.udp
	return u.SrcPort == PortIKE || u.DstPort == PortIKE || u.SrcPort == PortNATT || u.DstPort == PortNATT
}

// lengthError turns an IP length that runs past the captured frame into an
// error unless the snap length explains it.
func (d *Decoder) lengthError(p *Packet, err error, snapped bool) error {
	if err != nil {
		return err
	}
	if p.IPVersion != 0 && !snapped && len(p.IP) < p.IPWireLen {
		return &Error{Layer: "length", Err: fmt.Errorf("IPv%d length field says %d bytes but the frame holds %d", p.IPVersion, p.IPWireLen, len(p.IP))}
	}
	return nil
}

func (d *Decoder) extFor(t gopacket.LayerType) *IPv6Ext {
	for i := range d.ext {
		if d.ext[i].headerClass == t {
			return &d.ext[i]
		}
	}
	return &d.ext[0]
}

func hbhLen(ip *layers.IPv6) int {
	if ip.HopByHop == nil {
		return 0
	}
	return int(ip.HopByHop.ActualLength)
}

// interesting says whether a fragment's protocol could carry what ipsecmon analyses.
func interesting(proto uint8) bool {
	return proto == ipproto.ESP || proto == ipproto.AH || proto == uint8(layers.IPProtocolUDP)
}

// offsetIn is the offset of sub within the buffer that starts at base; both
// are sub-slices of one frame.
func offsetIn(base, sub []byte) int {
	if len(base) == 0 || len(sub) == 0 {
		return 0
	}
	full := base[:cap(base)]
	subFull := sub[:cap(sub)]
	return len(full) - len(subFull)
}
