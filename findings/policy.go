package findings

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/event"
	"ipsecmon/filters"
	"ipsecmon/ipproto"
)

// policy reports what the configured policy (--policy) says should not
// have happened: cleartext it requires to be protected or blocked, one
// finding per flow, and negotiated pairs it does not allow.
func (a *auditor) policy() []Finding {
	pf := a.snap.Policy
	if pf == nil {
		return nil
	}
	var out []Finding
	// One finding per pair of addresses, protocol and filter: a sender's
	// ephemeral source ports make many flows of one leak.
	type flow struct {
		src, dst netip.Addr
		proto    uint8
		filter   string // the analyzer's detail names the filter
	}
	type tally struct {
		f      Finding
		count  uint64
		dports map[uint16]bool
	}
	byFlow := map[flow]*tally{}
	var order []flow
	var seen uint64
	if a.in.Timeline != nil {
		for _, an := range a.in.Timeline.Anomalies {
			if an.Kind != event.PolicyViolation {
				continue
			}
			seen += an.Count
			k := flow{an.Src, an.Key.Dst, an.Key.Proto, an.Detail}
			x := byFlow[k]
			if x == nil {
				x = &tally{f: Finding{Kind: PolicyViolation, Severity: Critical, Local: an.Src, Remote: an.Key.Dst, Time: an.Time}, dports: map[uint16]bool{}}
				if !a.mine(an.Src) && a.mine(an.Key.Dst) {
					x.f.Local, x.f.Remote = an.Key.Dst, an.Src
				}
				byFlow[k] = x
				order = append(order, k)
			}
			x.count += an.Count
			if len(x.dports) < 8 {
				x.dports[an.Key.DstPort] = true
			}
			x.f.Until = an.Time
		}
	}
	for _, k := range order {
		x := byFlow[k]
		dst := k.dst.String()
		if len(x.dports) == 1 {
			for p := range x.dports {
				dst = endpoint(dst, p)
			}
		}
		x.f.Detail = fmt.Sprintf("%s cleartext %s packets %s → %s crossed the wire unprotected (%s): the policy requires IPsec for them or discards them (RFC 4301 §4.4.1: PROTECT or DISCARD), so either the policy is not in force on this path or traffic is routed around the tunnel.",
			humanize.Comma(int64(x.count)), ipproto.Name(k.proto), k.src, dst, k.filter)
		out = append(out, x.f)
	}
	if rest := pf.Violations - min(seen, pf.Violations); rest > 0 {
		// Flows the timeline could not name (none kept, or past its caps).
		out = append(out, Finding{Kind: PolicyViolation, Severity: Critical, Time: a.snap.First, Until: a.snap.Last,
			Detail: fmt.Sprintf("%s cleartext packets matched filters that require IPsec or block them (RFC 4301 §4.4.1: PROTECT or DISCARD); their flows are not listed.", humanize.Comma(int64(rest)))})
	}
	for _, r := range a.snap.Rows {
		n := negotiation(r)
		if n == nil || r.Any().Negotiation() == nil {
			continue
		}
		v, ok := pf.PerSA[n.Child.ID]
		if !ok {
			continue
		}
		switch {
		case v.Filter == nil:
			f := saFinding(PolicyViolation, Medium, r)
			f.Detail = fmt.Sprintf("The pair's selectors (%s) match no filter of the policy that negotiates security: the peers set up an SA the policy does not ask for (RFC 4301 §4.4.1).", selectorText(n))
			out = append(out, f)
		case v.Offer == filters.OfferNo:
			f := saFinding(PolicyViolation, Medium, r)
			f.Detail = fmt.Sprintf("The pair was negotiated with a suite its policy %q does not offer (filter %s): the peers accepted a proposal outside the configured security methods.", v.Filter.Policy, v.Filter.Name)
			out = append(out, f)
		}
	}
	return out
}

func endpoint(addr string, port uint16) string {
	if port == 0 {
		return addr
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func selectorText(n *analyzer.Negotiated) string {
	c := n.Child
	s := ""
	for i, x := range c.InitiatorSelectors {
		if i > 0 {
			s += ", "
		}
		s += x.Text
	}
	s += " ↔ "
	for i, x := range c.ResponderSelectors {
		if i > 0 {
			s += ", "
		}
		s += x.Text
	}
	return s
}

// dur formats a duration for details: "12.3 s", "4 min 5 s".
func dur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}
