package hosts

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"ipsecmon/algo"
)

// Direction says whether an SA protects traffic received (In) or sent (Out) by the host.
type Direction uint8

const (
	DirUnknown Direction = iota
	DirIn
	DirOut
)

func (d Direction) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "unknown"
}

// Basis says what a host's byte counter counts; see the package comment for
// the sources behind each value.
type Basis uint8

const (
	BasisUnknown Basis = iota
	// BasisLinuxXfrmIn: the decapsulated length (tunnel: the inner IP
	// packet; transport: the payload after the IP header).
	BasisLinuxXfrmIn
	// BasisLinuxXfrmOut: the outgoing packet without ESP padding, trailer and ICV.
	BasisLinuxXfrmOut
	// BasisLinuxXfrm: a Linux XFRM counter whose direction is not known yet;
	// ResolveDirections turns it into BasisLinuxXfrmIn or BasisLinuxXfrmOut.
	BasisLinuxXfrm
	// BasisInnerIP: the plaintext inner IP packet in both directions
	// (strongSwan kernel-libipsec).
	BasisInnerIP
)

func (b Basis) String() string {
	switch b {
	case BasisLinuxXfrmIn:
		return "linux-xfrm-in"
	case BasisLinuxXfrmOut:
		return "linux-xfrm-out"
	case BasisLinuxXfrm:
		return "linux-xfrm"
	case BasisInnerIP:
		return "inner-ip"
	}
	return "unknown"
}

// SA is one security association as the host lists it. Pointer counters are
// nil when the source does not report them; SPI 0 means the source names no
// SPI (RFC 4303 §2.1 reserves 0, so no real SA has it).
type SA struct {
	Proto    uint8
	SPI      uint32
	Src, Dst netip.Addr // outer addresses; invalid when not given
	Dir      Direction

	Packets, Bytes *uint64
	ByteBasis      Basis

	// Linux XFRM per-SA statistics (struct xfrm_stats): packets dropped
	// because they were left of the replay window, duplicates, and
	// integrity (ICV or decryption) failures.
	ReplayWindowDrops, ReplayDrops, IntegrityFailed *uint64
	// ReplaySeq is the highest sequence number received and ReplayOSeq the
	// last one sent (XFRM anti-replay context, high bits included with ESN).
	ReplaySeq, ReplayOSeq *uint64
	WindowSize            int // anti-replay window in packets; 0 when not given

	Mode       string // "tunnel", "transport", "beet", ... lower case; "" when not given
	Enc        algo.Enc
	EncKeyBits int
	Auth       algo.Auth
	AlgText    string // the algorithms as the source printed them
	ESN        bool

	EncapSport, EncapDport uint16 // UDP encapsulation (RFC 3948); 0 when none or not given
	LocalTS, RemoteTS      []netip.Prefix
	SelSrc, SelDst         netip.Prefix // XFRM state selector; invalid when not given

	Child, IKESA string // CHILD SA / connection name and IKE SA name as the source names them
	ReqID        uint32
	State        string // the daemon's state, e.g. INSTALLED, REKEYED, DELETED
	// FromEvent: the entry comes from an event log, not a listing: its
	// state is the one of that event, not of the time the snapshot stands for.
	FromEvent bool

	AddTime                 time.Time      // absolute install time when the source gives one (host's clock, to the second)
	Age, RekeyIn, ExpiresIn *time.Duration // relative times as printed
	Origin                  string         // "file:line" of the entry
}

// Counters are host-wide IPsec counters. Each named field is filled from
// the source's own counter of that meaning:
//
//	BadSPI           XfrmInNoStates; IPsec Driver "Incorrect SPI Packets"; netsh "Bad SPI Pkts"
//	ReplayFailed     XfrmInStateSeqError; "Packets That Failed Replay Detection"; netsh "Pkts with Replay Detection"
//	ProtoError       XfrmInStateProtoError (Linux does not tell decryption from authentication failures)
//	NotDecrypted     "Packets Not Decrypted"; netsh "Pkts not Decrypted"
//	NotAuthenticated "Packets Not Authenticated"; netsh "Pkts not Authenticated"
//	ActiveSAs        "Active Security Associations"; netsh "Active Assoc"
type Counters struct {
	BadSPI, ReplayFailed, ProtoError *uint64
	NotDecrypted, NotAuthenticated   *uint64
	ActiveSAs                        *uint64
	Raw                              map[string]uint64 // every counter the source printed, by its own label
}

// DaemonCounters are keying figures: from the IKE daemon (strongSwan's
// counters plugin) or from Windows' IPsec driver.
type DaemonCounters struct {
	KeyAdditions, KeyDeletions, Rekeys *uint64
	Raw                                map[string]uint64
}

// Snapshot is one host source read at one time.
type Snapshot struct {
	Source string    // file name or live spec
	Format string    // one of the Format* constants
	Time   time.Time // when the snapshot was taken; zero when unknown
	SAs    []SA
	Global Counters
	Daemon *DaemonCounters
	// Authoritative is set when SAs is the host's whole SA database (an
	// XFRM dump), so that an SPI absent from it is a Bad SPI.
	Authoritative bool
	// Backend is the strongSwan kernel backend ("kernel-libipsec",
	// "kernel-netlink") when the source names it.
	Backend string
	// Warnings are non-fatal findings (e.g. lines the parser skipped).
	Warnings []string
}

// Formats Parse recognises.
const (
	FormatXfrmState        = "ip-xfrm-state"
	FormatXfrmStat         = "proc-xfrm-stat"
	FormatSwanctl          = "swanctl-list-sas"
	FormatSwanctlRaw       = "swanctl-list-sas-raw"
	FormatSwanctlCounters  = "swanctl-counters"
	FormatStatusAll        = "ipsec-statusall"
	FormatLibreswanTraffic = "libreswan-trafficstatus"
	FormatWindowsQMSA      = "windows-quickmodesa-json"
	FormatTypeperfCSV      = "windows-typeperf-csv"
	FormatGetCounter       = "windows-get-counter"
	FormatNetshStats       = "windows-netsh-stats"
	FormatLiveXfrm         = "live-xfrm"
	FormatLiveVici         = "live-vici"
)

// ListsSAs tells whether one of the snapshot's sources lists the host's
// current SAs, so that an SA missing from it is missing from the host.
// Counter-only sources (/proc/net/xfrm_stat, swanctl --counters, the
// Windows driver counters) and event logs (SAs that ended) do not.
func (s *Snapshot) ListsSAs() bool {
	for _, f := range strings.Split(s.Format, "+") {
		switch f {
		case FormatXfrmState, FormatSwanctl, FormatSwanctlRaw, FormatStatusAll,
			FormatLibreswanTraffic, FormatWindowsQMSA, FormatLiveXfrm, FormatLiveVici:
			return true
		}
	}
	return false
}

func u64(v uint64) *uint64 { return &v }

func dur(d time.Duration) *time.Duration { return &d }

// ResolveDirections sets the direction of every SA whose source did not
// give one: an SA whose outer destination is local is inbound, one whose
// source is local is outbound. XFRM byte bases follow the direction.
func (s *Snapshot) ResolveDirections(isLocal func(netip.Addr) bool) {
	for i := range s.SAs {
		sa := &s.SAs[i]
		if sa.Dir == DirUnknown {
			switch {
			case sa.Dst.IsValid() && isLocal(sa.Dst):
				sa.Dir = DirIn
			case sa.Src.IsValid() && isLocal(sa.Src):
				sa.Dir = DirOut
			}
		}
		if sa.ByteBasis == BasisLinuxXfrm {
			switch sa.Dir {
			case DirIn:
				sa.ByteBasis = BasisLinuxXfrmIn
			case DirOut:
				sa.ByteBasis = BasisLinuxXfrmOut
			}
		}
	}
}

// AssumeBackend records the strongSwan kernel backend for a snapshot whose
// source did not name it and sets the byte basis of its SAs accordingly.
func (s *Snapshot) AssumeBackend(backend string) error {
	var in, out Basis
	switch backend {
	case "kernel-libipsec":
		in, out = BasisInnerIP, BasisInnerIP
	case "kernel-netlink":
		in, out = BasisLinuxXfrmIn, BasisLinuxXfrmOut
	default:
		return fmt.Errorf("hosts: unknown strongSwan kernel backend %q (want kernel-libipsec or kernel-netlink)", backend)
	}
	s.Backend = backend
	for i := range s.SAs {
		sa := &s.SAs[i]
		switch sa.Dir {
		case DirIn:
			sa.ByteBasis = in
		case DirOut:
			sa.ByteBasis = out
		}
	}
	return nil
}

// SA returns the SA with the given protocol, SPI and direction (DirUnknown matches any).
func (s *Snapshot) SA(proto uint8, spi uint32, dir Direction) (*SA, bool) {
	for i := range s.SAs {
		sa := &s.SAs[i]
		if sa.Proto == proto && sa.SPI == spi && (dir == DirUnknown || sa.Dir == DirUnknown || sa.Dir == dir) {
			return sa, true
		}
	}
	return nil, false
}

// Merge combines snapshots of one host taken at the same time (e.g. an
// XFRM state dump and /proc/net/xfrm_stat) into one.
func Merge(snaps ...*Snapshot) *Snapshot {
	out := &Snapshot{}
	for _, s := range snaps {
		if s == nil {
			continue
		}
		if out.Source == "" {
			out.Source, out.Format = s.Source, s.Format
		} else {
			out.Source += "+" + s.Source
			out.Format += "+" + s.Format
		}
		if out.Time.IsZero() {
			out.Time = s.Time
		}
		out.SAs = append(out.SAs, s.SAs...)
		mergeCounters(&out.Global, &s.Global)
		if s.Daemon != nil {
			if out.Daemon == nil {
				out.Daemon = &DaemonCounters{}
			}
			setIfNil(&out.Daemon.KeyAdditions, s.Daemon.KeyAdditions)
			setIfNil(&out.Daemon.KeyDeletions, s.Daemon.KeyDeletions)
			setIfNil(&out.Daemon.Rekeys, s.Daemon.Rekeys)
			out.Daemon.Raw = mergeRaw(out.Daemon.Raw, s.Daemon.Raw)
		}
		out.Authoritative = out.Authoritative || s.Authoritative
		if out.Backend == "" {
			out.Backend = s.Backend
		}
		out.Warnings = append(out.Warnings, s.Warnings...)
	}
	return out
}

func mergeCounters(dst, src *Counters) {
	setIfNil(&dst.BadSPI, src.BadSPI)
	setIfNil(&dst.ReplayFailed, src.ReplayFailed)
	setIfNil(&dst.ProtoError, src.ProtoError)
	setIfNil(&dst.NotDecrypted, src.NotDecrypted)
	setIfNil(&dst.NotAuthenticated, src.NotAuthenticated)
	setIfNil(&dst.ActiveSAs, src.ActiveSAs)
	dst.Raw = mergeRaw(dst.Raw, src.Raw)
}

func setIfNil(dst **uint64, v *uint64) {
	if *dst == nil && v != nil {
		*dst = u64(*v)
	}
}

func mergeRaw(dst, src map[string]uint64) map[string]uint64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]uint64, len(src))
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
	return dst
}

// InstalledBefore reports whether the host installed the SA before t.
// Every source gives the install time to the second (iproute2's
// strxf_time, the kernel's xfrm_lifetime_cur.add_time, Libreswan's add
// time): the SA was installed somewhere in that second, so it is before t
// only when the whole second is. ok is false when the source gives no
// install time.
func (sa *SA) InstalledBefore(t time.Time) (before, ok bool) {
	if sa.AddTime.IsZero() {
		return false, false
	}
	return !sa.AddTime.Truncate(time.Second).Add(time.Second).After(t), true
}
