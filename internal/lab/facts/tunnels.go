package facts

import "fmt"

// Tunnel is one lineage of CHILD SAs: an SA created by a negotiation of
// its own and the SAs that replaced it by rekeying (replaces/replaced_by),
// with the daemons' counters summed over the lineage per direction.
type Tunnel struct {
	ID       string   `json:"id"`   // tunnel-N, in order of the first SA's creation
	Name     string   `json:"name"` // the CHILD SA configuration name
	ChildSAs []string `json:"child_sas"`
	Rekeys   int      `json:"rekeys"` // len(child_sas) - 1
	// Directions: one per sending peer (alice first).
	Directions []TunnelDirection `json:"directions"`
}

// TunnelDirection sums one direction of a tunnel over its SAs.
type TunnelDirection struct {
	From string `json:"from"`
	// PacketsSent/BytesSent: what the sender sent, summed over the SPIs
	// (the sender's outbound counters; with a path relay, what it
	// forwarded); PacketsReceived/BytesReceived: the receiver's inbound
	// counters, summed.
	PacketsSent     uint64 `json:"packets_sent"`
	BytesSent       uint64 `json:"bytes_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	BytesReceived   uint64 `json:"bytes_received"`
	// DroppedOnPath and Reordered sum the SPIs' path facts (what the lab
	// injected; 0 without a path).
	DroppedOnPath int `json:"dropped_on_path"`
	Reordered     int `json:"reordered"`
	// Uncounted sums the SPIs' uncounted_by_receiver packets, so that
	// packets_sent = dropped_on_path + uncounted_by_receiver + packets_received.
	Uncounted uint64 `json:"uncounted_by_receiver"`
}

// tunnels groups the CHILD SAs into lineages and sums their SPIs.
func (b *builder) tunnels() error {
	byID := map[string]*ChildSA{}
	for i := range b.f.ChildSAs {
		byID[b.f.ChildSAs[i].ID] = &b.f.ChildSAs[i]
	}
	b.f.Tunnels = []Tunnel{}
	for _, c := range b.f.ChildSAs {
		if c.Replaces != "" {
			continue
		}
		t := Tunnel{ID: fmt.Sprintf("tunnel-%d", len(b.f.Tunnels)+1), Name: c.Name}
		seen := map[string]bool{}
		for id := c.ID; id != ""; id = byID[id].ReplacedBy {
			if seen[id] || byID[id] == nil {
				return fmt.Errorf("tunnel of %s: rekey chain loops or breaks at %s", c.ID, id)
			}
			seen[id] = true
			t.ChildSAs = append(t.ChildSAs, id)
		}
		t.Rekeys = len(t.ChildSAs) - 1
		for _, from := range PeerNames {
			d := TunnelDirection{From: from}
			for _, s := range b.f.SPIs {
				if !seen[s.Child] || s.From != from {
					continue
				}
				d.PacketsSent += s.Sent.Packets
				d.BytesSent += s.Sent.Bytes
				in := s.Counters[s.To()]
				d.PacketsReceived += in.Packets
				d.BytesReceived += in.Bytes
				if s.Uncounted != nil {
					d.Uncounted += s.Uncounted.Packets
				}
				if s.Path != nil {
					d.DroppedOnPath += s.Path.Dropped
					d.Reordered += s.Path.Reordered
				}
			}
			t.Directions = append(t.Directions, d)
		}
		b.f.Tunnels = append(b.f.Tunnels, t)
	}
	// Streams of one datagram size: every packet a peer sent through its
	// tunnels is one the generator sent.
	for j, from := range PeerNames {
		if b.uniformSize(from) == 0 {
			continue
		}
		var gen, sent uint64
		for _, r := range b.in.Traffic {
			for _, u := range r.UDP {
				if r.From == from {
					gen += uint64(u.Sent)
				}
			}
		}
		for _, t := range b.f.Tunnels {
			sent += t.Directions[j].PacketsSent
		}
		if gen != sent {
			return fmt.Errorf("tunnels: %s's generator sent %d datagrams, its tunnels carried %d", from, gen, sent)
		}
	}
	return nil
}
