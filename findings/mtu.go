package findings

// mtu finds path MTU trouble: ESP/IKE that arrived in IP fragments, and
// ICMP "fragmentation needed" / "packet too big" about it.
func (a *auditor) mtu() []Finding { return nil }
