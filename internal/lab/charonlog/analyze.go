package charonlog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Log is what one daemon's log says happened.
type Log struct {
	IKESAs   map[uint32]*IKESA   // by charon's unique IKE SA id
	Children map[uint32]*ChildSA // by charon's unique CHILD SA id, established ones only
	Failures []Failure
	Requests []Request // every request this daemon generated, in order
	// ResponseRetransmits are responses sent again because a request came
	// again (RFC 7296 §2.1).
	ResponseRetransmits []ResponseRetransmit
	// ConnAuth is the local authentication class per connection name, from
	// the cfg level-2 dump of the loaded configuration ("pre-shared key").
	ConnAuth map[string]string
	// DPD are the liveness checks this daemon sent ("sending DPD request":
	// an IKEv2 INFORMATIONAL without payloads but NAT-D notifies, RFC 7296
	// §2.4); Keepalives the NAT-T keepalives (RFC 3948 §2.3).
	DPD        []DPD
	Keepalives []time.Time
	First      time.Time
	Last       time.Time
}

// IKESA is an IKE SA (IKEv1 ISAKMP SA or IKEv2 IKE SA).
type IKESA struct {
	UID        uint32
	Name       string // connection name
	Version    int
	SPIi, SPIr [8]byte
	// Initiator is set when this daemon initiated the exchange that created
	// the SA (for an IKEv2 rekey: the rekeying CREATE_CHILD_SA).
	Initiator   bool
	Exchange    string    // IKEv1: ID_PROT or AGGRESSIVE; IKEv2: IKE_SA_INIT or CREATE_CHILD_SA (rekey)
	Established time.Time // "established" or, for a rekey, "rekeyed"
	RekeyOf     uint32    // the unique id of the SA this one replaced, 0 if none
	Keys        IKEKeys
	Deleting    time.Time // "deleting IKE_SA"
	SentDelete  bool      // this daemon sent the Delete
	RecvDelete  bool
	Destroyed   time.Time
	Line        int
}

// IKEKeys are the keys charon derived for an IKE SA. IKEv2: SK_d, SK_ai,
// SK_ar, SK_ei, SK_er (RFC 7296 §2.14). IKEv1: SKEYID_d, SKEYID_a and the
// encryption key Ka, already cut to the cipher's key length (RFC 2409 App. B).
type IKEKeys struct {
	SKd, SKai, SKar, SKei, SKer []byte
	SKEYIDd, SKEYIDa, Ka        []byte
}

func (k IKEKeys) empty() bool {
	return k.SKd == nil && k.SKai == nil && k.SKar == nil && k.SKei == nil && k.SKer == nil &&
		k.SKEYIDd == nil && k.SKEYIDa == nil && k.Ka == nil
}

// ChildSA is a CHILD SA (Quick Mode SA pair) this daemon installed.
type ChildSA struct {
	UID    uint32
	Name   string
	IKE    uint32 // unique id of the IKE SA that negotiated it
	Proto  string // ESP or AH
	SPIIn  uint32
	SPIOut uint32
	// Src/Dst of the inbound and outbound SAs as charon installed them.
	InSrc, InDst, OutSrc, OutDst netip.Addr
	// Initiator is set when this daemon initiated the exchange that created
	// the SA (IKE_AUTH, CREATE_CHILD_SA or Quick Mode).
	Initiator bool
	Exchange  string
	MsgID     uint32
	// Keys per direction of this daemon.
	EncIn, EncOut, IntegIn, IntegOut []byte
	Established                      time.Time
	TS                               string // "local === remote" as logged
	Closing                          time.Time
	Expired                          bool
	// BytesIn/BytesOut are the counters logged when closing (absent for
	// "closing expired"), HaveBytes tells whether they were.
	BytesIn, BytesOut uint64
	HaveBytes         bool
	SentDelete        time.Time // this daemon sent a Delete naming the SA
	RecvDelete        time.Time // this daemon received one
	// SentDeleteLine and RecvDeleteLine order the two within the log
	// (both sides of an IKEv2 Delete exchange often log the same ms).
	SentDeleteLine, RecvDeleteLine int
	Destroyed                      time.Time
	Rekeyed                        time.Time // state change to REKEYED (the rekey initiator logs it)
	Line                           int
}

// Failure is a CHILD SA negotiation that this daemon reports as failed.
type Failure struct {
	Time     time.Time
	IKE      uint32
	Exchange string
	MsgID    uint32
	// Initiator is set when this daemon started the exchange.
	Initiator  bool
	Child      string // CHILD SA config name, when the log names it
	Notify     string // notify received, e.g. NO_PROPOSAL_CHOSEN (initiator side)
	SentNotify string // notify in the response this daemon generated (responder side, abbreviated as charon prints it)
	Reasons    []string
	Line       int
}

// DPD is one liveness check this daemon sent (IKEv2: an INFORMATIONAL
// request, RFC 7296 §2.4).
type DPD struct {
	Time     time.Time
	IKE      uint32
	Exchange string
	MsgID    uint32
	// Answered: when the response was parsed; zero when none came.
	Answered    time.Time
	Retransmits []time.Time
	Line        int
	request     int // index in Requests
}

// ResponseRetransmit is a response sent again.
type ResponseRetransmit struct {
	Time  time.Time
	IKE   uint32
	MsgID uint32
	Line  int
}

// Request is an IKE request this daemon generated.
type Request struct {
	Time        time.Time
	IKE         uint32
	Exchange    string
	MsgID       uint32
	Payloads    string
	Child       string // CHILD SA being established by this request, if any
	Retransmits []time.Time
	Answered    time.Time // zero when no response was parsed
	// ExpectsResponse is false for requests that get no response: IKEv1
	// informational messages, the third Quick Mode message and the third
	// Aggressive Mode message.
	ExpectsResponse bool
	Line            int
}

var (
	reMsg          = regexp.MustCompile(`^(generating|parsed) (\S+) (request|response) (\d+) \[ ?(.*?) ?\]$`)
	reCheckin      = regexp.MustCompile(`^checkin IKEv([12]) SA (\S+)\[(\d+)\] with SPIs ([0-9a-f]{16})_i ([0-9a-f]{16})_r$`)
	reIKEEst       = regexp.MustCompile(`^IKE_SA (\S+)\[(\d+)\] (established|rekeyed) between `)
	reIKEInit      = regexp.MustCompile(`^initiating (?:(?:Main|Aggressive) Mode )?IKE_SA (\S+)\[(\d+)\] to `)
	reIKEDeleting  = regexp.MustCompile(`^deleting IKE_SA (\S+)\[(\d+)\] between `)
	reIKESendDel   = regexp.MustCompile(`^sending DELETE for IKE_SA (\S+)\[(\d+)\]$`)
	reIKERecvDel   = regexp.MustCompile(`^received DELETE for IKE_SA (\S+)\[(\d+)\]$`)
	reIKEState     = regexp.MustCompile(`^IKE_SA (\S+)\[(\d+)\] state change: (\S+) => (\S+)$`)
	reChildEst     = regexp.MustCompile(`^(?:(inbound|outbound) )?CHILD_SA (\S+)\{(\d+)\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o and TS (.*)$`)
	reChildClose   = regexp.MustCompile(`^closing (expired )?CHILD_SA (\S+)\{(\d+)\} with SPIs ([0-9a-f]{8})_i (?:\((\d+) bytes\) )?([0-9a-f]{8})_o (?:\((\d+) bytes\) )?and TS `)
	reChildState   = regexp.MustCompile(`^CHILD_SA (\S+)\{(\d+)\} state change: (\S+) => (\S+)$`)
	reChildSend    = regexp.MustCompile(`^sending DELETE for (ESP|AH) CHILD_SA with SPI ([0-9a-f]{8})$`)
	reChildRecv    = regexp.MustCompile(`^received DELETE for (ESP|AH) CHILD_SA with SPI ([0-9a-f]{8})$`)
	reEstablishing = regexp.MustCompile(`^establishing CHILD_SA (\S+)\{(\d+)\}`)
	reAddSA        = regexp.MustCompile(`^(adding|registering) (inbound|outbound) (ESP|AH) SA$`)
	reSASPI        = regexp.MustCompile(`^ +SPI 0x([0-9a-f]{8}), src (\S+) dst (\S+)$`)
	// IKEv2: "retransmit N of request with message ID M"; IKEv1: "sending
	// retransmit N of request message ID M, seq S".
	reRetransmit     = regexp.MustCompile(`^(?:sending )?retransmit (\d+) of request (?:with )?message ID (\d+)`)
	reRespRetransmit = regexp.MustCompile(`^received retransmit of request with ID (\d+), retransmitting response`)
	reRecvNotify     = regexp.MustCompile(`^received (\S+) (?:error )?notify`)
	reNotifyN        = regexp.MustCompile(`N\(([A-Z_]+)\)`)
	reConn           = regexp.MustCompile(`^ conn (\S+):$`)
	reKeepalive      = regexp.MustCompile(`^sending keep alive to `)
	reClass          = regexp.MustCompile(`^ {3}class = (.*)$`)
)

type msgState struct {
	exchange string
	msgID    uint32
	request  bool // the parsed/generated message was a request
	parsed   bool
	ctx      uint32
}

type childBlock struct {
	ike                          uint32
	role                         int // 1 initiator of the exchange, -1 responder, 0 unknown
	exchange                     string
	msgID                        uint32
	encI, encR, integI, integR   []byte
	seedI                        []byte
	haveIn, haveOut              bool
	spiIn, spiOut                uint32
	inSrc, inDst, outSrc, outDst netip.Addr
	proto                        string
	expect                       string // "in" or "out": the next SPI line belongs to that SA
	line                         int
}

// Analyze turns parsed lines into SAs, keys and events. name is used in
// errors.
//
// Key dumps are assigned as charon's code paths produce them:
//   - IKE keys are pending on the IKE SA whose context logged them until an
//     "IKE_SA name[N] established|rekeyed" line names the SA they belong to.
//     An IKEv2 rekey logs the new SA's keys in the old SA's context on the
//     initiator and in the new SA's context on the responder; IKEv1 derives
//     keys on one worker thread and reports "established" on another.
//   - CHILD keys ("encryption initiator key", ...) are followed, on the same
//     thread, by the SAs they are installed in and "CHILD_SA name{N}
//     established". "initiator" means traffic from the initiator of the
//     exchange: IKEv2 takes the role from the last message parsed on that
//     thread (a request: responder), IKEv1 from the SPI inside the
//     "initiator SA seed" (RFC 2409 §5.5: protocol | SPI | Ni_b | Nr_b,
//     preceded by g(qm)^xy with PFS).
func Analyze(lines []Line, name string) (*Log, error) {
	lg := &Log{IKESAs: map[uint32]*IKESA{}, Children: map[uint32]*ChildSA{}, ConnAuth: map[string]string{}}
	lastMsg := map[int]*msgState{}
	blocks := map[int]*childBlock{}
	establishing := map[int]string{} // thread -> child name being established
	pendingKeys := map[uint32]*IKEKeys{}
	reqIdx := map[string]int{} // ctx/exchange/mid -> index of the last request
	var confName string
	var confSection string
	dpdPending := map[uint32]bool{} // IKE SA context -> "sending DPD request" seen

	ike := func(uid uint32) *IKESA {
		s := lg.IKESAs[uid]
		if s == nil {
			s = &IKESA{UID: uid}
			lg.IKESAs[uid] = s
		}
		return s
	}
	childBySPI := func(spi uint32, in bool) *ChildSA {
		var best *ChildSA
		for _, c := range lg.Children {
			if (in && c.SPIIn == spi) || (!in && c.SPIOut == spi) {
				if best == nil || c.UID > best.UID {
					best = c
				}
			}
		}
		return best
	}
	errf := func(l Line, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", name, l.Num, fmt.Sprintf(format, a...))
	}

	for _, l := range lines {
		if lg.First.IsZero() {
			lg.First = l.Time
		}
		lg.Last = l.Time
		t := l.Text

		// Configuration dump (cfg level 2) for the auth class of each connection.
		if l.Group == "CFG" && l.Ctx.UID == 0 {
			if m := reConn.FindStringSubmatch(t); m != nil {
				confName, confSection = m[1], ""
				continue
			}
			switch t {
			case "  local:", "  remote:":
				confSection = strings.TrimSpace(strings.TrimSuffix(t, ":"))
				continue
			}
			if m := reClass.FindStringSubmatch(t); m != nil && confName != "" && confSection == "local" {
				if _, ok := lg.ConnAuth[confName]; !ok {
					lg.ConnAuth[confName] = m[1]
				}
				continue
			}
		}

		if l.DumpName != "" {
			if err := analyzeDump(l, lg, blocks, pendingKeys, lastMsg); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, l.Num, err)
			}
			continue
		}

		if m := reMsg.FindStringSubmatch(t); m != nil {
			mid, _ := strconv.ParseUint(m[4], 10, 32)
			st := &msgState{exchange: m[2], msgID: uint32(mid), request: m[3] == "request", parsed: m[1] == "parsed", ctx: l.Ctx.UID}
			lastMsg[l.Thread] = st
			key := fmt.Sprintf("%d/%s/%d", l.Ctx.UID, m[2], mid)
			if m[1] == "generating" && st.request {
				r := Request{Time: l.Time, IKE: l.Ctx.UID, Exchange: m[2], MsgID: uint32(mid), Payloads: m[5],
					Child: establishing[l.Thread], ExpectsResponse: expectsResponse(m[2], m[5]), Line: l.Num}
				delete(establishing, l.Thread)
				if dpdPending[l.Ctx.UID] {
					delete(dpdPending, l.Ctx.UID)
					if m[2] != "INFORMATIONAL" {
						// IKEv1's R-U-THERE (RFC 3706) is answered by a
						// notify of its own; no lab scenario has one.
						return nil, errf(l, "DPD by %s: only IKEv2 liveness checks are analysed", m[2])
					}
					lg.DPD = append(lg.DPD, DPD{Time: l.Time, IKE: l.Ctx.UID, Exchange: m[2], MsgID: uint32(mid), Line: l.Num, request: len(lg.Requests)})
				}
				reqIdx[key] = len(lg.Requests)
				lg.Requests = append(lg.Requests, r)
				if m[2] == "ID_PROT" || m[2] == "AGGRESSIVE" || m[2] == "IKE_SA_INIT" {
					s := ike(l.Ctx.UID)
					if s.Exchange == "" {
						s.Exchange = m[2]
					}
				}
			}
			if m[1] == "parsed" && st.request && (m[2] == "ID_PROT" || m[2] == "AGGRESSIVE" || m[2] == "IKE_SA_INIT") {
				s := ike(l.Ctx.UID)
				if s.Exchange == "" {
					s.Exchange = m[2]
				}
			}
			if m[1] == "parsed" && !st.request {
				if i, ok := reqIdx[key]; ok && lg.Requests[i].Answered.IsZero() {
					lg.Requests[i].Answered = l.Time
				}
			}
			if m[1] == "generating" && !st.request {
				// A response carrying an error notify for a failed CHILD SA.
				for i := len(lg.Failures) - 1; i >= 0; i-- {
					f := &lg.Failures[i]
					if f.IKE == l.Ctx.UID && !f.Initiator && f.SentNotify == "" && f.Exchange == m[2] && f.MsgID == uint32(mid) {
						for _, n := range reNotifyN.FindAllStringSubmatch(m[5], -1) {
							if isErrorNotifyAbbrev(n[1]) {
								f.SentNotify = n[1]
							}
						}
					}
				}
			}
			continue
		}
		if t == "sending DPD request" {
			dpdPending[l.Ctx.UID] = true
			continue
		}
		if reKeepalive.MatchString(t) {
			lg.Keepalives = append(lg.Keepalives, l.Time)
			continue
		}
		if m := reCheckin.FindStringSubmatch(t); m != nil {
			uid := atou32(m[3])
			s := ike(uid)
			s.Version, _ = strconv.Atoi(m[1])
			s.Name = m[2]
			if m[5] != "0000000000000000" || s.SPIi == [8]byte{} {
				hex.Decode(s.SPIi[:], []byte(m[4]))
				hex.Decode(s.SPIr[:], []byte(m[5]))
			}
			continue
		}
		if m := reIKEInit.FindStringSubmatch(t); m != nil {
			s := ike(atou32(m[2]))
			s.Name = m[1]
			s.Initiator = true
			if l.Ctx.UID != 0 && l.Ctx.UID != s.UID {
				s.Exchange = "CREATE_CHILD_SA"
				s.RekeyOf = l.Ctx.UID
			}
			continue
		}
		if m := reIKEEst.FindStringSubmatch(t); m != nil {
			uid := atou32(m[2])
			s := ike(uid)
			s.Name = m[1]
			s.Established = l.Time
			s.Line = l.Num
			if m[3] == "rekeyed" {
				s.Exchange = "CREATE_CHILD_SA"
				if l.Ctx.UID != uid {
					s.RekeyOf = l.Ctx.UID
				}
			}
			k := pendingKeys[uid]
			if k == nil || k.empty() {
				k = pendingKeys[l.Ctx.UID]
			}
			if k == nil || k.empty() {
				return nil, errf(l, "IKE SA %s[%d] %s without keys logged before it (is ike at level 4?)", m[1], uid, m[3])
			}
			s.Keys = *k
			delete(pendingKeys, uid)
			delete(pendingKeys, l.Ctx.UID)
			continue
		}
		if m := reIKEDeleting.FindStringSubmatch(t); m != nil {
			s := ike(atou32(m[2]))
			if s.Deleting.IsZero() {
				s.Deleting = l.Time
			}
			continue
		}
		if m := reIKESendDel.FindStringSubmatch(t); m != nil {
			ike(atou32(m[2])).SentDelete = true
			continue
		}
		if m := reIKERecvDel.FindStringSubmatch(t); m != nil {
			ike(atou32(m[2])).RecvDelete = true
			continue
		}
		if m := reIKEState.FindStringSubmatch(t); m != nil {
			if m[4] == "DESTROYING" {
				ike(atou32(m[2])).Destroyed = l.Time
			}
			continue
		}
		if m := reEstablishing.FindStringSubmatch(t); m != nil {
			establishing[l.Thread] = m[1]
			continue
		}
		if m := reAddSA.FindStringSubmatch(t); m != nil {
			b := blocks[l.Thread]
			if b == nil {
				// charon installs an IKEv2 responder's outbound SA of a
				// rekey only when the old SA is deleted: already recorded.
				continue
			}
			b.proto = m[3]
			b.expect = m[2]
			continue
		}
		if m := reSASPI.FindStringSubmatch(t); m != nil {
			b := blocks[l.Thread]
			if b == nil || b.expect == "" {
				continue
			}
			spi := uint32(hexU32(m[1]))
			src, err1 := netip.ParseAddr(m[2])
			dst, err2 := netip.ParseAddr(m[3])
			if err1 != nil || err2 != nil {
				return nil, errf(l, "SA addresses %q %q", m[2], m[3])
			}
			if b.expect == "in" || b.expect == "inbound" {
				b.spiIn, b.inSrc, b.inDst, b.haveIn = spi, src, dst, true
			} else {
				b.spiOut, b.outSrc, b.outDst, b.haveOut = spi, src, dst, true
			}
			b.expect = ""
			continue
		}
		if m := reChildEst.FindStringSubmatch(t); m != nil {
			uid := atou32(m[3])
			if m[1] == "outbound" {
				// the second half of an IKEv2 rekey responder's SA: already recorded.
				if c := lg.Children[uid]; c == nil {
					return nil, errf(l, "outbound CHILD_SA %s{%d} established without its inbound SA", m[2], uid)
				}
				continue
			}
			b := blocks[l.Thread]
			if b == nil {
				return nil, errf(l, "CHILD_SA %s{%d} established without keys logged before it on thread %d (is chd at level 4?)", m[2], uid, l.Thread)
			}
			delete(blocks, l.Thread)
			in, out := hexU32(m[4]), hexU32(m[5])
			if !b.haveIn || !b.haveOut || b.spiIn != in || b.spiOut != out {
				return nil, errf(l, "CHILD_SA %s{%d}: SPIs %08x/%08x do not match the SAs installed before it", m[2], uid, in, out)
			}
			c := &ChildSA{UID: uid, Name: m[2], IKE: l.Ctx.UID, Proto: b.proto, SPIIn: in, SPIOut: out,
				InSrc: b.inSrc, InDst: b.inDst, OutSrc: b.outSrc, OutDst: b.outDst,
				Exchange: b.exchange, MsgID: b.msgID, Established: l.Time, TS: m[6], Line: l.Num}
			role := b.role
			if b.seedI != nil {
				role = seedRole(b.seedI, b.proto, in, out)
				if role == 0 {
					return nil, errf(l, "CHILD_SA %s{%d}: neither SPI %08x nor %08x is in the initiator SA seed", m[2], uid, in, out)
				}
			}
			if role == 0 {
				return nil, errf(l, "CHILD_SA %s{%d}: cannot tell whether this daemon initiated the exchange", m[2], uid)
			}
			c.Initiator = role > 0
			// "initiator" keys protect traffic from the exchange initiator.
			if c.Initiator {
				c.EncOut, c.EncIn, c.IntegOut, c.IntegIn = b.encI, b.encR, b.integI, b.integR
			} else {
				c.EncIn, c.EncOut, c.IntegIn, c.IntegOut = b.encI, b.encR, b.integI, b.integR
			}
			lg.Children[uid] = c
			continue
		}
		if m := reChildClose.FindStringSubmatch(t); m != nil {
			c := lg.Children[atou32(m[3])]
			if c == nil {
				continue // a CHILD SA that never got established
			}
			c.Closing = l.Time
			c.Expired = m[1] != ""
			if m[5] != "" && m[7] != "" {
				c.BytesIn, _ = strconv.ParseUint(m[5], 10, 64)
				c.BytesOut, _ = strconv.ParseUint(m[7], 10, 64)
				c.HaveBytes = true
			}
			continue
		}
		if m := reChildState.FindStringSubmatch(t); m != nil {
			c := lg.Children[atou32(m[2])]
			if c == nil {
				continue
			}
			switch m[4] {
			case "DESTROYING":
				c.Destroyed = l.Time
			case "REKEYED":
				if c.Rekeyed.IsZero() {
					c.Rekeyed = l.Time
				}
			}
			continue
		}
		if m := reChildSend.FindStringSubmatch(t); m != nil {
			if c := childBySPI(hexU32(m[2]), true); c != nil && c.SentDelete.IsZero() {
				c.SentDelete, c.SentDeleteLine = l.Time, l.Num
			}
			continue
		}
		if m := reChildRecv.FindStringSubmatch(t); m != nil {
			if c := childBySPI(hexU32(m[2]), false); c != nil && c.RecvDelete.IsZero() {
				c.RecvDelete, c.RecvDeleteLine = l.Time, l.Num
			}
			continue
		}
		if m := reRetransmit.FindStringSubmatch(t); m != nil {
			mid := atou32(m[2])
			for i := len(lg.Requests) - 1; i >= 0; i-- {
				r := &lg.Requests[i]
				if r.IKE == l.Ctx.UID && r.MsgID == mid {
					r.Retransmits = append(r.Retransmits, l.Time)
					break
				}
			}
			continue
		}
		if m := reRespRetransmit.FindStringSubmatch(t); m != nil {
			lg.ResponseRetransmits = append(lg.ResponseRetransmits, ResponseRetransmit{Time: l.Time, IKE: l.Ctx.UID, MsgID: atou32(m[1]), Line: l.Num})
			continue
		}
		if m := reRecvNotify.FindStringSubmatch(t); m != nil && strings.Contains(t, "no CHILD_SA built") {
			st := lastMsg[l.Thread]
			f := Failure{Time: l.Time, IKE: l.Ctx.UID, Initiator: true, Notify: m[1], Line: l.Num}
			if st != nil {
				f.Exchange, f.MsgID = st.exchange, st.msgID
			}
			for i := len(lg.Requests) - 1; i >= 0; i-- {
				r := lg.Requests[i]
				if r.IKE == f.IKE && r.Exchange == f.Exchange && r.MsgID == f.MsgID {
					f.Child = r.Child
					break
				}
			}
			lg.Failures = append(lg.Failures, f)
			continue
		}
		if strings.HasPrefix(t, "failed to establish CHILD_SA") {
			// The initiator has already recorded the failure with its notify.
			if n := len(lg.Failures); n > 0 && lg.Failures[n-1].Initiator && lg.Failures[n-1].IKE == l.Ctx.UID && lg.Failures[n-1].Line >= l.Num-3 {
				continue
			}
			st := lastMsg[l.Thread]
			f := Failure{Time: l.Time, IKE: l.Ctx.UID, Line: l.Num}
			if st != nil {
				f.Exchange, f.MsgID = st.exchange, st.msgID
				f.Initiator = st.parsed && !st.request
			}
			f.Reasons = recentReasons(lines, l)
			lg.Failures = append(lg.Failures, f)
			delete(blocks, l.Thread)
			continue
		}
	}
	for i := range lg.DPD {
		d := &lg.DPD[i]
		d.Answered = lg.Requests[d.request].Answered
		d.Retransmits = lg.Requests[d.request].Retransmits
	}
	return lg, nil
}

// analyzeDump files a hex dump as an IKE key, a CHILD key or a seed.
func analyzeDump(l Line, lg *Log, blocks map[int]*childBlock, pending map[uint32]*IKEKeys, lastMsg map[int]*msgState) error {
	keys := func() *IKEKeys {
		k := pending[l.Ctx.UID]
		if k == nil {
			k = &IKEKeys{}
			pending[l.Ctx.UID] = k
		}
		return k
	}
	d := append([]byte(nil), l.Dump...)
	switch l.DumpName {
	case "Sk_d secret":
		keys().SKd = d
	case "Sk_ai secret":
		keys().SKai = d
	case "Sk_ar secret":
		keys().SKar = d
	case "Sk_ei secret":
		keys().SKei = d
	case "Sk_er secret":
		keys().SKer = d
	case "SKEYID_d":
		keys().SKEYIDd = d
	case "SKEYID_a":
		keys().SKEYIDa = d
	case "encryption key Ka":
		keys().Ka = d
	case "initiator SA seed", "encryption initiator key", "encryption responder key", "integrity initiator key", "integrity responder key":
		b := blocks[l.Thread]
		if b == nil || b.haveIn || b.haveOut || b.slot(l.DumpName) != nil {
			b = &childBlock{ike: l.Ctx.UID, line: l.Num}
			if st := lastMsg[l.Thread]; st != nil {
				b.exchange, b.msgID = st.exchange, st.msgID
				if st.parsed {
					if st.request {
						b.role = -1
					} else {
						b.role = 1
					}
				}
			}
			blocks[l.Thread] = b
		}
		switch l.DumpName {
		case "initiator SA seed":
			b.seedI = d
		case "encryption initiator key":
			b.encI = d
		case "encryption responder key":
			b.encR = d
		case "integrity initiator key":
			b.integI = d
		case "integrity responder key":
			b.integR = d
		}
	}
	return nil
}

func (b *childBlock) slot(name string) []byte {
	switch name {
	case "initiator SA seed":
		return b.seedI
	case "encryption initiator key":
		return b.encI
	case "encryption responder key":
		return b.encR
	case "integrity initiator key":
		return b.integI
	case "integrity responder key":
		return b.integR
	}
	return nil
}

// seedRole finds which SA the IKEv1 initiator seed names: 1 when it is the
// outbound SA (this daemon initiated the Quick Mode), -1 when inbound.
func seedRole(seed []byte, proto string, in, out uint32) int {
	p := byte(3) // PROTO_IPSEC_ESP (RFC 2407 §4.4.1)
	if proto == "AH" {
		p = 2
	}
	pat := func(spi uint32) []byte {
		b := []byte{p, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], spi)
		return b
	}
	hasOut, hasIn := bytes.Contains(seed, pat(out)), bytes.Contains(seed, pat(in))
	switch {
	case hasOut && !hasIn:
		return 1
	case hasIn && !hasOut:
		return -1
	}
	return 0
}

// expectsResponse tells which IKEv1 "requests" are answered (IKEv2 requests
// always are, RFC 7296 §2).
func expectsResponse(exchange, payloads string) bool {
	switch exchange {
	case "INFORMATIONAL_V1", "TRANSACTION":
		return false
	case "QUICK_MODE", "AGGRESSIVE":
		// QM1 and AM1 carry the SA payload; QM3 (HASH) and AM3 do not.
		for _, p := range strings.Fields(payloads) {
			if p == "SA" {
				return true
			}
		}
		return false
	}
	return true
}

// isErrorNotifyAbbrev reports charon's abbreviations of error notify types
// (RFC 7296 §3.10.1: types below 16384), as it prints them in payload lists.
func isErrorNotifyAbbrev(n string) bool {
	switch n {
	case "UNSUPPORTED_CRITICAL_PAYLOAD", "INVALID_IKE_SPI", "INVALID_MAJOR_VERSION", "INVALID_SYNTAX",
		"INVALID_MESSAGE_ID", "INVALID_SPI", "NO_PROP", "INVALID_KE_PAYLOAD", "AUTH_FAILED", "SINGLE_PAIR_REQUIRED",
		"NO_ADD_SAS", "INTERNAL_ADDRESS_FAILURE", "FAILED_CP_REQUIRED", "TS_UNACCEPT", "INVALID_SELECTORS",
		"TEMP_FAILURE", "CHILD_SA_NOT_FOUND":
		return true
	}
	return false
}

// recentReasons collects the error lines a daemon logged on the same thread
// just before "failed to establish CHILD_SA".
func recentReasons(lines []Line, at Line) []string {
	var out []string
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if l.Num >= at.Num || l.Thread != at.Thread {
			continue
		}
		if at.Num-l.Num > 30 {
			break
		}
		if strings.HasPrefix(l.Text, "parsed ") || strings.HasPrefix(l.Text, "generating ") {
			break
		}
		t := strings.TrimSpace(l.Text)
		if strings.Contains(t, "unsupported") || strings.Contains(t, "unable to") || strings.Contains(t, "failed") || strings.Contains(t, "no acceptable") {
			out = append(out, t)
		}
	}
	// oldest first, without repeats
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	var uniq []string
	seen := map[string]bool{}
	for _, r := range out {
		if !seen[r] {
			seen[r] = true
			uniq = append(uniq, r)
		}
	}
	return uniq
}

func atou32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

func hexU32(s string) uint32 {
	n, _ := strconv.ParseUint(s, 16, 32)
	return uint32(n)
}

// String names the keys present and their lengths, never their bytes.
func (k IKEKeys) String() string {
	var parts []string
	for _, p := range []struct {
		name string
		b    []byte
	}{{"SK_d", k.SKd}, {"SK_ai", k.SKai}, {"SK_ar", k.SKar}, {"SK_ei", k.SKei}, {"SK_er", k.SKer},
		{"SKEYID_d", k.SKEYIDd}, {"SKEYID_a", k.SKEYIDa}, {"Ka", k.Ka}} {
		if p.b != nil {
			parts = append(parts, fmt.Sprintf("%s[%d]", p.name, len(p.b)))
		}
	}
	return "keys{" + strings.Join(parts, " ") + "}"
}

// String describes an IKE SA without its keys.
func (s *IKESA) String() string {
	return fmt.Sprintf("IKEv%d SA %s[%d] %x_i %x_r initiator=%v exchange=%s rekey-of=%d %s", s.Version, s.Name, s.UID,
		s.SPIi, s.SPIr, s.Initiator, s.Exchange, s.RekeyOf, s.Keys)
}

// String describes a CHILD SA without its keys.
func (c *ChildSA) String() string {
	return fmt.Sprintf("CHILD SA %s{%d} of IKE SA %d %s in %08x out %08x initiator=%v %s %d keys enc %d/%d integ %d/%d",
		c.Name, c.UID, c.IKE, c.Proto, c.SPIIn, c.SPIOut, c.Initiator, c.Exchange, c.MsgID,
		len(c.EncIn), len(c.EncOut), len(c.IntegIn), len(c.IntegOut))
}
