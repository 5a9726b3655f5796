package findings

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
)

// flowStats is the ESP/AH traffic one peer sent the other.
type flowStats struct {
	packets     uint64
	first, last int64
}

// peers is the traffic and IKE SAs between two addresses.
type peers struct {
	a, b    netip.Addr // a is this host's when one of them is
	sent    [2]flowStats
	ikeSAs  []*ikestate.IKESA
	lastRow *analyzer.QuickModeSA
}

// side is 0 for a, 1 for b.
func (p *peers) side(x netip.Addr) int {
	if x == p.a {
		return 0
	}
	return 1
}

func (a *auditor) peerPairs() []*peers {
	byKey := map[[2]netip.Addr]*peers{}
	var order []*peers
	get := func(x, y netip.Addr) *peers {
		if y.Less(x) {
			x, y = y, x
		}
		p := byKey[[2]netip.Addr{x, y}]
		if p == nil {
			p = &peers{a: x, b: y}
			if a.mine(y) && !a.mine(x) {
				p.a, p.b = y, x
			}
			byKey[[2]netip.Addr{x, y}] = p
			order = append(order, p)
		}
		return p
	}
	for i := range a.snap.IKESAs {
		s := &a.snap.IKESAs[i]
		if s.Version != 2 || s.Established.IsZero() {
			continue
		}
		p := get(s.Initiator.Addr(), s.Responder.Addr())
		p.ikeSAs = append(p.ikeSAs, s)
	}
	for _, r := range a.snap.Rows {
		for _, sa := range r.SAs() {
			n := sa.Packets()
			if n == 0 {
				continue
			}
			p := byKey[orderedPair(sa.Src, sa.Key.Dst)]
			if p == nil {
				continue // no IKEv2 SA between them: nothing tells liveness
			}
			f := &p.sent[p.side(sa.Src)]
			f.packets += n
			if f.first == 0 || sa.FirstSeen < f.first {
				f.first = sa.FirstSeen
			}
			f.last = max(f.last, sa.LastSeen)
			if p.lastRow == nil || r.Any().FirstSeen > p.lastRow.Any().FirstSeen {
				p.lastRow = r
			}
		}
	}
	return order
}

func orderedPair(x, y netip.Addr) [2]netip.Addr {
	if y.Less(x) {
		x, y = y, x
	}
	return [2]netip.Addr{x, y}
}

// liveness tells idle tunnels from dead ones by what IKE shows (RFC 7296
// §2.4: a peer is alive while it answers requests): tunnel_dead when a
// peer's requests go unanswered, retransmitted, and the other peer has
// sent nothing on IKE since; tunnel_idle when traffic flows one way only
// (or the other peer's answers show it alive while nothing comes back).
func (a *auditor) liveness() []Finding {
	var out []Finding
	for _, p := range a.peerPairs() {
		if len(p.ikeSAs) == 0 {
			continue
		}
		if f, dead := a.dead(p); dead {
			out = append(out, f)
			continue
		}
		if f, idle := a.idle(p); idle {
			out = append(out, f)
		}
	}
	return out
}

func addrName(x netip.Addr, mine bool) string {
	if mine {
		return x.String() + " (this host)"
	}
	return x.String()
}

func (a *auditor) tunnelFinding(k Kind, sev Severity, p *peers, s *ikestate.IKESA) Finding {
	f := Finding{Kind: k, Severity: sev, Local: p.a, Remote: p.b}
	if p.lastRow != nil {
		g := saFinding(k, sev, p.lastRow)
		f.SPIIn, f.HasIn, f.SPIOut, f.HasOut = g.SPIIn, g.HasIn, g.SPIOut, g.HasOut
	}
	ref := s.IKESARef
	f.IKESA = &ref
	return f
}

// dead finds an IKE SA, not ended, whose requests from one peer went
// unanswered and were sent again, the other peer silent on IKE since.
func (a *auditor) dead(p *peers) (Finding, bool) {
	for _, s := range slices.Backward(p.ikeSAs) {
		if !s.Ended.IsZero() {
			continue
		}
		for x, l := range s.Liveness {
			other := s.Liveness[1-x]
			if l.Unanswered == 0 || l.Retransmits == 0 || !other.Last.Before(l.UnansweredSince) {
				continue
			}
			from, to := s.Initiator.Addr(), s.Responder.Addr()
			if x == 1 {
				from, to = to, from
			}
			f := a.tunnelFinding(TunnelDead, High, p, s)
			f.Time, f.Until = l.UnansweredSince, l.Last
			esp := sent(p, to)
			espText := ", and no ESP"
			if esp.packets > 0 {
				espText = fmt.Sprintf(", its last ESP packet %s", lastText(esp.last))
			}
			if esp.packets > 0 && time.Unix(0, esp.last).After(l.UnansweredSince) {
				espText = fmt.Sprintf(", while its ESP kept coming until %s: its IKE daemon, not the path, stopped answering", lastText(esp.last))
			}
			checks := ""
			if l.Checks > 0 {
				checks = fmt.Sprintf(" (%d liveness checks among its %d requests)", l.Checks, l.Requests)
			}
			f.Detail = fmt.Sprintf("%s sent %d IKE request(s) that %s never answered, the first at %s, retransmitted %d time(s) over %s%s; %s sent no IKE message since%s. A peer that stops answering is dead to IKE: RFC 7296 §2.4 has %s give up and delete the IKE SA with its CHILD SAs, and traffic stops.",
				addrName(from, a.mine(from)), l.Unanswered, addrName(to, a.mine(to)), clock(l.UnansweredSince), l.Retransmits, dur(l.Last.Sub(l.UnansweredSince)), checks, to, espText, from)
			return f, true
		}
	}
	return Finding{}, false
}

func sent(p *peers, from netip.Addr) flowStats { return p.sent[p.side(from)] }

func lastText(ns int64) string {
	if ns == 0 {
		return "never"
	}
	return "at " + clock(tm(ns))
}

// idle finds traffic one way only between peers with an IKE SA, and says
// whether the silent peer is known to be alive.
func (a *auditor) idle(p *peers) (Finding, bool) {
	for x := range 2 {
		fwd, back := p.sent[x], p.sent[1-x]
		if fwd.packets == 0 || back.packets != 0 {
			continue
		}
		from, to := p.a, p.b
		if x == 1 {
			from, to = to, from
		}
		// What the IKE SAs show of the silent peer: answers to the other's
		// requests, requests of its own.
		var asked, answered, checks, own int
		var lastAnswer time.Time
		s := p.ikeSAs[len(p.ikeSAs)-1]
		for _, k := range p.ikeSAs {
			sx := 0 // the side of from in this IKE SA
			if k.Responder.Addr() == from {
				sx = 1
			}
			asked += k.Liveness[sx].Requests
			answered += k.Liveness[sx].Answered
			checks += k.Liveness[sx].Checks
			own += k.Liveness[1-sx].Requests
			if t := k.Liveness[1-sx].Last; t.After(lastAnswer) {
				lastAnswer = t
			}
		}
		f := a.tunnelFinding(TunnelIdle, Info, p, s)
		f.Time, f.Until = time.Unix(0, fwd.first).UTC(), time.Unix(0, fwd.last).UTC()
		oneWay := fmt.Sprintf("Traffic one way only: %s ESP packets from %s to %s between %s and %s, none back.",
			humanize.Comma(int64(fwd.packets)), addrName(from, a.mine(from)), addrName(to, a.mine(to)), clock(f.Time), clock(f.Until))
		if answered == 0 && own == 0 {
			f.Severity = Low
			f.Detail = oneWay + fmt.Sprintf(" No IKE exchange in the capture shows whether %s is alive (RFC 7296 §2.4: only an answer to a request proves it): idle or dead cannot be told.", to)
			return f, true
		}
		checkText := ""
		if checks > 0 {
			checkText = fmt.Sprintf(", %d of them liveness checks", checks)
		}
		ownText := ""
		if own > 0 {
			ownText = fmt.Sprintf(" and sent %d of its own", own)
		}
		f.Detail = oneWay + fmt.Sprintf(" Yet %s answered %d of %d IKE requests from %s%s%s, the last IKE message from it at %s: the peer is alive and the tunnel up, only idle in one direction (RFC 7296 §2.4). A monitor that reads \"nothing received\" as \"tunnel down\" raises a false alarm here.",
			to, answered, asked, from, checkText, ownText, clock(lastAnswer))
		return f, true
	}
	return Finding{}, false
}
