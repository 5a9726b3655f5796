package plaintext

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/capture"
	"ipsecmon/decode"
	"ipsecmon/ipproto"
)

// Sink receives the packets to write; *capture.Writer is one.
type Sink interface {
	WritePacket(fr *capture.Frame, o capture.PacketOptions) error
}

// Options say what is written besides the decrypted packets.
type Options struct {
	// KeepUndecrypted writes IPsec packets that were not decrypted (no
	// keys, failed integrity, bad padding, replays, no SA) unchanged.
	KeepUndecrypted bool
	// All writes the frames that are not IPsec (IKE, NAT keepalives,
	// cleartext) unchanged.
	All bool
	// Inner, when set, is a BPF filter on the decrypted packets (raw IP):
	// those it rejects are counted and left out.
	Inner *capture.BPF
	// Me are this host's addresses: packets of SAs from them are outbound,
	// to them inbound (the comment says so and epb_flags carry it).
	Me []netip.Prefix
}

// Interface is the pcapng interface name of the decrypted packets.
const Interface = "decrypted"

// Counts say what became of every frame the Writer saw.
type Counts struct {
	Frames    uint64 // frames seen (after the outer filter)
	IPsec     uint64 // IPsec packets (a reassembled datagram counts once)
	Decrypted uint64 // IPsec packets whose plaintext was written
	// Tunnel and Transport split Decrypted by what the plaintext was: a
	// whole inner IP packet, or a transport payload behind a rebuilt header.
	Tunnel, Transport uint64
	// Nested counts decrypted packets whose plaintext came out of more than
	// one SA (a tunnel carrying IPsec of its own).
	Nested        uint64
	Dummy         uint64 // verified dummy packets (next header 59): nothing to write
	InnerFiltered uint64 // decrypted, but rejected by Options.Inner
	// Undecrypted counts the IPsec packets without plaintext, by why
	// (Reason values), whether or not KeepUndecrypted wrote them.
	Undecrypted map[string]uint64
	Kept        uint64 // undecrypted packets written unchanged
	Passed      uint64 // frames that are not IPsec, written (All)
	Other       uint64 // frames that are not IPsec, left out
	Fragments   uint64 // IP fragments held for reassembly: their datagram counts
	Written     uint64 // packets written
}

// Reasons an IPsec packet has no plaintext.
const (
	ReasonNoKeys           = "no keys"
	ReasonReplay           = "replay"
	ReasonNotAuthenticated = "not authenticated"
	ReasonNotDecrypted     = "not decrypted"
	ReasonNoSA             = "no SA (Bad SPI or untracked)"
	ReasonUnwritable       = "plaintext cannot be written"
)

// result is one OnOpened call, with what the Writer keeps of it.
type result struct {
	ref     analyzer.Ref
	depth   int
	outcome analyzer.Outcome
	nh      uint8
	proto   uint8
	spi     uint32
	seq     uint64
	src     netip.Addr
	dst     netip.Addr
	why     string
	packet  []byte // the packet to write (OutcomeVerified, writable)
	err     error  // why the plaintext cannot be written
}

// entry is a frame waiting until its outcomes are all in.
type entry struct {
	ref     analyzer.Ref
	frame   capture.Frame // Data copied only when it may be written
	ipsec   bool
	write   bool // a frame that is not IPsec, to be passed (All)
	results []result
}

// Writer orders what it is given into the output. The analyzer hands
// outcomes over in capture order, but with several workers later than the
// frames (pipeline.Options.OnFrame): each frame waits in a queue until no
// outcome for it can still come.
type Writer struct {
	out     Sink
	opts    Options
	waiting func() int // analyzer.Waiting
	flush   func()     // analyzer.Flush
	queue   []entry
	head    int
	early   []result // outcomes of the frame being analysed, before its OnFrame
	held    int      // bytes the queue holds
	counts  Counts
	err     error
	// maxQueued and maxHeld bound the queue (entries, bytes): past either
	// the analyzer is made to apply what its workers hold, which settles
	// every frame queued (nothing is dropped).
	maxQueued, maxHeld int
}

// The queue's bounds (Writer.maxQueued, maxHeld): a worker batch is 512
// packets, so the queue rarely reaches them unless most frames are passed
// on (All) between IPsec packets still waiting for a batch.
const (
	maxQueued    = 4096
	maxHeldBytes = 32 << 20
)

// New returns a Writer; waiting and flush are the analyzer's Waiting and
// Flush (both may be nil for an analyzer without workers).
func New(out Sink, o Options, waiting func() int, flush func()) *Writer {
	return &Writer{out: out, opts: o, waiting: waiting, flush: flush, counts: Counts{Undecrypted: map[string]uint64{}},
		maxQueued: maxQueued, maxHeld: maxHeldBytes}
}

// Opened is the analyzer's Config.OnOpened.
func (w *Writer) Opened(o *analyzer.Opened) {
	r := result{ref: o.Ref, depth: o.Depth, outcome: o.Outcome, nh: o.NextHeader, proto: o.SA.Key.Proto, spi: o.SA.Key.SPI, seq: o.Seq}
	r.src, r.dst = addrs(o.Header)
	switch o.Outcome {
	case analyzer.OutcomeVerified:
		switch o.NextHeader {
		case protoNone, ipproto.ESP, ipproto.AH:
			// A dummy packet; or AH of a bundle, whose ESP follows.
		default:
			r.packet, r.err = Packet(o.Header, o.NextHeader, o.Payload)
		}
	case analyzer.OutcomeUnverified:
		r.why = ReasonNoKeys
	case analyzer.OutcomeReplay:
		r.why = ReasonReplay
	case analyzer.OutcomeNotAuthenticated:
		r.why = ReasonNotAuthenticated
	case analyzer.OutcomeNotDecrypted:
		r.why = ReasonNotDecrypted
	}
	if r.why != "" && o.Reason.String() != "" {
		r.why += ": " + o.Reason.String()
	}
	// Outcomes come in capture order: every frame queued before this
	// one's has had all of its own.
	for w.head < len(w.queue) && w.queue[w.head].ref != o.Ref {
		w.emit()
	}
	if w.head < len(w.queue) {
		w.queue[w.head].results = append(w.queue[w.head].results, r)
		w.held += len(r.packet)
		return
	}
	w.early = append(w.early, r) // the frame being analysed
}

// Frame is the pipeline's Options.OnFrame.
func (w *Writer) Frame(f *capture.Frame, p *decode.Packet, reassembled bool) {
	w.counts.Frames++
	e := entry{ref: analyzer.Ref{Source: f.Source, Index: f.Index}, frame: *f, results: w.early}
	e.frame.Data = nil // kept below only when it may be written
	w.early = nil
	switch {
	case p != nil && p.Kind == decode.KindFragment:
		// Its datagram is written, once, with the frame that completes it.
		w.counts.Fragments++
	case p != nil && p.Kind == decode.KindIPsec:
		e.ipsec = true
		w.counts.IPsec++
		if w.opts.KeepUndecrypted {
			e.frame = keep(f, p, reassembled)
		}
	default:
		if w.opts.All {
			e.write = true
			e.frame = keep(f, p, reassembled)
		} else {
			w.counts.Other++
		}
	}
	if !e.ipsec && !e.write {
		return // nothing to write: no place in the order to keep
	}
	w.queue = append(w.queue, e)
	w.held += len(e.frame.Data)
	for _, r := range e.results {
		w.held += len(r.packet)
	}
	switch {
	case w.waiting == nil || w.waiting() == 0:
		w.drain()
	case len(w.queue)-w.head > w.maxQueued || w.held > w.maxHeld:
		w.flush()
		w.drain()
	}
}

// keep copies the frame (or the datagram it completed) for writing later.
func keep(f *capture.Frame, p *decode.Packet, reassembled bool) capture.Frame {
	c := *f
	if reassembled && p != nil {
		c.Data, c.LinkType = bytes.Clone(p.IP), layers.LinkTypeRaw
		c.CI.CaptureLength, c.CI.Length = len(p.IP), len(p.IP)
	} else {
		c.Data = bytes.Clone(f.Data)
	}
	c.CI.AncillaryData = nil
	return c
}

// Settle writes everything queued: call it once the analyzer has applied
// every packet (after its Flush or Finish), and before Counts.
func (w *Writer) Settle() {
	for len(w.early) > 0 {
		// Outcomes whose frame never reached OnFrame cannot happen with
		// the pipeline; keep them rather than lose them.
		e := entry{ref: w.early[0].ref, ipsec: true, results: w.early}
		w.early = nil
		w.queue = append(w.queue, e)
	}
	w.drain()
}

// drain writes every queued frame: all their outcomes are in.
func (w *Writer) drain() {
	for w.head < len(w.queue) {
		w.emit()
	}
}

// emit writes the frame at the head of the queue and drops it.
func (w *Writer) emit() {
	e := w.queue[w.head]
	w.queue[w.head] = entry{} // the queue's array is reused: let go of the bytes
	w.head++
	w.held -= len(e.frame.Data)
	for _, r := range e.results {
		w.held -= len(r.packet)
	}
	if w.head == len(w.queue) {
		w.queue, w.head = w.queue[:0], 0
	}
	switch {
	case e.write:
		w.counts.Passed++
		w.write(&e.frame, capture.PacketOptions{Comment: "not IPsec" + from(&e)})
	case e.ipsec:
		w.ipsec(&e)
	}
}

// ipsec writes what an IPsec packet carried: the plaintext of the last
// verified SA in it (the innermost of nested ones), or the packet as it
// was when nothing decrypted it and KeepUndecrypted says so.
func (w *Writer) ipsec(e *entry) {
	var last *result
	var chain []*result // the SAs it went through, outermost first
	for i := range e.results {
		r := &e.results[i]
		if r.outcome == analyzer.OutcomeVerified {
			chain = append(chain, r)
			if r.packet != nil || r.err != nil || r.nh == protoNone {
				last = r
			}
		}
	}
	switch {
	case last != nil && last.nh == protoNone:
		w.counts.Dummy++
		return
	case last != nil && last.err != nil:
		w.undecrypted(e, ReasonUnwritable+": "+last.err.Error())
		return
	case last == nil:
		why := ReasonNoSA
		for i := len(e.results) - 1; i >= 0; i-- {
			if r := &e.results[i]; r.why != "" {
				why = r.why
				break
			}
		}
		w.undecrypted(e, why)
		return
	}
	if w.opts.Inner != nil {
		f := capture.Frame{Data: last.packet, LinkType: layers.LinkTypeRaw, CI: e.frame.CI}
		f.CI.CaptureLength, f.CI.Length = len(last.packet), len(last.packet)
		if !w.opts.Inner.Matches(&f) {
			w.counts.InnerFiltered++
			return
		}
	}
	w.counts.Decrypted++
	if Tunnel(last.nh) {
		w.counts.Tunnel++
	} else {
		w.counts.Transport++
	}
	if len(chain) > 1 {
		w.counts.Nested++
	}
	fr := capture.Frame{Data: last.packet, LinkType: layers.LinkTypeRaw, Source: Interface}
	fr.CI.Timestamp = e.frame.CI.Timestamp
	fr.CI.CaptureLength, fr.CI.Length = len(last.packet), len(last.packet)
	opts := capture.PacketOptions{Comment: w.comment(chain) + from(e)}
	w.direction(chain[0], &opts)
	w.write(&fr, opts)
}

func (w *Writer) undecrypted(e *entry, why string) {
	w.counts.Undecrypted[why]++
	if !w.opts.KeepUndecrypted {
		return
	}
	w.counts.Kept++
	opts := capture.PacketOptions{Comment: "not decrypted: " + why + from(e)}
	if len(e.results) > 0 {
		r := &e.results[0]
		opts.Comment = fmt.Sprintf("not decrypted: %s SPI 0x%08x seq %d: %s%s", protoName(r.proto), r.spi, r.seq, why, from(e))
		w.direction(r, &opts)
	}
	w.write(&e.frame, opts)
}

// comment names each SA the packet went through, innermost first: SPI,
// sequence number and direction.
func (w *Writer) comment(chain []*result) string {
	var b strings.Builder
	for i := len(chain) - 1; i >= 0; i-- {
		r := chain[i]
		if i < len(chain)-1 {
			b.WriteString(" in ")
		}
		fmt.Fprintf(&b, "%s SPI 0x%08x seq %d %s -> %s", protoName(r.proto), r.spi, r.seq, r.src, r.dst)
		if d := w.dir(r); d != "" {
			b.WriteString(" " + d)
		}
		if i == len(chain)-1 {
			if Tunnel(r.nh) {
				b.WriteString(" (tunnel mode)")
			} else {
				b.WriteString(" (transport mode)")
			}
		}
	}
	return b.String()
}

// from says where in the input a packet came from, so that the output
// can be laid beside it.
func from(e *entry) string { return fmt.Sprintf("; %s frame %d", e.ref.Source, e.ref.Index) }

// dir is "sent" or "received" from Options.Me, "" when it does not tell.
func (w *Writer) dir(r *result) string {
	switch {
	case mine(w.opts.Me, r.src):
		return "sent"
	case mine(w.opts.Me, r.dst):
		return "received"
	}
	return ""
}

func (w *Writer) direction(r *result, o *capture.PacketOptions) {
	switch w.dir(r) {
	case "sent":
		o.Outbound = true
	case "received":
		o.Inbound = true
	}
}

func mine(me []netip.Prefix, a netip.Addr) bool {
	for _, p := range me {
		if a.IsValid() && p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func protoName(p uint8) string { return ipproto.Name(p) }

func (w *Writer) write(fr *capture.Frame, o capture.PacketOptions) {
	if w.err != nil {
		return
	}
	if err := w.out.WritePacket(fr, o); err != nil {
		w.err = err
		return
	}
	w.counts.Written++
}

// Counts returns what became of the frames so far.
func (w *Writer) Counts() Counts { return w.counts }

// Err is the first write error: writing stopped there.
func (w *Writer) Err() error { return w.err }

// addrs are the source and destination of the IP header at the start of b.
func addrs(b []byte) (src, dst netip.Addr) {
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		return netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	case len(b) >= 40 && b[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(b[8:24])).Unmap(), netip.AddrFrom16([16]byte(b[24:40])).Unmap()
	}
	return
}
