// Package replay injects the frames of a capture file into a network
// interface through libpcap (pcap_sendpacket), as fast as the kernel takes
// them. The live checks use it to push more packets at a capturing ipsecmon
// than its kernel buffer holds, and count exactly what they sent.
package replay

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcap"
	"github.com/gopacket/gopacket/pcapgo"
)

// Report says what was injected.
type Report struct {
	Interface string   `json:"interface"`
	Files     []string `json:"files"`
	Loops     int      `json:"loops"`
	// Packets and Bytes count the frames the kernel accepted (a failed
	// send is retried, never counted twice).
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	// Retries counts sends repeated after ENOBUFS/EAGAIN (queue full).
	Retries uint64  `json:"retries"`
	Seconds float64 `json:"seconds"`
}

// maxRetries bounds how long one frame may be refused before the replay
// gives up (each retry yields for a few microseconds).
const maxRetries = 100000

// Run sends every frame of each file, loops times over, on iface.
// Timestamps are ignored: the point is the highest rate.
func Run(ctx context.Context, iface string, files []string, loops int) (Report, error) {
	return RunAt(ctx, iface, files, loops, 0)
}

// RunAt is Run at no more than pps frames a second (0: as fast as the
// kernel takes them), so that a run can be repeated at the same rate.
func RunAt(ctx context.Context, iface string, files []string, loops int, pps float64) (Report, error) {
	rep := Report{Interface: iface, Files: files, Loops: loops}
	if loops < 1 {
		return rep, fmt.Errorf("replay: loops %d: need at least 1", loops)
	}
	h, err := pcap.OpenLive(iface, 128, false, pcap.BlockForever)
	if err != nil {
		return rep, fmt.Errorf("replay: interface %s: %w", iface, err)
	}
	defer h.Close()
	// The handle only sends: a filter that matches nothing keeps its
	// receive ring out of the way.
	if err := h.SetBPFFilter("less 1"); err != nil {
		return rep, fmt.Errorf("replay: interface %s: filter: %w", iface, err)
	}
	start := time.Now()
	pace := func() {}
	if pps > 0 {
		pace = func() {
			if ahead := time.Duration(float64(rep.Packets)/pps*float64(time.Second)) - time.Since(start); ahead > time.Millisecond {
				time.Sleep(ahead)
			}
		}
	}
	for l := 0; l < loops && err == nil; l++ {
		for _, name := range files {
			if err = sendFile(ctx, h, name, &rep, pace); err != nil {
				break
			}
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, err
}

func sendFile(ctx context.Context, h *pcap.Handle, name string, rep *Report, pace func()) error {
	f, r, err := openCapture(name)
	if err != nil {
		return err
	}
	defer f.Close()
	for n := 1; ; n++ {
		if n&1023 == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			pace()
		}
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay: %s: packet %d: %w", name, n, err)
		}
		if err := send(h, data, rep); err != nil {
			return fmt.Errorf("replay: %s: packet %d: %w", name, n, err)
		}
		rep.Packets++
		rep.Bytes += uint64(len(data))
	}
}

// openCapture opens a pcap or pcapng file for reading its frames in order.
func openCapture(name string) (*os.File, packetReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	r, err := newReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("replay: %s: %w", name, err)
	}
	return f, r, nil
}

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// newReader reads pcap or pcapng (Section Header Block type 0x0a0d0d0a).
func newReader(br *bufio.Reader) (packetReader, error) {
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("no capture header: %w", err)
	}
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		return pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	}
	return pcapgo.NewReader(br)
}

// send retries while the device queue is full: a refused frame is not
// sent, and the replay's count must be exactly what the kernel accepted.
func send(h *pcap.Handle, data []byte, rep *Report) error {
	for try := 0; ; try++ {
		err := h.WritePacketData(data)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.EAGAIN) && !isQueueFull(err) {
			return err
		}
		if try >= maxRetries {
			return fmt.Errorf("queue full for %d tries: %w", try, err)
		}
		rep.Retries++
		time.Sleep(5 * time.Microsecond)
	}
}

// isQueueFull recognises libpcap's text for ENOBUFS, which gopacket
// returns as a plain error without the errno.
func isQueueFull(err error) bool {
	s := err.Error()
	return strings.Contains(s, "No buffer space available") || strings.Contains(s, "Resource temporarily unavailable")
}
