package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
)

// offerRow is one security method a phase 2 policy seen in the capture offered.
type offerRow struct {
	n      int // the policy's number, from 1
	pref   int // the method's place in the offer, from 1
	policy *ikestate.Policy
	method ikestate.Method
}

func offerList(v []string) Value { return orNull(strings.Join(v, " | ")) }

// offerColumns are the Negotiation Policies view's columns: each policy's
// offered methods in preference order, and whether one was chosen.
var offerColumns = &Columns[offerRow]{All: []*Column[offerRow]{
	{Name: "Policy", Key: "policy", Default: true, Get: func(r offerRow) Value { return str(fmt.Sprintf("policy %d", r.n)) }},
	{Name: "Preference", Key: "preference", Default: true, Get: func(r offerRow) Value { return exact(uint64(r.pref)) }},
	{Name: "Protocol", Key: "protocol", Default: true, Get: func(r offerRow) Value { return str(r.method.Protocol) }},
	{Name: "Encryption", Key: "encryption", Default: true, Get: func(r offerRow) Value { return offerList(r.method.Encryption) }},
	{Name: "Integrity", Key: "integrity", Default: true, Get: func(r offerRow) Value { return offerList(r.method.Integrity) }},
	{Name: "PFS", Key: "pfs", Default: true, Get: func(r offerRow) Value { return offerList(r.method.PFS) }},
	{Name: "Mode", Key: "mode", Default: true, Get: func(r offerRow) Value { return orNull(r.method.Mode) }},
	{Name: "Lifetime", Key: "lifetime", Default: true, Get: func(r offerRow) Value {
		var parts []string
		if m := r.method; m.LifeSeconds > 0 {
			parts = append(parts, fmt.Sprintf("%ds", m.LifeSeconds))
		}
		if m := r.method; m.LifeKilobytes > 0 {
			parts = append(parts, fmt.Sprintf("%dKB", m.LifeKilobytes))
		}
		return orNull(strings.Join(parts, "/"))
	}},
	{Name: "Chosen", Key: "chosen", Default: true, Get: func(r offerRow) Value {
		if slices.ContainsFunc(r.policy.Chosen, func(c ikestate.Method) bool { return methodMatches(c, r.method) }) {
			return str("yes")
		}
		return str("")
	}},
	{Name: "Negotiations", Key: "negotiations", Default: true, Get: func(r offerRow) Value { return exact(uint64(len(r.policy.Negotiations))) }},
	{Name: "Peers", Key: "peers", Default: true, Get: func(r offerRow) Value {
		var peers []string
		for _, a := range r.policy.Peers {
			if s := a.Addr().String(); !slices.Contains(peers, s) {
				peers = append(peers, s)
			}
		}
		return str(strings.Join(peers, ", "))
	}},
}}

// methodMatches reports whether a chosen method is one of an offered
// method's alternatives.
func methodMatches(chosen, offered ikestate.Method) bool {
	in := func(v []string, set []string) bool {
		return len(v) == 0 || len(set) == 0 || slices.Contains(set, v[0])
	}
	return chosen.Protocol == offered.Protocol && in(chosen.Encryption, offered.Encryption) && in(chosen.Integrity, offered.Integrity) && in(chosen.PFS, offered.PFS)
}

// configuredRow is one offer of a negotiation policy the --policy
// configuration gives, or a suite negotiated under it that it does not offer.
type configuredRow struct {
	policy     *analyzer.ConfiguredPolicy
	pref       int // from 1; 0 for a suite not offered
	method     string
	negotiated int // SA pairs negotiated with this offer
}

var configuredColumns = &Columns[configuredRow]{All: []*Column[configuredRow]{
	{Name: "Negotiation Policy", Key: "negotiation_policy", Default: true, Get: func(r configuredRow) Value { return str(r.policy.Name) }},
	{Name: "Preference", Key: "preference", Default: true, Get: func(r configuredRow) Value {
		if r.pref == 0 {
			return Value{}
		}
		return exact(uint64(r.pref))
	}},
	{Name: "Security Method", Key: "security_method", Default: true, Get: func(r configuredRow) Value { return str(r.method) }},
	{Name: "Negotiated In Capture", Key: "negotiated", Default: true, Get: func(r configuredRow) Value {
		switch {
		case r.pref == 0:
			return str("negotiated, NOT offered")
		case r.negotiated > 0:
			return str(fmt.Sprintf("yes: %d SA pair(s)", r.negotiated))
		}
		return str("")
	}},
}}

// Policies is the Negotiation Policies view: for each phase 2 policy seen
// in the capture (identical offer lists are one policy) the security
// methods offered, in preference order, and the one chosen. With --policy
// the configured negotiation policies come first, next to what the capture
// shows was negotiated under each; their JSON and CSV are then those alone.
type Policies struct{}

// Write prints the Negotiation Policies view.
func (Policies) Write(w io.Writer, r Run, f Format) error {
	if p := r.Snap.Policy; p != nil && len(p.Configured) > 0 {
		if f == JSON {
			return writeJSON(w, p.Configured)
		}
		if err := writeConfigured(w, p.Configured, f); err != nil || f != Table {
			return err
		}
		io.WriteString(w, "\nPhase 2 offers seen in the capture:\n")
	}
	if f == JSON {
		type out struct {
			Name string `json:"name"`
			ikestate.Policy
		}
		objs := []out{}
		for i, p := range r.Snap.Policies {
			objs = append(objs, out{fmt.Sprintf("policy %d", i+1), p})
		}
		return writeJSON(w, objs)
	}
	var rows []offerRow
	for i := range r.Snap.Policies {
		p := &r.Snap.Policies[i]
		for j, m := range p.Offered {
			rows = append(rows, offerRow{n: i + 1, pref: j + 1, policy: p, method: m})
		}
	}
	if len(rows) == 0 && f == Table {
		_, err := io.WriteString(w, "No phase 2 negotiation with visible offers in the input (IKEv2 and IKEv1 Quick Mode offers need the IKE keys).\n")
		return err
	}
	cols, _ := offerColumns.Select(nil, false)
	return offerColumns.Write(w, rows, cols, f)
}

func writeConfigured(w io.Writer, configured []analyzer.ConfiguredPolicy, f Format) error {
	var rows []configuredRow
	for i := range configured {
		cp := &configured[i]
		offers := cp.Offers
		if len(offers) == 0 {
			offers = []string{"(the source lists no algorithms)"}
		}
		for j, o := range offers {
			row := configuredRow{policy: cp, pref: j + 1, method: o}
			if j < len(cp.PerOffer) {
				row.negotiated = cp.PerOffer[j]
			}
			rows = append(rows, row)
		}
		for _, c := range cp.NotOffered {
			rows = append(rows, configuredRow{policy: cp, method: c})
		}
	}
	cols, _ := configuredColumns.Select(nil, false)
	return configuredColumns.Write(w, rows, cols, f)
}
