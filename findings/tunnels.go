package findings

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
)

// tunnelFindingOf starts a finding about a tunnel of the tunnels
// analysis: its endpoints, its latest pair's SPIs and IKE SA.
func tunnelFindingOf(k Kind, sev Severity, t *analyzer.Tunnel) Finding {
	f := Finding{Kind: k, Severity: sev, Local: t.Local, Remote: t.Remote, Time: t.First, Until: t.Last}
	if n := len(t.Rows); n > 0 {
		g := saFinding(k, sev, t.Rows[n-1])
		f.SPIIn, f.HasIn, f.SPIOut, f.HasOut, f.IKESA = g.SPIIn, g.HasIn, g.SPIOut, g.HasOut, g.IKESA
	}
	return f
}

// maxListed bounds the items a detail lists.
const maxListed = 5

// rekeyLoss finds tunnels whose rekeys lost traffic: sequence numbers that
// never arrived across the switch from the old SA to the new one, or
// packets for the old SA after its deletion (the tunnels analysis, per
// rekey and direction).
func (a *auditor) rekeyLoss() []Finding {
	var out []Finding
	for _, t := range a.snap.Tunnels {
		var lossy []*analyzer.Rekey
		for _, k := range t.RekeyDetails {
			if k.Hitless != nil && !*k.Hitless {
				lossy = append(lossy, k)
			}
		}
		if len(lossy) == 0 {
			continue
		}
		f := tunnelFindingOf(RekeyLoss, Medium, t)
		f.Time, f.Until = lossy[0].Time, lossy[len(lossy)-1].Time
		var items []string
		for i, k := range lossy {
			if i == maxListed {
				items = append(items, fmt.Sprintf("and %d more", len(lossy)-maxListed))
				break
			}
			var dirs []string
			for _, d := range k.Directions {
				if d.Lost == 0 && d.BadSPI == 0 {
					continue
				}
				s := fmt.Sprintf("%s→%s 0x%08x→0x%08x: %s lost across the switch", d.Src, d.Dst, d.OldSPI, d.NewSPI, humanize.Comma(int64(d.Lost)))
				if d.BadSPI > 0 {
					s += fmt.Sprintf(", %s Bad SPI after the old SA's deletion", humanize.Comma(int64(d.BadSPI)))
				}
				if d.OldPacketsAfter > 0 {
					s += fmt.Sprintf(" (the old SA carried %s more packets over %s after the new one's first)", humanize.Comma(int64(d.OldPacketsAfter)), dur(d.Overlap))
				}
				dirs = append(dirs, s)
			}
			items = append(items, fmt.Sprintf("at %s (%s): %s", clock(k.Time), k.How, strings.Join(dirs, "; ")))
		}
		f.Detail = fmt.Sprintf("%d of the tunnel's %d rekeys lost traffic — %s. A rekey should be make-before-break: each peer installs the new inbound SA before the other sends on it and keeps the old one until the Delete (RFC 7296 §1.3.3, §2.8); numbers missing at the switch mean packets dropped there, on the path or by a peer that switched or deleted too early.",
			len(lossy), len(t.RekeyDetails), strings.Join(items, "; "))
		out = append(out, f)
	}
	return out
}

// rekeyCollision finds pairs (and IKE SAs) replaced twice: both peers
// rekeyed at once (RFC 7296 §2.8.1).
func (a *auditor) rekeyCollision() []Finding {
	var out []Finding
	order, byOld := groupBy(a.snap.Rows, func(r *analyzer.QuickModeSA) int {
		if n := negotiation(r); n != nil {
			return n.Child.RekeyOf
		}
		return 0
	})
	for _, old := range order {
		rs := byOld[old]
		if len(rs) < 2 {
			continue
		}
		f := saFinding(RekeyCollision, Low, rs[0])
		var pairs []string
		for _, r := range rs {
			g := saFinding(RekeyCollision, Low, r)
			pairs = append(pairs, fmt.Sprintf("%s at %s", spiText(g), clock(g.Time)))
		}
		f.Detail = fmt.Sprintf("Both peers rekeyed the same pair at once: %d pairs replace it (%s). RFC 7296 §2.8.1: the pair whose exchange had the lowest nonce is to be deleted; until then two pairs carry the tunnel, and a peer that deletes the wrong one loses traffic.",
			len(rs), strings.Join(pairs, ", "))
		out = append(out, f)
	}
	ikes := make([]*ikestate.IKESA, len(a.snap.IKESAs))
	for i := range a.snap.IKESAs {
		ikes[i] = &a.snap.IKESAs[i]
	}
	ikeOrder, ikeByOld := groupBy(ikes, func(s *ikestate.IKESA) int {
		if s.RekeyOf != nil {
			return s.RekeyOf.ID
		}
		return 0
	})
	for _, old := range ikeOrder {
		ss := ikeByOld[old]
		if len(ss) < 2 {
			continue
		}
		f := a.ikeFinding(RekeyCollision, Low, ss[0])
		var ids []string
		for _, s := range ss {
			ids = append(ids, fmt.Sprintf("IKE SA %d", s.ID))
		}
		f.Detail = fmt.Sprintf("Both peers rekeyed IKE SA %d at once: %s replace it. RFC 7296 §2.8.2: the SA whose exchange had the lowest nonce is to be deleted.", old, strings.Join(ids, " and "))
		out = append(out, f)
	}
	return out
}

func spiText(f Finding) string { return strings.ReplaceAll(spis(f), "-", "?") }

// spis names a finding's SA as "in/out" in 0x%08x ("-" for a missing side).
func spis(f Finding) string {
	s := func(v uint32, ok bool) string {
		if !ok {
			return "-"
		}
		return fmt.Sprintf("0x%08x", v)
	}
	return s(f.SPIIn, f.HasIn) + "/" + s(f.SPIOut, f.HasOut)
}

// sequence finds SAs whose sequence numbers call for a change: a 32-bit
// space that runs out within a day at the observed rate (esn_needed), and
// packets dropped left of the replay window on a path that reorders
// (replay_window_small).
func (a *auditor) sequence() []Finding {
	var out []Finding
	for _, r := range a.snap.Rows {
		var soonest *analyzer.SA
		var left time.Duration
		for _, sa := range r.SAs() {
			if d, ok := sa.Exhaustion(); ok && d < analyzer.ExhaustionWarning && (soonest == nil || d < left) {
				soonest, left = sa, d
			}
		}
		if soonest != nil {
			f := saFinding(ESNNeeded, Medium, r)
			span := time.Duration(soonest.LastSeen - soonest.FirstAccepted)
			rate := float64(soonest.MaxSeq-soonest.MinSeq) / span.Seconds()
			f.Detail = fmt.Sprintf("SA 0x%08x (%s→%s) numbered its packets from %s to %s in %s, %s a second: at that rate its 32-bit sequence space runs out in %s. Without extended sequence numbers the counter must not cycle, so the SA must be rekeyed before (RFC 4303 §3.3.3); negotiate ESN (RFC 4303 §2.2.1, the ESN transform of RFC 7296 §3.3.2) or rekey more often.",
				soonest.Key.SPI, soonest.Src, soonest.Key.Dst, humanize.Comma(int64(soonest.MinSeq)), humanize.Comma(int64(soonest.MaxSeq)), dur(span), humanize.Commaf(float64(int64(rate))), dur(left))
			out = append(out, f)
		}
		for _, sa := range r.SAs() {
			if sa.Late() == 0 || sa.Reordered() == 0 {
				continue
			}
			f := saFinding(ReplayWindowSmall, Medium, r)
			f.Detail = fmt.Sprintf("SA 0x%08x (%s→%s): %s packets arrived left of the %d-packet anti-replay window, which a receiver with that window drops, while %s others arrived out of order within it: the path reorders more deeply than the window allows. RFC 4303 §3.4.3 requires at least 32 and recommends 64 by default; a larger window keeps such packets.",
				sa.Key.SPI, sa.Src, sa.Key.Dst, humanize.Comma(int64(sa.Late())), sa.Window.Size(), humanize.Comma(int64(sa.Reordered())))
			out = append(out, f)
		}
	}
	return out
}

// groupBy groups items by key, the keys in order of first appearance;
// items whose key is the zero value are left out.
func groupBy[T any, K comparable](items []T, key func(T) K) ([]K, map[K][]T) {
	var zero K
	var order []K
	m := map[K][]T{}
	for _, it := range items {
		k := key(it)
		if k == zero {
			continue
		}
		if m[k] == nil {
			order = append(order, k)
		}
		m[k] = append(m[k], it)
	}
	return order, m
}
