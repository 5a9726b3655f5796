// Package analyzer is ipsecmon's state: the SA table, anti-replay windows,
// and the counters behind the Quick Mode views. It consumes decoded packets
// (package decode) with their capture timestamps and produces Snapshots; it
// knows nothing about where packets come from or how results are printed.
package analyzer

import (
	"fmt"
	"net/netip"
	"time"

	"ipsecmon/decode"
	"ipsecmon/espcrypto"
	"ipsecmon/event"
	"ipsecmon/filters"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// DefaultReplayWindow is the window size RFC 4303 §3.4.3 recommends as default.
const DefaultReplayWindow = 64

// MaxReplayWindow is the largest window an SA gets, from Config or a key file.
const MaxReplayWindow = 1 << 20

// Config is what the analyzer is told rather than what it sees.
type Config struct {
	// Me lists the addresses that are "this computer": they decide sent vs
	// received and the Me/Peer columns. Empty: chosen from the traffic.
	Me []netip.Prefix
	// ReplayWindow is the anti-replay window size in packets of SAs whose
	// key entry does not give one (keys.SA.ReplayWindow).
	ReplayWindow int
	// ReplayMemory caps the bytes the replay windows of all SAs take beyond
	// the SAs themselves (0: no cap); windows of up to 64 packets take none.
	// Packets that would need a window past it are counted as untracked.
	ReplayMemory int64
	// MaxSAs caps the SAs tracked at once (0: no cap). Packets that would
	// need one more are counted as untracked, so that a flood of random SPIs
	// cannot exhaust memory.
	MaxSAs int
	// MaxIKESAs caps the IKE SAs the IKE tracker keeps (0: its default,
	// ikestate.DefaultLimits; negative: no cap); half-open ones are
	// forgotten first.
	MaxIKESAs int
	// IdleTimeout evicts SAs with no packet for this long (capture clock; 0:
	// never). EvictEnded evicts deleted and expired SAs this long after their
	// end (0: never). Evicted SAs leave the SA view; their totals stay in the
	// statistics.
	IdleTimeout time.Duration
	EvictEnded  time.Duration
	// OnEvent receives lifecycle events and anomalies as they happen (nil: none).
	OnEvent func(Event)
	// OnAccepted is called after each accepted packet has been counted,
	// in capture order (nil: not called). sa is owned by the analyzer:
	// read it during the call only. check uses it to find when a host's
	// counters were read.
	OnAccepted func(sa *SA, now int64)
	// OnOpened receives every ESP/AH packet of a tracked SA once its
	// checks are done, in capture order, with its plaintext when the keys
	// verified it (nil: not called, and verification keeps no plaintext).
	// `ipsecmon decrypt` writes the plaintext out from here.
	OnOpened func(*Opened)
	// Keys verify and decrypt the SAs they cover (nil: keyless).
	Keys *keys.Set
	// Filters are the host's IPsec policy (package filters); cleartext
	// packets they say must be protected are counted as violations.
	Filters *filters.Set
	// IKEMessageEvents adds one event per IKE message (the forensic
	// timeline of `ipsecmon events`); lifecycle events are always sent.
	IKEMessageEvents bool
	// Workers verifies and decrypts on this many cores (0 or 1: inline).
	// Each SA's packets stay on one worker, in order, and the results are
	// applied in capture order: the figures equal a single-threaded run's.
	Workers int
	// RekeyedDeleteDelay is how long after its Delete the old SA of an
	// IKEv2 rekey still accepts packets (0: DefaultRekeyedDeleteDelay;
	// negative: none, the Delete ends it at once).
	RekeyedDeleteDelay time.Duration
	// CompleteKeys declares that Keys lists every SA of the hosts it names,
	// as an `ip xfrm state` dump does by nature: packets for other SPIs to
	// those destinations are Bad SPI.
	CompleteKeys bool
}

// Ref says where a packet came from, for messages and events.
type Ref struct {
	Source string
	Index  int
}

// Analyzer accumulates what the packets show. It is not safe for concurrent use.
type Analyzer struct {
	cfg Config
	// reports says events go somewhere (Config.OnEvent was set); a frozen
	// copy keeps it without the callback, for the limits it shows.
	reports bool
	sas     map[SAKey]*SA
	order   []*SA // first-seen order, for stable output

	counts     Counts
	first, end int64

	evicted   map[tallyKey]*tally // totals of evicted SAs, by endpoints and kind
	lastSweep int64
	bursts    map[burstKey]*burst
	// anomalySeq numbers anomalies in order; lastBurstPrune is when idle
	// burst counters were last dropped.
	anomalySeq     uint64
	lastBurstPrune int64
	tableFull      bool
	// windowBytes is what the SAs' replay windows hold (Config.ReplayMemory).
	windowBytes int64
	hits        limitHits
	links       map[netip.Addr]linkAddr // SA sources' link addresses, for the automatic --me

	par       *parallel // verification on several cores (Config.Workers > 1)
	deferring bool      // emit holds events back in deferred
	deferred  []deferred
	inner     *decode.Decoder // for the packets found inside decrypted tunnels
	innerPkt  [maxNesting]decode.Packet
	// covered: destinations whose complete SA list is known (Bad SPI detection).
	covered   map[netip.Addr]bool
	badSPIs   map[netip.Addr]uint64 // Bad SPI packets by destination
	pmtu      map[SAKey]PathMTU     // ICMP too-big reports by the quoted packet's SA
	keyErrors map[string]bool

	filterHits  map[*filters.SpecificFilter]uint64
	tracker     *ikestate.Tracker
	iv          *ikeView         // a frozen copy's view of the tracker (tracker is then nil)
	ikeChildren map[int]*ikePair // child SA ID → its SAs, for the pairs the tracker keeps (ike.go)
	ikeBad      bool             // Bad SPI was established from IKE at least once
	ends        *endIndex        // for Deletes of pairs negotiated before the capture (nil until one)

	// Tunnels: the last SA learned from traffic in each direction (the
	// inferred lineage), the latest live negotiated pair of each tunnel (to
	// recognise a reauthentication), and the totals of tunnels whose SAs
	// left the table. All bounded by the SA table, the last by maxRetired.
	lastLearned map[dirKey]*SA
	liveTunnels map[TunnelKey]*SA
	retired     map[TunnelKey]*retiredTunnel
}

// Counts are packet tallies that are not per SA.
type Counts struct {
	Packets          uint64 // everything handed to the analyzer
	IPsecPackets     uint64 // packets with at least one ESP or AH header
	IKEv1Messages    uint64
	IKEv2Messages    uint64
	IKEEncapsulated  uint64 // IKE on UDP 4500 behind a non-ESP marker
	IKEErrors        uint64 // IKE messages that could not be parsed
	PolicyViolations uint64 // cleartext packets a block or negotiate filter covers
	NATKeepalives    uint64
	IKEFragmented    uint64 // IKE messages that arrived in IP fragments
	FragmentsPending uint64 // IP fragments of ESP/AH/UDP that were not analysed
	TruncatedIPsec   uint64 // ESP/AH packets whose capture was cut short
	BadSPI           uint64 // packets for an SPI no SA has (needs an authoritative SA source)
	Untracked        uint64 // IPsec packets not analysed: MaxSAs or ReplayMemory was reached (Limits says which)
	EvictedSAs       uint64 // SAs removed from the table (their totals are kept)
}

// New returns an empty analyzer.
func New(cfg Config) *Analyzer {
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	a := &Analyzer{cfg: cfg, sas: make(map[SAKey]*SA)}
	a.startWorkers()
	a.indexKeys()
	a.tracker = ikestate.New(cfg.Keys)
	if cfg.MaxIKESAs != 0 {
		l := a.tracker.Limits()
		l.IKESAs = max(cfg.MaxIKESAs, 0)
		a.tracker.SetLimits(l)
	}
	return a
}

// Packet analyses one decoded packet.
func (a *Analyzer) Packet(ts time.Time, p *decode.Packet, ref Ref) {
	now := ts.UnixNano()
	a.counts.Packets++
	if a.first == 0 || now < a.first {
		a.first = now
	}
	if now > a.end {
		a.end = now
	}
	switch p.Kind {
	case decode.KindIPsec:
		a.counts.IPsecPackets++
		for i := 0; i < p.NIPsec; i++ {
			a.ipsec(now, p, &p.IPsec[i], ref)
		}
	case decode.KindIKE:
		// IKE changes which SAs exist: everything before it is applied first.
		a.flush()
		if p.IKEHeader.Version>>4 == 1 {
			a.counts.IKEv1Messages++
		} else {
			a.counts.IKEv2Messages++
		}
		if p.Encapsulated {
			a.counts.IKEEncapsulated++
		}
		if p.Fragments > 1 {
			a.counts.IKEFragmented++
		}
		a.ike(now, p, ref)
	case decode.KindNATKeepalive:
		a.counts.NATKeepalives++
	case decode.KindOther:
		if p.HasTooBig {
			a.tooBig(now, p)
		}
		if a.cfg.Filters != nil {
			a.cleartext(now, p, ref)
		}
	case decode.KindFragment:
		a.counts.FragmentsPending++
	}
	if (a.cfg.IdleTimeout > 0 || a.cfg.EvictEnded > 0) && now-a.lastSweep > int64(time.Second) {
		a.flush()
		a.sweep(now)
	}
}

func (a *Analyzer) ipsec(now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref) {
	a.ipsecAt(now, p, h, ref, 0)
}

// maxNesting bounds ESP-in-ESP recursion after decryption.
const maxNesting = 3

func (a *Analyzer) ipsecAt(now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref, depth int) {
	if a.par != nil && depth == 0 {
		// Events of the lookup wait with the packet, so that they come out
		// in the same order as in a single-threaded run.
		a.deferring = true
		sa := a.lookupSA(now, p, h, ref)
		a.deferring = false
		if sa != nil {
			sa.noteFragments(p)
		}
		a.enqueue(sa, now, p, h, ref)
		return
	}
	sa := a.lookupSA(now, p, h, ref)
	if sa == nil {
		return
	}
	if depth == 0 {
		sa.noteFragments(p)
	}
	a.receive(sa, now, p.Src, p.IP, h, ref, depth, nil)
}

// lookupSA finds or creates the SA a packet belongs to; nil when the packet
// was counted otherwise (Bad SPI, untracked).
func (a *Analyzer) lookupSA(now int64, p *decode.Packet, h *decode.IPsecHeader, ref Ref) *SA {
	key := SAKey{Dst: p.Dst, SPI: h.SPI, Proto: h.Proto}
	if p.Dst.IsMulticast() {
		key.Src = p.Src
	}
	if p.Encapsulated && h.Proto == ipproto.ESP {
		key.SrcPort, key.DstPort = p.SrcPort, p.DstPort
	}
	sa := a.sas[key]
	if sa != nil && sa.State != StateActive && now > sa.EndedAt && !a.inDeleteDelay(sa, now) {
		// The SA was deleted or expired: a receiver no longer has it.
		sa.extension().badSPIAfterEnd++
		a.countBadSPI(now, key, p, ref, "SA "+sa.State.String())
		return nil
	}
	if sa == nil {
		if a.badSPI(now, key, p, ref) {
			return nil
		}
		bad, negotiated := a.ikeBadSPI(key, p.Src)
		if bad {
			a.ikeBad = true
			a.countBadSPI(now, key, p, ref, "no SA in the decrypted IKE negotiations has this SPI")
			return nil
		}
		if !a.room(now, ref) {
			return nil
		}
		sa = &SA{Key: key, Src: p.Src, FirstSeen: now, Window: a.newWindow(a.cfg.ReplayWindow)}
		a.noteLink(p)
		a.attachKeys(sa)
		a.insert(sa)
		if negotiated != nil {
			// IKE created this SPI, but the packet's UDP ports are not the
			// negotiation's (NAT rebinding): attach what IKE knows.
			a.negotiatedSA(now, key, p.Src, &Negotiated{Child: negotiated, Initiator: p.Src == negotiated.Initiator.Addr()}, nil)
		} else {
			a.linkLearned(sa, now)
		}
		if a.cfg.OnEvent != nil {
			detail := "first packet (learned from traffic)"
			if sa.key != nil {
				detail = "first packet (listed in " + sa.key.Origin + ")"
			}
			a.emit(Event{Time: time.Unix(0, now).UTC(), Kind: event.SAAdded, SA: eventSA(key, p.Src), Detail: detail, Source: ref.Source, Frame: ref.Index})
		}
	}
	return sa
}

// DefaultRekeyedDeleteDelay is strongSwan's delete_rekeyed_delay (5 s,
// IKEv2): after a rekey its peers keep the old inbound SA that long past
// the Delete, for packets still in flight. The lab's ikev2-loss-rekey
// recording shows one: a packet on the old SA after the rekey's Delete
// that its receiver counted (facts.json).
const DefaultRekeyedDeleteDelay = 5 * time.Second

// inDeleteDelay reports a packet for an SA that an IKEv2 rekey replaced and
// a Delete then removed, within the delay its receiver may still accept it.
func (a *Analyzer) inDeleteDelay(sa *SA, now int64) bool {
	d := a.cfg.RekeyedDeleteDelay
	if d == 0 {
		d = DefaultRekeyedDeleteDelay
	}
	n := sa.next
	if d < 0 || sa.State != StateDeleted || n == nil || n.ext == nil || n.ext.relation != RelationRekey || n.neg == nil || n.neg.Child.Version != 2 {
		return false
	}
	return now-sa.EndedAt <= int64(d)
}

// room reports whether a new SA learned from traffic may enter the table:
// the table has fewer than MaxSAs, and its replay window fits the memory
// left. Otherwise the packet is counted as untracked, under the limit that
// refused it.
func (a *Analyzer) room(now int64, ref Ref) bool {
	var why string
	switch {
	case a.cfg.MaxSAs > 0 && len(a.sas) >= a.cfg.MaxSAs:
		a.hits.saTable++
		why = fmt.Sprintf("%d SAs tracked (--max-sas)", len(a.sas))
	case a.cfg.ReplayMemory > 0 && a.windowBytes+ReplayWindowBytes(a.cfg.ReplayWindow) > a.cfg.ReplayMemory:
		a.hits.replayMemory++
		why = fmt.Sprintf("replay windows of %d SAs hold %d bytes (--replay-memory)", len(a.sas), a.windowBytes)
	default:
		return true
	}
	a.counts.Untracked++
	if !a.tableFull {
		a.tableFull = true
		a.emit(Event{Time: time.Unix(0, now).UTC(), Kind: event.SATableFull, Detail: why + "; packets of new SAs are counted as untracked", Source: ref.Source, Frame: ref.Index})
	}
	return false
}

// newWindow makes an SA's replay window, counting its memory.
func (a *Analyzer) newWindow(size int) ReplayWindow {
	a.windowBytes += ReplayWindowBytes(size)
	return NewReplayWindow(size)
}

// opened is what verification concluded about one packet, without the
// plaintext itself: the parallel path computes it ahead, on another core.
type opened struct {
	res      espcrypto.Result // Payload not kept
	seqHi    uint32
	plainLen int
	inner    decode.Inner
	innerOK  bool
	nested   []byte // a copy of a tunnel's payload that may itself hold IPsec
	// plain is the plaintext when Config.OnOpened wants it: the
	// transform's buffer until the next call on it, or a job's copy.
	plain []byte
}

// open verifies and decrypts one packet with the SA's transform; keep
// keeps the plaintext (opened.plain).
func open(tr *espcrypto.Transform, ip []byte, h *decode.IPsecHeader, seqHi uint32, keep bool) opened {
	var res espcrypto.Result
	switch {
	case h.Proto != ipproto.ESP:
		res = tr.VerifyAH(ip, h.Offset, seqHi)
	case keep:
		res = tr.OpenESP(h.Data, seqHi)
	default:
		// Without keep only the inner headers are read: a CBC cipher
		// need not decrypt the blocks between them and the trailer.
		res = tr.OpenESPHead(h.Data, seqHi, decode.InnerHead)
	}
	o := opened{res: res, seqHi: seqHi, plainLen: len(res.Payload) + res.Skipped}
	if res.Outcome == espcrypto.Accepted && res.Reason != espcrypto.ReasonDummy && res.NextHeader != ipproto.ESP {
		in, err := decode.ParseInner(res.NextHeader, res.Payload)
		if res.Skipped > 0 && (decode.ReadsPastHead(res.NextHeader, res.Payload) || err == nil && in.Tunnel && mayHoldIPsec(in)) {
			// IPv6 extension headers, or IPsec inside: all of it.
			res = tr.OpenESP(h.Data, seqHi)
			in, err = decode.ParseInner(res.NextHeader, res.Payload)
		}
		o.inner, o.innerOK = in, err == nil
		if err == nil && in.Tunnel && mayHoldIPsec(in) {
			o.nested = append([]byte(nil), res.Payload...)
		}
	}
	if keep && res.Outcome == espcrypto.Accepted {
		o.plain = res.Payload
	}
	o.res.Payload = nil
	return o
}

// mayHoldIPsec reports an inner packet that is itself ESP, AH, or UDP on
// the IKE/NAT-T ports (nested SAs): only those are decoded again.
func mayHoldIPsec(in decode.Inner) bool {
	switch in.Proto {
	case ipproto.ESP, ipproto.AH:
		return true
	case 17:
		return in.SrcPort == decode.PortNATT || in.DstPort == decode.PortNATT || in.SrcPort == decode.PortIKE || in.DstPort == decode.PortIKE
	}
	return false
}

// receive runs a receiver's checks on one packet of sa, in RFC 4303 §3.4
// order. pre, when set, is the verification computed ahead of time.
func (a *Analyzer) receive(sa *SA, now int64, src netip.Addr, ip []byte, h *decode.IPsecHeader, ref Ref, depth int, pre *opened) {
	if sa.Src != src {
		sa.SrcChanges++
	}
	sa.LastSeen = now
	sa.WireBytes += uint64(h.WireLen)

	seq := uint64(h.Seq)
	if sa.ESN {
		// RFC 4303 Appendix A2.2: the high half is inferred from the window.
		if sa.Window.Started() {
			seq = sa.Window.InferESN(h.Seq)
		} else {
			seq |= uint64(sa.key.seqHiStart) << 32
		}
	}
	report := a.cfg.OnOpened != nil
	verdict := sa.Window.Classify(seq)
	if !verdict.Accepted() {
		sa.noteVerdict(verdict, seq)
		sa.Replayed++
		a.anomaly(now, event.Replay, sa.Key, src, ref, "sequence number already seen or left of the window")
		if report {
			a.reportOpened(OutcomeReplay, sa, now, seq, ip, h, ref, depth, nil)
		}
		return
	}
	// o points at the worker's result where there is one: copying it
	// would read and write its cache lines once more, on this core.
	var fresh opened
	o := &fresh
	verified := false
	if sa.tr != nil && !h.Truncated() {
		if pre != nil && pre.seqHi == uint32(seq>>32) {
			o = pre
		} else {
			if a.par != nil && sa.tr.inflight > 0 {
				// A worker may hold the transform (an SA seen inside a
				// tunnel as well as outside).
				a.par.quiesce()
			}
			fresh = open(sa.tr.t, ip, h, uint32(seq>>32), report)
		}
		switch o.res.Outcome {
		case espcrypto.NotAuthenticated, espcrypto.Malformed:
			// A packet too short to carry its ICV cannot be authenticated
			// either; Linux counts both in XfrmInStateProtoError.
			sa.NotAuthenticated++
			a.anomaly(now, event.AuthenticationFailure, sa.Key, src, ref, o.res.Reason.String())
			if report {
				a.reportOpened(OutcomeNotAuthenticated, sa, now, seq, ip, h, ref, depth, o)
			}
			return
		}
		verified = true
	}
	// RFC 4303 §3.4.3: the window moves only once integrity is established
	// (without keys, every packet that passes the replay check moves it).
	sa.Window.Update(seq)
	if verified && o.res.Outcome == espcrypto.NotDecrypted {
		sa.NotDecrypted++
		a.anomaly(now, event.DecryptionFailure, sa.Key, src, ref, o.res.Reason.String())
		if report {
			a.reportOpened(OutcomeNotDecrypted, sa, now, seq, ip, h, ref, depth, o)
		}
		return
	}
	if sa.Accepted == 0 || seq < sa.MinSeq {
		sa.MinSeq = seq
	}
	if verdict == SeqReordered {
		sa.extension().reordered++
	}
	if sa.next != nil {
		sa.afterSwitch(now, seq)
	}
	if seq > sa.MaxSeq {
		sa.MaxSeq = seq
	}
	sa.Accepted++
	if sa.Accepted == 1 {
		sa.FirstAccepted = now
	}
	sa.Bytes += uint64(h.WireLen)
	if !verified {
		sa.Unverified++
	}
	if h.Truncated() {
		sa.Truncated++
		a.counts.TruncatedIPsec++
	}
	if report {
		// Before plaintext, which goes on to any nested SA: the tunnel's
		// call comes before those of what it carried.
		v := OutcomeUnverified
		if verified {
			v = OutcomeVerified
		}
		a.reportOpened(v, sa, now, seq, ip, h, ref, depth, o)
	}
	switch {
	case verified:
		a.plaintext(now, sa, o, ref, depth)
	case h.Proto == ipproto.AH:
		a.ahInner(sa, h)
	}
	if a.cfg.OnAccepted != nil {
		a.cfg.OnAccepted(sa, now)
	}
}

// ahInner reads what AH protects: it is in the clear (RFC 4302 §3.1), so the
// mode and the inner protocol and ports are known without keys.
func (a *Analyzer) ahInner(sa *SA, h *decode.IPsecHeader) {
	switch h.NextHeader {
	case ipproto.ESP:
		// An AH+ESP bundle: AH's own mode cannot be told from one header.
		sa.ahCarriesESP = true
		return
	case 4, 41:
		sa.Mode = ModeTunnel
	default:
		sa.Mode = ModeTransport
	}
	hl := 12 + len(h.ICV)
	if hl > len(h.Data) {
		return
	}
	in, err := decode.ParseInner(h.NextHeader, h.Data[hl:])
	if err != nil {
		return
	}
	sa.noteInner(in.Proto, in.SrcPort, in.DstPort, in.Src, in.Dst)
}

// SAs returns the tracked SAs in first-seen order. The pointers stay owned
// by the analyzer; read them only between calls to Packet.
func (a *Analyzer) SAs() []*SA {
	a.flush()
	return a.order
}

// Counts returns the non-SA tallies so far.
func (a *Analyzer) Counts() Counts {
	a.flush()
	return a.counts
}

// TimeSpan returns the first and last capture timestamps seen.
func (a *Analyzer) TimeSpan() (first, last time.Time) {
	if a.first == 0 {
		return time.Time{}, time.Time{}
	}
	return time.Unix(0, a.first).UTC(), time.Unix(0, a.end).UTC()
}
