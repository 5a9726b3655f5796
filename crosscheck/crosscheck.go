// Package crosscheck compares what the packets show (an analyzer snapshot)
// with what a host reports about itself (package hosts), figure by figure
// and SA by SA, and says for each whether they agree, differ, or cannot be
// compared and why.
package crosscheck

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/hosts"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// Verdict is the outcome of one comparison.
type Verdict string

const (
	Agree         Verdict = "agree"
	Differs       Verdict = "differs"
	NotComparable Verdict = "not comparable"
)

// Row is one compared figure.
type Row struct {
	Host     string  `json:"host"`
	SA       string  `json:"sa,omitempty"` // "esp 0x0000abcd in" for per-SA figures
	Figure   string  `json:"figure"`
	Analyzer *uint64 `json:"analyzer"`
	HostVal  *uint64 `json:"host_value"`
	Diff     *int64  `json:"difference"`
	Verdict  Verdict `json:"verdict"`
	Reason   string  `json:"reason,omitempty"`
	// Moment, on the capture_moment row, says when the host's snapshot
	// was taken on the capture's clock: the other rows of the host are
	// compared as the capture stood then.
	Moment *Moment `json:"moment,omitempty"`
}

// Tolerance is how far apart two figures may be and still agree: an
// absolute count, or a fraction of the host's value.
type Tolerance struct {
	Abs      uint64
	Relative float64
}

// ParseTolerance reads "0", "3" (absolute) or "0.5%" (relative).
func ParseTolerance(s string) (Tolerance, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 {
			return Tolerance{}, fmt.Errorf("tolerance %q: want N or N%%", s)
		}
		return Tolerance{Relative: f / 100}, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Tolerance{}, fmt.Errorf("tolerance %q: want N or N%%", s)
	}
	return Tolerance{Abs: n}, nil
}

func (t Tolerance) within(a, h uint64) bool {
	d := a - h
	if h > a {
		d = h - a
	}
	return d <= t.Abs || float64(d) <= t.Relative*float64(h)
}

// Host is one host's snapshots: one taken during or after the capture,
// and optionally one at its start so that deltas are compared.
type Host struct {
	After  *hosts.Snapshot
	Before *hosts.Snapshot
	// At is when After was taken, on the capture's clock (--host-at);
	// zero: found from its per-SA counters (see Recorder).
	At time.Time
}

// Input is what a comparison needs from the analysis.
type Input struct {
	Snap *analyzer.Snapshot
	// BadSPIByDst counts Bad SPI packets per destination (nil when the
	// analyzer could not tell Bad SPI).
	BadSPIByDst map[netip.Addr]uint64
	// SAKnowledgeComplete: the analyzer knows every SA that existed (from
	// decrypted IKE or an authoritative list), so SA counts compare.
	SAKnowledgeComplete bool
	// Me reports the addresses the user named as this host's (--me), nil
	// when none were named. It stands in for the host's own addresses when
	// its snapshot lists no SA to learn them from (counters only).
	Me func(netip.Addr) bool
	// Rec watched the capture for the hosts' snapshots (NewRecorder), so
	// that each is compared at the moment it was taken; nil: every host is
	// compared as the capture stands at its end.
	Rec *Recorder
}

type cmp struct {
	tol  Tolerance
	rows []Row
}

func (c *cmp) add(r Row, a, h *uint64) {
	r.Analyzer, r.HostVal = a, h
	switch {
	case r.Verdict == NotComparable:
	case a == nil || h == nil:
		r.Verdict = NotComparable
		if r.Reason == "" {
			if a == nil {
				r.Reason = "the capture cannot tell"
			} else {
				r.Reason = "the host does not report it"
			}
		}
	default:
		d := int64(*a) - int64(*h)
		r.Diff = &d
		r.Verdict = Differs
		if c.tol.within(*a, *h) {
			r.Verdict = Agree
		}
	}
	c.rows = append(c.rows, r)
}

func u(v uint64) *uint64 { return &v }

// Compare returns the rows for every host, per SA first, then host-wide.
func Compare(in Input, hs []Host, tol Tolerance) []Row {
	c := &cmp{tol: tol}
	for i, h := range hs {
		compareHost(c, in, h, i)
	}
	return c.rows
}

// Differences counts the rows that differ.
func Differences(rows []Row) int {
	n := 0
	for _, r := range rows {
		if r.Verdict == Differs {
			n++
		}
	}
	return n
}

type saKey struct {
	proto uint8
	spi   uint32
	dst   netip.Addr
}

// delta subtracts the before-snapshot's counter when there is one.
func delta(after, before *uint64) (*uint64, string) {
	if after == nil {
		return nil, ""
	}
	if before == nil {
		return after, ""
	}
	if *before > *after {
		return nil, "the host's counter went down between the snapshots (SA replaced?)"
	}
	return u(*after - *before), ""
}

func compareHost(c *cmp, in Input, h Host, idx int) {
	host := h.After.Source
	// The host's own addresses: where its inbound SAs end and its outbound ones start.
	mine := map[netip.Addr]bool{}
	for _, s := range h.After.SAs {
		switch s.Dir {
		case hosts.DirIn:
			if s.Dst.IsValid() {
				mine[s.Dst] = true
			}
		case hosts.DirOut:
			if s.Src.IsValid() {
				mine[s.Src] = true
			}
		}
	}
	if len(mine) == 0 && in.Me != nil {
		for _, r := range in.Snap.Rows {
			for _, s := range r.SAs() {
				for _, a := range []netip.Addr{s.Key.Dst, s.Src} {
					if a.IsValid() && in.Me(a) {
						mine[a] = true
					}
				}
			}
		}
		for a := range in.BadSPIByDst {
			if in.Me(a) {
				mine[a] = true
			}
		}
	}
	// The analyzer's SAs, by protocol, SPI and destination.
	seen := map[saKey]*analyzer.SA{}
	bySPI := map[uint32][]*analyzer.SA{}
	for _, r := range in.Snap.Rows {
		for _, s := range r.SAs() {
			seen[saKey{s.Key.Proto, s.Key.SPI, s.Key.Dst}] = s
			bySPI[s.Key.SPI] = append(bySPI[s.Key.SPI], s)
		}
	}
	before := beforeSAs(h)
	listed := latest(h.After.SAs)
	// Each listed SA's match in the capture.
	matches := make([]*analyzer.SA, len(listed))
	matched := map[*analyzer.SA]bool{}
	for i, hs := range listed {
		if hs.SPI == 0 {
			continue
		}
		as := seen[saKey{hs.Proto, hs.SPI, hs.Dst}]
		if as == nil && len(bySPI[hs.SPI]) == 1 && bySPI[hs.SPI][0].Key.Proto == hs.Proto {
			// The host names its own address; behind a NAT the capture saw another.
			as = bySPI[hs.SPI][0]
		}
		if as != nil {
			matches[i] = as
			matched[as] = true
			// Behind a NAT the capture sees the host at another address:
			// the SAs it lists say which.
			switch hs.Dir {
			case hosts.DirIn:
				mine[as.Key.Dst] = true
			case hosts.DirOut:
				mine[as.Src] = true
			}
		}
	}
	lists := h.After.ListsSAs()
	// unlisted: the capture's SAs at this host that the host does not list.
	var unlisted []*analyzer.SA
	if lists {
		for _, r := range in.Snap.Rows {
			for _, s := range r.SAs() {
				if !matched[s] && (mine[s.Key.Dst] || mine[s.Src]) {
					unlisted = append(unlisted, s)
				}
			}
		}
	}
	// countable: the host's counter of an SA covers the capture's packets
	// only (not those before it started).
	countable := func(hs *hosts.SA) (uint64, bool) {
		n, ok := hostPackets(hs, before)
		if ok && h.Before == nil && installedBefore(hs, in.Snap) {
			return 0, false
		}
		return n, ok
	}
	v := view{rec: in.Rec, idx: idx, t: never}
	if in.Rec != nil {
		var cs []constraint
		for i, hs := range listed {
			if hs.SPI == 0 {
				continue
			}
			n, ok := countable(hs)
			if k, ok := in.Rec.listedConstraint(hostSAName(hs), hs, matches[i], n, ok); ok {
				cs = append(cs, k)
			}
		}
		for _, s := range unlisted {
			cs = append(cs, unlistedConstraint(capturedSAName(s, mine), s))
		}
		m := align(cs, h.At)
		v.m, v.t = m, m.t
		// When nothing the host lists says when it was read (counters
		// only), it is compared at the capture's end without a row to say so.
		if m.Of > 0 || m.How == "given" {
			row := Row{Host: host, Figure: "capture_moment", Reason: m.text(), Moment: m, Verdict: Differs}
			if m.Fits == m.Of {
				row.Verdict = Agree
			}
			c.rows = append(c.rows, row)
		}
	}
	var installed uint64
	for i, hs := range listed {
		if hs.SPI == 0 {
			continue
		}
		if present(hs) {
			installed++
		}
		name := hostSAName(hs)
		as := matches[i]
		b := before[saKey{hs.Proto, hs.SPI, hs.Dst}]
		var bp, bb *uint64
		if b != nil {
			bp, bb = b.Packets, b.Bytes
		}
		n, isCountable := countable(hs)
		hp, why := delta(hs.Packets, bp)
		row := Row{Host: host, SA: name, Figure: "packets"}
		var ap, aplain *uint64
		switch {
		case as == nil:
			ap = u(0) // the capture saw no packet of it
		default:
			if p, pl, ok := v.counts(as, n, isCountable); ok {
				ap, aplain = u(p), u(pl)
			}
		}
		if why != "" {
			row.Verdict, row.Reason = NotComparable, why
		} else if hs.Packets == nil {
			row.Reason = "the host does not report it"
			if strings.EqualFold(hs.State, "REKEYED") && hs.Dir == hosts.DirOut {
				row.Reason = "strongSwan drops a rekeyed outbound SA's counters"
			}
		} else if b == nil && h.Before == nil && installedBefore(hs, in.Snap) {
			row.Verdict, row.Reason = NotComparable, "SA installed before the capture started (give --host-before)"
		} else if ap == nil {
			row.Reason = "the capture's count at the compared moment is not known"
		}
		c.add(row, ap, hp)

		row = Row{Host: host, SA: name, Figure: "bytes (" + hs.ByteBasis.String() + ")"}
		hb, why := delta(hs.Bytes, bb)
		var ab *uint64
		reason := ""
		switch {
		case as != nil && ap != nil:
			ab, reason = bytesOnBasis(as, hs.ByteBasis, *ap, *aplain)
		case as != nil:
			reason = "the capture's count at the compared moment is not known"
		case hs.ByteBasis != hosts.BasisUnknown:
			ab = u(0)
		}
		switch {
		case why != "":
			row.Verdict, row.Reason = NotComparable, why
		case reason != "":
			row.Verdict, row.Reason = NotComparable, reason
		case hs.ByteBasis == hosts.BasisUnknown:
			row.Verdict, row.Reason = NotComparable, "the host's byte basis is unknown (for strongSwan files give --strongswan-backend)"
		case b == nil && h.Before == nil && installedBefore(hs, in.Snap):
			row.Verdict, row.Reason = NotComparable, "SA installed before the capture started (give --host-before)"
		}
		c.add(row, ab, hb)
	}
	// SAs the capture shows at this host that the host does not list.
	for _, s := range unlisted {
		row := Row{Host: host, SA: capturedSAName(s, mine), Figure: "packets"}
		var ap *uint64
		if p, _, ok := v.counts(s, 0, false); ok {
			ap = u(p)
		}
		switch {
		case v.alive(s):
			row.Reason = "the host does not list this SA"
		case v.t < s.FirstSeen:
			row.Verdict, row.Reason = NotComparable, "SA first seen after the host's snapshot"
		default:
			row.Verdict, row.Reason = NotComparable, "SA "+s.State.String()+" before the host's snapshot"
		}
		c.add(row, ap, nil)
		if row.Verdict != NotComparable {
			// A missing SA is a disagreement, not a figure nobody knows.
			c.rows[len(c.rows)-1].Verdict = Differs
		}
	}
	global(c, in, h, mine, installed, v)
}

func hostSAName(hs *hosts.SA) string {
	return fmt.Sprintf("%s 0x%08x %s", strings.ToLower(ipproto.Name(hs.Proto)), hs.SPI, hs.Dir)
}

// capturedSAName names an SA of the capture as the host would list it.
func capturedSAName(s *analyzer.SA, mine map[netip.Addr]bool) string {
	dir := "out"
	if mine[s.Key.Dst] {
		dir = "in"
	}
	return fmt.Sprintf("%s 0x%08x %s", strings.ToLower(ipproto.Name(s.Key.Proto)), s.Key.SPI, dir)
}

// view is the capture as it stood at the moment a host's snapshot is
// compared with: t is never for its end.
type view struct {
	m   *Moment
	rec *Recorder
	idx int
	t   int64
}

// counts are an SA's accepted packets and plaintext bytes at the moment; n
// is the host's count of it when countable (an aligned moment is known to
// fall where the capture's count equals it).
func (v view) counts(s *analyzer.SA, n uint64, countable bool) (packets, plain uint64, ok bool) {
	switch {
	case v.t == never || s.LastSeen <= v.t:
		return s.Accepted, s.PlainBytes, true // no packet of it came later
	case v.t < s.FirstSeen:
		return 0, 0, true
	case v.m.How == "given":
		if w := v.rec.sas[s.Key]; w != nil && w.asOf != nil {
			c := w.asOf[v.idx]
			return c.packets, c.plain, true
		}
		return 0, 0, true // not one packet accepted at all
	case countable:
		m := v.rec.mark(s.Key, n)
		from := m.reached
		if n == 0 {
			from = always
		}
		if from <= v.t && v.t < m.next {
			return n, m.plain, true
		}
	}
	return 0, 0, false
}

// endNote explains a host-wide figure compared at the capture's end because
// the host's counters fit no moment of it.
func (v view) endNote() string {
	if v.m != nil && v.m.How == "capture end" && v.m.Of > 0 {
		return "the host's counters fit no capture moment (see capture_moment): compared at its end"
	}
	return ""
}

// alive tells whether an SA existed at the moment, as far as the capture shows.
func (v view) alive(s *analyzer.SA) bool {
	if v.t == never {
		return s.State == analyzer.StateActive
	}
	end := never
	if s.EndedAt != 0 {
		end = s.EndedAt
	}
	return s.FirstSeen <= v.t && v.t < end
}

// latest keeps one entry per SA when a host's sources list it more than once
// (a listing and an event log): the one with the highest packet count, as
// counters only grow.
func latest(sas []hosts.SA) []*hosts.SA {
	type k struct {
		proto uint8
		spi   uint32
		dir   hosts.Direction
	}
	idx := map[k]int{}
	var out []*hosts.SA
	for i := range sas {
		s := &sas[i]
		key := k{s.Proto, s.SPI, s.Dir}
		if j, ok := idx[key]; ok {
			// Later sources (an event log after a listing) win ties: they
			// carry the later state.
			if deref(s.Packets) >= deref(out[j].Packets) {
				out[j] = s
			}
			continue
		}
		idx[key] = len(out)
		out = append(out, s)
	}
	return out
}

// installedBefore reports an SA whose install time (from the host) is before
// the first packet of the capture, at the precision the host gives it.
func installedBefore(hs *hosts.SA, s *analyzer.Snapshot) bool {
	before, ok := hs.InstalledBefore(s.First)
	return ok && !s.First.IsZero() && before
}

// bytesOnBasis converts the analyzer's figures for an SA that had accepted
// packets with plain plaintext bytes to what the host counts.
func bytesOnBasis(s *analyzer.SA, b hosts.Basis, packets, plain uint64) (*uint64, string) {
	switch b {
	case hosts.BasisInnerIP, hosts.BasisLinuxXfrmIn:
		// Both count the decapsulated payload: the inner IP packet in tunnel
		// mode, the transport payload otherwise.
		if !s.Keyed() {
			return nil, "needs keys: the host counts plaintext bytes"
		}
		return u(plain), ""
	case hosts.BasisLinuxXfrmOut:
		// Linux counts the outgoing packet before ESP output: outer IP
		// header, UDP encapsulation, ESP header, IV and the payload; not the
		// padding, trailer or ICV.
		k := s.Keys()
		if !s.Keyed() || k == nil {
			return nil, "needs keys: the host counts plaintext bytes"
		}
		ipHdr := uint64(20)
		if s.Key.Dst.Is6() {
			ipHdr = 40
		}
		per := ipHdr + 8 + uint64(k.Enc.IVLen())
		if s.Key.Encapsulated() {
			per += 8
		}
		return u(plain + per*packets), ""
	}
	return nil, ""
}

func global(c *cmp, in Input, h Host, mine map[netip.Addr]bool, installed uint64, v view) {
	host := h.After.Source
	g := h.After.Global
	var gb hosts.Counters
	if h.Before != nil {
		gb = h.Before.Global
	}
	// Figures for this host: packets that arrived at it.
	var replay, notAuth, notDecr, keyed uint64
	for _, r := range in.Snap.Rows {
		for _, s := range r.SAs() {
			if !mine[s.Key.Dst] {
				continue
			}
			replay += s.Replayed
			notAuth += s.NotAuthenticated
			notDecr += s.NotDecrypted
			if s.Keyed() {
				keyed++
			}
		}
	}
	// Without the host's addresses every figure "at this host" would be a
	// made-up 0.
	unknownHost := ""
	if len(mine) == 0 {
		unknownHost = "the host's own addresses are unknown: its snapshot lists no SA (give its SA listing in the same --host, FILE,FILE, or --me)"
	}
	// atHost: the figure counts packets that arrived at the host's own
	// addresses (the daemon's key counters do not depend on them).
	add := func(fig string, atHost bool, a *uint64, hv, hb *uint64, reason string) {
		hd, why := delta(hv, hb)
		row := Row{Host: host, Figure: fig}
		if atHost && unknownHost != "" {
			row.Verdict, row.Reason = NotComparable, unknownHost
		} else if atHost && v.t != never && a != nil && *a > 0 {
			// Packet faults are counted over the whole capture only; a count
			// that is 0 at the end was 0 at every earlier moment too.
			row.Verdict, row.Reason = NotComparable, "the capture counts these over its whole length; the host's snapshot is from before its end"
		} else if why != "" {
			row.Verdict, row.Reason = NotComparable, why
		} else if reason != "" && a == nil {
			row.Reason = reason
		} else {
			row.Reason = v.endNote()
		}
		c.add(row, a, hd)
	}
	var bad *uint64
	if in.BadSPIByDst != nil {
		var n uint64
		for d, v := range in.BadSPIByDst {
			if mine[d] {
				n += v
			}
		}
		bad = &n
	}
	if g.BadSPI != nil {
		add("bad_spi_packets", true, bad, g.BadSPI, gb.BadSPI, "the capture cannot tell Bad SPI without an authoritative SA list or decrypted IKE")
	}
	if g.ReplayFailed != nil {
		add("packets_with_replay_detection", true, u(replay), g.ReplayFailed, gb.ReplayFailed, "")
	}
	var fails *uint64
	if keyed > 0 {
		fails = u(notAuth + notDecr)
	}
	if g.ProtoError != nil {
		add("packets_not_authenticated + packets_not_decrypted", true, fails, g.ProtoError, gb.ProtoError, "needs keys")
	}
	if g.NotAuthenticated != nil && keyed > 0 {
		add("packets_not_authenticated", true, u(notAuth), g.NotAuthenticated, gb.NotAuthenticated, "")
	}
	if g.NotDecrypted != nil && keyed > 0 {
		add("packets_not_decrypted", true, u(notDecr), g.NotDecrypted, gb.NotDecrypted, "")
	}
	// Per-SA replay and integrity counters summed (Linux ip -s xfrm state).
	var sumReplay, sumFail *uint64
	for _, s := range h.After.SAs {
		if s.Dir != hosts.DirIn {
			continue
		}
		if s.ReplayDrops != nil || s.ReplayWindowDrops != nil {
			v := deref(s.ReplayDrops) + deref(s.ReplayWindowDrops)
			sumReplay = u(deref(sumReplay) + v)
		}
		if s.IntegrityFailed != nil {
			sumFail = u(deref(sumFail) + *s.IntegrityFailed)
		}
	}
	if sumReplay != nil && g.ReplayFailed == nil {
		add("packets_with_replay_detection (per-SA sum)", true, u(replay), sumReplay, nil, "")
	}
	if sumFail != nil && g.ProtoError == nil {
		// Linux's per-SA "failed" counts ICV failures only (-EBADMSG in
		// xfrm_input); bad padding after a good ICV goes to the global
		// XfrmInStateProtoError alone.
		var na *uint64
		if keyed > 0 {
			na = u(notAuth)
		}
		add("packets_not_authenticated (per-SA sum)", true, na, sumFail, nil, "needs keys")
	}
	// Active SAs at this host, at the moment compared.
	var active uint64
	for _, r := range in.Snap.Rows {
		for _, s := range r.SAs() {
			if (mine[s.Key.Dst] || mine[s.Src]) && v.alive(s) {
				active++
			}
		}
	}
	row := Row{Host: host, Figure: "active_security_associations"}
	hostActive := u(installed)
	if g.ActiveSAs != nil {
		hostActive = g.ActiveSAs
	}
	switch {
	case !in.SAKnowledgeComplete:
		row.Verdict, row.Reason = NotComparable, "SAs that carried no packet are invisible without the IKE negotiations or an authoritative SA list"
	case g.ActiveSAs == nil && !h.After.ListsSAs():
		row.Verdict, row.Reason = NotComparable, "the host's sources give neither its SAs nor a count of them"
	case unknownHost != "":
		row.Verdict, row.Reason = NotComparable, unknownHost
	default:
		row.Reason = v.endNote()
	}
	c.add(row, u(active), hostActive)
	if d := h.After.Daemon; d != nil {
		// The counts at the moment compared; history holds when each changed.
		var at [analyzer.NumStats]*uint64
		lost := false
		if v.t != never {
			adds, dels, rekeys, ok := in.Snap.IKEHistory.LifecycleAt(clock(v.t))
			at[analyzer.KeyAdditions], at[analyzer.KeyDeletions], at[analyzer.Rekeys] = u(uint64(adds)), u(uint64(dels)), u(uint64(rekeys))
			lost = !ok
		}
		for _, f := range []struct {
			name string
			stat analyzer.Stat
			host *uint64
		}{{"key_additions", analyzer.KeyAdditions, d.KeyAdditions}, {"key_deletions", analyzer.KeyDeletions, d.KeyDeletions}, {"rekeys", analyzer.Rekeys, d.Rekeys}} {
			if f.host == nil {
				continue
			}
			fig := in.Snap.Stats[f.stat]
			var a *uint64
			reason := "needs the decrypted IKE negotiations"
			switch {
			case !fig.Known:
			case v.t == never:
				a = u(fig.Value)
			case lost:
				reason = fmt.Sprintf("more than %d lifecycle changes: their history before the host's snapshot was not all kept", ikestate.MaxHistory)
			default:
				a = at[f.stat]
			}
			var hb *uint64
			if h.Before != nil && h.Before.Daemon != nil {
				switch f.name {
				case "key_additions":
					hb = h.Before.Daemon.KeyAdditions
				case "key_deletions":
					hb = h.Before.Daemon.KeyDeletions
				case "rekeys":
					hb = h.Before.Daemon.Rekeys
				}
			}
			add(f.name, false, a, f.host, hb, reason)
		}
	}
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// Sort orders rows by host, then per-SA rows before host-wide ones.
func Sort(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Host != rows[j].Host {
			return rows[i].Host < rows[j].Host
		}
		return (rows[i].SA != "") && (rows[j].SA == "")
	})
}
