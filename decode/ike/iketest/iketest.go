// Package iketest reads the IKE messages out of a capture file for tests of
// the IKE packages. It is a small stand-in for ipsecmon's own decoder: link
// layer, IPv4/IPv6 (with IPv4 reassembly), UDP 500/4500 and the RFC 3948
// non-ESP marker. It cannot use the pipeline (that would make the IKE
// packages' tests import themselves), and an independent reader keeps those
// tests from sharing a decoder bug with the code under test. Only tests
// import it.
package iketest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Message is one IKE message (IKE header onwards) found in a capture.
type Message struct {
	Frame    int // 1-based frame number, as tshark counts
	Time     time.Time
	Src, Dst netip.AddrPort
	NATT     bool // carried on UDP 4500 behind a non-ESP marker
	Data     []byte
}

// ESP is a UDP-encapsulated or plain ESP packet seen in the capture (for
// tests that check SPIs against negotiated SAs).
type ESP struct {
	Frame    int
	Time     time.Time
	Src, Dst netip.AddrPort // port 0 for plain ESP
	SPI      uint32
}

type linkReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// Read returns the IKE messages and ESP packets of the capture at path
// (pcap or pcapng).
func Read(path string) ([]Message, []ESP, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var r linkReader
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = ng
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = pr
	}
	defrag := ip4defrag.NewIPv4Defragmenter()
	var msgs []Message
	var esps []ESP
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return msgs, esps, fmt.Errorf("%s: frame %d: %w", path, frame, err)
		}
		first := layers.LayerTypeEthernet
		switch r.LinkType() {
		case layers.LinkTypeNull, layers.LinkTypeLoop:
			first = layers.LayerTypeLoopback
		case layers.LinkTypeLinuxSLL:
			first = layers.LayerTypeLinuxSLL
		case layers.LinkTypeRaw, 12, 14:
			if len(data) > 0 && data[0]>>4 == 6 {
				first = layers.LayerTypeIPv6
			} else {
				first = layers.LayerTypeIPv4
			}
		}
		pkt := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
		var src, dst netip.Addr
		var payload gopacket.Layer
		if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			if ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.FragOffset != 0 {
				whole, err := defrag.DefragIPv4WithTimestamp(ip4, ci.Timestamp)
				if err != nil || whole == nil {
					continue
				}
				// ip4defrag returns the header fields and the joined payload.
				if whole.Protocol != layers.IPProtocolUDP {
					continue
				}
				pkt = gopacket.NewPacket(whole.Payload, layers.LayerTypeUDP, gopacket.Default)
				ip4 = whole
			}
			src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip4.DstIP.To4())
		} else if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			src, _ = netip.AddrFromSlice(ip6.SrcIP)
			dst, _ = netip.AddrFromSlice(ip6.DstIP)
		} else {
			continue
		}
		if esp, ok := pkt.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP); ok {
			esps = append(esps, ESP{Frame: frame, Time: ci.Timestamp, Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 0), SPI: esp.SPI})
			continue
		}
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			continue
		}
		payload = udp
		b := payload.LayerPayload()
		s := netip.AddrPortFrom(src, uint16(udp.SrcPort))
		d := netip.AddrPortFrom(dst, uint16(udp.DstPort))
		natt := udp.SrcPort == 4500 || udp.DstPort == 4500
		ike := udp.SrcPort == 500 || udp.DstPort == 500
		switch {
		case natt:
			if len(b) == 1 && b[0] == 0xff {
				continue // NAT keepalive (RFC 3948 §2.3)
			}
			if len(b) >= 4 && b[0]|b[1]|b[2]|b[3] == 0 {
				msgs = append(msgs, Message{frame, ci.Timestamp, s, d, true, bytes.Clone(b[4:])})
				continue
			}
			if len(b) >= 8 {
				spi := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
				esps = append(esps, ESP{Frame: frame, Time: ci.Timestamp, Src: s, Dst: d, SPI: spi})
			}
		case ike:
			msgs = append(msgs, Message{frame, ci.Timestamp, s, d, false, bytes.Clone(b)})
		}
	}
	return msgs, esps, nil
}
