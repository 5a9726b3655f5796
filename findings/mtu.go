package findings

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
)

// Why path MTU trouble matters, for the details.
const (
	fragmentsMatter = "Fragments cost the receiver reassembly and are dropped by many firewalls and NATs: the classic tunnel that passes pings but stalls on bulk traffic (RFC 4459 §2-3). Lower the tunnel's MTU or clamp the inner TCP MSS, and let path MTU discovery work (RFC 4301 §8)."
	icmpMatters     = "The sender must send less per packet from now on (RFC 1191, RFC 4443 §3.2, RFC 4301 §8.2); where the ICMP is filtered or ignored, every packet of that size is lost."
)

// mtu finds path MTU trouble: an SA's packets that arrived in IP
// fragments, ICMP fragmentation-needed / packet-too-big reports about
// them, and IKE messages in fragments or too big.
func (a *auditor) mtu() []Finding {
	var out []Finding
	reports := map[analyzer.SAKey]analyzer.PathMTU{}
	for _, r := range a.snap.PathMTU {
		reports[r.Key] = r
	}
	used := map[analyzer.SAKey]bool{}
	for _, r := range a.snap.Rows {
		var parts []string
		var first, last int64
		icmp := false
		note := func(t0, t1 int64) {
			if first == 0 || t0 < first {
				first = t0
			}
			last = max(last, t1)
		}
		for _, sa := range r.SAs() {
			if n, largest := sa.Fragmented(); n > 0 {
				parts = append(parts, fmt.Sprintf("%s of the %s packets of SA 0x%08x (%s→%s) arrived in IP fragments, %d bytes long reassembled at most", humanize.Comma(int64(n)), humanize.Comma(int64(sa.Packets())), sa.Key.SPI, sa.Src, sa.Key.Dst, largest))
				note(sa.FirstSeen, sa.LastSeen)
			}
			if p, ok := reports[sa.Key]; ok {
				used[sa.Key], icmp = true, true
				parts = append(parts, icmpText(p))
				note(p.First, p.Last)
			}
		}
		if len(parts) == 0 {
			continue
		}
		f := saFinding(MTUFragmentation, Medium, r)
		f.Time, f.Until = tm(first), tm(last)
		f.Detail = strings.Join(parts, "; ") + ": after encapsulation the tunnel's packets exceed the path MTU. " + fragmentsMatter
		if icmp {
			f.Detail += " " + icmpMatters
		}
		out = append(out, f)
	}
	for _, p := range a.snap.PathMTU {
		if used[p.Key] {
			continue
		}
		f := Finding{Kind: MTUFragmentation, Severity: Medium, Local: p.Src, Remote: p.Key.Dst, Time: tm(p.First), Until: tm(p.Last)}
		if !a.mine(p.Src) && a.mine(p.Key.Dst) {
			f.Local, f.Remote = p.Key.Dst, p.Src
		}
		f.Detail = fmt.Sprintf("%s. %s", icmpText(p), icmpMatters)
		if p.IKE {
			f.Detail += " IKE_AUTH with certificates is the usual victim; IKEv2 fragmentation (RFC 7383) keeps IKE messages under the MTU."
		}
		out = append(out, f)
	}
	if n := a.snap.Counts.IKEFragmented; n > 0 {
		out = append(out, Finding{Kind: MTUFragmentation, Severity: Low, Time: a.snap.First, Until: a.snap.Last,
			Detail: fmt.Sprintf("%s IKE messages arrived in IP fragments: a path that drops fragments breaks these exchanges (IKE_AUTH with certificates is the usual one). IKEv2 fragmentation (RFC 7383) keeps IKE messages under the MTU.", humanize.Comma(int64(n)))})
	}
	return out
}

// icmpText says what the ICMP reports about one SA said.
func icmpText(p analyzer.PathMTU) string {
	what := fmt.Sprintf("packets of SA 0x%08x from %s to %s", p.Key.SPI, p.Src, p.Key.Dst)
	switch {
	case p.IKE:
		what = fmt.Sprintf("IKE messages from %s to %s", p.Src, p.Key.Dst)
	case p.Key.SPI == 0:
		what = fmt.Sprintf("ESP from %s to %s", p.Src, p.Key.Dst)
	}
	mtu := "the next hop's MTU (not given)"
	if p.MTU > 0 {
		mtu = fmt.Sprintf("a next-hop MTU of %d bytes", p.MTU)
	}
	return fmt.Sprintf("%s (first %s) reported %s time(s) that %s did not fit %s", p.Router, clock(tm(p.First)), humanize.Comma(int64(p.Reports)), what, mtu)
}
