package keys

import (
	"fmt"
	"net/netip"
	"strings"

	"ipsecmon/ipproto"
)

// index speeds up ESPFor: SAs with an exact SPI and a single destination
// address are found by hash; the others (wildcards) are scanned.
type index struct {
	n     int // len(SAs) when built; a Set changed by hand falls back to a scan
	exact map[exactKey][]int32
	wild  []int32
}

type exactKey struct {
	proto uint8
	spi   uint32
	dst   netip.Addr
}

func (s *Set) reindex() {
	ix := &index{n: len(s.SAs), exact: map[exactKey][]int32{}}
	for i := range s.SAs {
		sa := &s.SAs[i]
		if !sa.AnySPI && sa.SPIWild == 0 && sa.Dst.IsValid() && sa.Dst.IsSingleIP() {
			k := exactKey{sa.Proto, sa.SPI, sa.Dst.Addr()}
			ix.exact[k] = append(ix.exact[k], int32(i))
		} else {
			ix.wild = append(ix.wild, int32(i))
		}
	}
	s.idx = ix
}

// Empty reports whether s (nil included) holds no key at all, neither an
// SA's nor an IKE SA's.
func (s *Set) Empty() bool { return s == nil || len(s.SAs)+len(s.IKEv1)+len(s.IKEv2) == 0 }

// Merge adds other's SAs, IKE SAs and warnings to s. The result is
// authoritative if either is.
func (s *Set) Merge(other *Set) {
	if other == nil {
		return
	}
	s.SAs = append(s.SAs, other.SAs...)
	s.IKEv1 = append(s.IKEv1, other.IKEv1...)
	s.IKEv2 = append(s.IKEv2, other.IKEv2...)
	s.Warnings = append(s.Warnings, other.Warnings...)
	s.Skipped += other.Skipped
	s.Authoritative = s.Authoritative || other.Authoritative
	s.reindex()
}

// Matches reports whether the SA applies to a packet of protocol proto
// (ipproto.ESP or ipproto.AH) from src to dst with the given SPI.
func (sa *SA) Matches(proto uint8, src, dst netip.Addr, spi uint32) bool {
	if sa.Proto != proto {
		return false
	}
	if !sa.AnySPI && sa.SPI&^sa.SPIWild != spi&^sa.SPIWild {
		return false
	}
	return prefixMatch(sa.Dst, dst) && prefixMatch(sa.Src, src)
}

// An invalid (zero) prefix matches any address of either family.
func prefixMatch(p netip.Prefix, a netip.Addr) bool {
	return !p.IsValid() || p.Contains(a.Unmap())
}

// specificity orders matching SAs: an exact SPI beats a partial wildcard
// beats "*"; then the longer destination prefix, then the longer source.
func (sa *SA) specificity() int {
	spi := 2
	switch {
	case sa.AnySPI:
		spi = 0
	case sa.SPIWild != 0:
		spi = 1
	}
	return spi<<16 | bits(sa.Dst)<<8 | bits(sa.Src)
}

func bits(p netip.Prefix) int {
	if !p.IsValid() {
		return 0
	}
	return p.Bits()
}

// ESPFor finds the SA for an ESP (proto ipproto.ESP) or AH (ipproto.AH) packet:
// the most specific match, the earlier one in file order on a tie; nil if
// none matches. It does not allocate and is safe for concurrent use as
// long as the Set is not being changed.
func (s *Set) ESPFor(proto uint8, src, dst netip.Addr, spi uint32) *SA {
	src, dst = src.Unmap(), dst.Unmap()
	best, bestScore := -1, -1
	consider := func(i int) {
		sa := &s.SAs[i]
		if !sa.Matches(proto, src, dst, spi) {
			return
		}
		if sc := sa.specificity(); sc > bestScore || sc == bestScore && i < best {
			best, bestScore = i, sc
		}
	}
	if ix := s.idx; ix != nil && ix.n == len(s.SAs) {
		for _, i := range ix.exact[exactKey{proto, spi, dst}] {
			consider(int(i))
		}
		for _, i := range ix.wild {
			consider(int(i))
		}
	} else {
		for i := range s.SAs {
			consider(i)
		}
	}
	if best < 0 {
		return nil
	}
	return &s.SAs[best]
}

// IKEv1For finds the ISAKMP SA keyed by initiator cookie (and responder
// cookie when the source gave one).
func (s *Set) IKEv1For(icookie, rcookie [8]byte) *IKEv1SA {
	for i := range s.IKEv1 {
		sa := &s.IKEv1[i]
		if sa.ICookie == icookie && (!sa.HasRCookie || sa.RCookie == rcookie) {
			return sa
		}
	}
	return nil
}

// IKEv2For finds the IKEv2 SA with these SPIs.
func (s *Set) IKEv2For(spii, spir [8]byte) *IKEv2SA {
	for i := range s.IKEv2 {
		if sa := &s.IKEv2[i]; sa.SPIi == spii && sa.SPIr == spir {
			return sa
		}
	}
	return nil
}

// String describes the SA without its keys.
func (sa SA) String() string {
	proto := strings.ToLower(ipproto.Name(sa.Proto))
	spi := fmt.Sprintf("0x%08x", sa.SPI)
	if sa.AnySPI {
		spi = "*"
	} else if sa.SPIWild != 0 {
		spi += fmt.Sprintf("/wild 0x%08x", sa.SPIWild)
	}
	s := fmt.Sprintf("%s spi=%s src=%s dst=%s enc=%s auth=%s", proto, spi, prefixString(sa.Src), prefixString(sa.Dst), sa.Enc, sa.Auth)
	if sa.ESN {
		s += " esn"
	}
	if sa.NoKeys {
		s += " nokeys"
	}
	if sa.Origin != "" {
		s += " (" + sa.Origin + ")"
	}
	return s
}

// GoString keeps %#v from printing key bytes.
func (sa SA) GoString() string { return "keys.SA{" + sa.String() + "}" }

func prefixString(p netip.Prefix) string {
	switch {
	case !p.IsValid() || p.Bits() == 0:
		return "*"
	case p.IsSingleIP():
		return p.Addr().String()
	}
	return p.String()
}

// String describes the IKEv1 SA without its keys.
func (sa IKEv1SA) String() string {
	return fmt.Sprintf("ikev1 icookie=%x enc=%s prf=%s (%s)", sa.ICookie, sa.Enc, sa.PRF, sa.Origin)
}

// GoString keeps %#v from printing key bytes.
func (sa IKEv1SA) GoString() string { return "keys.IKEv1SA{" + sa.String() + "}" }

// String describes the IKEv2 SA without its keys.
func (sa IKEv2SA) String() string {
	return fmt.Sprintf("ikev2 spii=%x spir=%x enc=%s integ=%s prf=%s (%s)", sa.SPIi, sa.SPIr, sa.Enc, sa.Integ, sa.PRF, sa.Origin)
}

// GoString keeps %#v from printing key bytes.
func (sa IKEv2SA) GoString() string { return "keys.IKEv2SA{" + sa.String() + "}" }
