package capture

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// LiveOptions configure a capture on an interface.
type LiveOptions struct {
	Interface  string
	Filter     string // BPF; empty means DefaultFilterFor the interface's link type, unless AllFrames
	AllFrames  bool   // no filter at all (`decrypt --all` passes what is not IPsec on)
	Snaplen    int
	Promisc    bool
	Immediate  bool
	BufferSize int // bytes; 0 keeps libpcap's default
}

// Stats are libpcap's counters for a live source: what the kernel delivered,
// what it dropped for lack of buffer space, and what the interface dropped.
type Stats struct {
	Received, Dropped, IfDropped uint64
	// Unread counts packets the kernel had captured when the source was
	// stopped and that could not be read within DrainTimeout: captured,
	// never analysed.
	Unread uint64
}

// LiveSource captures from one interface.
type LiveSource struct {
	h       *pcap.Handle
	batch   *batchReader // nil: a packet at a time through gopacket
	name    string
	lt      layers.LinkType
	n       int
	stopped atomic.Bool
	// After Stop, Next drains what the kernel captured before it: left
	// more packets, until the deadline (touched by Next's goroutine only).
	draining bool
	left     int64
	deadline time.Time
	unread   atomic.Uint64
}

// readTimeout bounds how long Next waits inside libpcap, so Stop is noticed.
const readTimeout = 100 * time.Millisecond

// DrainTimeout bounds how long a stopped source keeps reading the packets
// the kernel captured before the stop; what is left then is counted as
// Unread. A service manager's stop timeout (systemd: 90 s) is far longer.
const DrainTimeout = 2 * time.Second

// OpenLive starts capturing. Capturing usually needs root or CAP_NET_RAW.
func OpenLive(o LiveOptions) (*LiveSource, error) {
	ih, err := pcap.NewInactiveHandle(o.Interface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", o.Interface, err)
	}
	defer ih.CleanUp()
	snap := o.Snaplen
	if snap <= 0 {
		snap = 262144
	}
	for _, set := range []func() error{
		func() error { return ih.SetSnapLen(snap) },
		func() error { return ih.SetPromisc(o.Promisc) },
		func() error { return ih.SetTimeout(readTimeout) },
		func() error { return ih.SetImmediateMode(o.Immediate) },
		func() error {
			if o.BufferSize > 0 {
				return ih.SetBufferSize(o.BufferSize)
			}
			return nil
		},
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("interface %s: %w", o.Interface, err)
		}
	}
	h, err := ih.Activate()
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", o.Interface, err)
	}
	filter := o.Filter
	if filter == "" && !o.AllFrames {
		filter = DefaultFilterFor(h.LinkType())
	}
	if filter != "" {
		if err := h.SetBPFFilter(filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("interface %s: filter %q: %w", o.Interface, filter, err)
		}
	}
	return &LiveSource{h: h, batch: newBatchReader(h), name: o.Interface, lt: h.LinkType()}, nil
}

// read is the next packet, from the batch when there is one.
func (s *LiveSource) read() ([]byte, gopacket.CaptureInfo, error) {
	if s.batch != nil {
		return s.batch.read()
	}
	return s.h.ZeroCopyReadPacketData()
}

func (s *LiveSource) Name() string { return s.name }

// LinkType is the interface's link type as libpcap reports it (DLT_RAW is
// 12 on Linux, where pcap files use 101).
func (s *LiveSource) LinkType() layers.LinkType { return s.lt }

// Next waits for the next packet. Once Stop was called it returns the
// packets the kernel had already captured (libpcap's received count, less
// its drops and what was read, or until the buffer is empty), then io.EOF;
// those it cannot read within DrainTimeout are counted in Stats().Unread.
func (s *LiveSource) Next(f *Frame) error {
	for {
		if s.stopped.Load() && !s.draining {
			s.startDrain()
		}
		if s.draining && (s.left <= 0 || time.Now().After(s.deadline)) {
			s.unread.Store(uint64(max(s.left, 0)))
			return io.EOF
		}
		data, ci, err := s.read()
		switch {
		case err == nil:
			s.n++
			s.left--
			*f = Frame{Data: data, CI: ci, LinkType: s.lt, Source: s.name, Index: s.n}
			return nil
		case errors.Is(err, pcap.NextErrorTimeoutExpired):
			if s.draining {
				// The buffer is empty (a partly filled block is handed
				// over at the read timeout): everything captured before
				// the stop was read. (The kernel's count can promise more
				// than libpcap hands over: on loopback it counts each
				// packet twice and libpcap drops the outgoing copy.)
				return io.EOF
			}
			continue
		case errors.Is(err, io.EOF), errors.Is(err, pcap.NextErrorNoMorePackets):
			return io.EOF
		default:
			return fmt.Errorf("%s: packet %d: %w", s.name, s.n+1, err)
		}
	}
}

// startDrain counts what the kernel holds for this source at the stop.
func (s *LiveSource) startDrain() {
	s.draining = true
	s.deadline = time.Now().Add(DrainTimeout)
	st, err := s.h.Stats()
	if err != nil {
		return // left stays 0: nothing more is read
	}
	// On Linux libpcap's received count includes the packets it dropped.
	s.left = int64(st.PacketsReceived) - int64(st.PacketsDropped) - int64(s.n)
}

// Stop makes Next drain what the kernel captured so far and then return
// io.EOF; safe from any goroutine.
func (s *LiveSource) Stop() { s.stopped.Store(true) }

// Stats returns libpcap's counters.
func (s *LiveSource) Stats() (Stats, error) {
	st, err := s.h.Stats()
	if err != nil {
		return Stats{}, err
	}
	return Stats{Received: uint64(st.PacketsReceived), Dropped: uint64(st.PacketsDropped), IfDropped: uint64(st.PacketsIfDropped), Unread: s.unread.Load()}, nil
}

func (s *LiveSource) Close() error {
	if s.batch != nil {
		s.batch.close(s.h)
		return nil
	}
	s.h.Close()
	return nil
}
