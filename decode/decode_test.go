package decode

import (
	"bytes"
	"errors"
	pb "ipsecmon/internal/pktbuild"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

type wantHdr struct {
	proto   uint8
	spi     uint32
	seq     uint32
	offset  int
	wireLen int
	dataLen int
	next    uint8
}

func TestDecode(t *testing.T) {
	espBody := 100 // IV + ciphertext + ICV stand-in
	ikeMsg := pb.IKEHeader(0x20, 34, 0x08, 0, 28)
	ikeSPI := mixedPortIKE()
	tests := []struct {
		name    string
		lt      layers.LinkType
		frame   []byte
		wireLen int // 0: same as len(frame)
		kind    Kind
		src     string
		encap   bool
		vlans   int
		hdrs    []wantHdr
		ikeLen  int
		frag    int // expected FragOffset for fragments
		errHas  string
		layer   string // the failing layer named in the *Error
	}{
		{
			name:  "ethernet ipv4 esp",
			lt:    layers.LinkTypeEthernet,
			frame: pb.Cat(pb.Eth(0x0800), pb.IPv4(50, pb.A1, pb.A2, 8+espBody, 0), pb.ESP(0xc0ffee01, 7, espBody)),
			kind:  KindIPsec, src: "192.0.2.1",
			// ESP starts right after the 20-byte IPv4 header; 8+100 bytes to the end.
			hdrs: []wantHdr{{proto: 50, spi: 0xc0ffee01, seq: 7, offset: 20, wireLen: 108, dataLen: 108}},
		},
		{
			name:  "802.1ad + 802.1Q ipv4 esp",
			lt:    layers.LinkTypeEthernet,
			frame: pb.Cat(pb.Eth(0x88a8), pb.VLAN(100, 0x8100), pb.VLAN(200, 0x0800), pb.IPv4(50, pb.A1, pb.A2, 8+espBody, 0), pb.ESP(1, 1, espBody)),
			kind:  KindIPsec, src: "192.0.2.1", vlans: 2,
			hdrs: []wantHdr{{proto: 50, spi: 1, seq: 1, offset: 20, wireLen: 108, dataLen: 108}},
		},
		{
			name:  "ethernet padding is not ESP",
			lt:    layers.LinkTypeEthernet,
			frame: pb.Cat(pb.Eth(0x0800), pb.IPv4(50, pb.A1, pb.A2, 8+8, 0), pb.ESP(2, 3, 8), make([]byte, 10)),
			kind:  KindIPsec, src: "192.0.2.1",
			hdrs: []wantHdr{{proto: 50, spi: 2, seq: 3, offset: 20, wireLen: 16, dataLen: 16}},
		},
		{
			name: "linux cooked v1 ipv4 udp 4500 esp",
			lt:   layers.LinkTypeLinuxSLL,
			// SLL v1: packet type, ARPHRD, addr len, addr[8], protocol.
			frame: pb.Cat([]byte{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}, pb.U16(0x0800), pb.IPv4(17, pb.A1, pb.A2, 8+8+espBody, 0), pb.UDP(4500, 4500, 8+espBody), pb.ESP(0x11223344, 9, espBody)),
			kind:  KindIPsec, src: "192.0.2.1", encap: true,
			// ESP after IPv4 (20) and UDP (8).
			hdrs: []wantHdr{{proto: 50, spi: 0x11223344, seq: 9, offset: 28, wireLen: 108, dataLen: 108}},
		},
		{
			name: "linux cooked v2 ipv6 esp",
			lt:   layers.LinkTypeLinuxSLL2,
			// SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr[8].
			frame: pb.Cat(pb.U16(0x86dd), pb.U16(0), pb.U32(3), pb.U16(1), []byte{0, 6}, make([]byte, 8), pb.IPv6(50, pb.V6A, pb.V6B, 8+espBody), pb.ESP(5, 6, espBody)),
			kind:  KindIPsec, src: "2001:db8::1",
			hdrs: []wantHdr{{proto: 50, spi: 5, seq: 6, offset: 40, wireLen: 108, dataLen: 108}},
		},
		{
			name:  "bsd loopback ipv4 udp 500 ike",
			lt:    layers.LinkTypeNull,
			frame: pb.Cat([]byte{2, 0, 0, 0}, pb.IPv4(17, pb.A1, pb.A2, 8+28, 0), pb.UDP(500, 500, 28), ikeMsg),
			kind:  KindIKE, src: "192.0.2.1", ikeLen: 28,
		},
		{
			name:  "udp 4500 non-ESP marker then ike",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+4+28, 0), pb.UDP(4500, 4500, 4+28), pb.U32(0), ikeMsg),
			kind:  KindIKE, src: "192.0.2.1", encap: true, ikeLen: 28,
		},
		{
			// A NAT mapped the initiator's port 500 to 4500: plain IKE
			// arrives from 4500 at the responder's port 500 (and answers go
			// back from 500 to 4500).
			name:  "udp 4500 to 500 plain ike",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+28, 0), pb.UDP(4500, 500, 28), ikeSPI),
			kind:  KindIKE, src: "192.0.2.1", ikeLen: 28,
		},
		{
			name:  "udp 500 to 4500 plain ike",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+28, 0), pb.UDP(500, 4500, 28), ikeSPI),
			kind:  KindIKE, src: "192.0.2.1", ikeLen: 28,
		},
		{
			name:  "udp 500 to 4500 non-ESP marker then ike",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+4+28, 0), pb.UDP(500, 4500, 4+28), pb.U32(0), ikeSPI),
			kind:  KindIKE, src: "192.0.2.1", encap: true, ikeLen: 28,
		},
		{
			// A NAT mapped the peer's 4500 to 500: ESP between 500 and 4500.
			name:  "udp 500 to 4500 esp",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+8+espBody, 0), pb.UDP(500, 4500, 8+espBody), pb.ESP(0x4500, 1, espBody)),
			kind:  KindIPsec, src: "192.0.2.1", encap: true,
			hdrs: []wantHdr{{proto: 50, spi: 0x4500, seq: 1, offset: 28, wireLen: 108, dataLen: 108}},
		},
		{
			name:  "nat keepalive",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 9, 0), pb.UDP(4500, 4500, 1), []byte{0xff}),
			kind:  KindNATKeepalive, src: "192.0.2.1",
		},
		{
			name: "raw ipv6 with hop-by-hop and destination options before esp",
			lt:   layers.LinkTypeIPv6,
			// HBH (next=60, len 0 → 8 bytes, PadN), Dest opts (next=50, 8 bytes, PadN).
			frame: pb.Cat(pb.IPv6(0, pb.V6A, pb.V6B, 8+8+8+espBody), []byte{60, 0, 1, 4, 0, 0, 0, 0}, []byte{50, 0, 1, 4, 0, 0, 0, 0}, pb.ESP(0xabcdef01, 77, espBody)),
			kind:  KindIPsec, src: "2001:db8::1",
			hdrs: []wantHdr{{proto: 50, spi: 0xabcdef01, seq: 77, offset: 56, wireLen: 108, dataLen: 108}},
		},
		{
			name: "ipv4 ah + esp bundle",
			lt:   layers.LinkTypeRaw,
			// AH with a 12-byte ICV is 24 bytes; ESP follows.
			frame: pb.Cat(pb.IPv4(51, pb.A1, pb.A2, 24+8+espBody, 0), pb.AH(50, 0x8179b705, 4, 12), pb.ESP(0x48dac2e4, 4, espBody)),
			kind:  KindIPsec, src: "192.0.2.1",
			hdrs: []wantHdr{
				{proto: 51, spi: 0x8179b705, seq: 4, offset: 20, wireLen: 132, dataLen: 132, next: 50},
				{proto: 50, spi: 0x48dac2e4, seq: 4, offset: 44, wireLen: 108, dataLen: 108},
			},
		},
		{
			name:  "ipv4 ah transport carrying icmp",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(51, pb.A1, pb.A2, 24+64, 0), pb.AH(1, 0x604816f6, 1, 12), make([]byte, 64)),
			kind:  KindIPsec, src: "192.0.2.1",
			hdrs: []wantHdr{{proto: 51, spi: 0x604816f6, seq: 1, offset: 20, wireLen: 88, dataLen: 88, next: 1}},
		},
		{
			name: "snap length cut the esp payload: counted from the IP length",
			lt:   layers.LinkTypeRaw,
			// 20-byte IPv4 + 8-byte ESP header + 30 bytes captured of 100.
			frame:   pb.Cat(pb.IPv4(50, pb.A1, pb.A2, 8+espBody, 0), pb.ESP(9, 10, 30)),
			wireLen: 20 + 8 + espBody,
			kind:    KindIPsec, src: "192.0.2.1",
			hdrs: []wantHdr{{proto: 50, spi: 9, seq: 10, offset: 20, wireLen: 108, dataLen: 38}},
		},
		{
			name:  "length field pointing past the frame",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(50, pb.A1, pb.A2, 8+espBody, 0), pb.ESP(9, 10, 30)),
			kind:  KindIPsec, src: "192.0.2.1",
			hdrs:   []wantHdr{{proto: 50, spi: 9, seq: 10, offset: 20, wireLen: 108, dataLen: 38}},
			errHas: "length field says 128 bytes but the frame holds 58", layer: "length",
		},
		{
			name:  "esp header cut short",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(50, pb.A1, pb.A2, 4, 0), pb.U32(9)),
			kind:  KindOther, src: "192.0.2.1",
			errHas: "ESP header: 4 of 8 bytes", layer: "ESP",
		},
		{
			name:  "udp 4500 payload that is none of the three",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+3, 0), pb.UDP(4500, 4500, 3), []byte{1, 2, 3}),
			kind:  KindOther, src: "192.0.2.1",
			errHas: "UDP 4500 payload of 3 bytes", layer: "UDP 4500",
		},
		{
			name:  "first ipv4 fragment of esp",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(50, pb.A1, pb.A2, 8+espBody, 0x2000), pb.ESP(1, 1, espBody)),
			kind:  KindFragment, src: "192.0.2.1", frag: 0,
		},
		{
			name: "non-first ipv4 fragment is never read as esp",
			lt:   layers.LinkTypeRaw,
			// offset 185 units = 1480 bytes, MF clear.
			frame: pb.Cat(pb.IPv4(50, pb.A1, pb.A2, 108, 185), pb.ESP(0xdeadbeef, 1, espBody)),
			kind:  KindFragment, src: "192.0.2.1", frag: 1480,
		},
		{
			name: "non-first ipv6 fragment",
			lt:   layers.LinkTypeRaw,
			// Fragment header: next 50, offset 100 units (800 bytes), M=0, id 7.
			frame: pb.Cat(pb.IPv6(44, pb.V6A, pb.V6B, 8+108), []byte{50, 0}, pb.U16(100<<3), pb.U32(7), pb.ESP(0xdeadbeef, 1, espBody)),
			kind:  KindFragment, src: "2001:db8::1", frag: 800,
		},
		{
			// Found by FuzzFrames: the failed inner header left the shared
			// IPv6 struct with a Hop-by-Hop header still inside Payload.
			name: "ipv6 in ipv6 whose inner hop-by-hop header is invalid",
			lt:   layers.LinkTypeRaw,
			frame: exactCap(pb.Cat(pb.IPv6(41, pb.V6A, pb.V6B, 48), pb.IPv6(0, pb.V6B, pb.V6A, 0), // inner length 0: jumbo, yet
				[]byte{50, 0, 1, 4, 0, 0, 0, 0})), // no Jumbo Payload option, only PadN
			kind: KindOther,
			// The addresses are the inner header's (the struct was reused),
			// so they are not checked; the failed layer is remembered.
			errHas: "IPv6 length 0, but HopByHop header does not have jumbogram option", layer: "IPv6",
		},
		{
			name:  "tcp is other",
			lt:    layers.LinkTypeRaw,
			frame: pb.Cat(pb.IPv4(6, pb.A1, pb.A2, 20, 0), make([]byte, 20)),
			kind:  KindOther, src: "192.0.2.1",
		},
		{
			name:   "unknown link type",
			lt:     layers.LinkType(147),
			frame:  []byte{1, 2, 3},
			kind:   KindOther,
			errHas: "unsupported link type 147", layer: "link",
		},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			wl := tt.wireLen
			if wl == 0 {
				wl = len(tt.frame)
			}
			err := d.Decode(tt.lt, tt.frame, wl, &p)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.errHas)
				}
				var de *Error
				if !errors.As(err, &de) || de.Layer != tt.layer {
					t.Fatalf("error %#v: want a *decode.Error in layer %q", err, tt.layer)
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if p.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v", p.Kind, tt.kind)
			}
			if tt.src != "" && p.Src != netip.MustParseAddr(tt.src) {
				t.Errorf("src = %v, want %v", p.Src, tt.src)
			}
			if p.Encapsulated != tt.encap {
				t.Errorf("encapsulated = %v, want %v", p.Encapsulated, tt.encap)
			}
			if p.VLANs != tt.vlans {
				t.Errorf("vlans = %d, want %d", p.VLANs, tt.vlans)
			}
			if p.Kind == KindFragment && p.FragOffset != tt.frag {
				t.Errorf("fragment offset = %d, want %d", p.FragOffset, tt.frag)
			}
			if tt.ikeLen != 0 && len(p.IKE) != tt.ikeLen {
				t.Errorf("IKE message length = %d, want %d", len(p.IKE), tt.ikeLen)
			}
			if tt.errHas == "" || tt.hdrs != nil {
				if p.NIPsec != len(tt.hdrs) {
					t.Fatalf("IPsec headers = %d, want %d", p.NIPsec, len(tt.hdrs))
				}
				for i, w := range tt.hdrs {
					h := p.IPsec[i]
					got := wantHdr{h.Proto, h.SPI, h.Seq, h.Offset, h.WireLen, len(h.Data), h.NextHeader}
					if got != w {
						t.Errorf("header %d = %+v, want %+v", i, got, w)
					}
				}
			}
		})
	}
}

// exactCap gives b no room past its end, as a capture's frame buffer may
// have none: reading past it panics instead of finding spare bytes.
func exactCap(b []byte) []byte { return b[:len(b):len(b)] }

// TestIPv6FragmentPosition: the offsets a reassembler needs, on packets
// laid out by hand (RFC 8200 §4.5: the unfragmentable part is everything
// before the Fragment header).
func TestIPv6FragmentPosition(t *testing.T) {
	fragHdr := func(next uint8, offUnits uint16, more bool, id uint32) []byte {
		fo := offUnits << 3
		if more {
			fo |= 1
		}
		return pb.Cat([]byte{next, 0}, pb.U16(fo), pb.U32(id))
	}
	dstOpts := func(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} } // PadN, 8 bytes
	hbh := func(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }
	data := pb.ESP(0x1234, 1, 16)
	tests := []struct {
		name             string
		frame            []byte
		hdrAt, nhAt, off int
		more             bool
	}{
		{"fragment header first", pb.Cat(pb.IPv6(44, pb.V6A, pb.V6B, 8+len(data)), fragHdr(50, 0, true, 9), data), 40, 6, 0, true},
		{"after destination options", pb.Cat(pb.IPv6(60, pb.V6A, pb.V6B, 16+len(data)), dstOpts(44), fragHdr(50, 3, true, 9), data), 48, 40, 24, true},
		{"after hop-by-hop", pb.Cat(pb.IPv6(0, pb.V6A, pb.V6B, 16+len(data)), hbh(44), fragHdr(51, 7, false, 9), data), 48, 40, 56, false},
		{"hop-by-hop, destination options", pb.Cat(pb.IPv6(0, pb.V6A, pb.V6B, 24+len(data)), hbh(60), dstOpts(44), fragHdr(50, 1, false, 9), data), 56, 48, 8, false},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if err := d.Decode(layers.LinkTypeRaw, tt.frame, len(tt.frame), &p); err != nil {
				t.Fatal(err)
			}
			if p.Kind != KindFragment {
				t.Fatalf("kind %v, want fragment", p.Kind)
			}
			if p.FragHdrAt != tt.hdrAt || p.FragNHAt != tt.nhAt || p.FragOffset != tt.off || p.MoreFrags != tt.more || p.FragID != 9 {
				t.Errorf("header at %d, next header byte at %d, offset %d, more %v, id %d; want %d, %d, %d, %v, 9",
					p.FragHdrAt, p.FragNHAt, p.FragOffset, p.MoreFrags, p.FragID, tt.hdrAt, tt.nhAt, tt.off, tt.more)
			}
			if p.IP[p.FragNHAt] != 44 {
				t.Errorf("byte at %d is %d, not 44 (Fragment)", p.FragNHAt, p.IP[p.FragNHAt])
			}
			if got := p.IP[p.FragHdrAt+8:]; !bytes.Equal(got, data) {
				t.Errorf("fragment data %x, want %x", got, data)
			}
		})
	}
}

func TestDecodeAllocationFree(t *testing.T) {
	frame := pb.Cat(pb.Eth(0x0800), pb.IPv4(17, pb.A1, pb.A2, 8+108, 0), pb.UDP(4500, 4500, 108), pb.ESP(1, 1, 100))
	d := NewDecoder()
	var p Packet
	allocs := testing.AllocsPerRun(1000, func() {
		if err := d.Decode(layers.LinkTypeEthernet, frame, len(frame), &p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocates %.1f times per packet, want 0", allocs)
	}
}

func TestParseInner(t *testing.T) {
	tcpHdr := pb.Cat(pb.U16(40000), pb.U16(443), make([]byte, 16))
	tests := []struct {
		name string
		nh   uint8
		data []byte
		want Inner
	}{
		{"tunnel ipv4 tcp", 4, pb.Cat(pb.IPv4(6, pb.A1, pb.A2, 20, 0), tcpHdr),
			Inner{Tunnel: true, Src: netip.AddrFrom4(pb.A1), Dst: netip.AddrFrom4(pb.A2), Proto: 6, HasPorts: true, SrcPort: 40000, DstPort: 443}},
		{"tunnel ipv6 udp", 41, pb.Cat(pb.IPv6(17, pb.V6A, pb.V6B, 8), pb.UDP(53, 5353, 0)),
			Inner{Tunnel: true, Src: netip.AddrFrom16(pb.V6A), Dst: netip.AddrFrom16(pb.V6B), Proto: 17, HasPorts: true, SrcPort: 53, DstPort: 5353}},
		{"transport icmp", 1, []byte{8, 0, 0, 0}, Inner{Proto: 1}},
		{"transport udp", 17, pb.UDP(500, 4500, 0), Inner{Proto: 17, HasPorts: true, SrcPort: 500, DstPort: 4500}},
		{"inner non-first fragment", 4, pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8, 10), make([]byte, 8)),
			Inner{Tunnel: true, Src: netip.AddrFrom4(pb.A1), Dst: netip.AddrFrom4(pb.A2), Proto: 17}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInner(tt.nh, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := ParseInner(4, []byte{0x45, 0}); err == nil {
		t.Error("short inner IPv4 header: no error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint16(layers.LinkTypeEthernet), pb.Cat(pb.Eth(0x0800), pb.IPv4(50, pb.A1, pb.A2, 16, 0), pb.ESP(1, 1, 8)))
	f.Add(uint16(layers.LinkTypeRaw), pb.Cat(pb.IPv4(51, pb.A1, pb.A2, 24+8+16, 0), pb.AH(50, 1, 1, 12), pb.ESP(2, 2, 16)))
	f.Add(uint16(layers.LinkTypeRaw), pb.Cat(pb.IPv6(0, pb.V6A, pb.V6B, 16+16), []byte{60, 0, 1, 4, 0, 0, 0, 0}, []byte{50, 0, 1, 4, 0, 0, 0, 0}, pb.ESP(1, 1, 8)))
	f.Add(uint16(layers.LinkTypeLinuxSLL2), pb.Cat(pb.U16(0x0800), pb.U16(0), pb.U32(3), pb.U16(1), []byte{0, 6}, make([]byte, 8), pb.IPv4(17, pb.A1, pb.A2, 8+4+28, 0), pb.UDP(4500, 4500, 32), pb.U32(0), pb.IKEHeader(0x10, 2, 0, 0, 28)))
	f.Add(uint16(layers.LinkTypeNull), pb.Cat([]byte{2, 0, 0, 0}, pb.IPv4(17, pb.A1, pb.A2, 9, 0), pb.UDP(4500, 4500, 1), []byte{0xff}))
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, lt uint16, frame []byte) {
		var p Packet
		_ = d.Decode(layers.LinkType(lt), frame, len(frame), &p)
		for i := 0; i < p.NIPsec; i++ {
			h := p.IPsec[i]
			if h.Offset < 0 || h.Offset > len(p.IP) || len(h.Data) > h.WireLen+len(frame) {
				t.Fatalf("header %d out of bounds: %+v (IP %d bytes)", i, h, len(p.IP))
			}
		}
		if p.Kind == KindIPsec || p.Kind == KindIKE {
			_, _ = ParseInner(p.IPsec[0].NextHeader, p.IPsec[0].Data)
			checkInnerHead(t, p.IPsec[0].NextHeader, p.IPsec[0].Data)
		}
	})
}

// Cleartext TCP keeps its ports, for matching packets against policy filters.
func TestDecodeCleartextPorts(t *testing.T) {
	tcp := pb.Cat(pb.U16(51000), pb.U16(22), make([]byte, 16))
	frame := pb.Cat(pb.IPv6(6, pb.V6A, pb.V6B, 8+20), []byte{6, 0, 1, 4, 0, 0, 0, 0}, tcp)
	frame[6] = 60 // destination options header first
	var p Packet
	if err := NewDecoder().Decode(layers.LinkTypeRaw, frame, len(frame), &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindOther || p.Protocol != 6 || p.SrcPort != 51000 || p.DstPort != 22 || p.UDP {
		t.Errorf("kind %v proto %d ports %d>%d udp %v; want other, TCP 51000>22", p.Kind, p.Protocol, p.SrcPort, p.DstPort, p.UDP)
	}
}

// mixedPortIKE is an IKE_SA_INIT header with a non-zero initiator SPI, as
// every real one has (RFC 7296 §3.1).
func mixedPortIKE() []byte {
	m := pb.IKEHeader(0x20, 34, 0x08, 0, 28)
	copy(m, []byte{0x5a, 0x5a, 0x5a, 0x5a, 1, 2, 3, 4})
	return m
}

// Between ports 500 and 4500 tshark's reading decides: Wireshark takes the
// lower port's dissector (ISAKMP) for plain IKE and RFC 3948's for a
// non-ESP marker or ESP. Each frame must be IKE to ipsecmon when tshark
// shows an ISAKMP header, ESP when it shows an ESP one.
func TestMixedPortsAgainstTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	ike := mixedPortIKE()
	frames := [][]byte{
		pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+28, 0), pb.UDP(4500, 500, 28), ike),
		pb.Cat(pb.IPv4(17, pb.A2, pb.A1, 8+28, 0), pb.UDP(500, 4500, 28), ike),
		pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+4+28, 0), pb.UDP(500, 4500, 4+28), pb.U32(0), ike),
		pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+8+32, 0), pb.UDP(500, 4500, 8+32), pb.ESP(0x4500, 1, 32)),
		pb.Cat(pb.IPv4(17, pb.A1, pb.A2, 8+28, 0), pb.UDP(4500, 4500, 28), ike[:28]),
	}
	var fr []pb.Frame
	for _, f := range frames {
		fr = append(fr, pb.Frame{Data: f})
	}
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	if err := pb.WritePcap(path, time.Unix(0, 0), fr); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=,", "-e", "isakmp.ispi", "-e", "esp.spi").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark printed %d lines for %d frames", len(lines), len(frames))
	}
	d := NewDecoder()
	for i, f := range frames {
		var p Packet
		err := d.Decode(layers.LinkTypeRaw, f, len(f), &p)
		isakmp, esp, _ := strings.Cut(lines[i], ",")
		var want Kind
		switch {
		case isakmp != "":
			want = KindIKE
		case esp != "":
			want = KindIPsec
		}
		if err != nil || p.Kind != want {
			t.Errorf("frame %d: ipsecmon %v (%v), tshark %q", i+1, p.Kind, err, lines[i])
		}
	}
}

// A header the capture holds whole is malformed when it fails, whatever the
// snap length cut after it; one the snap length cut is not. The IPv4 header
// below (RFC 791 §3.1) has IHL 7 (28 bytes) and one option, type 255 with
// length 18, that does not fit its 8 bytes of options; its total length
// (1000) passes the captured bytes either way.
func TestSnappedOnlyWhenTheHeaderIsCut(t *testing.T) {
	ip := []byte{0x47, 0, 0x03, 0xe8, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
		255, 18, 0, 0, 0, 0, 0, 0}
	frame := append(append(make([]byte, 12), 0x08, 0x00), ip...)
	for _, tc := range []struct {
		name    string
		data    []byte
		snapped bool
	}{
		{"header whole, payload cut", append(frame, make([]byte, 40)...), false},
		{"header cut inside its options", frame[:14+24], true},
	} {
		var p Packet
		err := NewDecoder().Decode(layers.LinkTypeEthernet, tc.data, 14+1000, &p)
		var de *Error
		if !errors.As(err, &de) || de.Layer != "IPv4" || de.Snapped != tc.snapped {
			t.Errorf("%s: %v (%+v), want an IPv4 error, snapped %v", tc.name, err, de, tc.snapped)
		}
	}
}
