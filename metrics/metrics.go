// Package metrics exports the analyzer's figures to Prometheus, so that
// many gateways each running ipsecmon can be scraped and aggregated. Names
// follow Prometheus conventions: counters end in _total, units are in the
// name. A figure the input cannot tell is not exported at all (Prometheus
// has no null), rather than exported as 0.
package metrics

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

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

// DefaultMaxSASeries is the default cap on per-SA series: the busiest SAs
// (by bytes) are exported, the rest are only counted in
// ipsecmon_sa_series_omitted.
const DefaultMaxSASeries = 100

// Collector turns Samples into metrics at scrape time.
type Collector struct {
	sample    func() Sample
	maxSeries int
}

// NewCollector returns a collector that calls sample on every scrape;
// sample must return a snapshot taken under the analyzer's lock.
func NewCollector(sample func() Sample, maxSASeries int) *Collector {
	if maxSASeries < 0 {
		maxSASeries = 0
	}
	return &Collector{sample: sample, maxSeries: maxSASeries}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("ipsecmon_"+name, help, labels, nil)
}

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
	analyzer.ConfidentialSent:      {desc("confidential_bytes_total", "ESP bytes that passed every check.", "direction"), true, "sent"},
	analyzer.ConfidentialReceived:  {desc("confidential_bytes_total", "ESP bytes that passed every check.", "direction"), true, "received"},
	analyzer.AuthenticatedSent:     {desc("authenticated_bytes_total", "AH bytes that passed every check.", "direction"), true, "sent"},
	analyzer.AuthenticatedReceived: {desc("authenticated_bytes_total", "AH bytes that passed every check.", "direction"), true, "received"},
	analyzer.TransportSent:         {desc("transport_bytes_total", "Bytes of transport-mode SAs.", "direction"), true, "sent"},
	analyzer.TransportReceived:     {desc("transport_bytes_total", "Bytes of transport-mode SAs.", "direction"), true, "received"},
	analyzer.TunnelSent:            {desc("tunnel_bytes_total", "Bytes of tunnel-mode SAs.", "direction"), true, "sent"},
	analyzer.TunnelReceived:        {desc("tunnel_bytes_total", "Bytes of tunnel-mode SAs.", "direction"), true, "received"},
	analyzer.OffloadedSent:         {desc("offloaded_bytes_total", "Bytes of offloaded SAs (never visible on the wire).", "direction"), true, "sent"},
	analyzer.OffloadedReceived:     {desc("offloaded_bytes_total", "Bytes of offloaded SAs (never visible on the wire).", "direction"), true, "received"},
}

var (
	descCapture     = desc("capture_packets_total", "Packets libpcap delivered, per interface.", "interface")
	descDropped     = desc("capture_dropped_packets_total", "Packets lost before ipsecmon saw them: by the kernel (buffer full) or the interface.", "interface", "by")
	descTracked     = desc("tracked_security_associations", "SAs in the analyzer's table.")
	descUntracked   = desc("untracked_packets_total", "IPsec packets not analysed because the SA table had no room (--max-sas, --replay-memory).")
	descLimitHits   = desc("limit_discarded_total", "What a memory bound discarded, per bound (the unit is the bound's: packets, IKE SAs, fragments, ...).", "limit")
	descEvicted     = desc("evicted_security_associations_total", "SAs removed from the table; their totals stay in the other counters.")
	descIKE         = desc("ike_messages_total", "IKE messages seen.", "version")
	descKeepalives  = desc("nat_keepalives_total", "NAT-T keepalives (RFC 3948).")
	descSAPackets   = desc("sa_packets_total", "Accepted packets per SA.", "spi", "protocol", "direction", "src", "dst")
	descSABytes     = desc("sa_bytes_total", "Accepted bytes per SA.", "spi", "protocol", "direction", "src", "dst")
	descSAReplayed  = desc("sa_replay_detected_packets_total", "Packets per SA that failed the anti-replay check.", "spi", "protocol", "direction", "src", "dst")
	descSAOmitted   = desc("sa_series_omitted", "SAs without per-SA series because of the series cap.")
	descSeriesPerSA = []*prometheus.Desc{descSAPackets, descSABytes, descSAReplayed}

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
	descTunnelOmitted    = desc("tunnel_series_omitted", "Tunnels without series because of the series cap.")
	descSeriesPerTunnel  = []*prometheus.Desc{descTunnelPackets, descTunnelBytes, descTunnelLost, descTunnelReordered, descTunnelDuplicates, descTunnelLate, descTunnelChildSAs, descTunnelRekeys, descTunnelRekeyLost}
	descWithoutStats     = []*prometheus.Desc{descCapture, descDropped, descTracked, descUntracked, descLimitHits, descEvicted, descIKE, descKeepalives, descSAOmitted}
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
	for _, d := range append(append(descWithoutStats, descSeriesPerSA...), descSeriesPerTunnel...) {
		ch <- d
	}
	ch <- descTunnelOmitted
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
	}
	ch <- prometheus.MustNewConstMetric(descEvicted, prometheus.CounterValue, float64(cnt.EvictedSAs))
	ch <- prometheus.MustNewConstMetric(descIKE, prometheus.CounterValue, float64(cnt.IKEv1Messages), "1")
	ch <- prometheus.MustNewConstMetric(descIKE, prometheus.CounterValue, float64(cnt.IKEv2Messages), "2")
	ch <- prometheus.MustNewConstMetric(descKeepalives, prometheus.CounterValue, float64(cnt.NATKeepalives))

	type perSA struct {
		sa  *analyzer.SA
		dir string
	}
	var all []perSA
	for _, r := range s.Snap.Rows {
		if r.In != nil {
			all = append(all, perSA{r.In, dirLabel(r, true)})
		}
		if r.Out != nil {
			all = append(all, perSA{r.Out, dirLabel(r, false)})
		}
	}
	slices.SortStableFunc(all, func(a, b perSA) int { return cmp.Compare(b.sa.Bytes, a.sa.Bytes) })
	omitted := 0
	if len(all) > c.maxSeries {
		omitted = len(all) - c.maxSeries
		all = all[:c.maxSeries]
	}
	ch <- prometheus.MustNewConstMetric(descSAOmitted, prometheus.GaugeValue, float64(omitted))
	for _, p := range all {
		proto := "esp"
		if p.sa.Key.Proto == ipproto.AH {
			proto = "ah"
		}
		l := []string{fmt.Sprintf("0x%08x", p.sa.Key.SPI), proto, p.dir, p.sa.Src.String(), p.sa.Key.Dst.String()}
		ch <- prometheus.MustNewConstMetric(descSAPackets, prometheus.CounterValue, float64(p.sa.Accepted), l...)
		ch <- prometheus.MustNewConstMetric(descSABytes, prometheus.CounterValue, float64(p.sa.Bytes), l...)
		ch <- prometheus.MustNewConstMetric(descSAReplayed, prometheus.CounterValue, float64(p.sa.Replayed), l...)
	}
	c.tunnels(ch, s.Snap.Tunnels)
}

// tunnels exports the busiest tunnels (by bytes, at most the series cap),
// labelled by their identity: the series of a tunnel go on across its
// rekeys, where per-SA series end with their SPI.
func (c *Collector) tunnels(ch chan<- prometheus.Metric, ts []*analyzer.Tunnel) {
	ts = slices.Clone(ts)
	slices.SortStableFunc(ts, func(a, b *analyzer.Tunnel) int {
		return cmp.Compare(b.In.Bytes+b.Out.Bytes, a.In.Bytes+a.Out.Bytes)
	})
	omitted := 0
	if len(ts) > c.maxSeries {
		omitted = len(ts) - c.maxSeries
		ts = ts[:c.maxSeries]
	}
	ch <- prometheus.MustNewConstMetric(descTunnelOmitted, prometheus.GaugeValue, float64(omitted))
	for _, t := range ts {
		id := []string{t.Local.String(), t.Remote.String(), selectorLabel(t.LocalTS), selectorLabel(t.RemoteTS), strings.ToLower(ipproto.Name(t.Key.Proto))}
		for _, d := range []struct {
			dir string
			tr  *analyzer.TunnelTraffic
		}{{"in", &t.In}, {"out", &t.Out}} {
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
		for _, k := range t.RekeyDetails {
			for _, d := range k.Directions {
				lost += d.Lost
			}
		}
		ch <- prometheus.MustNewConstMetric(descTunnelRekeyLost, prometheus.GaugeValue, float64(lost), id...)
	}
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

func dirLabel(r *analyzer.QuickModeSA, in bool) string {
	switch {
	case r.Transit:
		return "transit"
	case in:
		return "in"
	}
	return "out"
}
