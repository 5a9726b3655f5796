// Package pipeline connects the stages: frames from capture sources are
// decoded, IP fragments reassembled, and the results handed to the
// analyzer. Offline files and live interfaces go through the same Run, so
// both give the same figures for the same packets.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/capture"
	"ipsecmon/decode"
	"ipsecmon/inputstats"
	"ipsecmon/ipdefrag"
)

// Options configure a Run.
type Options struct {
	// Messages receives one line per damaged packet or file (nil: none).
	Messages io.Writer
	// MaxMessagesPerReason limits those lines; the rest are only counted.
	MaxMessagesPerReason int
	// Damage receives one line per input that could not be opened or was
	// damaged, also when Messages is nil (-q): such a run's figures leave
	// something out, and it fails.
	Damage io.Writer
	// OnFrame, when set, is called with every frame after the analyzer
	// has had it: p is what it decoded to (KindFragment: an IP fragment
	// waiting for the rest of its datagram, or cut by the snap length), nil
	// when it could not be decoded; reassembled says that p.IP is the
	// datagram this frame completed rather than the frame's own packet. p
	// and the frame's bytes are valid during the call only.
	OnFrame func(f *capture.Frame, p *decode.Packet, reassembled bool)
}

// InputStats and FileStats are the run's account of its input; they live
// in package inputstats so that the views can show them without importing
// the pipeline.
type (
	InputStats = inputstats.Stats
	FileStats  = inputstats.File
)

// Run is one analysis: any number of sources feeding one analyzer.
type Run struct {
	opts  Options
	an    *analyzer.Analyzer
	dec   *decode.Decoder
	pkt   decode.Packet
	stats InputStats
	shown map[string]int
	// IP reassembly, one defragmenter per version.
	defrag4, defrag6 *ipdefrag.Defragmenter
	lastDiscard      time.Time
	// frame is the copy of the current frame that OnFrame gets: handing
	// it the caller's would move every caller's frame to the heap, whether
	// or not it is set.
	frame capture.Frame
}

// New starts a run feeding an.
func New(an *analyzer.Analyzer, opts Options) *Run {
	if opts.MaxMessagesPerReason == 0 {
		opts.MaxMessagesPerReason = 10
	}
	return &Run{
		opts: opts, an: an, dec: decode.NewDecoder(),
		stats:   InputStats{Skipped: map[string]uint64{}},
		shown:   map[string]int{},
		defrag4: ipdefrag.New(ipdefrag.DefaultLimits),
		defrag6: ipdefrag.New(ipdefrag.DefaultLimits),
	}
}

// Analyzer returns the analyzer this run feeds.
func (r *Run) Analyzer() *analyzer.Analyzer { return r.an }

// Stats returns the input statistics so far.
func (r *Run) Stats() *InputStats {
	// A new slice each time: callers keep copies of the stats.
	r.stats.Limits = nil
	for _, x := range []struct {
		v int
		d *ipdefrag.Defragmenter
	}{{4, r.defrag4}, {6, r.defrag6}} {
		lim := x.d.Limits()
		r.stats.Limits = append(r.stats.Limits, bounds.Limit{
			Name: fmt.Sprintf("ipv%d_reassembly", x.v), Cap: int64(lim.Bytes), Unit: fmt.Sprintf("bytes, %d datagrams", lim.Datagrams),
			Hits: x.d.Evicted(), Discarded: "fragments dropped, oldest incomplete datagrams first",
		})
	}
	return &r.stats
}

// OpenFailed records an input that could not be opened at all.
func (r *Run) OpenFailed(name string, err error) {
	r.stats.Files = append(r.stats.Files, FileStats{Name: name, Error: err.Error(), Unreadable: true})
	r.damage(fmt.Sprintf("ipsecmon: %v", err), "unreadable input")
}

// Source reads src to its end. A damaged record ends the file (its framing
// cannot be trusted past that point); the error is recorded and returned.
func (r *Run) Source(src capture.Source) error {
	r.stats.Files = append(r.stats.Files, FileStats{Name: src.Name()})
	fs := &r.stats.Files[len(r.stats.Files)-1]
	var f capture.Frame
	rel, _ := src.(capture.Releaser)
	if _, ok := r.an.Holding(); ok && rel != nil {
		// The analyzer still holds frames of an earlier source, which may
		// have had the same name: apply them, so that what it holds from
		// here on is this source's alone.
		r.an.Flush()
	}
	for {
		err := src.Next(&f)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			fs.Error = err.Error()
			var fe *capture.FormatError
			if errors.As(err, &fe) && fe.AtEnd {
				r.damage(fmt.Sprintf("ipsecmon: %v", err), "damaged capture file")
				return err
			}
			r.stats.Skipped["damaged capture record"]++
			r.damage(fmt.Sprintf("ipsecmon: %v; the rest of this file is skipped", err), "damaged capture record")
			return err
		}
		fs.Frames++
		r.Frame(&f)
		if rel != nil {
			r.release(rel, &f)
		}
	}
}

// release tells the source which of its frames the analyzer no longer
// holds: verification workers read Kept frames where the source read them.
func (r *Run) release(rel capture.Releaser, f *capture.Frame) {
	if held, ok := r.an.Holding(); ok {
		rel.Release(held.Index - 1)
	} else {
		rel.Release(f.Index)
	}
}

// Frame analyses one frame and says what it was (KindOther for frames
// that were skipped or are not IPsec or IKE).
func (r *Run) Frame(f *capture.Frame) decode.Kind {
	r.stats.Frames++
	r.stats.Bytes += uint64(len(f.Data))
	err := r.dec.Decode(f.LinkType, f.Data, f.CI.Length, &r.pkt)
	r.pkt.Kept = f.Kept // a reassembled datagram, decoded again, is not
	if err != nil {
		reason := "malformed packet"
		var de *decode.Error
		if errors.As(err, &de) {
			switch {
			case de.Snapped:
				reason = "cut by the snap length inside its headers"
			case de.Layer == "link":
				reason = "unsupported or malformed link layer"
			case de.Layer == "length":
				reason = "IP length field past the end of the frame"
			default:
				reason = "malformed " + de.Layer
			}
		}
		r.skip(reason, fmt.Sprintf("ipsecmon: %s: packet %d: %v", f.Source, f.Index, err))
		r.onFrame(f, nil, false)
		return decode.KindOther
	}
	reassembled := false
	if r.pkt.Kind == decode.KindFragment {
		var ok bool
		if ok, reassembled = r.reassemble(f); !ok {
			if r.pkt.Kind == decode.KindFragment {
				r.onFrame(f, &r.pkt, false)
			} else {
				r.onFrame(f, nil, false) // a reassembled datagram that cannot be decoded
			}
			return decode.KindFragment
		}
	}
	r.an.Packet(f.CI.Timestamp, &r.pkt, analyzer.Ref{Source: f.Source, Index: f.Index})
	r.onFrame(f, &r.pkt, reassembled)
	return r.pkt.Kind
}

func (r *Run) onFrame(f *capture.Frame, p *decode.Packet, reassembled bool) {
	if r.opts.OnFrame != nil {
		r.frame = *f
		r.opts.OnFrame(&r.frame, p, reassembled)
	}
}

// reassemble feeds an IP fragment to its version's defragmenter and, when
// the datagram is complete, decodes it into r.pkt (analyse and reassembled
// are then true). A fragment cut by the snap length cannot be reassembled;
// it goes on to be counted as not analysed (analyse alone is true).
func (r *Run) reassemble(f *capture.Frame) (analyse, reassembled bool) {
	p := &r.pkt
	ts := f.CI.Timestamp
	// Fragments that never complete must not pile up.
	if ts.Sub(r.lastDiscard) > 5*time.Second {
		n := r.defrag4.DiscardOlderThan(ts.Add(-ipdefrag.TimeoutIPv4)) + r.defrag6.DiscardOlderThan(ts.Add(-ipdefrag.TimeoutIPv6))
		r.stats.FragmentsUnanalysed += uint64(n)
		r.lastDiscard = ts
	}
	if len(p.IP) < p.IPWireLen {
		return true, false
	}
	frag := ipdefrag.Fragment{
		Src: p.Src, Dst: p.Dst, ID: p.FragID,
		Packet: p.IP, HdrAt: p.FragHdrAt, NHAt: p.FragNHAt,
		Offset: p.FragOffset, More: p.MoreFrags, Time: ts,
	}
	d, reason := r.defrag6, "IPv6 fragments dropped by reassembly"
	if p.IPVersion == 4 {
		// The protocol is part of an IPv4 datagram's identity (RFC 791).
		frag.Proto = p.Protocol
		d, reason = r.defrag4, "IPv4 fragments dropped by reassembly"
	}
	res := d.Add(frag)
	if res.Dropped > 0 {
		r.stats.Skipped[reason] += uint64(res.Dropped)
		r.message(fmt.Sprintf("ipsecmon: %s: packet %d: %v", f.Source, f.Index, res.Err), reason)
	}
	if res.Packet == nil {
		return false, false
	}
	r.stats.FragmentsReassembled += uint64(res.Fragments)
	r.stats.PacketsReassembled++
	if err := r.dec.Decode(layers.LinkTypeRaw, res.Packet, len(res.Packet), &r.pkt); err != nil {
		r.skip("malformed reassembled packet", fmt.Sprintf("ipsecmon: %s: packet %d (reassembled): %v", f.Source, f.Index, err))
		return false, false
	}
	r.pkt.Fragments = res.Fragments
	return true, true
}

// Finish ends the input: fragments still waiting are counted as not
// analysed and the analyzer reports what it still holds back.
func (r *Run) Finish() {
	r.an.Finish()
	r.stats.FragmentsUnanalysed += uint64(r.defrag4.Flush() + r.defrag6.Flush())
	r.stats.FragmentsUnanalysed += r.an.Counts().FragmentsPending
}

func (r *Run) skip(reason, msg string) {
	r.stats.Skipped[reason]++
	r.message(msg, reason)
}

// damage reports what makes the run's figures leave part of an input out.
func (r *Run) damage(msg, reason string) {
	if r.opts.Messages == nil && r.opts.Damage != nil {
		fmt.Fprintln(r.opts.Damage, msg)
		return
	}
	r.message(msg, reason)
}

func (r *Run) message(msg, reason string) {
	if r.opts.Messages == nil {
		return
	}
	r.shown[reason]++
	switch n := r.shown[reason]; {
	case n <= r.opts.MaxMessagesPerReason:
		fmt.Fprintln(r.opts.Messages, msg)
	case n == r.opts.MaxMessagesPerReason+1:
		fmt.Fprintf(r.opts.Messages, "ipsecmon: more packets skipped for %q; only counted from here on\n", reason)
	}
}
