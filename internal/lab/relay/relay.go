// Package relay is the lab's path between two IPsec peers: a user-space
// forwarder on a TUN device in the router namespace that holds selected
// ESP packets until later ones of the same SPI have passed them, and logs
// every ESP packet it forwards, in order. The kernel here has no netem, so
// reordering happens in user space (testdata/lab/lib.sh routes the
// peers' UDP 4500 datagrams through the device).
//
// The decision logic (Relay) is separate from the device I/O (Run), so that
// what a given packet sequence turns into can be tested without a device.
package relay

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rule selects ESP packets to hold by sequence number: those with
// seq % Every == At (Every > 0), or seq == At (Every == 0). A held packet is
// released once For later ESP packets of the same SPI have been forwarded,
// or after the relay's MaxHold.
type Rule struct {
	Every, At uint32
	For       int
}

// ParseRule reads "every=50,at=25,for=2" or "seq=300,for=40".
func ParseRule(s string) (Rule, error) {
	var r Rule
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return r, fmt.Errorf("hold rule %q: %q is not key=value", s, kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return r, fmt.Errorf("hold rule %q: %s: %w", s, k, err)
		}
		seen[k] = true
		switch k {
		case "every":
			r.Every = uint32(n)
		case "at", "seq":
			r.At = uint32(n)
		case "for":
			r.For = int(n)
		default:
			return r, fmt.Errorf("hold rule %q: unknown key %q", s, k)
		}
	}
	switch {
	case seen["seq"] && seen["every"]:
		return r, fmt.Errorf("hold rule %q: seq and every exclude each other", s)
	case !seen["seq"] && !(seen["every"] && seen["at"]):
		return r, fmt.Errorf("hold rule %q: needs seq=N or every=M,at=N", s)
	case r.Every > 0 && r.At >= r.Every:
		return r, fmt.Errorf("hold rule %q: at must be below every", s)
	case r.For < 1:
		return r, fmt.Errorf("hold rule %q: for must be at least 1", s)
	}
	return r, nil
}

func (r Rule) String() string {
	if r.Every == 0 {
		return fmt.Sprintf("seq=%d,for=%d", r.At, r.For)
	}
	return fmt.Sprintf("every=%d,at=%d,for=%d", r.Every, r.At, r.For)
}

func (r Rule) matches(seq uint32) bool {
	if r.Every == 0 {
		return seq == r.At
	}
	return seq%r.Every == r.At
}

// Record is one forwarded ESP packet, in forwarding order.
type Record struct {
	N    int       `json:"n"` // 1-based position among the ESP packets forwarded
	Time time.Time `json:"time"`
	Dst  string    `json:"dst"` // outer destination address
	SPI  string    `json:"spi"` // 0x%08x
	Seq  uint32    `json:"seq"`
	// Held: the packet waited; Released says why it went ("followers" or
	// "timeout").
	Held     bool   `json:"held,omitempty"`
	Released string `json:"released,omitempty"`
	// Overtaken counts the packets of the same SPI with a higher sequence
	// number forwarded before this one: > 0 means it arrived after a
	// higher number (reordered).
	Overtaken int `json:"overtaken"`
}

type held struct {
	pkt      []byte
	dst      netip.Addr
	spi, seq uint32
	need     int // followers still to pass
	since    time.Time
}

// Relay decides the order in which packets leave.
type Relay struct {
	Rules   []Rule
	MaxHold time.Duration
	// HoldDst limits the rules to packets to this address (any when invalid).
	HoldDst netip.Addr
	n       int
	holding []*held
	// forwarded sequence numbers per SPI, ascending, to count overtakers
	seqs map[uint32][]uint32
}

// New returns a relay holding packets by rules.
func New(rules []Rule, maxHold time.Duration) *Relay {
	return &Relay{Rules: rules, MaxHold: maxHold, seqs: map[uint32][]uint32{}}
}

// Out is a packet to send, with its record when it is ESP.
type Out struct {
	Pkt    []byte
	Record *Record
}

// ESPOf finds a UDP-encapsulated ESP packet (RFC 3948: UDP port 4500, a
// non-zero SPI where IKE has its zero non-ESP marker, longer than a NAT-T
// keepalive) in an IPv4 packet.
func ESPOf(pkt []byte) (spi, seq uint32, ok bool) {
	spi, seq, _, ok = espOf(pkt)
	return spi, seq, ok
}

func espOf(pkt []byte) (spi, seq uint32, dst netip.Addr, ok bool) {
	spi, seq, ok = espHeader(pkt)
	if ok {
		dst = netip.AddrFrom4([4]byte(pkt[16:20]))
	}
	return spi, seq, dst, ok
}

func espHeader(pkt []byte) (spi, seq uint32, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != 17 {
		return 0, 0, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+8+8 {
		return 0, 0, false
	}
	if binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 {
		return 0, 0, false // a fragment: not looked into
	}
	udp := pkt[ihl:]
	if binary.BigEndian.Uint16(udp[0:2]) != 4500 && binary.BigEndian.Uint16(udp[2:4]) != 4500 {
		return 0, 0, false
	}
	spi = binary.BigEndian.Uint32(udp[8:12])
	if spi == 0 {
		return 0, 0, false
	}
	return spi, binary.BigEndian.Uint32(udp[12:16]), true
}

// Push takes one packet from the device and returns what to send now.
func (r *Relay) Push(pkt []byte, now time.Time) []Out {
	spi, seq, dst, ok := espOf(pkt)
	if !ok {
		return []Out{{Pkt: pkt}}
	}
	for _, rule := range r.Rules {
		if rule.matches(seq) && (!r.HoldDst.IsValid() || dst == r.HoldDst) {
			r.holding = append(r.holding, &held{pkt: pkt, dst: dst, spi: spi, seq: seq, need: rule.For, since: now})
			return nil
		}
	}
	out := []Out{r.forward(pkt, dst, spi, seq, now, nil, "")}
	// Each forwarded packet is a follower of the held ones of its SPI.
	var rest []*held
	var due []*held
	for _, h := range r.holding {
		if h.spi == spi {
			h.need--
		}
		if h.need <= 0 {
			due = append(due, h)
		} else {
			rest = append(rest, h)
		}
	}
	r.holding = rest
	for _, h := range due {
		out = append(out, r.forward(h.pkt, h.dst, h.spi, h.seq, now, h, "followers"))
	}
	return out
}

// Tick releases packets held longer than MaxHold.
func (r *Relay) Tick(now time.Time) []Out {
	var out []Out
	var rest []*held
	for _, h := range r.holding {
		if now.Sub(h.since) >= r.MaxHold {
			out = append(out, r.forward(h.pkt, h.dst, h.spi, h.seq, now, h, "timeout"))
		} else {
			rest = append(rest, h)
		}
	}
	r.holding = rest
	return out
}

// Flush releases everything still held (the relay is stopping).
func (r *Relay) Flush(now time.Time) []Out {
	var out []Out
	for _, h := range r.holding {
		out = append(out, r.forward(h.pkt, h.dst, h.spi, h.seq, now, h, "stop"))
	}
	r.holding = nil
	return out
}

// Holding is the number of packets waiting.
func (r *Relay) Holding() int { return len(r.holding) }

func (r *Relay) forward(pkt []byte, dst netip.Addr, spi, seq uint32, now time.Time, h *held, why string) Out {
	r.n++
	rec := &Record{N: r.n, Time: now.UTC(), Dst: dst.String(), SPI: fmt.Sprintf("0x%08x", spi), Seq: seq, Held: h != nil, Released: why}
	// Packets mostly leave in order, so the insertion is mostly an append.
	s := r.seqs[spi]
	i := sort.Search(len(s), func(i int) bool { return s[i] > seq })
	rec.Overtaken = len(s) - i
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = seq
	r.seqs[spi] = s
	return Out{Pkt: pkt, Record: rec}
}
