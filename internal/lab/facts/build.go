package facts

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"ipsecmon/algo"
	"ipsecmon/internal/lab/charonlog"
	"ipsecmon/internal/lab/vicimsg"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// observation is one VICI view (event or --list-sas --raw line) of an IKE
// SA, with one of its CHILD SAs when child is not nil.
type observation struct {
	peer   string
	source string
	ike    *vicimsg.Section
	child  *vicimsg.Section
}

// collect walks a VICI message for IKE SA sections (those with
// "initiator-spi", in list-sa, *-updown and *-rekey messages alike) and the
// CHILD SA sections under their "child-sas", including child-rekey's
// old/new pairs.
func collect(s *vicimsg.Section, peer, source string, depth int, out *[]observation) {
	if s == nil || depth > 8 {
		return
	}
	if s.Str("initiator-spi") != "" {
		*out = append(*out, observation{peer: peer, source: source, ike: s})
		cs := s.Sub("child-sas")
		for _, k := range cs.Subs() {
			c := cs.Sub(k)
			if c.Str("spi-in") != "" {
				*out = append(*out, observation{peer: peer, source: source, ike: s, child: c})
				continue
			}
			for _, w := range []string{"old", "new"} {
				if cc := c.Sub(w); cc != nil && cc.Str("spi-in") != "" {
					*out = append(*out, observation{peer: peer, source: source, ike: s, child: cc})
				}
			}
		}
		return
	}
	for _, k := range s.Subs() {
		collect(s.Sub(k), peer, source, depth+1, out)
	}
}

type builder struct {
	in   *Input
	f    *Facts
	obs  []observation
	keys keys.Set
	// per peer: charon IKE SA unique id -> facts id
	ikeID map[string]map[uint32]string
	// SPI pair (alice in, alice out) -> child
	children []*childPair
}

type childPair struct {
	id    string
	c     map[string]*charonlog.ChildSA
	facts *ChildSA
}

func spiHex(spi uint32) string { return fmt.Sprintf("0x%08x", spi) }

func ikeSPIs(s *charonlog.IKESA) string {
	return hex.EncodeToString(s.SPIi[:]) + "/" + hex.EncodeToString(s.SPIr[:])
}

// Build turns a lab run into facts and the key set for the key files. It
// checks that both daemons agree on every key and SPI.
func Build(in *Input) (*Facts, keys.Set, error) {
	b := &builder{in: in, ikeID: map[string]map[uint32]string{}}
	b.f = &Facts{Schema: Schema, Scenario: in.Scenario, Description: in.Description, StrongSwan: in.StrongSwan,
		Topology: in.Topology, Capture: Capture{File: "capture.pcap", Link: LinkPeer + " lab0", Start: in.CaptureStart, End: in.CaptureEnd},
		IKESAs: []IKESA{}, ChildSAs: []ChildSA{}, SPIs: []SPI{}, Traffic: []Traffic{}, Failed: []Failure{}, Pending: []Pending{},
		Retransmits: []Retransmit{}}
	for _, p := range in.Tunnels {
		b.f.Capture.Tunnels = append(b.f.Capture.Tunnels, TunnelCapture{Peer: p, File: TunnelFile(p), Device: "ipsec0", LinkType: "raw"})
	}
	for _, p := range PeerNames {
		for _, e := range in.Events[p] {
			collect(e.Data, p, fmt.Sprintf("vici %s %s", e.Name, e.Time.UTC().Format("15:04:05.000")), 0, &b.obs)
		}
	}
	for _, s := range in.Snapshots {
		for _, m := range s.Messages {
			collect(m.Body, s.Peer, s.File, 0, &b.obs)
		}
	}
	steps := []func() error{b.ikeSAs, b.childSAs, b.spis, b.path, b.amounts, b.tunnels, b.failures, b.pending, b.retransmits, b.peers, b.config, b.liveness}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, keys.Set{}, err
		}
	}
	for i, r := range in.Traffic {
		b.f.Traffic = append(b.f.Traffic, Traffic{Seq: i + 1, Report: r})
	}
	b.totals()
	return b.f, b.keys, nil
}

func (b *builder) beforeEnd(t time.Time) bool {
	return !t.IsZero() && !t.After(b.in.CaptureEnd)
}

// ikeObs finds the VICI views of the IKE SA with these SPIs.
func (b *builder) ikeObs(peer, spis string) []observation {
	var out []observation
	for _, o := range b.obs {
		if o.child == nil && (peer == "" || o.peer == peer) && o.ike.Str("initiator-spi")+"/"+o.ike.Str("responder-spi") == spis {
			out = append(out, o)
		}
	}
	return out
}

func (b *builder) ikeSAs() error {
	type pair struct {
		spis string
		sa   map[string]*charonlog.IKESA
	}
	var pairs []*pair
	byKey := map[string]*pair{}
	for _, p := range PeerNames {
		for _, s := range b.in.Logs[p].IKESAs {
			if s.Established.IsZero() || !b.beforeEnd(s.Established) {
				continue
			}
			k := ikeSPIs(s)
			pr := byKey[k]
			if pr == nil {
				pr = &pair{spis: k, sa: map[string]*charonlog.IKESA{}}
				byKey[k] = pr
				pairs = append(pairs, pr)
			}
			pr.sa[p] = s
		}
	}
	first := func(pr *pair) time.Time {
		var t time.Time
		for _, s := range pr.sa {
			if t.IsZero() || s.Established.Before(t) {
				t = s.Established
			}
		}
		return t
	}
	sort.SliceStable(pairs, func(i, j int) bool { return first(pairs[i]).Before(first(pairs[j])) })
	for _, p := range PeerNames {
		b.ikeID[p] = map[uint32]string{}
	}
	for i, pr := range pairs {
		id := fmt.Sprintf("ike-%d", i+1)
		for p, s := range pr.sa {
			b.ikeID[p][s.UID] = id
		}
	}
	for i, pr := range pairs {
		id := fmt.Sprintf("ike-%d", i+1)
		a, o := pr.sa[Initiator], pr.sa[LinkPeer]
		if a == nil || o == nil {
			return fmt.Errorf("IKE SA %s is in only one daemon's log", pr.spis)
		}
		if a.Version != o.Version {
			return fmt.Errorf("IKE SA %s: IKEv%d for %s, IKEv%d for %s", pr.spis, a.Version, Initiator, o.Version, LinkPeer)
		}
		if a.Initiator == o.Initiator {
			return fmt.Errorf("IKE SA %s: both or neither daemon initiated it", pr.spis)
		}
		if !bytes.Equal(flatKeys(a.Keys), flatKeys(o.Keys)) {
			return fmt.Errorf("IKE SA %s: the two daemons logged different keys", pr.spis)
		}
		x := IKESA{ID: id, Version: a.Version, SPIi: hex.EncodeToString(a.SPIi[:]), SPIr: hex.EncodeToString(a.SPIr[:]),
			Established: first(pr)}
		initPeer := Initiator
		if o.Initiator {
			initPeer = LinkPeer
		}
		switch a.Exchange {
		case "ID_PROT":
			x.Exchange = "main"
		case "AGGRESSIVE":
			x.Exchange = "aggressive"
		default:
			x.Exchange = a.Exchange
		}
		if a.RekeyOf != 0 {
			x.Replaces = b.ikeID[Initiator][a.RekeyOf]
		}
		auth := b.in.Logs[Initiator].ConnAuth[a.Name]
		switch auth {
		case "pre-shared key":
			x.Auth = "psk"
		case "":
			return fmt.Errorf("IKE SA %s: no authentication class for connection %q in the log (is cfg at level 2?)", pr.spis, a.Name)
		default:
			x.Auth = auth
		}
		// Suite and endpoints from the link peer's VICI view.
		obs := b.ikeObs(LinkPeer, pr.spis)
		if len(obs) == 0 {
			return fmt.Errorf("IKE SA %s: no VICI event or listing from %s", pr.spis, LinkPeer)
		}
		v := obs[len(obs)-1].ike
		suite, err := ikeSuite(v)
		if err != nil {
			return fmt.Errorf("IKE SA %s: %w", pr.spis, err)
		}
		x.Suite = suite
		local := Endpoint{Peer: LinkPeer, Addr: v.Str("local-host"), Port: atoi(v.Str("local-port"))}
		remote := Endpoint{Peer: Initiator, Addr: v.Str("remote-host"), Port: atoi(v.Str("remote-port"))}
		if initPeer == LinkPeer {
			x.Initiator, x.Responder = local, remote
		} else {
			x.Initiator, x.Responder = remote, local
		}
		x.NATT = local.Port != 500 || remote.Port != 500
		// Deletion, as far as it happened before the capture ended.
		var del *Deletion
		for _, p := range PeerNames {
			if t := pr.sa[p].Deleting; b.beforeEnd(t) {
				if del == nil {
					del = &Deletion{Time: t, Reason: "delete"}
				}
				del.Time = minTime(del.Time, t)
			}
		}
		if del != nil {
			for _, p := range PeerNames {
				if pr.sa[p].SentDelete && !pr.sa[p].RecvDelete {
					del.By = p
					del.DeletePayload = true
				}
			}
		}
		x.Deleted = del
		b.f.IKESAs = append(b.f.IKESAs, x)

		// Keys.
		switch a.Version {
		case 1:
			k := keys.IKEv1SA{ICookie: a.SPIi, RCookie: a.SPIr, HasRCookie: true, EncKey: a.Keys.Ka,
				SKEYIDd: a.Keys.SKEYIDd, SKEYIDa: a.Keys.SKEYIDa, Origin: id}
			k.Enc, _ = algo.ParseEnc(suite.Enc)
			k.PRF, _ = algo.ParsePRF(suite.PRF)
			if len(k.EncKey)*8 != suite.EncKeyBits {
				return fmt.Errorf("IKE SA %s: encryption key Ka has %d bytes for a %d-bit %s", pr.spis, len(k.EncKey), suite.EncKeyBits, suite.Enc)
			}
			b.keys.IKEv1 = append(b.keys.IKEv1, k)
		case 2:
			k := keys.IKEv2SA{SPIi: a.SPIi, SPIr: a.SPIr, SKei: a.Keys.SKei, SKer: a.Keys.SKer, SKai: a.Keys.SKai,
				SKar: a.Keys.SKar, SKd: a.Keys.SKd, Origin: id}
			k.Enc, _ = algo.ParseEnc(suite.Enc)
			k.Integ, _ = algo.ParseAuth(suite.Integ)
			k.PRF, _ = algo.ParsePRF(suite.PRF)
			if !k.Enc.ValidKeyLen(len(k.SKei)) || len(k.SKei) != len(k.SKer) || (len(k.SKei)-k.Enc.SaltLen())*8 != suite.EncKeyBits {
				return fmt.Errorf("IKE SA %s: SK_e of %d bytes does not fit %d-bit %s", pr.spis, len(k.SKei), suite.EncKeyBits, suite.Enc)
			}
			b.keys.IKEv2 = append(b.keys.IKEv2, k)
		}
	}
	// Replaced-by links and rekey deletions.
	for i := range b.f.IKESAs {
		if r := b.f.IKESAs[i].Replaces; r != "" {
			for j := range b.f.IKESAs {
				if b.f.IKESAs[j].ID == r {
					b.f.IKESAs[j].ReplacedBy = b.f.IKESAs[i].ID
					if d := b.f.IKESAs[j].Deleted; d != nil {
						d.Reason = "rekey"
					}
				}
			}
		}
	}
	return nil
}

func flatKeys(k charonlog.IKEKeys) []byte {
	var out []byte
	for _, p := range [][]byte{k.SKd, k.SKai, k.SKar, k.SKei, k.SKer, k.SKEYIDd, k.SKEYIDa, k.Ka} {
		out = append(out, byte(len(p)))
		out = append(out, p...)
	}
	return out
}

func (b *builder) childSAs() error {
	byIn := map[uint32]*childPair{} // alice's inbound SPI
	for _, c := range b.in.Logs[Initiator].Children {
		if !b.beforeEnd(c.Established) {
			continue
		}
		cp := &childPair{c: map[string]*charonlog.ChildSA{Initiator: c}}
		byIn[c.SPIIn] = cp
		b.children = append(b.children, cp)
	}
	for _, c := range b.in.Logs[LinkPeer].Children {
		if !b.beforeEnd(c.Established) {
			continue
		}
		cp := byIn[c.SPIOut]
		if cp == nil || cp.c[Initiator].SPIOut != c.SPIIn {
			return fmt.Errorf("CHILD SA %s{%d} of %s (SPIs %08x/%08x) has no counterpart in %s's log", c.Name, c.UID, LinkPeer, c.SPIIn, c.SPIOut, Initiator)
		}
		cp.c[LinkPeer] = c
	}
	for _, cp := range b.children {
		if cp.c[LinkPeer] == nil {
			a := cp.c[Initiator]
			return fmt.Errorf("CHILD SA %s{%d} of %s (SPIs %08x/%08x) has no counterpart in %s's log", a.Name, a.UID, Initiator, a.SPIIn, a.SPIOut, LinkPeer)
		}
	}
	created := func(cp *childPair) time.Time {
		return minTime(cp.c[Initiator].Established, cp.c[LinkPeer].Established)
	}
	sort.SliceStable(b.children, func(i, j int) bool { return created(b.children[i]).Before(created(b.children[j])) })
	for i, cp := range b.children {
		cp.id = fmt.Sprintf("child-%d", i+1)
	}
	bySPI := map[uint32]*childPair{}
	for _, cp := range b.children {
		bySPI[cp.c[Initiator].SPIIn] = cp
		bySPI[cp.c[Initiator].SPIOut] = cp
	}
	for _, cp := range b.children {
		a, o := cp.c[Initiator], cp.c[LinkPeer]
		name := fmt.Sprintf("CHILD SA %s (%s{%d})", cp.id, a.Name, a.UID)
		if a.Initiator == o.Initiator {
			return fmt.Errorf("%s: both or neither daemon initiated it", name)
		}
		if a.Exchange != o.Exchange || a.MsgID != o.MsgID {
			return fmt.Errorf("%s: %s saw %s %d, %s saw %s %d", name, Initiator, a.Exchange, a.MsgID, LinkPeer, o.Exchange, o.MsgID)
		}
		if !bytes.Equal(a.EncOut, o.EncIn) || !bytes.Equal(a.EncIn, o.EncOut) || !bytes.Equal(a.IntegOut, o.IntegIn) || !bytes.Equal(a.IntegIn, o.IntegOut) {
			return fmt.Errorf("%s: the two daemons logged different keys for the same SPI", name)
		}
		x := ChildSA{ID: cp.id, Name: a.Name, IKESA: b.ikeID[Initiator][a.IKE], Protocol: strings.ToLower(a.Proto),
			Exchange: a.Exchange, MessageID: a.MsgID, Created: created(cp),
			SPIs: map[string]PeerSPIs{}, Selectors: map[string]Selectors{}}
		if x.IKESA == "" {
			return fmt.Errorf("%s: its IKE SA %d is unknown", name, a.IKE)
		}
		x.Initiator = Initiator
		if o.Initiator {
			x.Initiator = LinkPeer
		}
		var view *vicimsg.Section
		for _, p := range PeerNames {
			c := cp.c[p]
			x.SPIs[p] = PeerSPIs{In: spiHex(c.SPIIn), Out: spiHex(c.SPIOut)}
			v := b.childView(p, c.SPIIn, c.SPIOut)
			if v == nil {
				return fmt.Errorf("%s: no VICI event or listing from %s", name, p)
			}
			x.Selectors[p] = Selectors{Local: v.List("local-ts"), Remote: v.List("remote-ts")}
			if p == LinkPeer {
				view = v
			}
		}
		// An IKE SA rekey moves the CHILD SAs still installed (a deleted
		// one may ride along until charon destroys it: not a move).
		if o := b.childObs(LinkPeer, o.SPIIn, o.SPIOut, "INSTALLED", "REKEYED"); o != nil {
			owner := o.ike.Str("initiator-spi") + "/" + o.ike.Str("responder-spi")
			for _, s := range b.f.IKESAs {
				if s.SPIi+"/"+s.SPIr == owner && s.ID != x.IKESA {
					x.MovedTo = s.ID
				}
			}
		}
		x.Mode = strings.ToLower(view.Str("mode"))
		x.UDPEncap = view.Str("encap") == "yes"
		suite, err := childSuite(view)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		x.Suite = suite
		// Deletion before the end of the capture.
		x.Deleted = b.childDeletion(cp)
		b.f.ChildSAs = append(b.f.ChildSAs, x)

		// Keys, one ESP SA per direction, addressed as on the captured link.
		enc, _ := algo.ParseEnc(suite.Enc)
		auth, _ := algo.ParseAuth(suite.Integ)
		for _, dir := range []struct {
			spi            uint32
			src, dst       netip.Addr
			encKey, intKey []byte
		}{
			{o.SPIIn, o.InSrc, o.InDst, o.EncIn, o.IntegIn},
			{o.SPIOut, o.OutSrc, o.OutDst, o.EncOut, o.IntegOut},
		} {
			if !enc.ValidKeyLen(len(dir.encKey)) || (len(dir.encKey)-enc.SaltLen())*8 != suite.EncKeyBits {
				return fmt.Errorf("%s: SPI %08x: %d-byte encryption key for %d-bit %s", name, dir.spi, len(dir.encKey), suite.EncKeyBits, suite.Enc)
			}
			if !enc.AEAD() && auth.KeyLen() >= 0 && len(dir.intKey) != auth.KeyLen() {
				return fmt.Errorf("%s: SPI %08x: %d-byte integrity key for %s", name, dir.spi, len(dir.intKey), suite.Integ)
			}
			sa := keys.SA{Proto: ipproto.ESP, Src: netip.PrefixFrom(dir.src, dir.src.BitLen()), Dst: netip.PrefixFrom(dir.dst, dir.dst.BitLen()),
				SPI: dir.spi, Enc: enc, EncKey: dir.encKey, Auth: auth, AuthKey: dir.intKey, ESN: suite.ESN, Mode: x.Mode, Origin: cp.id}
			b.keys.SAs = append(b.keys.SAs, sa)
		}
	}
	for i, cp := range b.children {
		cp.facts = &b.f.ChildSAs[i] // the slice is complete: pointers stay valid
	}
	// Rekeys: child-rekey events name the old and the new SA.
	for _, p := range PeerNames {
		for _, e := range b.in.Events[p] {
			if e.Name != "child-rekey" {
				continue
			}
			var oldC, newC *vicimsg.Section
			for _, ike := range e.Data.Subs() {
				cs := e.Data.Sub(ike).Sub("child-sas")
				for _, k := range cs.Subs() {
					oldC, newC = cs.Sub(k).Sub("old"), cs.Sub(k).Sub("new")
				}
			}
			if oldC == nil || newC == nil {
				return fmt.Errorf("%s: child-rekey event at %s without old and new CHILD SA", p, e.Time)
			}
			oc, nc := bySPI[hexU32(oldC.Str("spi-in"))], bySPI[hexU32(newC.Str("spi-in"))]
			if oc == nil || nc == nil {
				continue // after the end of the capture
			}
			if nc.facts.Replaces != "" && nc.facts.Replaces != oc.id {
				return fmt.Errorf("%s replaces both %s and %s", nc.id, nc.facts.Replaces, oc.id)
			}
			nc.facts.Replaces, oc.facts.ReplacedBy = oc.id, nc.id
		}
	}
	return nil
}

// childView is the last VICI view a peer gave of the CHILD SA with these
// SPIs (nil when none).
func (b *builder) childView(peer string, in, out uint32) *vicimsg.Section {
	if o := b.childObs(peer, in, out); o != nil {
		return o.child
	}
	return nil
}

// childObs is the last observation of a CHILD SA by a peer, optionally
// only those showing one of the given states.
func (b *builder) childObs(peer string, in, out uint32, states ...string) *observation {
	var v *observation
	for i, o := range b.obs {
		if o.child != nil && o.peer == peer && hexU32(o.child.Str("spi-in")) == in && hexU32(o.child.Str("spi-out")) == out &&
			(len(states) == 0 || slices.Contains(states, o.child.Str("state"))) {
			v = &b.obs[i]
		}
	}
	return v
}

func (b *builder) childDeletion(cp *childPair) *Deletion {
	var d *Deletion
	at := func(t time.Time) {
		if !b.beforeEnd(t) {
			return
		}
		if d == nil {
			d = &Deletion{Time: t}
		} else if t.Before(d.Time) {
			d.Time = t
		}
	}
	expired := false
	for _, p := range PeerNames {
		c := cp.c[p]
		if b.beforeEnd(c.Closing) {
			at(c.Closing)
			expired = expired || c.Expired
		} else {
			at(c.Destroyed)
		}
	}
	if d == nil {
		return nil
	}
	// Who sent the first Delete (the other side answers with its own in IKEv2).
	var first time.Time
	for _, p := range PeerNames {
		c := cp.c[p]
		// It started the deletion if it sent its Delete before it received one.
		if b.beforeEnd(c.SentDelete) && (c.RecvDeleteLine == 0 || !b.beforeEnd(c.RecvDelete) || c.SentDeleteLine < c.RecvDeleteLine) {
			if first.IsZero() || c.SentDelete.Before(first) {
				first, d.By = c.SentDelete, p
			}
			d.DeletePayload = true
		}
	}
	switch {
	case expired:
		d.Reason = "expiry"
	case d.DeletePayload:
		d.Reason = "delete"
	default:
		d.Reason = "with-ike-sa"
		// The IKE SA deletion that took the CHILD SA with it.
		for _, ike := range b.f.IKESAs {
			if ike.Deleted != nil && ike.ID == b.ikeID[Initiator][cp.c[Initiator].IKE] {
				d.By = ike.Deleted.By
			}
		}
		if d.By == "" {
			// The CHILD SA moved to a newer IKE SA with a rekey.
			for _, ike := range b.f.IKESAs {
				if ike.Deleted != nil && ike.Deleted.Reason == "delete" && !ike.Deleted.Time.After(d.Time) && d.Time.Sub(ike.Deleted.Time) < 5*time.Second {
					d.By = ike.Deleted.By
				}
			}
		}
	}
	return d
}

func (b *builder) spis() error {
	type obsCount struct {
		packets, bytes uint64
		source         string
	}
	best := map[string]obsCount{} // peer/spi/side
	for _, o := range b.obs {
		if o.child == nil {
			continue
		}
		for _, side := range []string{"in", "out"} {
			spi := hexU32(o.child.Str("spi-" + side))
			pk, err1 := o.child.Uint("packets-" + side)
			by, err2 := o.child.Uint("bytes-" + side)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("%s %s: SPI %08x without counters", o.peer, o.source, spi)
			}
			k := fmt.Sprintf("%s/%08x/%s", o.peer, spi, side)
			// Counters only grow, except that libipsec reports 0 for an
			// outbound SA replaced by an IKEv2 rekey: the largest figure
			// is the last real one.
			if cur, ok := best[k]; !ok || pk > cur.packets || (pk == cur.packets && by > cur.bytes) {
				best[k] = obsCount{pk, by, o.source}
			}
		}
	}
	for _, cp := range b.children {
		o := cp.c[LinkPeer]
		ports := b.encapPorts(o)
		for _, dir := range []struct {
			spi      uint32
			from     string
			src, dst netip.Addr
			sport    int
			dport    int
			sides    map[string]string
		}{
			{o.SPIIn, Initiator, o.InSrc, o.InDst, ports[1], ports[0], map[string]string{Initiator: "out", LinkPeer: "in"}},
			{o.SPIOut, LinkPeer, o.OutSrc, o.OutDst, ports[0], ports[1], map[string]string{Initiator: "in", LinkPeer: "out"}},
		} {
			s := SPI{SPI: spiHex(dir.spi), Protocol: strings.ToLower(o.Proto), Src: dir.src.String(), Dst: dir.dst.String(),
				From: dir.from, Child: cp.id, Counters: map[string]Counter{}}
			if cp.facts.UDPEncap {
				s.SrcPort, s.DstPort = dir.sport, dir.dport
			}
			for _, p := range PeerNames {
				side := dir.sides[p]
				c, ok := best[fmt.Sprintf("%s/%08x/%s", p, dir.spi, side)]
				if !ok {
					return fmt.Errorf("%s: SPI %08x: no counters from %s", cp.id, dir.spi, p)
				}
				// The log's figure when charon closed the SA: counters
				// only grow, so it is at most the last listing's, unless
				// traffic still flowed after the last listing or event.
				lc := cp.c[p]
				if lc.HaveBytes && b.beforeEnd(lc.Closing) {
					logged := lc.BytesIn
					if side == "out" {
						logged = lc.BytesOut
					}
					if logged > c.bytes {
						// A stream across a rekey: every packet the
						// sender sent has the same inner length, so the
						// logged byte count gives the packet count.
						size := b.uniformSize(dir.from)
						if size == 0 || logged%size != 0 {
							return fmt.Errorf("%s: SPI %08x: %s logged %d bytes when closing, more than its counters said (%d, %s), and the packets' sizes differ", cp.id, dir.spi, p, logged, c.bytes, c.source)
						}
						c = obsCount{logged / size, logged, fmt.Sprintf("%s log: closing CHILD_SA, %d bytes of %d-byte packets", p, logged, size)}
					}
				}
				s.Counters[p] = Counter{Side: side, Packets: c.packets, Bytes: c.bytes, Source: c.source}
			}
			if err := b.replacedOutbound(cp, &s); err != nil {
				return err
			}
			b.f.SPIs = append(b.f.SPIs, s)
			for i := range b.keys.SAs {
				if b.keys.SAs[i].SPI == dir.spi && b.keys.SAs[i].Origin == cp.id && cp.facts.UDPEncap {
					b.keys.SAs[i].EncapSport, b.keys.SAs[i].EncapDport = uint16(s.SrcPort), uint16(s.DstPort)
				}
			}
		}
	}
	return nil
}

// replacedOutbound fills in the sender's count of an outbound SA that a
// rekey it initiated replaced: libipsec then reports 0 packets and bytes
// for the old outbound SA, in listings, in the child-rekey event and when
// closing it (seen in the lab with traffic across the rekey). With the
// routed topology's relay, path() establishes what was sent; else the count
// is the receiver's inbound count (nothing between the peers drops packets
// then; the tshark verification checks the capture against both).
func (b *builder) replacedOutbound(cp *childPair, s *SPI) error {
	out, in := s.Counters[s.From], Counter{}
	for p, c := range s.Counters {
		if p != s.From {
			in = c
		}
	}
	if out.Packets != 0 || in.Packets == 0 || cp.facts.ReplacedBy == "" {
		return nil
	}
	by := ""
	for _, c := range b.f.ChildSAs {
		if c.ID == cp.facts.ReplacedBy {
			by = c.Initiator
		}
	}
	if by != s.From {
		return nil
	}
	if b.in.Relay != nil {
		return nil // path() takes the count from the relay
	}
	out = Counter{Side: "out", Packets: in.Packets, Bytes: in.Bytes,
		Source: "the receiver's inbound count, nothing is dropped in this direction (libipsec reports 0 for an outbound SA replaced by a rekey its host initiated)"}
	s.Counters[s.From] = out
	return nil
}

// uniformSize is the inner IP length of every packet peer sent through the
// tunnels, when its traffic consisted of UDP datagrams of one size only
// and no ICMP or TCP, whose answers travel back, went either way; else 0.
func (b *builder) uniformSize(peer string) uint64 {
	size := 0
	for _, r := range b.in.Traffic {
		if r.ICMP.Requests > 0 || r.TCP.Chunks > 0 || r.TCP.Connections > 0 {
			return 0
		}
		if r.From != peer {
			continue
		}
		for _, u := range r.UDP {
			if u.Sent == 0 {
				continue
			}
			if size != 0 && u.IPLength != size {
				return 0
			}
			size = u.IPLength
		}
	}
	return uint64(size)
}

// encapPorts returns the link peer's local and remote IKE port for the IKE
// SA a CHILD SA belongs to (ESP-in-UDP shares them, RFC 3948 §3).
func (b *builder) encapPorts(c *charonlog.ChildSA) [2]int {
	for _, o := range b.obs {
		if o.peer == LinkPeer && o.child != nil && hexU32(o.child.Str("spi-in")) == c.SPIIn {
			return [2]int{atoi(o.ike.Str("local-port")), atoi(o.ike.Str("remote-port"))}
		}
	}
	return [2]int{}
}

func (b *builder) failures() error {
	var resp []charonlog.Failure
	respPeer := map[int]string{}
	for _, p := range PeerNames {
		for _, fl := range b.in.Logs[p].Failures {
			if !fl.Initiator {
				respPeer[len(resp)] = p
				resp = append(resp, fl)
			}
		}
	}
	for _, p := range PeerNames {
		for _, fl := range b.in.Logs[p].Failures {
			if !fl.Initiator || !b.beforeEnd(fl.Time) {
				continue
			}
			x := Failure{IKESA: b.ikeID[p][fl.IKE], Exchange: fl.Exchange, MessageID: fl.MsgID, Initiator: p,
				Child: fl.Child, Notify: fl.Notify, Time: fl.Time}
			for i, r := range resp {
				if respPeer[i] != p && b.ikeID[respPeer[i]][r.IKE] == x.IKESA && r.Exchange == fl.Exchange && r.MsgID == fl.MsgID {
					x.ResponderReasons = r.Reasons
					if r.SentNotify != "" && !strings.HasPrefix(fl.Notify, r.SentNotify) {
						return fmt.Errorf("failed %s %d: %s received %s, the responder sent %s", fl.Exchange, fl.MsgID, p, fl.Notify, r.SentNotify)
					}
				}
			}
			b.f.Failed = append(b.f.Failed, x)
		}
	}
	return nil
}

func (b *builder) pending() error {
	for _, p := range PeerNames {
		for _, r := range b.in.Logs[p].Requests {
			if !r.ExpectsResponse || !b.beforeEnd(r.Time) || b.beforeEnd(r.Answered) {
				continue
			}
			x := Pending{IKESA: b.ikeID[p][r.IKE], Exchange: r.Exchange, MessageID: r.MsgID, Initiator: p, Child: r.Child, Sent: r.Time}
			if x.IKESA == "" {
				x.IKESA = "(not established)"
			}
			for _, t := range r.Retransmits {
				if b.beforeEnd(t) {
					x.Retransmits++
				}
			}
			b.f.Pending = append(b.f.Pending, x)
		}
	}
	return nil
}

func (b *builder) retransmits() error {
	for _, p := range PeerNames {
		lg := b.in.Logs[p]
		for _, r := range lg.Requests {
			for _, t := range r.Retransmits {
				if b.beforeEnd(t) {
					b.f.Retransmits = append(b.f.Retransmits, Retransmit{Peer: p, IKESA: b.ikeID[p][r.IKE], Kind: "request",
						Exchange: r.Exchange, MessageID: r.MsgID, Time: t})
				}
			}
		}
		for _, r := range lg.ResponseRetransmits {
			if b.beforeEnd(r.Time) {
				b.f.Retransmits = append(b.f.Retransmits, Retransmit{Peer: p, IKESA: b.ikeID[p][r.IKE], Kind: "response", MessageID: r.MsgID, Time: r.Time})
			}
		}
	}
	sort.SliceStable(b.f.Retransmits, func(i, j int) bool { return b.f.Retransmits[i].Time.Before(b.f.Retransmits[j].Time) })
	return nil
}

func (b *builder) peers() error {
	for _, p := range PeerNames {
		pe := Peer{Name: p, Inner: []string{}}
		for _, o := range b.obs {
			if o.peer == p && pe.Address == "" {
				pe.Address = o.ike.Str("local-host")
			}
			if o.peer == LinkPeer && pe.LinkAddress == "" {
				if p == LinkPeer {
					pe.LinkAddress = o.ike.Str("local-host")
				} else {
					pe.LinkAddress = o.ike.Str("remote-host")
				}
			}
		}
		seen := map[string]bool{}
		for _, c := range b.f.ChildSAs {
			for _, ts := range c.Selectors[p].Local {
				if !seen[ts] {
					seen[ts] = true
					pe.Inner = append(pe.Inner, ts)
				}
			}
		}
		sort.Strings(pe.Inner)
		b.f.Peers = append(b.f.Peers, pe)
	}
	return nil
}

func (b *builder) totals() {
	n := Negotiations{ChildDeleted: map[string]int{}}
	for _, s := range b.f.IKESAs {
		n.IKECompleted++
		if s.Replaces != "" {
			n.IKERekeyed++
		}
		if s.Deleted != nil {
			n.IKEDeleted++
		}
	}
	for _, c := range b.f.ChildSAs {
		n.ChildCompleted++
		if c.Replaces != "" {
			n.ChildRekeyed++
		} else {
			n.ChildCreated++
		}
		if c.Deleted != nil {
			n.ChildDeleted[c.Deleted.Reason]++
		} else {
			n.ChildAliveEnd++
		}
	}
	n.Failed = len(b.f.Failed)
	for _, p := range b.f.Pending {
		// Key negotiations only: an unanswered liveness check (an
		// INFORMATIONAL request) is listed in pending but is no key
		// operation.
		if !strings.HasPrefix(p.Exchange, "INFORMATIONAL") {
			n.Pending++
		}
	}
	b.f.Negotiations = n
}

// ---- strongSwan names to ipsecmon's (algo's strongSwan table) ----

func encSuite(v *vicimsg.Section) (string, int, string, error) {
	e := algo.EncFromStrongSwan(v.Str("encr-alg"))
	if e == algo.EncUnknown {
		return "", 0, "", fmt.Errorf("unknown encryption %q", v.Str("encr-alg"))
	}
	bits := atoi(v.Str("encr-keysize"))
	switch e {
	case algo.Enc3DESCBC:
		bits = 192
	case algo.EncNull:
		bits = 0
	}
	integ := algo.AuthNone
	if n := v.Str("integ-alg"); n != "" {
		a := algo.AuthFromStrongSwan(n)
		if a == algo.AuthUnknown {
			return "", 0, "", fmt.Errorf("unknown integrity %q", n)
		}
		integ = a
	} else if !e.AEAD() {
		return "", 0, "", fmt.Errorf("%s without an integrity algorithm", e)
	}
	return e.String(), bits, integ.String(), nil
}

func ikeSuite(v *vicimsg.Section) (IKESuite, error) {
	enc, bits, integ, err := encSuite(v)
	if err != nil {
		return IKESuite{}, err
	}
	prf := algo.PRFFromStrongSwan(v.Str("prf-alg"))
	if prf == algo.PRFUnknown {
		return IKESuite{}, fmt.Errorf("unknown PRF %q", v.Str("prf-alg"))
	}
	return IKESuite{Enc: enc, EncKeyBits: bits, Integ: integ, PRF: prf.String(), DHGroup: dhName(v.Str("dh-group"))}, nil
}

func childSuite(v *vicimsg.Section) (ChildSuite, error) {
	enc, bits, integ, err := encSuite(v)
	if err != nil {
		return ChildSuite{}, err
	}
	return ChildSuite{Enc: enc, EncKeyBits: bits, Integ: integ, ESN: v.Str("esn") == "1", PFSGroup: dhName(v.Str("dh-group"))}, nil
}

// dhName writes strongSwan's group names (MODP_2048, ECP_256, CURVE_25519)
// the way its proposal keywords do (modp2048, ecp256, curve25519).
func dhName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func hexU32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 16, 32)
	return uint32(n)
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
