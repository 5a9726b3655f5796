// Package metrics exports the analyzer's figures to Prometheus, so that
// many gateways each running ipsecmon can be scraped and aggregated. Names
// follow Prometheus conventions: counters end in _total, units are in the
// name, times are _timestamp_seconds gauges (Unix seconds of the capture
// clock), and every direction label is `sent|received` seen from the local
// end (this computer for the global figures, the tunnel's local endpoint per
// tunnel). A figure the input cannot tell is not exported at all
// (Prometheus has no null), rather than exported as 0.
//
// Series are labelled by what outlives a rekey: per tunnel, its identity
// (peers, protocol, selectors), never an SPI, so a rekey does not start new
// series. What an attacker can make grow — tunnels — is exported for at
// most a capped number of them (NewCollector's maxTunnels); the others are counted in
// ipsecmon_tunnel_series_omitted.
package metrics

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Interface is one capture interface's libpcap counters.
type Interface struct {
	Name                         string
	Received, Dropped, IfDropped uint64
	// Unread: captured before the stop, not read by the drain deadline
	// (only ever set at the end of a run; not exported).
	Unread uint64
}

// Sample is one consistent view of everything exported.
type Sample struct {
	Snap       *analyzer.Snapshot
	Interfaces []Interface
	// Limits are every memory bound in force (the analyzer's are also in
	// Snap; the input stage's are not) with what each discarded.
	Limits []bounds.Limit
}

// DefaultMaxTunnelSeries is the default cap on the tunnels that have
// series (--metrics-max-tunnels).
const DefaultMaxTunnelSeries = 100

// SeriesPerTunnel is how many series one exported tunnel has: the cap on
// the exporter's series is SeriesPerTunnel × the tunnel cap, plus the
// fixed global series (README: Monitoring many gateways).
const SeriesPerTunnel = 6*2 + 6 // per direction: 6 traffic figures; per tunnel: 6 (counts, state, times)

// Collector turns Samples into metrics at scrape time.
type Collector struct {
	sample    func() Sample
	maxSeries int

	// exported are the tunnels that had series at the previous scrape:
	// they keep them while they stay active, so that a flood of new
	// tunnels (spoofed or not) does not push a gateway's real tunnels out
	// of the series and back, and dashboards see each series continuous.
	mu       sync.Mutex
	exported map[analyzer.TunnelKey]bool
}

// NewCollector returns a collector that calls sample on every scrape;
// sample must return a snapshot taken under the analyzer's lock.
// maxTunnels caps the tunnels with series.
func NewCollector(sample func() Sample, maxTunnels int) *Collector {
	if maxTunnels < 0 {
		maxTunnels = 0
	}
	return &Collector{sample: sample, maxSeries: maxTunnels}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("ipsecmon_"+name, help, labels, nil)
}

// Direction label values, from the local end's point of view.
const (
	Sent     = "sent"
	Received = "received"
)

// statMetrics maps each statistic to a metric. Direction pairs share one
// metric with a direction label.
var statMetrics = [analyzer.NumStats]struct {
	desc      *prometheus.Desc
	counter   bool
	direction string
}{
	analyzer.ActiveSAs:             {desc("active_security_associations", "Unidirectional SAs seen and not deleted or expired."), false, ""},
	analyzer.OffloadedSAs:          {desc("offloaded_security_associations", "SAs offloaded to hardware (never visible on the wire)."), false, ""},
	analyzer.PendingKeyOps:         {desc("pending_key_operations", "Negotiations started and not completed."), false, ""},
	analyzer.KeyAdditions:          {desc("key_additions_total", "Completed phase 2 / CHILD negotiations."), true, ""},
	analyzer.KeyDeletions:          {desc("key_deletions_total", "SA pairs deleted."), true, ""},
	analyzer.Rekeys:                {desc("rekeys_total", "Negotiations that replaced an existing SA pair."), true, ""},
	analyzer.ActiveTunnels:         {desc("active_tunnels", "Tunnel-mode SA pairs."), false, ""},
	analyzer.BadSPIPackets:         {desc("bad_spi_packets_total", "Packets for SPIs no SA has."), true, ""},
	analyzer.NotDecrypted:          {desc("packets_not_decrypted_total", "Packets whose plaintext could not be valid."), true, ""},
	analyzer.NotAuthenticated:      {desc("packets_not_authenticated_total", "Packets whose ICV did not match."), true, ""},
	analyzer.ReplayDetected:        {desc("replay_detected_packets_total", "Packets that failed the anti-replay check."), true, ""},
	analyzer.ConfidentialSent:      {desc("confidential_bytes_total", "ESP bytes that passed every check.", "direction"), true, Sent},
	analyzer.ConfidentialReceived:  {desc("confidential_bytes_total", "ESP bytes that passed every check.", "direction"), true, Received},
	analyzer.AuthenticatedSent:     {desc("authenticated_bytes_total", "AH bytes that passed every check.", "direction"), true, Sent},
	analyzer.AuthenticatedReceived: {desc("authenticated_bytes_total", "AH bytes that passed every check.", "direction"), true, Received},
	analyzer.TransportSent:         {desc("transport_bytes_total", "Bytes of transport-mode SAs.", "direction"), true, Sent},
	analyzer.TransportReceived:     {desc("transport_bytes_total", "Bytes of transport-mode SAs.", "direction"), true, Received},
	analyzer.TunnelSent:            {desc("tunnel_bytes_total", "Bytes of tunnel-mode SAs.", "direction"), true, Sent},
	analyzer.TunnelReceived:        {desc("tunnel_bytes_total", "Bytes of tunnel-mode SAs.", "direction"), true, Received},
	analyzer.OffloadedSent:         {desc("offloaded_bytes_total", "Bytes of offloaded SAs (never visible on the wire).", "direction"), true, Sent},
	analyzer.OffloadedReceived:     {desc("offloaded_bytes_total", "Bytes of offloaded SAs (never visible on the wire).", "direction"), true, Received},
}

var (
	descCapture    = desc("capture_packets_total", "Packets libpcap delivered, per interface.", "interface")
	descDropped    = desc("capture_dropped_packets_total", "Packets lost before ipsecmon saw them: by the kernel (buffer full) or the interface.", "interface", "by")
	descTracked    = desc("tracked_security_associations", "SAs in the analyzer's table.")
	descUntracked  = desc("untracked_packets_total", "IPsec packets not analysed because the SA table had no room (--max-sas, --replay-memory).")
	descLimitHits  = desc("limit_discarded_total", "What a memory bound discarded, per bound (the unit is the bound's: packets, IKE SAs, fragments, ...).", "limit")
	descLimitCap   = desc("limit_cap", "A memory bound's cap, in its unit (README: Memory bounds); not exported for a bound switched off.", "limit")
	descEvicted    = desc("evicted_security_associations_total", "SAs removed from the table; their totals stay in the other counters.")
	descIKE        = desc("ike_messages_total", "IKE messages seen.", "version")
	descKeepalives = desc("nat_keepalives_total", "NAT-T keepalives (RFC 3948).")
	descLastPacket = desc("last_packet_timestamp_seconds", "When the latest packet analysed was captured (Unix time of the capture clock).")

	// Per tunnel, labelled by its identity, which rekeys do not change.
	tunnelLabels         = []string{"local", "remote", "local_ts", "remote_ts", "protocol"}
	tunnelDirLabels      = append(append([]string(nil), tunnelLabels...), "direction")
	descTunnelPackets    = desc("tunnel_accepted_packets_total", "Accepted packets per tunnel and direction, summed over its SAs across rekeys.", tunnelDirLabels...)
	descTunnelBytes      = desc("tunnel_accepted_bytes_total", "Accepted bytes (ESP/AH header to the end of the IP packet) per tunnel and direction, across rekeys (tunnel_bytes_total counts tunnel-mode SAs).", tunnelDirLabels...)
	descTunnelLost       = desc("tunnel_lost_packets", "Sequence numbers never seen between the lowest and highest accepted, per tunnel and direction (lowered when a packet counted lost arrives late).", tunnelDirLabels...)
	descTunnelReordered  = desc("tunnel_reordered_packets_total", "Packets accepted after a higher sequence number, inside the replay window.", tunnelDirLabels...)
	descTunnelDuplicates = desc("tunnel_duplicate_packets_total", "Packets whose sequence number was already accepted, inside the replay window.", tunnelDirLabels...)
	descTunnelLate       = desc("tunnel_late_packets_total", "Packets left of the replay window.", tunnelDirLabels...)
	descTunnelChildSAs   = desc("tunnel_child_sas_total", "SA pairs of the tunnel so far.", tunnelLabels...)
	descTunnelRekeys     = desc("tunnel_rekeys_total", "SA pairs that replaced another in the tunnel (rekey, reauthentication, or inferred from traffic).", tunnelLabels...)
	descTunnelRekeyLost  = desc("tunnel_rekey_lost_packets", "Sequence numbers lost across the tunnel's rekeys listed (old SA after the switch, new SA before its first packet).", tunnelLabels...)
	descTunnelActive     = desc("tunnel_active", "1 while one of the tunnel's SAs is alive (neither deleted, expired nor evicted), else 0.", tunnelLabels...)
	descTunnelLastPacket = desc("tunnel_last_packet_timestamp_seconds", "When the tunnel's latest packet was captured (Unix time of the capture clock).", tunnelLabels...)
	descTunnelLastRekey  = desc("tunnel_last_rekey_timestamp_seconds", "When the tunnel's latest rekey listed happened (the new pair's negotiation, or its first packet when inferred); absent before any.", tunnelLabels...)
	descTunnelOmitted    = desc("tunnel_series_omitted", "Tunnels without series because of the series cap (--metrics-max-tunnels) or because their labels equal an exported tunnel's.")
	descTunnelCap        = desc("tunnel_series_cap", "The most tunnels with series (--metrics-max-tunnels).")

	descGlobal = []*prometheus.Desc{descCapture, descDropped, descTracked, descUntracked, descLimitHits, descLimitCap,
		descEvicted, descIKE, descKeepalives, descLastPacket, descTunnelOmitted, descTunnelCap}
	descPerTunnel = []*prometheus.Desc{descTunnelPackets, descTunnelBytes, descTunnelLost, descTunnelReordered,
		descTunnelDuplicates, descTunnelLate, descTunnelChildSAs, descTunnelRekeys, descTunnelRekeyLost,
		descTunnelActive, descTunnelLastPacket, descTunnelLastRekey}
)

// Describe sends every descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, m := range statMetrics {
		if !seen[m.desc] {
			seen[m.desc] = true
			ch <- m.desc
		}
	}
	for _, d := range append(slices.Clone(descGlobal), descPerTunnel...) {
		ch <- d
	}
}

// Collect reads one sample and turns it into metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.sample()
	for i, m := range statMetrics {
		f := s.Snap.Stats[i]
		if !f.Known {
			continue
		}
		vt := prometheus.GaugeValue
		if m.counter {
			vt = prometheus.CounterValue
		}
		var labels []string
		if m.direction != "" {
			labels = []string{m.direction}
		}
		ch <- prometheus.MustNewConstMetric(m.desc, vt, float64(f.Value), labels...)
	}
	for _, in := range s.Interfaces {
		ch <- prometheus.MustNewConstMetric(descCapture, prometheus.CounterValue, float64(in.Received), in.Name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(in.Dropped), in.Name, "kernel")
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(in.IfDropped), in.Name, "interface")
	}
	cnt := s.Snap.Counts
	ch <- prometheus.MustNewConstMetric(descTracked, prometheus.GaugeValue, float64(s.Snap.SAs))
	ch <- prometheus.MustNewConstMetric(descUntracked, prometheus.CounterValue, float64(cnt.Untracked))
	for _, l := range s.Limits {
		ch <- prometheus.MustNewConstMetric(descLimitHits, prometheus.CounterValue, float64(l.Hits), l.Name)
		if l.Cap > 0 {
			ch <- prometheus.MustNewConstMetric(descLimitCap, prometheus.GaugeValue, float64(l.Cap), l.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descEvicted, prometheus.CounterValue, float64(cnt.EvictedSAs))
	ch <- prometheus.MustNewConstMetric(descIKE, prometheus.CounterValue, float64(cnt.IKEv1Messages), "1")
	ch <- prometheus.MustNewConstMetric(descIKE, prometheus.CounterValue, float64(cnt.IKEv2Messages), "2")
	ch <- prometheus.MustNewConstMetric(descKeepalives, prometheus.CounterValue, float64(cnt.NATKeepalives))
	if !s.Snap.Last.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastPacket, prometheus.GaugeValue, unixSeconds(s.Snap.Last))
	}
	ch <- prometheus.MustNewConstMetric(descTunnelCap, prometheus.GaugeValue, float64(c.maxSeries))
	c.tunnels(ch, s.Snap.Tunnels)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// tunnels exports at most maxSeries tunnels, labelled by their identity:
// the series of a tunnel go on across its rekeys, where per-SA series
// would end with their SPI.
func (c *Collector) tunnels(ch chan<- prometheus.Metric, ts []*analyzer.Tunnel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	chosen, omitted := c.choose(ts)
	ch <- prometheus.MustNewConstMetric(descTunnelOmitted, prometheus.GaugeValue, float64(omitted))
	for _, t := range chosen {
		id := tunnelID(t)
		for _, d := range []struct {
			dir string
			tr  *analyzer.TunnelTraffic
		}{{Received, &t.In}, {Sent, &t.Out}} {
			l := append(slices.Clone(id), d.dir)
			ch <- prometheus.MustNewConstMetric(descTunnelPackets, prometheus.CounterValue, float64(d.tr.Packets), l...)
			ch <- prometheus.MustNewConstMetric(descTunnelBytes, prometheus.CounterValue, float64(d.tr.Bytes), l...)
			ch <- prometheus.MustNewConstMetric(descTunnelLost, prometheus.GaugeValue, float64(d.tr.Lost), l...)
			ch <- prometheus.MustNewConstMetric(descTunnelReordered, prometheus.CounterValue, float64(d.tr.Reordered), l...)
			ch <- prometheus.MustNewConstMetric(descTunnelDuplicates, prometheus.CounterValue, float64(d.tr.Duplicates), l...)
			ch <- prometheus.MustNewConstMetric(descTunnelLate, prometheus.CounterValue, float64(d.tr.Late), l...)
		}
		ch <- prometheus.MustNewConstMetric(descTunnelChildSAs, prometheus.CounterValue, float64(t.ChildSAs), id...)
		ch <- prometheus.MustNewConstMetric(descTunnelRekeys, prometheus.CounterValue, float64(t.Rekeys), id...)
		var lost uint64
		var lastRekey time.Time
		for _, k := range t.RekeyDetails {
			for _, d := range k.Directions {
				lost += d.Lost
			}
			if k.Time.After(lastRekey) {
				lastRekey = k.Time
			}
		}
		ch <- prometheus.MustNewConstMetric(descTunnelRekeyLost, prometheus.GaugeValue, float64(lost), id...)
		active := 0.0
		if t.State == "active" {
			active = 1
		}
		ch <- prometheus.MustNewConstMetric(descTunnelActive, prometheus.GaugeValue, active, id...)
		if !t.Last.IsZero() {
			ch <- prometheus.MustNewConstMetric(descTunnelLastPacket, prometheus.GaugeValue, unixSeconds(t.Last), id...)
		}
		if !lastRekey.IsZero() {
			ch <- prometheus.MustNewConstMetric(descTunnelLastRekey, prometheus.GaugeValue, unixSeconds(lastRekey), id...)
		}
	}
}

// choose picks the tunnels that get series and counts the others. Active
// tunnels come first; among them those exported at the previous scrape
// (so a flood of new tunnels cannot push them out), then those IKE
// negotiated (an attacker's made-up ESP has no negotiation), then the
// busiest by bytes. Two tunnels whose labels would be equal (selector
// lists cut alike) cannot both have series: the later one is omitted.
// O(n log n) in the tunnels.
func (c *Collector) choose(ts []*analyzer.Tunnel) ([]*analyzer.Tunnel, int) {
	// The rank of each tunnel, computed once: a scrape of a gateway under
	// a flood sorts many thousands of tunnels.
	type ranked struct {
		t                            *analyzer.Tunnel
		active, exported, negotiated int
		bytes                        uint64
	}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	rs := make([]ranked, len(ts))
	for i, t := range ts {
		rs[i] = ranked{t, b2i(t.State == "active"), b2i(c.exported[t.Key]), b2i(!t.Inferred), t.In.Bytes + t.Out.Bytes}
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		return cmp.Or(
			cmp.Compare(b.active, a.active),
			cmp.Compare(b.exported, a.exported),
			cmp.Compare(b.negotiated, a.negotiated),
			cmp.Compare(b.bytes, a.bytes),
			a.t.First.Compare(b.t.First),
		)
	})
	var chosen []*analyzer.Tunnel
	labels := map[string]bool{}
	exported := map[analyzer.TunnelKey]bool{}
	for _, r := range rs {
		if len(chosen) >= c.maxSeries {
			break
		}
		l := strings.Join(tunnelID(r.t), "\x00")
		if labels[l] {
			continue
		}
		labels[l] = true
		exported[r.t.Key] = true
		chosen = append(chosen, r.t)
	}
	c.exported = exported
	return chosen, len(ts) - len(chosen)
}

// tunnelID is the label values of a tunnel's identity.
func tunnelID(t *analyzer.Tunnel) []string {
	return []string{t.Local.String(), t.Remote.String(), selectorLabel(t.LocalTS), selectorLabel(t.RemoteTS), strings.ToLower(ipproto.Name(t.Key.Proto))}
}

// maxSelectorLabel bounds a selector label's length: a tunnel may
// negotiate many selectors, and a label value is stored with every sample.
const maxSelectorLabel = 128

// selectorLabel is a side's selectors as a label value ("" when no
// negotiation shows them), cut at maxSelectorLabel bytes with the number
// of selectors left out.
func selectorLabel(sel []ikestate.Selector) string {
	var b strings.Builder
	for i, s := range sel {
		t := s.Text
		if s.Prefix.IsValid() {
			t = s.Prefix.String()
		}
		if i > 0 {
			t = "," + t
		}
		if b.Len()+len(t) > maxSelectorLabel {
			fmt.Fprintf(&b, ",+%d more", len(sel)-i)
			break
		}
		b.WriteString(t)
	}
	return b.String()
}
