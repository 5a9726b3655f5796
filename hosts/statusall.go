package hosts

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"ipsecmon/ipproto"
)

// `ipsec statusall` (strongSwan's stroke plugin, src/libcharon/plugins/
// stroke/stroke_list.c log_ike_sa/log_child_sa). CHILD SAs print their SPIs
// and counters only while INSTALLED; rekeyed or deleted ones are listed
// without them and are skipped here.

var (
	reStatusIKE     = regexp.MustCompile(`^\s*(\S.*?)\[(\d+)\]: [A-Z_]+ .*?, (\S+)\[[^\]]*\]\.\.\.(\S+)\[[^\]]*\]$`)
	reStatusSPIs    = regexp.MustCompile(`^\s*(\S.*?)\{(\d+)\}:\s+([A-Z_]+), ([A-Z_]+), reqid (\d+), (ESP|AH)( in UDP)? SPIs: ([0-9a-f]{8})_i(?: \([^)]*\))? ([0-9a-f]{8})_o`)
	reStatusTraffic = regexp.MustCompile(`^\s*(\S.*?)\{(\d+)\}:\s+(\S+), (\d+) bytes_i(?: \((\d+) pkts?[^)]*\))?, (\d+) bytes_o(?: \((\d+) pkts?[^)]*\))?`)
	reStatusTS      = regexp.MustCompile(`^\s*(\S.*?)\{(\d+)\}:\s+(\S.*?) === (\S.*?)\s*$`)
)

func detectStatusAll(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && (strings.HasPrefix(ls[0], "Status of IKE charon daemon") ||
		strings.HasPrefix(ls[0], "Security Associations (") || strings.HasPrefix(ls[0], "Shunted Connections:"))
}

func parseStatusAll(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	hosts := map[string][2]netip.Addr{} // IKE "name[N]" -> local, remote
	type childKey struct{ name, id string }
	idx := map[childKey][]int{} // CHILD "name{N}" -> indices of its two SAs
	curIKE := ""                // statusall prints each IKE SA's CHILD SAs right after it
	for i, line := range lines(data) {
		ln := i + 1
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "loaded plugins:") {
			s.Backend = swanBackend(strings.Fields(strings.TrimPrefix(t, "loaded plugins:")))
			continue
		}
		if m := reStatusIKE.FindStringSubmatch(line); m != nil {
			l, err1 := netip.ParseAddr(m[3])
			r, err2 := netip.ParseAddr(m[4])
			if err1 == nil && err2 == nil {
				hosts[m[1]+"["+m[2]+"]"] = [2]netip.Addr{l, r}
			}
			curIKE = m[1] + "[" + m[2] + "]"
			continue
		}
		if m := reStatusSPIs.FindStringSubmatch(line); m != nil {
			in, _ := strconv.ParseUint(m[8], 16, 32)
			out, _ := strconv.ParseUint(m[9], 16, 32)
			reqid, _ := strconv.ParseUint(m[5], 10, 32)
			ike := curIKE
			base := SA{Child: m[1], IKESA: ike, State: m[3], Mode: strings.ToLower(m[4]), ReqID: uint32(reqid), Origin: origin(name, ln)}
			if m[6] == "AH" {
				base.Proto = ipproto.AH
			} else {
				base.Proto = ipproto.ESP
			}
			addrs := hosts[ike]
			a, b := base, base
			a.Dir, a.SPI, a.Src, a.Dst = DirIn, uint32(in), addrs[1], addrs[0]
			b.Dir, b.SPI, b.Src, b.Dst = DirOut, uint32(out), addrs[0], addrs[1]
			k := childKey{m[1], m[2]}
			idx[k] = []int{len(s.SAs), len(s.SAs) + 1}
			s.SAs = append(s.SAs, a, b)
			continue
		}
		if m := reStatusTraffic.FindStringSubmatch(line); m != nil {
			ids, ok := idx[childKey{m[1], m[2]}]
			if !ok {
				continue
			}
			e, bits, au := swanSuite(m[3])
			vals := [2][2]string{{m[4], m[5]}, {m[6], m[7]}}
			for d, k := range ids {
				sa := &s.SAs[k]
				sa.Enc, sa.EncKeyBits, sa.Auth, sa.AlgText = e, bits, au, m[3]
				b, err := strconv.ParseUint(vals[d][0], 10, 64)
				if err != nil {
					return nil, errorf(name, ln, "bad byte count %q", vals[d][0])
				}
				sa.Bytes = u64(b)
				// "0 bytes_i" without a parenthesis: no packet yet.
				p := uint64(0)
				if vals[d][1] != "" {
					if p, err = strconv.ParseUint(vals[d][1], 10, 64); err != nil {
						return nil, errorf(name, ln, "bad packet count %q", vals[d][1])
					}
				}
				sa.Packets = u64(p)
			}
			continue
		}
		if m := reStatusTS.FindStringSubmatch(line); m != nil {
			for _, k := range idx[childKey{m[1], m[2]}] {
				s.SAs[k].LocalTS = parseTSList(strings.Fields(m[3]))
				s.SAs[k].RemoteTS = parseTSList(strings.Fields(m[4]))
			}
		}
	}
	if s.Backend != "" {
		_ = s.AssumeBackend(s.Backend)
	}
	return s, nil
}

// swanBackend names the kernel-ipsec backend among charon's loaded plugins:
// the first one loaded wins (LAB-NOTES: load order decides).
func swanBackend(plugins []string) string {
	for _, p := range plugins {
		switch p {
		case "kernel-libipsec", "kernel-netlink", "kernel-pfkey", "kernel-wfp", "kernel-iph":
			return p
		}
	}
	return ""
}
