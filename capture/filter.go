package capture

import (
	"fmt"
	"io"
	"sort"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// filterCore selects ESP, AH, IKE and NAT-T, IP fragments that may belong
// to them (large IKE messages with certificates are fragmented), and ICMP
// fragmentation-needed / ICMPv6 packet-too-big messages (path MTU trouble).
const filterCore = "(esp or ah or udp port 500 or udp port 4500 or (ip and ip[6:2] & 0x3fff != 0 and (ip proto 17 or ip proto 50 or ip proto 51))" +
	" or (icmp and icmp[0] == 3 and icmp[1] == 4) or (icmp6 and ip6[40] == 2))"

// DefaultFilter is what ipsecmon captures on an Ethernet interface: the
// core, with or without one VLAN tag.
const DefaultFilter = filterCore + " or (vlan and (esp or ah or udp port 500 or udp port 4500))"

// DefaultFilterFor is the default filter for a link type. libpcap's 'vlan'
// reads an 802.1Q tag in the frame, which only Ethernet framing carries:
// on Linux cooked captures ('-i any') the kernel has already taken the tag
// off (libpcap 1.10 refuses 'vlan' there: "no VLAN support for Linux
// cooked v1").
func DefaultFilterFor(lt layers.LinkType) string {
	if lt == layers.LinkTypeEthernet {
		return DefaultFilter
	}
	return filterCore
}

// BPF is a filter expression applied to frames read from files, as
// libpcap applies it to live captures: compiled once per link type (a
// pcapng file can hold several), with libpcap's own compiler, so that an
// expression selects the same frames as with tcpdump -r.
type BPF struct {
	expr     string
	compiled map[layers.LinkType]*pcap.BPF
	// unfit are the link types the expression cannot be compiled for
	// (libpcap refuses 'vlan' on raw IP): their frames are not selected.
	unfit map[layers.LinkType]*unfit
}

type unfit struct {
	err    error
	frames uint64
}

// bpfSnaplen is the snap length the filter is compiled for; like tcpdump
// -r, ipsecmon does not cut frames to it.
const bpfSnaplen = 262144

// NewBPF checks expr by compiling it for Ethernet, the link type of most
// captures; other link types are compiled when a file brings them.
func NewBPF(expr string) (*BPF, error) {
	b := &BPF{expr: expr, compiled: map[layers.LinkType]*pcap.BPF{}, unfit: map[layers.LinkType]*unfit{}}
	p, err := pcapNewBPF(layers.LinkTypeEthernet, expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	b.compiled[layers.LinkTypeEthernet] = p
	return b, nil
}

// matches says whether the filter selects f; a frame of a link type the
// expression cannot apply to is not selected (and counted).
func (b *BPF) matches(f *Frame) bool {
	p, ok := b.compiled[f.LinkType]
	if !ok {
		if u := b.unfit[f.LinkType]; u != nil {
			u.frames++
			return false
		}
		var err error
		if p, err = pcapNewBPF(f.LinkType, b.expr); err != nil {
			b.unfit[f.LinkType] = &unfit{err: err, frames: 1}
			return false
		}
		b.compiled[f.LinkType] = p
	}
	return p.Matches(f.CI, f.Data)
}

// Matches says whether the filter selects f (decrypt's --inner-filter
// applies it to decrypted packets, outside any Source).
func (b *BPF) Matches(f *Frame) bool { return b.matches(f) }

// Unfit says, per link type the expression could not be compiled for, why
// and how many frames it left out for that reason.
func (b *BPF) Unfit() []string {
	var out []string
	for lt, u := range b.unfit {
		out = append(out, fmt.Sprintf("filter %q cannot apply to link type %s (%v): %d frames of it left out", b.expr, lt, u.err, u.frames))
	}
	sort.Strings(out)
	return out
}

// String returns the expression.
func (b *BPF) String() string { return b.expr }

// wrapped is a source that passes another's frames on, and its position
// for the progress bar.
type wrapped struct{ Source }

func (s wrapped) Release(index int) { Release(s.Source, index) }

func (s wrapped) Position() (int64, int64) {
	if p, ok := s.Source.(Progress); ok {
		return p.Position()
	}
	return 0, 0
}

// Filter yields the frames of src that b selects. Frames keep their
// position in src (Index), as tcpdump and Wireshark number them.
func Filter(src Source, b *BPF) Source { return &filtered{wrapped{src}, b} }

type filtered struct {
	wrapped
	b *BPF
}

func (s *filtered) Next(f *Frame) error {
	for {
		if err := s.Source.Next(f); err != nil {
			return err
		}
		if s.b.matches(f) {
			return nil
		}
	}
}

// Limit yields frames of src while *left is above 0, counting each one
// down: tcpdump's -c, one count shared by several files.
func Limit(src Source, left *uint64) Source { return &limited{wrapped{src}, left} }

type limited struct {
	wrapped
	left *uint64
}

func (s *limited) Next(f *Frame) error {
	if *s.left == 0 {
		return io.EOF
	}
	if err := s.Source.Next(f); err != nil {
		return err
	}
	*s.left--
	return nil
}

// Tee is a source that also writes every frame it yields to a Writer (-w
// on capture files). A failed write stops the writing, not the reading:
// Err returns it.
type Tee struct {
	wrapped
	w   *Writer
	err error
}

// NewTee writes src's frames to w as they are read.
func NewTee(src Source, w *Writer) *Tee { return &Tee{wrapped: wrapped{src}, w: w} }

func (s *Tee) Next(f *Frame) error {
	if err := s.Source.Next(f); err != nil {
		return err
	}
	if s.err == nil {
		s.err = s.w.Write(f)
	}
	return nil
}

// Err is the first write error.
func (s *Tee) Err() error { return s.err }

// pcapNewBPF compiles expr for one link type. Files carry LINKTYPE_
// values and libpcap's compiler wants DLT_ ones; they differ below 104
// only for these (libpcap's pcap-common.c, linktype_to_dlt, as on Linux:
// LINKTYPE_RAW 101 is DLT_RAW 12).
func pcapNewBPF(lt layers.LinkType, expr string) (*pcap.BPF, error) {
	dlt := map[layers.LinkType]layers.LinkType{100: 11, 101: 12, 102: 15, 103: 16}[lt]
	if dlt == 0 {
		dlt = lt
	}
	return pcap.NewBPF(dlt, bpfSnaplen, expr)
}
