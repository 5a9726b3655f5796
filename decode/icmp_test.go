package decode

import (
	"net/netip"
	"testing"

	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/ipproto"
)

// icmp4 is an ICMP fragmentation-needed message (RFC 792 type 3 code 4)
// with RFC 1191's next-hop MTU, quoting q.
func icmp4(mtu uint16, q []byte) []byte { return pb.Cat([]byte{3, 4, 0, 0, 0, 0}, pb.U16(mtu), q) }

// TestParseTooBig: the fields as RFC 792/1191 and RFC 4443 §3.2 lay them
// out, for each kind of quoted packet.
func TestParseTooBig(t *testing.T) {
	a, b := [4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 2}
	esp := pb.ESPPacket(a, b, 0xc0ffee01, 7, 1400)
	espUDP := pb.ESPinUDPPacket(a, b, 0xc0ffee02, 7, 1400)
	ikeUDP := pb.Cat(pb.IPv4(17, a, b, 8+4+28, 0), pb.UDP(4500, 4500, 4+28), []byte{0, 0, 0, 0}, pb.IKEHeader(0x20, 35, 8, 1, 28))
	ah := pb.AHPacket(a, b, 0xc0ffee03, 1, 6, 100)
	tcp := pb.Cat(pb.IPv4(6, a, b, 20, 0), make([]byte, 20))
	v6 := pb.Cat(pb.IPv6(50, pb.V6A, pb.V6B, 1400), pb.ESP(0xc0ffee04, 1, 1392))
	addr4 := func(x [4]byte) netip.Addr { return netip.AddrFrom4(x) }
	for _, c := range []struct {
		name string
		ver  uint8
		msg  []byte
		ok   bool
		want TooBig
	}{
		{"ESP, 28 bytes quoted (RFC 792's minimum)", 4, icmp4(1400, esp[:28]), true, TooBig{MTU: 1400, Src: addr4(a), Dst: addr4(b), Proto: ipproto.ESP, SPI: 0xc0ffee01, HasSPI: true}},
		{"ESP in UDP 4500", 4, icmp4(1280, espUDP[:40]), true, TooBig{MTU: 1280, Src: addr4(a), Dst: addr4(b), Proto: ipproto.UDP, SrcPort: 4500, DstPort: 4500, SPI: 0xc0ffee02, HasSPI: true}},
		{"ESP in UDP 4500, quote too short for the SPI", 4, icmp4(1280, espUDP[:28]), true, TooBig{MTU: 1280, Src: addr4(a), Dst: addr4(b), Proto: ipproto.UDP, SrcPort: 4500, DstPort: 4500}},
		{"IKE behind the non-ESP marker", 4, icmp4(576, ikeUDP[:40]), true, TooBig{MTU: 576, Src: addr4(a), Dst: addr4(b), Proto: ipproto.UDP, SrcPort: 4500, DstPort: 4500}},
		{"AH", 4, icmp4(0, ah[:28]), true, TooBig{Src: addr4(a), Dst: addr4(b), Proto: ipproto.AH, SPI: 0xc0ffee03, HasSPI: true}},
		{"ICMPv6 packet too big, ESP", 6, pb.Cat([]byte{2, 0, 0, 0}, pb.U32(1280), v6[:48]), true, TooBig{MTU: 1280, Src: netip.AddrFrom16(pb.V6A), Dst: netip.AddrFrom16(pb.V6B), Proto: ipproto.ESP, SPI: 0xc0ffee04, HasSPI: true}},
		{"TCP is not ipsecmon's", 4, icmp4(1400, tcp[:28]), false, TooBig{}},
		{"another ICMP type (port unreachable)", 4, pb.Cat([]byte{3, 3, 0, 0, 0, 0, 0, 0}, esp[:28]), false, TooBig{}},
		{"quote shorter than an IP header", 4, icmp4(1400, esp[:12]), false, TooBig{}},
		{"IPv6 ICMP type on IPv4", 4, pb.Cat([]byte{2, 0, 0, 0}, pb.U32(1280), v6[:48]), false, TooBig{}},
	} {
		got, ok := ParseTooBig(c.ver, c.msg)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("%s: %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseTooBig(f *testing.F) {
	f.Add(uint8(4), icmp4(1400, pb.ESPPacket(pb.A1, pb.A2, 1, 1, 100)[:28]))
	f.Add(uint8(6), pb.Cat([]byte{2, 0, 0, 0}, pb.U32(1280), pb.IPv6(17, pb.V6A, pb.V6B, 8), pb.UDP(4500, 4500, 0)))
	f.Fuzz(func(t *testing.T, ver uint8, b []byte) {
		tb, ok := ParseTooBig(ver, b)
		if ok && !tb.Src.IsValid() {
			t.Fatalf("accepted without the quoted addresses: %+v", tb)
		}
	})
}
