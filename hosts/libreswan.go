package hosts

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ipsecmon/ipproto"
)

// Libreswan `ipsec trafficstatus` (`ipsec whack --trafficstatus`, programs/
// pluto/show.c / state.c show_traffic_status): one line per IPsec SA state,
// "#N: "conn"[inst] peer, type=ESP, add_time=..., inBytes=..., outBytes=...,
// maxBytes=..., id='...'[, lease=...]". Libreswan 4.x prefixes each line
// with the whack status code "006 "; 5.x prints none. No SPI is printed: the
// SAs come back with SPI 0 and are matched by state and connection name.

var reLibreswan = regexp.MustCompile(`^(?:\d{3} )?#(\d+): "([^"]*)"(\[\d+\])?(?: ([^,]+))?, (.*)$`)

func detectLibreswan(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && reLibreswan.MatchString(ls[0]) && strings.Contains(ls[0], "type=")
}

func parseLibreswan(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	for i, line := range lines(data) {
		ln := i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := reLibreswan.FindStringSubmatch(line)
		if m == nil {
			return nil, errorf(name, ln, "expected \"#N: \\\"conn\\\", type=..., ...\", got %q", clip(line))
		}
		kv, err := libreswanFields(m[5])
		if err != nil {
			return nil, errorf(name, ln, "%v", err)
		}
		base := SA{Child: m[2] + m[3], State: "#" + m[1], Origin: origin(name, ln)}
		switch kv["type"] {
		case "ESP":
			base.Proto = ipproto.ESP
		case "AH":
			base.Proto = ipproto.AH
		case "":
			return nil, errorf(name, ln, "no type= field")
		}
		if t, ok := kv["add_time"]; ok {
			n, err := strconv.ParseInt(t, 10, 64)
			if err != nil {
				return nil, errorf(name, ln, "bad add_time %q", t)
			}
			base.AddTime = time.Unix(n, 0).UTC()
		}
		var peer netip.Addr
		if m[4] != "" {
			peer, _ = netip.ParseAddr(strings.TrimSpace(m[4]))
		}
		if l, ok := kv["lease"]; ok {
			base.RemoteTS = parseTSList([]string{l})
		}
		for _, dir := range []Direction{DirIn, DirOut} {
			sa := base
			sa.Dir = dir
			key := "inBytes"
			sa.ByteBasis = BasisLinuxXfrmIn
			sa.Src = peer
			if dir == DirOut {
				key, sa.ByteBasis = "outBytes", BasisLinuxXfrmOut
				sa.Src, sa.Dst = netip.Addr{}, peer
			}
			if v, ok := kv[key]; ok {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return nil, errorf(name, ln, "bad %s %q", key, v)
				}
				sa.Bytes = u64(n)
			}
			s.SAs = append(s.SAs, sa)
		}
	}
	if len(s.SAs) == 0 {
		return nil, errorf(name, 0, "no traffic status line")
	}
	return s, nil
}

// libreswanFields splits "type=ESP, add_time=1, id='C=CA, O=x'" into fields;
// quoted values may hold ", ".
func libreswanFields(s string) (map[string]string, error) {
	kv := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, errorf0("field without '=' in %q", clip(s))
		}
		k = strings.TrimSpace(k)
		var v string
		if strings.HasPrefix(rest, "'") {
			end := strings.Index(rest[1:], "'")
			if end < 0 {
				return nil, errorf0("unterminated quote in %s", k)
			}
			v, rest = rest[1:1+end], rest[2+end:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		kv[k] = strings.TrimSpace(v)
		rest = strings.TrimPrefix(rest, ",")
		s = strings.TrimLeft(rest, " ")
	}
	return kv, nil
}
