package hosts

import (
	"regexp"
	"strconv"
	"strings"
)

// /proc/net/xfrm_stat (net/xfrm/xfrm_proc.c xfrm_statistics_seq_show): one
// "NAME<spaces>\tVALUE" line per LINUX_MIB_XFRM* counter, meanings in
// Documentation/networking/xfrm_proc.rst. The set grows with kernel
// versions, so unknown names are kept in Raw.

var reXfrmStatLine = regexp.MustCompile(`^Xfrm[A-Za-z]+\s+\d+\s*$`)

func detectXfrmStat(data []byte) bool {
	ls := firstLines(data, 1)
	return len(ls) == 1 && reXfrmStatLine.MatchString(ls[0])
}

func parseXfrmStat(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{}
	raw := map[string]uint64{}
	for i, line := range lines(data) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || !strings.HasPrefix(f[0], "Xfrm") {
			return nil, errorf(name, i+1, "expected \"XfrmName value\", got %q", clip(line))
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, errorf(name, i+1, "bad value for %s: %q", f[0], f[1])
		}
		if _, dup := raw[f[0]]; dup {
			return nil, errorf(name, i+1, "%s given twice", f[0])
		}
		raw[f[0]] = v
	}
	s.Global.Raw = raw
	pick := func(k string) *uint64 {
		if v, ok := raw[k]; ok {
			return u64(v)
		}
		return nil
	}
	s.Global.BadSPI = pick("XfrmInNoStates")
	s.Global.ProtoError = pick("XfrmInStateProtoError")
	s.Global.ReplayFailed = pick("XfrmInStateSeqError")
	return s, nil
}
