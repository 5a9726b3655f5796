package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/capture"
)

// captureSnaplen is tcpdump's default snapshot length: whole packets.
const captureSnaplen = 262144

// captureBuffer is the kernel ring's size (see captureCmd).
const captureBuffer = 32 << 20

// captureCmd records an interface into a pcap file, like tcpdump -U -w,
// until SIGINT or SIGTERM, and then writes every packet the kernel had
// captured before the signal (capture.LiveSource drains). tcpdump 4.99
// (libpcap 1.10) does not: on SIGINT it leaves what is still in its ring
// buffer unwritten (packets of the last second, whose block the kernel had
// not handed over; with --immediate-mode, whatever arrived while tcpdump
// was not scheduled: 20 datagrams sent 50 ms before SIGINT, 0 written; 20
// sent to a stopped tcpdump, then SIGINT and SIGCONT, 0 written), so the
// last packets before the lab's end mark could be missing from a recording
// (seen: a DPD retransmission 155 ms before the mark on a loaded machine).
// Like tcpdump it captures whole packets, and it fails when the kernel
// dropped packets for lack of space. Its buffer is larger than libpcap's
// default 2 MB: for whole-packet snapshots libpcap 1.10 makes the kernel's
// ring of 256 KiB blocks (8 in 2 MB), and the kernel hands a block over at
// each read timeout (100 ms) however few packets it holds, so the default
// ring is full after about 0.8 s in which the capture was not scheduled;
// that happened at a load average of 15 (4 of 188 packets dropped).
// 32 MiB is 128 blocks. (Immediate mode is not used: its ring holds one
// snapshot length per packet, 8 packets of 256 KiB, and dropped 4 of 188
// under load.)
func captureCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	iface := fs.String("i", "", "interface")
	out := fs.String("w", "", "pcap file to write")
	filter := fs.String("f", "greater 0", "BPF filter (default: every packet)")
	fs.Parse(args)
	if *iface == "" || *out == "" {
		return errors.New("-i and -w are required")
	}
	src, err := capture.OpenLive(capture.LiveOptions{Interface: *iface, Filter: *filter, Snaplen: captureSnaplen,
		Promisc: true, BufferSize: captureBuffer})
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			src.Stop()
		case <-done:
		}
	}()
	// The lab waits for this line (as it did for tcpdump's).
	fmt.Fprintf(os.Stderr, "listening on %s\n", *iface)
	n, werr := writePcap(f, src, src.LinkType())
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("%s: %w", *out, werr)
	}
	st, err := src.Stats()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d packets captured, %d received by filter, %d dropped by kernel, %d unread\n", n, st.Received, st.Dropped, st.Unread)
	if st.Dropped > 0 || st.IfDropped > 0 || st.Unread > 0 {
		return fmt.Errorf("%s: %d packets dropped by the kernel, %d by the interface, %d not read before the drain timeout", *iface, st.Dropped, st.IfDropped, st.Unread)
	}
	return nil
}

// writePcap copies src into w as a pcap file of link type lt (microsecond
// timestamps) until src ends; every packet is written at once, as tcpdump
// -U does.
func writePcap(w io.Writer, src capture.Source, lt layers.LinkType) (int, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(captureSnaplen, fileLinkType(lt)); err != nil {
		return 0, err
	}
	var fr capture.Frame
	n := 0
	for {
		err := src.Next(&fr)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := pw.WritePacket(fr.CI, fr.Data); err != nil {
			return n, err
		}
		n++
	}
}

// fileLinkType maps libpcap's DLT_RAW (12 on Linux, 14 on OpenBSD), which
// a TUN device reports, to LINKTYPE_RAW (101), the number pcap files use
// (libpcap's dlt_to_linktype does the same for tcpdump).
func fileLinkType(lt layers.LinkType) layers.LinkType {
	switch lt {
	case 12, 14:
		return layers.LinkTypeRaw
	}
	return lt
}
