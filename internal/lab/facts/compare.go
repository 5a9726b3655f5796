package facts

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Compare lists the differences between two recordings of a scenario that
// matter: everything except what changes from run to run by design --
// times, SPIs and IKE SPIs/cookies (random), keys (not in facts anyway) and
// the UDP ports a NAT picks. An empty result means the runs agree.
func Compare(a, b *Facts) ([]string, error) {
	na, err := normalize(a)
	if err != nil {
		return nil, err
	}
	nb, err := normalize(b)
	if err != nil {
		return nil, err
	}
	var diffs []string
	diffTree("", na, nb, &diffs)
	return diffs, nil
}

// normalize copies f with the run-specific values replaced by stable labels
// and returns it as a generic JSON tree.
func normalize(f *Facts) (any, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var c Facts
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	var zero time.Time
	c.Capture.Start, c.Capture.End = zero, zero
	c.Retransmits = nil
	// NAT-T keepalives and DPD checks go out after some time without
	// traffic and are retransmitted on timers: how many fit in a period
	// depends on timing, whether there were any does not.
	for i := range c.Liveness {
		l := &c.Liveness[i]
		l.Keepalives = 0
		l.DPDRequests, l.DPDAnswered = min(l.DPDRequests, 1), min(l.DPDAnswered, 1)
		l.DPDUnanswered, l.DPDRetransmits = min(l.DPDUnanswered, 1), min(l.DPDRetransmits, 1)
	}
	if c.CountsSplitByTiming {
		splitByTiming(&c)
	}
	// SPIs become "<child>:from-<peer>".
	label := map[string]string{}
	for _, s := range c.SPIs {
		label[s.SPI] = s.Child + ":from-" + s.From
	}
	relabel := func(spi string) string {
		if l, ok := label[spi]; ok {
			return l
		}
		return "unknown-spi"
	}
	natAddr := ""
	if c.Topology == "nat" {
		for _, p := range c.Peers {
			if p.Address != p.LinkAddress {
				natAddr = p.LinkAddress
			}
		}
	}
	natPort := func(addr string, port int) int {
		if addr == natAddr && port != 500 && port != 4500 {
			return -1 // chosen by the NAT
		}
		return port
	}
	for i := range c.SPIs {
		s := &c.SPIs[i]
		s.SPI = relabel(s.SPI)
		s.SrcPort, s.DstPort = natPort(s.Src, s.SrcPort), natPort(s.Dst, s.DstPort)
		for p, ctr := range s.Counters {
			// "vici child-updown 12:00:01.123" -> "vici child-updown"
			if strings.HasPrefix(ctr.Source, "vici ") {
				if i := strings.LastIndexByte(ctr.Source, ' '); i > 4 {
					ctr.Source = ctr.Source[:i]
				}
			}
			s.Counters[p] = ctr
		}
	}
	for i := range c.IKESAs {
		s := &c.IKESAs[i]
		s.SPIi, s.SPIr = "", ""
		s.Established = zero
		s.Initiator.Port = natPort(s.Initiator.Addr, s.Initiator.Port)
		s.Responder.Port = natPort(s.Responder.Addr, s.Responder.Port)
		if s.Deleted != nil {
			s.Deleted.Time = zero
		}
	}
	for i := range c.ChildSAs {
		s := &c.ChildSAs[i]
		s.Created = zero
		if s.Deleted != nil {
			s.Deleted.Time = zero
		}
		if s.Exchange == "QUICK_MODE" {
			s.MessageID = 0 // IKEv1 message IDs are random (RFC 2408 §3.1)
		}
		for p, v := range s.SPIs {
			s.SPIs[p] = PeerSPIs{In: relabel(v.In), Out: relabel(v.Out)}
		}
	}
	for i := range c.Failed {
		c.Failed[i].Time = zero
		if c.Failed[i].Exchange == "QUICK_MODE" {
			c.Failed[i].MessageID = 0
		}
	}
	for i := range c.Signals {
		c.Signals[i].Time = zero
	}
	for i := range c.Pending {
		c.Pending[i].Sent = zero
		c.Pending[i].Retransmits = min(c.Pending[i].Retransmits, 1)
		// IKEv1 message IDs are random; an IKEv2 liveness check's ID counts
		// the exchanges before it, which timers decide.
		if c.Pending[i].Exchange == "QUICK_MODE" || strings.HasPrefix(c.Pending[i].Exchange, "INFORMATIONAL") {
			c.Pending[i].MessageID = 0
		}
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var tree any
	err = json.Unmarshal(out, &tree)
	return tree, err
}

// splitByTiming clears what depends on when packets crossed a rekey: the
// per-SA counts, the per-SA path details and which packets arrived after
// the receiver's last reading of its counters. What stays is what the lab
// controls: the packets sent per tunnel direction, the path's totals and
// every negotiation.
func splitByTiming(c *Facts) {
	for i := range c.SPIs {
		s := &c.SPIs[i]
		for p := range s.Counters {
			s.Counters[p] = Counter{Side: s.Counters[p].Side}
		}
		if s.Path != nil {
			s.Path = &SPIPath{}
		}
		s.Sent = Amount{}
		s.Uncounted = nil
	}
	for i := range c.Tunnels {
		for j := range c.Tunnels[i].Directions {
			d := &c.Tunnels[i].Directions[j]
			d.PacketsReceived, d.BytesReceived, d.Uncounted = 0, 0, 0
		}
	}
}

func diffTree(path string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", path, short(a), short(b)))
			return
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			diffTree(path+"."+k, av[k], bv[k], out)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", path, short(a), short(b)))
			return
		}
		if len(av) != len(bv) {
			*out = append(*out, fmt.Sprintf("%s: %d entries vs %d", path, len(av), len(bv)))
		}
		for i := 0; i < len(av) && i < len(bv); i++ {
			diffTree(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i], out)
		}
	default:
		if !reflect.DeepEqual(a, b) {
			*out = append(*out, fmt.Sprintf("%s: %s vs %s", path, short(a), short(b)))
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
