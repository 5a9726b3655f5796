package hosts

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ipsecmon/ipproto"
)

// `swanctl --list-sas` without --raw (src/swanctl/commands/list_sas.c
// ike_sa/child_sas): an IKE SA line at column 0, its details indented by two
// spaces, each CHILD SA by two and its details by four.

var (
	reSwanIKE   = regexp.MustCompile(`^(\S.*?): #(\d+), ([A-Z_]+), IKEv([12]), ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r\*?`)
	reSwanHost  = regexp.MustCompile(`^  (local|remote)\s+'.*' @ (\S+)\[(\d+)\]`)
	reSwanChild = regexp.MustCompile(`^  (\S.*?): #(\d+), reqid (\d+), ([A-Z_]+), ([A-Z_]+)(-in-UDP)?, (ESP|AH|IPCOMP):(\S*)`)
	reSwanTimes = regexp.MustCompile(`^    installed (\d+)s ago`)
	reSwanCount = regexp.MustCompile(`^    (in|out)\s+([0-9a-f]{8})[^,]*,\s+(\d+) bytes,\s+(\d+) packets`)
	reSwanTS    = regexp.MustCompile(`^    (local|remote)\s+(\S.*)$`)
	reSecs      = regexp.MustCompile(`(rekeying|expires) in (\d+)s`)
)

func detectSwanctl(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && reSwanIKE.MatchString(ls[0])
}

func parseSwanctl(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	var ikeLabel string
	var local, remote netip.Addr
	var lport, rport uint16
	var child *SA // the CHILD SA being read; its in/out halves are appended when complete
	var halves []SA
	flush := func() {
		if child != nil {
			s.SAs = append(s.SAs, halves...)
		}
		child, halves = nil, nil
	}
	for i, line := range lines(data) {
		ln := i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		if m := reSwanIKE.FindStringSubmatch(line); m != nil {
			flush()
			ikeLabel = m[1] + "[" + m[2] + "]"
			local, remote, lport, rport = netip.Addr{}, netip.Addr{}, 0, 0
			continue
		}
		if m := reSwanHost.FindStringSubmatch(line); m != nil {
			a, err := netip.ParseAddr(m[2])
			if err != nil {
				return nil, errorf(name, ln, "bad address %q", m[2])
			}
			p, _ := strconv.ParseUint(m[3], 10, 16)
			if m[1] == "local" {
				local, lport = a, uint16(p)
			} else {
				remote, rport = a, uint16(p)
			}
			continue
		}
		if m := reSwanChild.FindStringSubmatch(line); m != nil {
			flush()
			reqid, _ := strconv.ParseUint(m[3], 10, 32)
			child = &SA{Child: m[1], IKESA: ikeLabel, ReqID: uint32(reqid), State: m[4],
				Mode: strings.ToLower(m[5]), AlgText: m[8], Origin: origin(name, ln)}
			switch m[7] {
			case "ESP":
				child.Proto = ipproto.ESP
			case "AH":
				child.Proto = ipproto.AH
			}
			alg := m[8]
			if strings.HasSuffix(alg, "/ESN") {
				child.ESN = true
			}
			child.Enc, child.EncKeyBits, child.Auth = swanSuite(alg)
			if m[6] != "" {
				child.EncapSport, child.EncapDport = lport, rport // set per direction below
			}
			continue
		}
		if strings.HasPrefix(line, "  ") && ikeLabel == "" {
			return nil, errorf(name, ln, "indented line before the first IKE SA")
		}
		if child == nil {
			continue // IKE SA details: algorithms, established/rekey times
		}
		if m := reSwanTimes.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			child.Age = dur(time.Duration(n) * time.Second)
			for _, t := range reSecs.FindAllStringSubmatch(line, -1) {
				n, _ := strconv.Atoi(t[2])
				if t[1] == "rekeying" {
					child.RekeyIn = dur(time.Duration(n) * time.Second)
				} else {
					child.ExpiresIn = dur(time.Duration(n) * time.Second)
				}
			}
			continue
		}
		if m := reSwanCount.FindStringSubmatch(line); m != nil {
			spi, _ := strconv.ParseUint(m[2], 16, 32)
			b, err1 := strconv.ParseUint(m[3], 10, 64)
			p, err2 := strconv.ParseUint(m[4], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, errorf(name, ln, "bad counters in %q", clip(strings.TrimSpace(line)))
			}
			sa := *child
			sa.SPI = uint32(spi)
			sa.Origin = origin(name, ln)
			encap := child.EncapSport != 0 || child.EncapDport != 0
			if m[1] == "in" {
				sa.Dir, sa.Src, sa.Dst = DirIn, remote, local
				if encap {
					sa.EncapSport, sa.EncapDport = rport, lport
				}
			} else {
				sa.Dir, sa.Src, sa.Dst = DirOut, local, remote
				if encap {
					sa.EncapSport, sa.EncapDport = lport, rport
				}
			}
			// See viciListSA: an outbound SA removed at rekeying prints 0 bytes and no use time.
			gone := sa.Dir == DirOut && b == 0 && !strings.Contains(line, " ago") && (sa.State == "REKEYED" || sa.State == "DELETED")
			if !gone {
				sa.Bytes, sa.Packets = u64(b), u64(p)
			}
			halves = append(halves, sa)
			continue
		}
		if m := reSwanTS.FindStringSubmatch(line); m != nil {
			ts := parseTSList(strings.Fields(m[2]))
			for k := range halves {
				if m[1] == "local" {
					halves[k].LocalTS = ts
				} else {
					halves[k].RemoteTS = ts
				}
			}
			if m[1] == "local" {
				child.LocalTS = ts
			} else {
				child.RemoteTS = ts
			}
		}
	}
	flush()
	return s, nil
}
