package traffic

import (
	"context"
	"net"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"
)

// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's
// complement), so the checksum is its complement 220d.
func TestChecksumRFC1071(t *testing.T) {
	if got := checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != 0x220d {
		t.Errorf("checksum %04x, want 220d", got)
	}
}

func TestEchoRequest(t *testing.T) {
	b := echoRequest(0x1234, 7, 56)
	if len(b) != 64 || b[0] != 8 || b[1] != 0 || b[4] != 0x12 || b[5] != 0x34 || b[7] != 7 {
		t.Fatalf("% x", b[:8])
	}
	// A correct checksum makes the whole message sum to zero (RFC 792).
	if checksum(b) != 0 {
		t.Errorf("checksum does not verify")
	}
	reply := append([]byte(nil), b...)
	reply[0] = 0
	if !isEchoReply(reply, 0x1234, 7) || isEchoReply(reply, 0x1234, 8) || isEchoReply(b, 0x1234, 7) {
		t.Error("echo reply matching")
	}
}

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"16,400, 1200", []int{16, 400, 1200}, false},
		{"16,,4", nil, true},
		{"-1", nil, true},
		{"65508", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSizes(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSizes(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// TestLoopback runs the generator against the receiver on 127.0.0.1 (ICMP
// only as root: it needs a raw socket).
func TestLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lo := netip.MustParseAddr("127.0.0.1")
	// A port free for both TCP and UDP right now.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	go Serve(ctx, []netip.Addr{lo}, port, port)
	time.Sleep(100 * time.Millisecond)
	p := Plan{Src: lo, Dst: lo, UDPSizes: []int{18, 300}, UDPEach: 2, UDPPort: port, TCPChunks: 3, TCPChunkSize: 500, TCPPort: port}
	if os.Geteuid() == 0 {
		p.ICMPEchoes, p.ICMPPayload = 2, 56
	}
	rep, err := Send(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Src: "127.0.0.1", Dst: "127.0.0.1",
		UDP: []UDPCount{{PayloadSize: 18, IPLength: 46, Sent: 2}, {PayloadSize: 300, IPLength: 328, Sent: 2}},
		TCP: TCPReport{Chunks: 3, ChunkSize: 500, Bytes: 1500, AcksRead: 3, Connections: 1}}
	if p.ICMPEchoes > 0 {
		want.ICMP = ICMPReport{Requests: 2, Replies: 2, PayloadSize: 56, IPLength: 84}
	}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report %+v\nwant %+v", rep, want)
	}
}

func FuzzParseSizes(f *testing.F) {
	f.Add("16,400,1200")
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := ParseSizes(s)
		for _, n := range sizes {
			if err == nil && (n < 0 || n > 65507) {
				t.Fatalf("size %d accepted", n)
			}
		}
	})
}
