package capture

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	pb "ipsecmon/internal/pktbuild"
)

// Packet comments and directions as tshark reads them back (its
// frame.comment and epb_flags direction fields), in files of mode 0600
// that rotate within their size limit however long the comments.
func TestWriterPacketOptions(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.pcapng")
	w, err := NewWriterMode(path, 1200, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	opts := []PacketOptions{
		{Comment: "ESP SPI 0x00000300 seq 1", Inbound: true},
		{Comment: "x", Outbound: true},
		{},
		{Comment: strings.Repeat("long comment ", 20)},
	}
	pkt := pb.ESPPacket(pb.A1, pb.A2, 0x300, 1, 60)
	for i := range 12 {
		fr := Frame{Data: pkt, LinkType: layers.LinkTypeRaw, Source: "decrypted",
			CI: gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(pkt), Length: len(pkt)}}
		if err := w.WritePacket(&fr, opts[i%len(opts)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.Files()) < 2 {
		t.Fatalf("%d files: the test wants rotation", len(w.Files()))
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	var lines []string
	for _, name := range w.Files() {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", name, st.Mode().Perm())
		}
		if st.Size() > 1200 {
			t.Errorf("%s: %d bytes, over the 1200-byte limit", name, st.Size())
		}
		var stderr bytes.Buffer
		cmd := exec.Command(tshark, "-n", "-r", name, "-T", "fields", "-E", "separator=|", "-e", "frame.comment", "-e", "frame.packet_flags_direction")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(strings.ReplaceAll(stderr.String(), `Running as user "root" and group "root". This could be dangerous.`, "")) != "" {
			t.Fatalf("tshark on %s: %v: %s", name, err, stderr.String())
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	if len(lines) != 12 {
		t.Fatalf("tshark read %d packets, want 12", len(lines))
	}
	// epb_flags direction: 0x1 inbound, 0x2 outbound (pcapng §4.3.1).
	want := []string{"ESP SPI 0x00000300 seq 1|0x00000001", "x|0x00000002", "|", strings.Repeat("long comment ", 20) + "|"}
	for i, l := range lines {
		if w := want[i%len(want)]; l != w {
			t.Errorf("packet %d: tshark reads %q, want %q", i+1, l, w)
		}
	}
}
