package hosts

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"ipsecmon/algo"
	"ipsecmon/xfrmstate"
)

// `ip -s xfrm state`, read by package xfrmstate; detection needs the
// first block's "src A dst B" and its proto line.

var reXfrmSrc = regexp.MustCompile(`^src \S+ dst \S+\s*$`)

func detectXfrmState(data []byte) bool {
	ls := firstLines(data, 2)
	return len(ls) == 2 && reXfrmSrc.MatchString(ls[0]) && strings.HasPrefix(strings.TrimSpace(ls[1]), "proto ")
}

// parseXfrmState reads the dump with package xfrmstate. iproute2 prints the
// install time in its host's local time (strxf_time calls localtime(3));
// the dump is read in this process's local zone (TZ), which is that host's
// when ipsecmon runs there.
func parseXfrmState(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{Authoritative: true}
	warned := map[string]bool{}
	for _, r := range xfrmstate.Read(string(data), time.Local) {
		if r.Err != nil {
			return nil, errorf(name, r.Err.Line, "%s", r.Err.Msg)
		}
		sa := SA{Src: r.Src, Dst: r.Dst, Proto: r.Proto, SPI: r.SPI, ReqID: r.ReqID, Mode: r.Mode, ESN: r.ESN,
			ByteBasis: BasisLinuxXfrm, Origin: origin(name, r.Line),
			EncapSport: r.EncapSport, EncapDport: r.EncapDport, SelSrc: r.SelSrc, SelDst: r.SelDst,
			WindowSize: r.Window(), Bytes: r.Bytes, Packets: r.Packets, AddTime: r.AddTime,
			ReplayWindowDrops: r.ReplayWindowDrops, ReplayDrops: r.ReplayDrops, IntegrityFailed: r.IntegrityFails}
		switch r.Dir {
		case "in":
			sa.Dir, sa.ByteBasis = DirIn, BasisLinuxXfrmIn
		case "out":
			sa.Dir, sa.ByteBasis = DirOut, BasisLinuxXfrmOut
		}
		if r.Seq != nil {
			sa.ReplaySeq = u64(uint64(*r.Seq) | uint64(deref32(r.SeqHi))<<32)
		}
		if r.OSeq != nil {
			sa.ReplayOSeq = u64(uint64(*r.OSeq) | uint64(deref32(r.OSeqHi))<<32)
		}
		for _, a := range r.Algs {
			xfrmAlg(a, &sa)
		}
		for _, u := range r.Unknown {
			if !warned[u.Word] {
				warned[u.Word] = true
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: skipped unknown line starting %s", origin(name, u.Line), u.Word))
			}
		}
		s.SAs = append(s.SAs, sa)
	}
	if len(s.SAs) == 0 {
		return nil, errorf(name, 0, "no SA found")
	}
	return s, nil
}

func deref32(p *uint32) uint32 {
	if p == nil {
		return 0
	}
	return *p
}

// xfrmAlg adds an algorithm line to the SA: the algorithm, the key length
// without salt, and the line's words to AlgText.
func xfrmAlg(a xfrmstate.Alg, sa *SA) {
	if sa.AlgText != "" {
		sa.AlgText += " "
	}
	sa.AlgText += a.Kind + " " + a.Name
	switch a.Kind {
	case "enc", "aead":
		if a.Kind == "aead" {
			sa.Enc = algo.AEADFromLinux(a.Name, a.Bits)
			sa.Auth = algo.AuthNone // integrity comes with the AEAD
		} else {
			sa.Enc = algo.EncFromLinux(a.Name)
		}
		if salt := 8 * sa.Enc.SaltLen(); a.KeyBits > salt {
			sa.EncKeyBits = a.KeyBits - salt
		}
	case "auth", "auth-trunc":
		trunc := a.Bits
		if a.Kind == "auth" {
			trunc = 0 // the kernel's default for the name
		}
		sa.Auth, _, _ = algo.AuthFromLinux(a.Name, trunc)
	}
}
