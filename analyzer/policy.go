package analyzer

import (
	"slices"

	"ipsecmon/algo"
	"ipsecmon/decode"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/filters"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/policy"
)

// cleartext matches a packet that is neither IPsec nor IKE against the
// policy's filters: one that a "block" or (hard) "negotiate security"
// filter covers crossed the wire unprotected — Windows' "plaintext packets
// received" on a secure filter. It is only meaningful on the outside link:
// inside a gateway, decrypted traffic is cleartext by design.
func (a *Analyzer) cleartext(now int64, p *decode.Packet, ref Ref) {
	fs := a.cfg.Filters
	if p.IPVersion == 0 {
		return
	}
	fl := filters.Flow{Src: p.Src, Dst: p.Dst, Proto: p.Protocol, Sport: p.SrcPort, Dport: p.DstPort}
	f := fs.Match(fl)
	if f == nil {
		return
	}
	if a.filterHits == nil {
		a.filterHits = map[*filters.SpecificFilter]uint64{}
	}
	a.filterHits[f]++
	if fs.Violation(f) {
		a.counts.PolicyViolations++
		k := SAKey{Dst: p.Dst, Proto: p.Protocol, SrcPort: p.SrcPort, DstPort: p.DstPort}
		a.anomaly(now, event.PolicyViolation, k, p.Src, ref, "cleartext packet matched "+f.Action.String()+" filter "+f.Name)
	}
}

// PolicyFindings are what the capture shows against the configured policy.
type PolicyFindings struct {
	// Violations counts cleartext packets that a block or negotiate filter covers.
	Violations uint64 `json:"cleartext_policy_violations"`
	// SAsWithoutPolicy counts negotiated SA pairs whose selectors match no
	// "negotiate security" filter; SAsOutsideOffers those whose suite is not
	// among their policy's offers.
	SAsWithoutPolicy uint64 `json:"sas_without_policy"`
	SAsOutsideOffers uint64 `json:"sas_outside_offers"`
	// Hits counts packets per specific filter (index in Filters.Filters).
	Hits map[int]uint64 `json:"-"`
	// PerSA: the filter and offer verdict of each negotiated pair, by child SA ID.
	PerSA map[int]SAPolicy `json:"-"`
	// Configured are the policy's negotiation policies with what the capture
	// shows was negotiated under each.
	Configured []ConfiguredPolicy `json:"negotiation_policies,omitempty"`
}

// ConfiguredPolicy is one configured negotiation policy next to the capture.
type ConfiguredPolicy struct {
	Policy     policy.NegotiationPolicy `json:"-"`
	Name       string                   `json:"name"`
	Offers     []string                 `json:"offers"`
	Negotiated int                      `json:"negotiated_sa_pairs"`
	// PerOffer counts the SA pairs negotiated with each offer (same index as Offers).
	PerOffer []int `json:"negotiated_per_offer"`
	// NotOffered lists suites negotiated under this policy that none of its offers allow.
	NotOffered []string `json:"negotiated_not_offered,omitempty"`
}

// SAPolicy is one negotiated pair's standing against the policy.
type SAPolicy struct {
	Filter *filters.SpecificFilter
	Offer  filters.Offer
}

// policyFindings evaluates the negotiated pairs against the filters.
func (a *Analyzer) policyFindings(s *Snapshot) *PolicyFindings {
	fs := a.cfg.Filters
	if fs == nil {
		return nil
	}
	pf := &PolicyFindings{Violations: a.counts.PolicyViolations, Hits: map[int]uint64{}, PerSA: map[int]SAPolicy{}}
	for i := range fs.Filters {
		if n := a.filterHits[&fs.Filters[i]]; n > 0 {
			pf.Hits[i] = n
		}
	}
	for _, r := range s.Rows {
		var n *Negotiated
		for _, sa := range r.SAs() {
			if sa.neg != nil {
				n = sa.neg
			}
		}
		if n == nil {
			continue
		}
		c := n.Child
		neg := filters.FromChild(c, r.MyAddr)
		f := fs.MatchSelectors(neg)
		v := SAPolicy{Filter: f, Offer: filters.OfferUnknown}
		if f == nil {
			pf.SAsWithoutPolicy++
		} else if np := fs.Policy(f.Policy); np != nil {
			r.PolicyName = np.Name
			v.Offer = filters.Offered(np, childSuite(c))
			if v.Offer == filters.OfferNo {
				pf.SAsOutsideOffers++
			}
		}
		pf.PerSA[c.ID] = v
	}
	configuredPolicies(fs, s.Rows, pf)
	return pf
}

// configuredPolicies counts, per configured negotiation policy, the pairs
// negotiated under it and by which of its offers.
func configuredPolicies(fs *filters.Set, rows []*QuickModeSA, pf *PolicyFindings) {
	byName := map[string]int{}
	for _, np := range fs.Policies {
		cp := ConfiguredPolicy{Policy: np, Name: np.Name}
		for _, o := range np.Offers {
			cp.Offers = append(cp.Offers, offerText(o))
		}
		cp.PerOffer = make([]int, len(np.Offers))
		byName[np.Name] = len(pf.Configured)
		pf.Configured = append(pf.Configured, cp)
	}
	for _, r := range rows {
		for _, sa := range r.SAs() {
			n := sa.neg
			if n == nil || sa != r.Any() {
				continue
			}
			v, ok := pf.PerSA[n.Child.ID]
			if !ok || v.Filter == nil {
				continue
			}
			i, ok := byName[v.Filter.Policy]
			if !ok {
				continue
			}
			c := n.Child
			suite := childSuite(c)
			cp := &pf.Configured[i]
			cp.Negotiated++
			matched := false
			for j, o := range cp.Policy.Offers {
				one := policy.NegotiationPolicy{Offers: []policy.SecurityMethod{o}}
				if filters.Offered(&one, suite) == filters.OfferYes {
					cp.PerOffer[j]++
					matched = true
					break // the first offer that allows it: the peers' preference order
				}
			}
			if !matched && len(cp.Policy.Offers) > 0 {
				m := policy.SecurityMethod{Proto: c.Proto, Enc: c.Enc, EncKeyBits: c.EncKeyBits, Auth: c.Auth, PFSGroup: c.PFSGroupID, ESN: c.ESN}
				if ms := offerText(m); !slices.Contains(cp.NotOffered, ms) {
					cp.NotOffered = append(cp.NotOffered, ms)
				}
			}
		}
	}
}

// offerText writes a configured security method as the Negotiation
// Policies view writes the offers seen in the capture (ikestate.Method):
// one vocabulary for both, the algorithms' display names.
func offerText(m policy.SecurityMethod) string {
	om := ikestate.Method{Protocol: "ESP", LifeSeconds: m.LifeSeconds, LifeKilobytes: m.LifeKBytes}
	auth := func(a algo.Auth) {
		if a != algo.AuthUnknown && a != algo.AuthNone {
			om.Integrity = append(om.Integrity, a.Display())
		}
	}
	switch {
	case m.Proto == ipproto.AH:
		om.Protocol = "AH"
		auth(m.Auth)
	default:
		if m.AHAuth != algo.AuthUnknown {
			om.Protocol = "AH+ESP"
			auth(m.AHAuth)
		}
		bits := m.EncKeyBits
		if bits == 0 {
			bits = ike.DefaultKeyBits(m.Enc)
		}
		om.Encryption = []string{m.Enc.DisplayKey(bits)}
		auth(m.Auth)
		if m.Enc.AEAD() && (m.Auth == algo.AuthUnknown || m.Auth == algo.AuthNone) {
			om.Integrity = append(om.Integrity, om.Encryption[0]) // its own integrity, as offers seen say
		}
	}
	if m.PFSGroup != 0 {
		om.PFS = []string{algo.DHGroup(m.PFSGroup).Display()}
	}
	if m.ESN {
		om.ESN = []string{"ESN"}
	}
	return om.String()
}

// childSuite is the suite a pair was negotiated with. An IKEv2 IKE_AUTH
// child has no KE payload of its own: the proposal's DH group does not
// apply to it (RFC 7296 §1.2).
func childSuite(c *ikestate.ChildSA) filters.Suite {
	return filters.Suite{Proto: c.Proto, Enc: c.Enc, EncKeyBits: c.EncKeyBits, Auth: c.Auth, PFSGroup: c.PFSGroupID, PFSKnown: !c.Inferred && c.Exchange != "IKE_AUTH"}
}
