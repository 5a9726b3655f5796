package capture

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	pb "ipsecmon/internal/pktbuild"
)

// mixedCapture is a pcapng with an Ethernet and a raw-IP interface:
//
//	1 eth  ESP 10.0.0.1 → .2      4 raw  UDP 500 (IKE header)
//	2 raw  ESP 10.0.0.2 → .1      5 eth  802.1Q tag, then ESP
//	3 eth  UDP 53 (not IPsec)     6 raw  UDP 4500, ESP inside
func mixedCapture(t *testing.T) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	a, b := pb.IPv4Addr(1), pb.IPv4Addr(2)
	frames := []struct {
		iface int
		data  []byte
	}{
		{0, pb.Cat(pb.Eth(0x0800), pb.ESPPacket(a, b, 0x100, 1, 40))},
		{raw, pb.ESPPacket(b, a, 0x200, 1, 40)},
		{0, pb.Cat(pb.Eth(0x0800), pb.IPv4(17, a, b, 8+4, 0), pb.UDP(5353, 53, 4), pb.U32(0))},
		{raw, pb.Cat(pb.IPv4(17, a, b, 8+28, 0), pb.UDP(500, 500, 28), pb.IKEHeader(0x20, 34, 8, 0, 28))},
		{0, pb.Cat(pb.Eth(0x8100), pb.VLAN(7, 0x0800), pb.ESPPacket(a, b, 0x100, 2, 40))},
		{raw, pb.ESPinUDPPacket(a, b, 0x300, 1, 40)},
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Second), CaptureLength: len(f.data), Length: len(f.data), InterfaceIndex: f.iface}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// indexes reads src to its end and returns the frames' positions.
func indexes(t *testing.T, src Source) ([]int, error) {
	var got []int
	var f Frame
	for {
		err := src.Next(&f)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, f.Index)
	}
}

// TestFilter: the frames a BPF expression selects in a file with two link
// types, by their positions in the file (worked out from mixedCapture's
// table with tcpdump's meaning of each primitive: 'esp' is IP protocol 50,
// 'vlan' an 802.1Q tag, which only Ethernet carries).
func TestFilter(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want []int
	}{
		{"esp", []int{1, 2}},
		{"udp port 500 or udp port 4500", []int{4, 6}},
		{"udp", []int{3, 4, 6}},
		{"not udp", []int{1, 2, 5}},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			src, err := NewReader("x", bytes.NewReader(mixedCapture(t)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewBPF(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := indexes(t, Filter(src, b))
			if err != nil || !equalInts(got, tt.want) {
				t.Errorf("frames %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestFilterErrors: a wrong expression is refused before any file is
// read; frames of a link type the expression cannot apply to are not
// selected, and Unfit says how many and why.
func TestFilterErrors(t *testing.T) {
	if _, err := NewBPF("this is not bpf"); err == nil || !strings.Contains(err.Error(), `filter "this is not bpf"`) {
		t.Errorf("NewBPF(garbage) = %v", err)
	}
	b, err := NewBPF("vlan and esp")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := NewReader("x", bytes.NewReader(mixedCapture(t)))
	got, err := indexes(t, Filter(src, b))
	// Frame 5 is Ethernet with a VLAN tag; frames 2, 4 and 6 are raw IP,
	// which libpcap has no 'vlan' for.
	if !equalInts(got, []int{5}) || err != nil {
		t.Errorf("frames %v then %v; want [5] then EOF", got, err)
	}
	if u := b.Unfit(); len(u) != 1 || !strings.Contains(u[0], "link type Raw") || !strings.Contains(u[0], ": 3 frames of it left out") {
		t.Errorf("Unfit() = %q, want the 3 raw-IP frames", u)
	}
}

// TestLimitAndTee: -c's count runs over several sources; -w's copy holds
// exactly the frames read, which read back the same.
func TestLimitAndTee(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcapng")
	w, err := NewWriter(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	left := uint64(8)
	var all []int
	for range 2 {
		src, _ := NewReader("x", bytes.NewReader(mixedCapture(t)))
		got, err := indexes(t, NewTee(Limit(src, &left), w))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
	}
	// 6 frames of the first copy, then 2 of the second.
	if want := []int{1, 2, 3, 4, 5, 6, 1, 2}; !equalInts(all, want) || left != 0 {
		t.Errorf("frames %v, %d left; want %v, 0 left", all, left, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	orig, _ := NewReader("x", bytes.NewReader(mixedCapture(t)))
	var f, o Frame
	for i := range 8 {
		if i == 6 {
			orig, _ = NewReader("x", bytes.NewReader(mixedCapture(t)))
		}
		if err := back.Next(&f); err != nil {
			t.Fatalf("written frame %d: %v", i+1, err)
		}
		data := append([]byte(nil), f.Data...)
		if err := orig.Next(&o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, o.Data) || f.LinkType != o.LinkType || !f.CI.Timestamp.Equal(o.CI.Timestamp) {
			t.Errorf("written frame %d differs from what was read", i+1)
		}
	}
	if err := back.Next(&f); err != io.EOF {
		t.Errorf("after 8 frames: %v, want EOF", err)
	}
}

func TestDefaultFilterFor(t *testing.T) {
	// libpcap compiles 'vlan' for Ethernet only (1.10: "no VLAN support
	// for Linux cooked v1"); the default must compile on what -i any gives.
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull} {
		if _, err := pcapNewBPF(lt, DefaultFilterFor(lt)); err != nil {
			t.Errorf("%v: %v", lt, err)
		}
	}
	if _, err := pcapNewBPF(layers.LinkTypeLinuxSLL, DefaultFilter); err == nil {
		t.Log("this libpcap compiles 'vlan' for Linux cooked captures too")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
