package hosts

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// `ip -s xfrm state` (iproute2 ip/xfrm_state.c xfrm_state_print and
// ip/ipxfrm.c): one block per SA, opened by "src A dst B" at column 0, each
// further line indented. Statistics come with -s: "lifetime current:" and
// "stats:" sections, and decimal copies of SPI and reqid in parentheses.

var reXfrmSrc = regexp.MustCompile(`^src \S+ dst \S+\s*$`)

func detectXfrmState(data []byte) bool {
	ls := firstLines(data, 2)
	return len(ls) == 2 && reXfrmSrc.MatchString(ls[0]) && strings.HasPrefix(strings.TrimSpace(ls[1]), "proto ")
}

type xfrmSection uint8

const (
	secNone xfrmSection = iota
	secLifetimeConfig
	secLifetimeCurrent
	secStats
	secESNContext
)

func parseXfrmState(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{Authoritative: true}
	var cur *SA
	sec := secNone
	var seqHi, oseqHi, seqLo, oseqLo *uint64
	unknown := map[string]bool{}
	finish := func() {
		if cur == nil {
			return
		}
		if seqLo != nil {
			v := *seqLo
			if seqHi != nil {
				v |= *seqHi << 32
			}
			cur.ReplaySeq = u64(v)
		}
		if oseqLo != nil {
			v := *oseqLo
			if oseqHi != nil {
				v |= *oseqHi << 32
			}
			cur.ReplayOSeq = u64(v)
		}
		s.SAs = append(s.SAs, *cur)
		cur = nil
		seqHi, oseqHi, seqLo, oseqLo = nil, nil, nil, nil
	}
	for i, raw := range lines(data) {
		ln := i + 1
		if strings.TrimSpace(raw) == "" {
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		line := strings.TrimSpace(raw)
		if !indented {
			if !strings.HasPrefix(line, "src ") {
				// Quote only the first word: a key line copied without its indentation must not leak.
				return nil, errorf(name, ln, "expected \"src ADDR dst ADDR\" to open an SA, got a line starting %q", strings.Fields(line)[0])
			}
			finish()
			f := strings.Fields(line)
			if len(f) != 4 || f[2] != "dst" {
				return nil, errorf(name, ln, "malformed SA header %q", clip(line))
			}
			src, err1 := netip.ParseAddr(f[1])
			dst, err2 := netip.ParseAddr(f[3])
			if err1 != nil || err2 != nil {
				return nil, errorf(name, ln, "bad address in %q", clip(line))
			}
			cur = &SA{Src: src, Dst: dst, ByteBasis: BasisLinuxXfrm, Origin: origin(name, ln)}
			sec = secNone
			continue
		}
		if cur == nil {
			return nil, errorf(name, ln, "indented line before the first \"src ... dst ...\"")
		}
		f := strings.Fields(line)
		switch sec {
		case secLifetimeCurrent:
			if strings.HasSuffix(f[0], "(bytes),") && len(f) >= 2 {
				b, err1 := parseUintParen(f[0], "(bytes),")
				p, err2 := parseUintParen(f[1], "(packets)")
				if err1 != nil || err2 != nil {
					return nil, errorf(name, ln, "malformed lifetime counters %q", clip(line))
				}
				cur.Bytes, cur.Packets = u64(b), u64(p)
				continue
			}
			if f[0] == "add" {
				if len(f) >= 3 {
					if t, err := time.Parse("2006-01-02 15:04:05", f[1]+" "+f[2]); err == nil {
						cur.AddTime = t
					}
				}
				continue
			}
		case secStats:
			if f[0] == "replay-window" && len(f) == 6 && f[2] == "replay" && f[4] == "failed" {
				var v [3]uint64
				for k, idx := range []int{1, 3, 5} {
					n, err := strconv.ParseUint(f[idx], 10, 64)
					if err != nil {
						return nil, errorf(name, ln, "malformed stats %q", clip(line))
					}
					v[k] = n
				}
				cur.ReplayWindowDrops, cur.ReplayDrops, cur.IntegrityFailed = u64(v[0]), u64(v[1]), u64(v[2])
				sec = secNone
				continue
			}
		case secLifetimeConfig:
			if f[0] == "limit:" || f[0] == "expire" {
				continue
			}
		case secESNContext:
			if strings.HasPrefix(f[0], "seq") || strings.HasPrefix(f[0], "oseq") || f[0] == "replay_window" {
				if err := xfrmContextPairs(line, cur, &seqHi, &oseqHi, &seqLo, &oseqLo); err != nil {
					return nil, errorf(name, ln, "%v", err)
				}
				continue
			}
			if isHexWords(f) { // the replay bitmap
				continue
			}
		}
		sec = secNone
		switch f[0] {
		case "proto":
			if err := xfrmProtoLine(f, cur); err != nil {
				return nil, errorf(name, ln, "%v", err)
			}
		case "replay-window":
			if len(f) >= 2 {
				if n, err := strconv.Atoi(f[1]); err == nil && cur.WindowSize == 0 {
					cur.WindowSize = n
				}
			}
			for _, w := range f {
				if w == "esn" {
					cur.ESN = true
				}
			}
		case "flag":
			for _, w := range f {
				if w == "esn" {
					cur.ESN = true
				}
			}
		case "enc", "auth", "auth-trunc", "aead":
			xfrmAlgLine(f, cur)
		case "encap":
			for k := 1; k+1 < len(f); k++ {
				switch f[k] {
				case "sport":
					if n, err := strconv.ParseUint(f[k+1], 10, 16); err == nil {
						cur.EncapSport = uint16(n)
					}
				case "dport":
					if n, err := strconv.ParseUint(f[k+1], 10, 16); err == nil {
						cur.EncapDport = uint16(n)
					}
				}
			}
		case "anti-replay":
			rest := line[strings.Index(line, ":")+1:]
			if len(f) >= 2 && f[1] == "esn" {
				sec = secESNContext
			}
			if strings.TrimSpace(rest) != "" {
				if err := xfrmContextPairs(rest, cur, &seqHi, &oseqHi, &seqLo, &oseqLo); err != nil {
					return nil, errorf(name, ln, "%v", err)
				}
			}
		case "sel":
			for k := 1; k+1 < len(f); k++ {
				switch f[k] {
				case "src":
					if p, err := netip.ParsePrefix(f[k+1]); err == nil {
						cur.SelSrc = p
					}
				case "dst":
					if p, err := netip.ParsePrefix(f[k+1]); err == nil {
						cur.SelDst = p
					}
				}
			}
		case "lifetime":
			if len(f) >= 2 && f[1] == "current:" {
				sec = secLifetimeCurrent
			} else {
				sec = secLifetimeConfig
			}
		case "stats:":
			sec = secStats
		case "dir":
			if len(f) >= 2 {
				switch f[1] {
				case "in":
					cur.Dir, cur.ByteBasis = DirIn, BasisLinuxXfrmIn
				case "out":
					cur.Dir, cur.ByteBasis = DirOut, BasisLinuxXfrmOut
				}
			}
		case "lastused", "iptfs-opts", "crypto", "if_id", "output-mark", "mark", "ctx", "security",
			"tfcpad", "extra_flag", "...", "comp", "coa", "reqid", "offload":
		default:
			if !unknown[f[0]] {
				unknown[f[0]] = true
				s.Warnings = append(s.Warnings, origin(name, ln)+": skipped unknown line "+strconv.Quote(clip(line)))
			}
		}
	}
	finish()
	if len(s.SAs) == 0 {
		return nil, errorf(name, 0, "no SA found")
	}
	return s, nil
}

// xfrmProtoLine reads "proto esp spi 0xc0ffee01(3237998081) reqid 1(0x00000001) mode tunnel".
func xfrmProtoLine(f []string, sa *SA) error {
	for k := 0; k+1 < len(f); k += 2 {
		v := f[k+1]
		switch f[k] {
		case "proto":
			switch v {
			case "esp":
				sa.Proto = ipproto.ESP
			case "ah":
				sa.Proto = ipproto.AH
			default:
				if n, err := strconv.ParseUint(v, 10, 8); err == nil {
					sa.Proto = uint8(n)
				} else {
					sa.Proto = 0
				}
			}
		case "spi":
			hexPart := v
			if i := strings.IndexByte(hexPart, '('); i >= 0 {
				hexPart = hexPart[:i]
			}
			n, err := strconv.ParseUint(strings.TrimPrefix(hexPart, "0x"), 16, 32)
			if err != nil || !strings.HasPrefix(hexPart, "0x") {
				return errorf0("bad SPI %q", v)
			}
			sa.SPI = uint32(n)
		case "reqid":
			d := v
			if i := strings.IndexByte(d, '('); i >= 0 {
				d = d[:i]
			}
			if n, err := strconv.ParseUint(d, 10, 32); err == nil {
				sa.ReqID = uint32(n)
			}
		case "mode":
			sa.Mode = v
		}
	}
	if sa.SPI == 0 && sa.Proto != ipproto.ESP && sa.Proto != ipproto.AH {
		return nil // IPcomp/IPIP helper states carry no ESP/AH SPI
	}
	return nil
}

// xfrmAlgLine reads "enc cbc(aes) 0xKEY (128 bits)", "auth-trunc hmac(sha1) 0xKEY (160 bits) 96",
// "aead rfc4106(gcm(aes)) 0xKEY (160 bits) 64" and their forms without -s or without keys.
func xfrmAlgLine(f []string, sa *SA) {
	if len(f) < 2 {
		return
	}
	kind, name := f[0], f[1]
	rest := f[2:]
	bits, trailing := 0, 0
	keyHexBits := 0
	for k := 0; k < len(rest); k++ {
		w := rest[k]
		switch {
		case strings.HasPrefix(w, "(") && k+1 < len(rest) && rest[k+1] == "bits)":
			bits, _ = atoi(w[1:])
			k++
		case strings.HasPrefix(w, "0x"):
			if b, err := hex.DecodeString(w[2:]); err == nil {
				keyHexBits = 8 * len(b)
			}
		default:
			if n, ok := atoi(w); ok {
				trailing = n
			}
		}
	}
	if bits == 0 {
		bits = keyHexBits
	}
	if sa.AlgText != "" {
		sa.AlgText += " "
	}
	sa.AlgText += kind + " " + name
	switch kind {
	case "enc", "aead":
		if kind == "aead" {
			sa.Enc = algo.AEADFromLinux(name, trailing)
			sa.Auth = algo.AuthNone // integrity comes with the AEAD
		} else {
			sa.Enc = algo.EncFromLinux(name)
		}
		if salt := 8 * sa.Enc.SaltLen(); bits > salt {
			sa.EncKeyBits = bits - salt
		}
	case "auth", "auth-trunc":
		if kind == "auth" {
			trailing = 0 // the kernel's default truncation for the name
		}
		sa.Auth, _, _ = algo.AuthFromLinux(name, trailing)
	}
}

// xfrmContextPairs reads "seq 0x0, oseq 0x22b, bitmap 0x00000000",
// "seq-hi 0x0, seq 0x1d, oseq-hi 0x0, oseq 0x0" and "replay_window 128, bitmap-length 4".
func xfrmContextPairs(s string, sa *SA, seqHi, oseqHi, seqLo, oseqLo **uint64) error {
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			continue
		}
		parse := func() (uint64, error) {
			v := f[1]
			if strings.HasPrefix(v, "0x") {
				return strconv.ParseUint(v[2:], 16, 64)
			}
			return strconv.ParseUint(v, 10, 64)
		}
		switch f[0] {
		case "seq", "oseq", "seq-hi", "oseq-hi", "replay_window":
			n, err := parse()
			if err != nil {
				return errorf0("bad %s value %q", f[0], f[1])
			}
			switch f[0] {
			case "seq":
				*seqLo = u64(n)
			case "oseq":
				*oseqLo = u64(n)
			case "seq-hi":
				*seqHi = u64(n)
			case "oseq-hi":
				*oseqHi = u64(n)
			case "replay_window":
				sa.WindowSize = int(n)
			}
		}
	}
	return nil
}

func parseUintParen(s, suffix string) (uint64, error) {
	return strconv.ParseUint(strings.TrimSuffix(s, suffix), 10, 64)
}

func isHexWords(f []string) bool {
	for _, w := range f {
		if len(w) != 8 {
			return false
		}
		if _, err := strconv.ParseUint(w, 16, 32); err != nil {
			return false
		}
	}
	return len(f) > 0
}

func origin(name string, line int) string { return name + ":" + strconv.Itoa(line) }

// clip shortens a quoted line in an error; key material never reaches
// errors because no parser quotes a key line.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func errorf0(format string, a ...any) error { return fmt.Errorf(format, a...) }
