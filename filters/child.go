package filters

import (
	"net/netip"
	"strconv"

	"ipsecmon/ikestate"
	"ipsecmon/policy"
)

// FromChild is what a negotiated CHILD SA settled, seen from the peer at
// address local (see ChildSides): that peer's selectors become Local, the
// other's Remote, and in tunnel mode the peers' addresses the tunnel
// endpoints.
func FromChild(c *ikestate.ChildSA, local netip.Addr) Negotiated {
	lsel, rsel, lt, rt := ChildSides(c, local)
	n := Negotiated{Name: "child " + strconv.Itoa(c.ID), Mode: policy.ModeTransport}
	if c.Mode == ikestate.ModeTunnel {
		n.Mode, n.LocalTunnel, n.RemoteTunnel = policy.ModeTunnel, lt, rt
	}
	// A selector list names one protocol and port range per side in
	// practice; with several, the last one's stand for the list.
	for _, sel := range lsel {
		if sel.Prefix.IsValid() {
			n.Local = append(n.Local, sel.Prefix)
		}
		n.Proto, n.LocalPorts = sel.Protocol, policy.Ports{From: sel.StartPort, To: sel.EndPort}
	}
	for _, sel := range rsel {
		if sel.Prefix.IsValid() {
			n.Remote = append(n.Remote, sel.Prefix)
		}
		n.RemotePorts = policy.Ports{From: sel.StartPort, To: sel.EndPort}
	}
	return n
}

// ChildSides orders a CHILD SA's selectors (IKEv1 IDci/IDcr, RFC 2409
// §5.5; IKEv2 TSi/TSr, RFC 7296 §2.9) and peer addresses local side
// first, the local side being the peer at address local.
//
// Every view passes the address the SA view shows as Me for the pair
// (analyzer.QuickModeSA.MyAddr), so that all take the same side: the one
// --me (an address or a prefix) matched, or on a transit row the source of
// its first SA. When local is neither peer (IKE and ESP on different
// addresses) or both (two daemons on one address), the initiator's side is
// the local one.
func ChildSides(c *ikestate.ChildSA, local netip.Addr) (localSel, remoteSel []ikestate.Selector, localAddr, remoteAddr netip.Addr) {
	localSel, remoteSel = c.InitiatorSelectors, c.ResponderSelectors
	localAddr, remoteAddr = c.Initiator.Addr().Unmap(), c.Responder.Addr().Unmap()
	if local = local.Unmap(); local != localAddr && local == remoteAddr {
		localSel, remoteSel, localAddr, remoteAddr = remoteSel, localSel, remoteAddr, localAddr
	}
	return
}
