package facts

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"ipsecmon/internal/lab/relay"
)

// Path is what the lab did to packets between the peers (routed topology:
// testdata/lab/lib.sh start_relay): alice's UDP 4500 datagrams pass the
// relay on the router's TUN device, then the router's packet filter, then
// bob's link, where the capture is taken. Everything here is what was
// injected, as the relay logged it and the packet filter counted it.
type Path struct {
	// From is the peer whose packets take the relayed path (alice); the
	// other direction is forwarded by the kernel untouched.
	From  string     `json:"from"`
	Relay RelayFacts `json:"relay"`
	Drop  *DropFacts `json:"drop,omitempty"`
	Notes []string   `json:"notes,omitempty"`
	ESP   PathTotals `json:"esp"`
}

// RelayFacts describe the relay's configuration and what it forwarded.
type RelayFacts struct {
	Device    string   `json:"device"`
	HoldRules []string `json:"hold_rules"` // relay.Rule syntax
	MaxHold   string   `json:"max_hold"`
}

// DropFacts describe the packet filter's drop rule after the relay and its
// counters (iptables-save -c at the end of the capture).
type DropFacts struct {
	Rule    string `json:"rule"` // as iptables-save prints it
	Every   int    `json:"every"`
	Packet  int    `json:"packet"`
	Matched uint64 `json:"esp_counted"` // the counting rule before it: every ESP packet leaving the relay towards bob
	Dropped uint64 `json:"dropped"`     // the DROP rule's counter
}

// PathTotals are the relay's and packet filter's totals over all SPIs.
type PathTotals struct {
	Forwarded int `json:"relayed"`
	Held      int `json:"held"`
	Reordered int `json:"reordered"`
	Dropped   int `json:"dropped"`
}

// SPIPath is what the path did to one SPI's packets (only the relayed
// direction has one).
type SPIPath struct {
	// Relayed: the relay forwarded this many ESP packets of the SPI: every
	// one the sender sent (the relay drops nothing), whatever its daemon's
	// last reading of the SA said.
	Relayed int `json:"relayed"`
	// Dropped: the packet filter dropped these (positions in the relay's
	// output matched by the nth rule), so they never reached the capture
	// point nor the receiver.
	Dropped      int      `json:"dropped"`
	DroppedBytes uint64   `json:"dropped_bytes"` // their inner bytes (every packet of the stream has one size)
	DroppedSeqs  []uint32 `json:"dropped_seqs"`
	// Reordered: packets the relay forwarded after a packet of the same SPI
	// with a higher sequence number (relay.Record.Overtaken > 0); they
	// reach the capture point and the receiver in that order.
	Reordered        int            `json:"reordered"`
	ReorderedPackets []ReorderedESP `json:"reordered_packets"`
}

// ReorderedESP is one packet the relay forwarded after packets of the same
// SPI with higher sequence numbers.
type ReorderedESP struct {
	Seq uint32 `json:"seq"`
	// Overtaken: how many packets with higher sequence numbers went
	// before it (a receiver's replay window must reach back that far).
	Overtaken int `json:"overtaken"`
}

// relayLogHeader is the first line of the relay's log.
type relayLogHeader struct {
	Relay *struct {
		Device  string   `json:"device"`
		Hold    []string `json:"hold"`
		MaxHold string   `json:"max_hold"`
	} `json:"relay"`
}

// RelayLog is the relay's JSON-lines log: its configuration, then one
// record per forwarded ESP packet.
type RelayLog struct {
	Device, MaxHold string
	Hold            []string
	Records         []relay.Record
}

// ReadRelayLog reads the relay's log; name is used in errors.
func ReadRelayLog(r io.Reader, name string) (*RelayLog, error) {
	sc := bufio.NewScanner(r)
	lg := &RelayLog{}
	n := 0
	for sc.Scan() {
		n++
		if n == 1 {
			var h relayLogHeader
			if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Relay == nil {
				return nil, fmt.Errorf("%s:1: not the relay's configuration line", name)
			}
			lg.Device, lg.Hold, lg.MaxHold = h.Relay.Device, h.Relay.Hold, h.Relay.MaxHold
			continue
		}
		var rec relay.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if rec.N != len(lg.Records)+1 {
			return nil, fmt.Errorf("%s:%d: record %d out of order", name, n, rec.N)
		}
		lg.Records = append(lg.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: empty", name)
	}
	return lg, nil
}

// FilterRule is one rule of iptables-save -c output with its counters.
type FilterRule struct {
	Packets, Bytes uint64
	Rule           string
}

var reSaved = regexp.MustCompile(`^\[(\d+):(\d+)\] (-A .*)$`)

// ReadIptablesSave reads `iptables-save -c` output; name is used in errors.
func ReadIptablesSave(r io.Reader, name string) ([]FilterRule, error) {
	sc := bufio.NewScanner(r)
	var out []FilterRule
	n := 0
	for sc.Scan() {
		n++
		m := reSaved.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		p, err1 := strconv.ParseUint(m[1], 10, 64)
		b, err2 := strconv.ParseUint(m[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: bad counters", name, n)
		}
		out = append(out, FilterRule{Packets: p, Bytes: b, Rule: m[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	return out, nil
}

// The comments start_relay puts on its rules.
const (
	commentCount = "ipsecmon-lab-esp"
	commentDrop  = "ipsecmon-lab-drop"
)

var reNth = regexp.MustCompile(`--mode nth --every (\d+) --packet (\d+)`)

func findRule(rules []FilterRule, comment string) *FilterRule {
	for i := range rules {
		if slices.Contains(strings.Fields(rules[i].Rule), comment) {
			return &rules[i]
		}
	}
	return nil
}

// path builds the path facts and checks them against the daemons: no
// sender counted more packets out of an SPI than the relay forwarded (it
// may count fewer: charon's last reading of an SA closed while traffic
// flowed precedes the SA's removal).
func (b *builder) path() error {
	lg := b.in.Relay
	if lg == nil {
		return nil
	}
	p := &Path{From: Initiator, Relay: RelayFacts{Device: lg.Device, HoldRules: lg.Hold, MaxHold: lg.MaxHold}}
	if p.Relay.HoldRules == nil {
		p.Relay.HoldRules = []string{}
	}
	from := map[string]string{}
	for _, s := range b.f.SPIs {
		from[s.SPI] = s.From
	}
	toBob := 0
	for _, r := range lg.Records {
		switch from[r.SPI] {
		case "":
			return fmt.Errorf("path: the relay forwarded SPI %s, which no CHILD SA of the facts has", r.SPI)
		case p.From:
			toBob++
		}
	}
	every, packet := 0, 0
	if count := findRule(b.in.Filter, commentCount); count == nil {
		return fmt.Errorf("path: no counting rule %q in the router's packet filter", commentCount)
	} else if count.Packets != uint64(toBob) {
		return fmt.Errorf("path: the packet filter counted %d ESP packets from the relay towards %s, the relay logged %d", count.Packets, LinkPeer, toBob)
	}
	if d := findRule(b.in.Filter, commentDrop); d != nil {
		m := reNth.FindStringSubmatch(d.Rule)
		if m == nil {
			return fmt.Errorf("path: drop rule without --mode nth: %s", d.Rule)
		}
		every, _ = strconv.Atoi(m[1])
		packet, _ = strconv.Atoi(m[2])
		p.Drop = &DropFacts{Rule: d.Rule, Every: every, Packet: packet, Matched: uint64(toBob), Dropped: d.Packets}
	}
	per := map[string]*SPIPath{}
	k := 0 // position among the packets towards bob, which the nth rule counts
	for _, r := range lg.Records {
		sp := per[r.SPI]
		if sp == nil {
			sp = &SPIPath{DroppedSeqs: []uint32{}, ReorderedPackets: []ReorderedESP{}}
			per[r.SPI] = sp
		}
		sp.Relayed++
		p.ESP.Forwarded++
		if from[r.SPI] != p.From {
			continue
		}
		k++
		if r.Held {
			p.ESP.Held++
		}
		// The nth match counts the packets it sees from 0 and matches when
		// the count modulo every equals packet.
		dropped := every > 0 && (k-1)%every == packet
		if dropped {
			sp.Dropped++
			sp.DroppedSeqs = append(sp.DroppedSeqs, r.Seq)
			p.ESP.Dropped++
		}
		if r.Overtaken > 0 {
			sp.Reordered++
			sp.ReorderedPackets = append(sp.ReorderedPackets, ReorderedESP{Seq: r.Seq, Overtaken: r.Overtaken})
			p.ESP.Reordered++
			if dropped {
				p.Notes = append(p.Notes, fmt.Sprintf("SPI %s seq %d was reordered and then dropped", r.SPI, r.Seq))
			}
		}
	}
	if p.Drop != nil && p.Drop.Dropped != uint64(p.ESP.Dropped) {
		return fmt.Errorf("path: the drop rule counted %d, its nth parameters select %d of the relay's %d ESP packets towards %s", p.Drop.Dropped, p.ESP.Dropped, toBob, LinkPeer)
	}
	for i := range b.f.SPIs {
		s := &b.f.SPIs[i]
		sp := per[s.SPI]
		if sp == nil {
			sp = &SPIPath{DroppedSeqs: []uint32{}, ReorderedPackets: []ReorderedESP{}}
		}
		s.Path = sp
		out := s.Counters[s.From]
		if out.Packets > uint64(sp.Relayed) {
			return fmt.Errorf("path: SPI %s: %s counted %d packets out, the relay forwarded %d", s.SPI, s.From, out.Packets, sp.Relayed)
		}
		if out.Packets < uint64(sp.Relayed) && b.uniformSize(s.From) == 0 {
			return fmt.Errorf("path: SPI %s: %s counted %d packets out, the relay forwarded %d, and the packets' sizes differ: the bytes sent are unknown", s.SPI, s.From, out.Packets, sp.Relayed)
		}
	}
	b.f.Path = p
	return nil
}

// sent is what the sender of an SPI sent: what the relay forwarded when
// the path has one (exact, where charon's reading may lag), else the
// sender's own count.
func (b *builder) sent(s *SPI) (packets, bytes uint64) {
	out := s.Counters[s.From]
	if s.Path == nil || uint64(s.Path.Relayed) == out.Packets {
		return out.Packets, out.Bytes
	}
	n := uint64(s.Path.Relayed)
	return n, n * b.uniformSize(s.From) // path() checked that the size is uniform
}

// amounts sets each SPI's sent and uncounted_by_receiver: what the sender
// sent, less what the path dropped, less what the receiver counted in.
func (b *builder) amounts() error {
	for i := range b.f.SPIs {
		s := &b.f.SPIs[i]
		var out Counter
		out.Packets, out.Bytes = b.sent(s)
		s.Sent = Amount{Packets: out.Packets, Bytes: out.Bytes}
		in := s.Counters[s.To()]
		var dp, db uint64
		if s.Path != nil && s.Path.Dropped > 0 {
			size := b.uniformSize(s.From)
			if size == 0 {
				return fmt.Errorf("SPI %s: the path dropped packets of different sizes: their bytes are unknown", s.SPI)
			}
			dp, db = uint64(s.Path.Dropped), uint64(s.Path.Dropped)*size
			s.Path.DroppedBytes = db
		}
		if out.Packets < dp+in.Packets || out.Bytes < db+in.Bytes {
			return fmt.Errorf("SPI %s: %s received %d packets (%d bytes), more than %s sent (%d, %d bytes) less the path's drops (%d)", s.SPI, s.To(), in.Packets, in.Bytes, s.From, out.Packets, out.Bytes, dp)
		}
		if n := out.Packets - dp - in.Packets; n > 0 {
			s.Uncounted = &Amount{Packets: n, Bytes: out.Bytes - db - in.Bytes}
		}
	}
	return nil
}
