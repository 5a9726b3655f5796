package plaintext

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	pb "ipsecmon/internal/pktbuild"
)

// reserialize decodes an IP packet with gopacket and serializes it again
// with gopacket's own length and checksum computation: a second reading
// of what Packet rebuilt.
func reserialize(t *testing.T, pkt []byte) []byte {
	t.Helper()
	first := layers.LayerTypeIPv4
	if pkt[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	p := gopacket.NewPacket(pkt, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	buf := gopacket.NewSerializeBuffer()
	var ls []gopacket.SerializableLayer
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			ls = append(ls, l)
		case *layers.IPv6:
			ls = append(ls, l)
		case *layers.IPv6HopByHop:
			ls = append(ls, l)
		case *layers.IPv6Destination:
			ls = append(ls, l)
		}
	}
	ls = append(ls, gopacket.Payload(p.NetworkLayer().LayerPayload()))
	if len(ls) > 2 {
		// Extension headers: gopacket's own payload is what follows the last one.
		ls[len(ls)-1] = gopacket.Payload(p.Layers()[len(ls)-2].LayerPayload())
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A transport-mode payload gets the header a receiver rebuilds: the outer
// header with the ESP next header as protocol, the length of what remains
// and, for IPv4, a valid checksum (checked by gopacket, which fixes lengths
// and computes checksums itself); UDP encapsulation and an AH header in
// front of ESP are gone; IPv6 extension headers before ESP stay.
func TestTransportHeader(t *testing.T) {
	icmp := []byte{8, 0, 0xf7, 0xfe, 0, 1, 0, 1}
	src, dst := [4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 2}
	opt := pb.IPv4(50, src, dst, 100, 0x4000) // DF set, with 4 bytes of options
	opt = append(opt, 0x94, 0x04, 0, 0)       // Router Alert
	opt[0] = 0x46
	v6 := pb.IPv6(0, pb.V6A, pb.V6B, 100)
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}  // Hop-by-Hop, then Destination Options
	dopt := []byte{50, 0, 1, 4, 0, 0, 0, 0} // Destination Options, then ESP
	tests := []struct {
		name   string
		header []byte
		want   []byte // the rebuilt header (before the payload), lengths and checksum still 0
	}{
		{"IPv4", pb.IPv4(50, src, dst, 100, 0), pb.IPv4(1, src, dst, 0, 0)},
		{"IPv4 with options, DF", opt, func() []byte { h := bytes.Clone(opt); h[9] = 1; return h }()},
		{"IPv4 UDP-encapsulated", pb.Cat(pb.IPv4(17, src, dst, 100, 0), pb.UDP(4500, 4500, 92)), pb.IPv4(1, src, dst, 0, 0)},
		{"IPv4 AH before ESP", pb.Cat(pb.IPv4(51, src, dst, 100, 0), pb.AH(50, 0x100, 1, 12)), pb.IPv4(1, src, dst, 0, 0)},
		{"IPv6", pb.IPv6(50, pb.V6A, pb.V6B, 100), pb.IPv6(1, pb.V6A, pb.V6B, 0)},
		{"IPv6 extension headers", pb.Cat(v6, hbh, dopt), pb.Cat(v6, hbh, []byte{1, 0, 1, 4, 0, 0, 0, 0})},
		{"IPv6 AH before ESP", pb.Cat(pb.IPv6(51, pb.V6A, pb.V6B, 100), pb.AH(50, 0x100, 1, 12)), pb.IPv6(1, pb.V6A, pb.V6B, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Packet(tt.header, 1, icmp)
			if err != nil {
				t.Fatal(err)
			}
			want := pb.Cat(tt.want, icmp)
			if want[0]>>4 == 4 {
				binary.BigEndian.PutUint16(want[2:], uint16(len(want)))
				want[10], want[11] = 0, 0
			} else {
				binary.BigEndian.PutUint16(want[4:], uint16(len(want)-40))
			}
			// The expected header with gopacket's checksum.
			want = reserialize(t, want)
			if !bytes.Equal(got, want) {
				t.Errorf("got  % x\nwant % x", got, want)
			}
		})
	}
}

func TestTunnelPayloadUnchanged(t *testing.T) {
	inner := pb.InnerICMP([4]byte{10, 1, 0, 1}, [4]byte{10, 2, 0, 1}, 56)
	for _, nh := range []uint8{4, 41} {
		got, err := Packet(nil, nh, inner)
		if err != nil || !bytes.Equal(got, inner) {
			t.Errorf("next header %d: %v, % x", nh, err, got)
		}
	}
}

func TestTransportHeaderErrors(t *testing.T) {
	for _, h := range [][]byte{
		nil,
		{0x45, 0},                            // short
		pb.IPv4(50, pb.A1, pb.A2, 0, 0)[:19], // short
		{0x4f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // IHL past the header
		pb.Cat(pb.IPv6(6, pb.V6A, pb.V6B, 0)),                           // TCP, not ESP
		{0x20},                                                          // version 2
	} {
		if p, err := Packet(h, 1, []byte{1}); err == nil {
			t.Errorf("header % x: rebuilt % x, want an error", h, p)
		}
	}
}
