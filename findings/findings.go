// Package findings audits what an analysis found: weak or missing
// cryptography negotiated for IKE and Quick Mode SAs, IKE exchanges that
// invite attack (Aggressive Mode with a pre-shared key), missing forward
// secrecy, tunnels that are idle or dead, Bad SPI bursts, path MTU
// trouble, NAT mapping changes and policy violations. Each finding names
// what it is about (a Quick Mode SA, an IKE SA or a tunnel), says what was
// seen and why it matters, citing the RFC, and carries a severity.
//
// Names follow Suricata's IKE events in snake case where Suricata has one
// (weak_crypto_enc, ...), ipsecmon's own otherwise. Algorithms are
// classified from package algo's typed values, never from their names.
package findings

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"ipsecmon/analyzer"
	"ipsecmon/ikestate"
	"ipsecmon/timeline"
)

// Kind names a finding.
type Kind uint8

const (
	Invalid Kind = iota
	WeakCryptoEnc
	WeakCryptoAuth
	WeakCryptoPRF
	WeakCryptoDH
	WeakCryptoNoDH
	WeakCryptoNoAuth
	NoEncryption
	MultipleServerProposal
	AggressiveModePSK
	NoPFS
	ESNNeeded
	ReplayWindowSmall
	RekeyLoss
	RekeyCollision
	BadSPIBurst
	MTUFragmentation
	TunnelIdle
	TunnelDead
	NATMappingChanged
	PolicyViolation
	numKinds
)

var kindNames = [numKinds]string{
	Invalid:                "invalid",
	WeakCryptoEnc:          "weak_crypto_enc",
	WeakCryptoAuth:         "weak_crypto_auth",
	WeakCryptoPRF:          "weak_crypto_prf",
	WeakCryptoDH:           "weak_crypto_dh",
	WeakCryptoNoDH:         "weak_crypto_no_dh",
	WeakCryptoNoAuth:       "weak_crypto_no_auth",
	NoEncryption:           "no_encryption",
	MultipleServerProposal: "multiple_server_proposal",
	AggressiveModePSK:      "aggressive_mode_psk",
	NoPFS:                  "no_pfs",
	ESNNeeded:              "esn_needed",
	ReplayWindowSmall:      "replay_window_small",
	RekeyLoss:              "rekey_loss",
	RekeyCollision:         "rekey_collision",
	BadSPIBurst:            "bad_spi_burst",
	MTUFragmentation:       "mtu_fragmentation",
	TunnelIdle:             "tunnel_idle",
	TunnelDead:             "tunnel_dead",
	NATMappingChanged:      "nat_mapping_changed",
	PolicyViolation:        "policy_violation",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds lists every finding's name, in the order above.
func Kinds() []string { return slices.Clone(kindNames[1:]) }

// Severity ranks findings: Critical, traffic meant to be protected was
// not; High, protection that is absent or breakable in practice, or a
// tunnel that is down; Medium, cryptography the RFCs say must or should not
// be used, or trouble that loses traffic; Low, cryptography the RFCs keep
// for now but expect to retire, or weaker than it could be; Info, worth
// knowing, not a fault.
type Severity uint8

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want %s)", s, strings.Join(severityNames[:], ", "))
}

// Finding is one thing the audit found, about one Quick Mode SA (SPIIn
// and/or SPIOut set), one IKE SA (IKESA set) or one tunnel.
type Finding struct {
	Kind     Kind
	Severity Severity
	// SPIIn and SPIOut are the Quick Mode SA's SPIs (HasIn/HasOut: the
	// direction exists).
	SPIIn, SPIOut uint32
	HasIn, HasOut bool
	IKESA         *ikestate.IKESARef
	Local, Remote netip.Addr
	Time          time.Time
	Detail        string
	// Until is when the condition was last seen (bursts, one-way traffic);
	// zero when the finding is about one moment.
	Until time.Time
}

// IKESAText is the IKE SA's SPIs (cookies for IKEv1) as "ispi:rspi" in
// hex, or "" for a finding about no IKE SA.
func (f *Finding) IKESAText() string {
	if f.IKESA == nil {
		return ""
	}
	return f.IKESA.ISPI.String() + ":" + f.IKESA.RSPI.String()
}

// Input is what the audit reads: the snapshot at the end of the run, and
// the timeline of the same run (nil: the findings that need one are left
// out).
type Input struct {
	Snap     *analyzer.Snapshot
	Timeline *timeline.Timeline
}

// Audit returns every finding, most severe first, then by time.
func Audit(in Input) []Finding {
	var out []Finding
	a := &auditor{in: in, snap: in.Snap}
	a.index()
	for _, step := range []func() []Finding{a.saCrypto, a.ikeCrypto, a.policy, a.liveness, a.natMapping, a.mtu, a.badSPIBursts, a.rekeyLoss, a.rekeyCollision, a.sequence} {
		out = append(out, step()...)
	}
	slices.SortStableFunc(out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(y.Severity, x.Severity), x.Time.Compare(y.Time), cmp.Compare(x.Kind, y.Kind))
	})
	return out
}

// Worst is the highest severity among fs, and false when fs is empty.
func Worst(fs []Finding) (Severity, bool) {
	if len(fs) == 0 {
		return 0, false
	}
	w := Info
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w, true
}

// auditor holds what several checks look up.
type auditor struct {
	in   Input
	snap *analyzer.Snapshot
	// ikeByID: the IKE SAs by tracker ID.
	ikeByID map[int]*ikestate.IKESA
	mine    func(netip.Addr) bool
}

func (a *auditor) index() {
	a.ikeByID = map[int]*ikestate.IKESA{}
	for i := range a.snap.IKESAs {
		s := &a.snap.IKESAs[i]
		a.ikeByID[s.ID] = s
	}
	me := map[netip.Addr]bool{}
	for _, m := range a.snap.Me {
		me[m] = true
	}
	for _, m := range a.snap.MeLinked {
		me[m] = true
	}
	a.mine = func(x netip.Addr) bool { return me[x] }
}

// saFinding starts a finding about a Quick Mode SA.
func saFinding(k Kind, sev Severity, r *analyzer.QuickModeSA) Finding {
	f := Finding{Kind: k, Severity: sev, Local: r.MyAddr, Remote: r.PeerAddr}
	if r.In != nil {
		f.SPIIn, f.HasIn = r.In.Key.SPI, true
	}
	if r.Out != nil {
		f.SPIOut, f.HasOut = r.Out.Key.SPI, true
	}
	first := r.Any()
	f.Time = time.Unix(0, first.FirstSeen).UTC()
	if n := negotiation(r); n != nil {
		ref := n.Child.IKESA
		f.IKESA = &ref
		f.Time = n.Child.Created
	}
	return f
}

// ikeFinding starts a finding about an IKE SA: local is this host's end
// when it is one, else the initiator.
func (a *auditor) ikeFinding(k Kind, sev Severity, s *ikestate.IKESA) Finding {
	ref := s.IKESARef
	f := Finding{Kind: k, Severity: sev, IKESA: &ref, Local: s.Initiator.Addr(), Remote: s.Responder.Addr(), Time: s.Started}
	if a.mine(s.Responder.Addr()) && !a.mine(s.Initiator.Addr()) {
		f.Local, f.Remote = f.Remote, f.Local
	}
	if !s.Established.IsZero() {
		f.Time = s.Established
	}
	return f
}

// negotiation is what IKE negotiated for a row, or nil.
func negotiation(r *analyzer.QuickModeSA) *analyzer.Negotiated {
	for _, sa := range r.SAs() {
		if n := sa.Negotiation(); n != nil {
			return n
		}
	}
	return nil
}

// tm is a time of the capture clock (Unix nanoseconds).
func tm(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// clock is a moment in a detail: the time of day in UTC, to the millisecond
// (the table's Time column has the date).
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }
