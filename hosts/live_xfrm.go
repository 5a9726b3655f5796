//go:build linux

package hosts

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"

	"golang.org/x/sys/unix"

	"ipsecmon/algo"
)

// liveXfrm dumps the kernel SA database (XFRM_MSG_GETSA) and reads
// /proc/net/xfrm_stat when present.
func liveXfrm(spec string) (*Snapshot, error) {
	states, err := netlink.XfrmStateList(netlink.FAMILY_ALL)
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) ||
			errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOSYS) ||
			err.Error() == "not implemented" {
			return nil, fmt.Errorf("hosts: %s: %w: %v", spec, ErrLiveUnsupported, err)
		}
		return nil, fmt.Errorf("hosts: %s: %w", spec, err)
	}
	s := snapshotFromXfrm(states)
	s.Source, s.Format, s.Time = spec, FormatLiveXfrm, time.Now()
	if data, err := os.ReadFile("/proc/net/xfrm_stat"); err == nil {
		st, err := parseXfrmStat("/proc/net/xfrm_stat", normalize(data))
		if err != nil {
			return nil, err
		}
		s.Global = st.Global
	}
	return s, nil
}

// snapshotFromXfrm converts netlink's view of XFRM states. Key bytes are
// only measured, never kept.
func snapshotFromXfrm(states []netlink.XfrmState) *Snapshot {
	s := &Snapshot{Authoritative: true}
	for _, x := range states {
		sa := SA{
			Proto:      uint8(x.Proto),
			SPI:        uint32(x.Spi),
			Src:        ipAddr(x.Src),
			Dst:        ipAddr(x.Dst),
			ByteBasis:  BasisLinuxXfrm,
			Packets:    u64(x.Statistics.Packets),
			Bytes:      u64(x.Statistics.Bytes),
			Mode:       x.Mode.String(),
			ESN:        x.ESN,
			ReqID:      uint32(x.Reqid),
			WindowSize: x.ReplayWindow,
			// struct xfrm_stats: replay_window, replay, integrity_failed.
			ReplayWindowDrops: u64(uint64(x.Statistics.ReplayWindow)),
			ReplayDrops:       u64(uint64(x.Statistics.Replay)),
			IntegrityFailed:   u64(uint64(x.Statistics.Failed)),
			Origin:            "netlink",
		}
		if x.Statistics.AddTime != 0 {
			sa.AddTime = time.Unix(int64(x.Statistics.AddTime), 0).UTC()
		}
		switch x.SADir {
		case netlink.XFRM_SA_DIR_IN:
			sa.Dir, sa.ByteBasis = DirIn, BasisLinuxXfrmIn
		case netlink.XFRM_SA_DIR_OUT:
			sa.Dir, sa.ByteBasis = DirOut, BasisLinuxXfrmOut
		}
		if x.Replay != nil {
			sa.ReplaySeq, sa.ReplayOSeq = u64(uint64(x.Replay.Seq)), u64(uint64(x.Replay.OSeq))
		}
		if a := x.Aead; a != nil {
			e := algo.AEADFromLinux(a.Name, a.ICVLen)
			salt := 8 * e.SaltLen()
			sa.Enc, sa.Auth, sa.AlgText = e, algo.AuthNone, "aead "+a.Name
			if bits := 8 * len(a.Key); bits > salt {
				sa.EncKeyBits = bits - salt
			}
		}
		if c := x.Crypt; c != nil {
			e := algo.EncFromLinux(c.Name)
			salt := 8 * e.SaltLen()
			sa.Enc, sa.AlgText = e, "enc "+c.Name
			if bits := 8 * len(c.Key); bits > salt {
				sa.EncKeyBits = bits - salt
			}
		}
		if a := x.Auth; a != nil {
			sa.Auth, _, _ = algo.AuthFromLinux(a.Name, a.TruncateLen)
			if sa.AlgText != "" {
				sa.AlgText += " "
			}
			sa.AlgText += "auth " + a.Name
		}
		if e := x.Encap; e != nil {
			sa.EncapSport, sa.EncapDport = uint16(e.SrcPort), uint16(e.DstPort)
		}
		if p := x.Selector; p != nil {
			if p.Src != nil {
				sa.SelSrc = ipNetPrefix(p.Src)
			}
			if p.Dst != nil {
				sa.SelDst = ipNetPrefix(p.Dst)
			}
		}
		s.SAs = append(s.SAs, sa)
	}
	return s
}

func ipAddr(ip net.IP) netip.Addr {
	if a, ok := netip.AddrFromSlice(ip); ok {
		return a.Unmap()
	}
	return netip.Addr{}
}

func ipNetPrefix(n *net.IPNet) netip.Prefix {
	a := ipAddr(n.IP)
	if !a.IsValid() {
		return netip.Prefix{}
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a, ones)
}
