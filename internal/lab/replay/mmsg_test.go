package replay

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"github.com/gopacket/gopacket/pcapgo"
)

// RunBatched puts every frame of the file on the wire once per loop, in
// order and unchanged, with a last batch shorter than the others: a
// libpcap capture on loopback (root) sees exactly the frames written.
func TestRunBatchedSendsEveryFrame(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (packet sockets)")
	}
	const n = 3*batchFrames + 7
	var frames [][]byte
	for i := 0; i < n; i++ {
		// Ethertype 0x88b5 (IEEE local experimental): nothing else on lo.
		f := make([]byte, 14+8+i%50)
		binary.BigEndian.PutUint16(f[12:], 0x88b5)
		binary.BigEndian.PutUint64(f[14:], uint64(i))
		frames = append(frames, f)
	}
	path := filepath.Join(t.TempDir(), "f.pcap")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(out)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, f := range frames {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(f), Length: len(f)}, f)
	}
	out.Close()

	h, err := pcap.OpenLive("lo", 256, false, 50*time.Millisecond)
	if err != nil {
		t.Skip("no capture on lo:", err)
	}
	defer h.Close()
	if err := h.SetBPFFilter("ether proto 0x88b5"); err != nil {
		t.Fatal(err)
	}
	rep, err := RunBatched(context.Background(), "lo", []string{path}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bytesWant uint64
	for _, f := range frames {
		bytesWant += 2 * uint64(len(f))
	}
	if rep.Packets != 2*n || rep.Bytes != bytesWant {
		t.Errorf("report: %d packets, %d bytes; want %d, %d", rep.Packets, rep.Bytes, 2*n, bytesWant)
	}
	for i := 0; i < 2*n; i++ {
		got, _, err := h.ReadPacketData()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := frames[i%n]; !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %x, want %x", i, got, want)
		}
	}
}
