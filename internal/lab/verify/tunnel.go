package verify

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"ipsecmon/internal/lab/facts"
)

// tunnelDir is one direction of one peer's tunnel device.
type tunnelDir struct {
	peer string
	sent bool // the host sent these into the tunnel
}

func (d tunnelDir) String() string {
	if d.sent {
		return d.peer + " ipsec0 sent"
	}
	return d.peer + " ipsec0 received"
}

// checkTunnels compares each peer's tunnel-device recording with the inner
// packets tshark decrypted from the link capture:
//   - what the link peer sent is exactly, in order, what the capture saw
//     it send (nothing lies between its device and its link);
//   - what a peer received is what the capture saw arrive for it, in order,
//     less at most the packets its daemon did not count (facts:
//     uncounted_by_receiver: after it last read the counters of an SA it
//     was closing; delivered or, once the SA was gone, discarded): nothing
//     acts on the link peer's packets after the capture point;
//   - what the far peer sent is what the capture saw, plus exactly the
//     packets the path dropped before the capture point, in the captured
//     order unless the path reordered (facts: path).
func checkTunnels(res *Result, f *facts.Facts, dir string, frames []Frame, spiFacts map[uint32]facts.SPI) error {
	wire := map[tunnelDir][][]byte{}
	for _, fr := range frames {
		if fr.ESP == nil || fr.ESP.Inner == nil {
			continue
		}
		sf, ok := spiFacts[fr.ESP.SPI]
		if !ok {
			continue // reported by Check
		}
		for _, p := range facts.PeerNames {
			d := tunnelDir{peer: p, sent: p == sf.From}
			wire[d] = append(wire[d], fr.ESP.Inner)
		}
	}
	uncounted := map[string]int{} // by receiving peer
	dropped, reordered := map[string]int{}, map[string]int{}
	for _, s := range f.SPIs {
		if s.Uncounted != nil {
			uncounted[s.To()] += int(s.Uncounted.Packets)
		}
		if s.Path != nil {
			dropped[s.From] += s.Path.Dropped
			reordered[s.From] += s.Path.Reordered
		}
	}
	for _, tc := range f.Capture.Tunnels {
		own, err := innerPrefixes(f, tc.Peer)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, tc.File)
		r, err := os.Open(path)
		if err != nil {
			return err
		}
		link, pkts, err := ReadPcapLink(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if link != LinkTypeRaw {
			res.problem("%s: link type %d, want %d (raw IP)", tc.File, link, LinkTypeRaw)
			continue
		}
		dev := map[tunnelDir][][]byte{}
		for i, p := range pkts {
			src, dst, ok := ipv4Addrs(p)
			if !ok {
				res.problem("%s record %d: not an IPv4 packet", tc.File, i+1)
				continue
			}
			switch {
			case inAny(own, src):
				dev[tunnelDir{tc.Peer, true}] = append(dev[tunnelDir{tc.Peer, true}], p)
			case inAny(own, dst):
				dev[tunnelDir{tc.Peer, false}] = append(dev[tunnelDir{tc.Peer, false}], p)
			default:
				res.problem("%s record %d: %s -> %s is neither from nor to %s's inner addresses", tc.File, i+1, src, dst, tc.Peer)
			}
		}
		for _, sent := range []bool{true, false} {
			d := tunnelDir{tc.Peer, sent}
			res.TunnelPackets += len(dev[d])
			switch {
			case !sent:
				// The device holds the captured packets less some of the uncounted ones.
				if n := subsequence(res, d, dev[d], wire[d]); n > uncounted[tc.Peer] {
					res.problem("%s: %d packets captured for it but not delivered, its daemon left only %d uncounted", d, n, uncounted[tc.Peer])
				} else {
					res.NotDelivered += n
				}
			case tc.Peer == facts.LinkPeer:
				if n := subsequence(res, d, wire[d], dev[d]); n != 0 {
					res.problem("%s: %d packets sent but not captured", d, n)
				}
			case reordered[tc.Peer] > 0:
				if missing := sameMultiset(res, d, dev[d], wire[d]); missing != dropped[tc.Peer] {
					res.problem("%s: %d packets sent but not captured, facts say the path dropped %d", d, missing, dropped[tc.Peer])
				}
			default:
				if n := subsequence(res, d, wire[d], dev[d]); n != dropped[tc.Peer] {
					res.problem("%s: %d packets sent but not captured, facts say the path dropped %d", d, n, dropped[tc.Peer])
				}
			}
		}
	}
	return nil
}

// subsequence checks that short appears in long in order and returns how
// many packets of long are left over.
func subsequence(res *Result, d tunnelDir, short, long [][]byte) int {
	j := 0
	for i, p := range short {
		for j < len(long) && !bytes.Equal(long[j], p) {
			j++
		}
		if j == len(long) {
			res.problem("%s: packet %d of %d (%d bytes) is not where the order of the other side allows", d, i+1, len(short), len(p))
			return 0
		}
		j++
	}
	return len(long) - len(short)
}

// sameMultiset checks that every wire packet is on the device and returns
// how many device packets the wire lacks.
func sameMultiset(res *Result, d tunnelDir, dev, wire [][]byte) int {
	count := map[string]int{}
	for _, p := range dev {
		count[string(p)]++
	}
	extra := 0
	for _, p := range wire {
		if count[string(p)] == 0 {
			extra++
			continue
		}
		count[string(p)]--
	}
	if extra > 0 {
		res.problem("%s: %d packets decrypted from the link capture are not on the device", d, extra)
	}
	missing := 0
	for _, n := range count {
		missing += n
	}
	return missing
}

func innerPrefixes(f *facts.Facts, peer string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range f.Peers {
		if p.Name != peer {
			continue
		}
		for _, s := range p.Inner {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("facts.json: peer %s inner %q: %w", peer, s, err)
			}
			out = append(out, pf)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("facts.json: peer %s has no inner addresses", peer)
	}
	return out, nil
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func ipv4Addrs(p []byte) (src, dst netip.Addr, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return src, dst, false
	}
	return netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20])), true
}
