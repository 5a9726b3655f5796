// Package keyexport writes key material in the files other tools read:
// Wireshark 4.0's esp_sa, ikev1_decryption_table and ikev2_decryption_table
// (UAT files), tcpdump's -E secrets, the text `ip xfrm state` prints, and
// ipsecmon's native key format. It is the inverse of package keys, which
// reads every one of them back. Key bytes are secrets: this package writes
// them only to the writer it is handed, and its notes never hold them.
//
// A format that cannot express an entry (an algorithm the tool does not
// have, AH in Wireshark's ESP table, an ICV tcpdump cannot skip) leaves it
// out with a note saying why, so that a user learns which SAs the other
// tool will not decrypt.
package keyexport

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// The formats, by the names `ipsecmon keys --format` takes.
const (
	ESPSA   = "esp_sa"
	IKEv1   = "ikev1"
	IKEv2   = "ikev2"
	Tcpdump = "tcpdump"
	Xfrm    = "xfrm"
	Native  = "native"
)

// Formats lists the format names.
var Formats = []string{ESPSA, IKEv1, IKEv2, Tcpdump, Xfrm, Native}

// Result says what Write wrote.
type Result struct {
	Written int
	// Notes name each entry left out (or written with a caveat) and why;
	// never a key.
	Notes []string
}

func (r *Result) note(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }

// Write writes the entries of set that format can express to w: the ESP
// and AH SAs for esp_sa, tcpdump and xfrm; the IKE SAs of that version for
// ikev1 and ikev2; everything for native.
func Write(w io.Writer, format string, set keys.Set) (Result, error) {
	var b strings.Builder
	var r Result
	switch format {
	case ESPSA:
		espSA(&b, &r, set.SAs)
	case IKEv1:
		ikev1(&b, &r, set.IKEv1)
	case IKEv2:
		ikev2(&b, &r, set.IKEv2)
	case Tcpdump:
		tcpdump(&b, &r, set.SAs)
	case Xfrm:
		xfrm(&b, &r, set.SAs)
	case Native:
		native(&b, &r, set)
	default:
		return r, fmt.Errorf("keyexport: unknown format %q (one of %s)", format, strings.Join(Formats, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return r, err
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// integrity is the integrity algorithm an entry names beside enc: none
// for an AEAD, a combined mode algorithm whose own ICV protects the
// packet (RFC 4303 §3.2.3), whatever integrity the key source named.
func integrity(enc algo.Enc, a algo.Auth) algo.Auth {
	if enc.AEAD() {
		return algo.AuthNone
	}
	return a
}

// name is how a note names an SA (no key).
func name(sa keys.SA) string {
	p := "ESP"
	if sa.Proto == ipproto.AH {
		p = "AH"
	}
	return fmt.Sprintf("%s SPI 0x%08x to %s", p, sa.SPI, sa.Dst.Addr())
}

// exact reports an SA one SPI and destination name, as every format but
// Wireshark's and ipsecmon's own needs.
func exact(r *Result, sa keys.SA, format string) bool {
	if sa.AnySPI || sa.SPIWild != 0 || !sa.Dst.IsValid() || sa.Dst.Bits() != sa.Dst.Addr().BitLen() {
		r.note("%s: an entry for any SPI or address (%s) left out: %s names one SPI and destination per line", format, sa.Origin, format)
		return false
	}
	return true
}

// uatAddr is an address column of esp_sa: "*" for any, else the address
// or prefix.
func uatAddr(p netip.Prefix) string {
	switch {
	case !p.IsValid() || p.Bits() == 0:
		return "*"
	case p.Bits() == p.Addr().BitLen():
		return p.Addr().String()
	}
	return p.String()
}

// espSA writes Wireshark 4.0's 8-column esp_sa table (packet-ipsec.c's
// UAT: protocol, source, destination, SPI, encryption, key,
// authentication, key; every field quoted, keys as 0x-hex).
func espSA(b *strings.Builder, r *Result, sas []keys.SA) {
	b.WriteString("# Wireshark esp_sa table (Wireshark 4.0), written by ipsecmon keys: it holds keys.\n")
	for _, sa := range sas {
		if sa.NoKeys {
			continue
		}
		if sa.Proto != ipproto.ESP {
			r.note("esp_sa: %s left out: Wireshark's esp_sa table is for ESP only", name(sa))
			continue
		}
		en, ok := sa.Enc.WiresharkESPName()
		if !ok {
			r.note("esp_sa: %s left out: Wireshark 4.0 has no %s", name(sa), sa.Enc.Display())
			continue
		}
		auth := integrity(sa.Enc, sa.Auth)
		an, ok := auth.WiresharkESPName()
		if !ok {
			r.note("esp_sa: %s left out: Wireshark 4.0 has no %s integrity", name(sa), auth.Display())
			continue
		}
		fam := "Any"
		switch {
		case sa.Dst.IsValid() && sa.Dst.Bits() > 0 && sa.Dst.Addr().Is4():
			fam = "IPv4"
		case sa.Dst.IsValid() && sa.Dst.Bits() > 0:
			fam = "IPv6"
		}
		spi := fmt.Sprintf("0x%08x", sa.SPI)
		switch {
		case sa.AnySPI:
			spi = "*"
		case sa.SPIWild != 0:
			// A partial wildcard: the free hex digits as "*" (they are whole digits).
			d := []byte(spi)
			for i := 0; i < 8; i++ {
				if sa.SPIWild>>(28-4*i)&0xf != 0 {
					d[2+i] = '*'
				}
			}
			spi = string(d)
		}
		ek, ak := "", ""
		if len(sa.EncKey) > 0 {
			ek = "0x" + hx(sa.EncKey)
		}
		if auth.Checked() {
			ak = "0x" + hx(sa.AuthKey)
		}
		if sa.ESN {
			r.note("esp_sa: %s uses extended sequence numbers, which Wireshark 4.0's table cannot say: its ICVs will not check", name(sa))
		}
		fmt.Fprintf(b, "%q,%q,%q,%q,%q,%q,%q,%q\n", fam, uatAddr(sa.Src), uatAddr(sa.Dst), spi, en, ek, an, ak)
		r.Written++
	}
}

// ikev1 writes ikev1_decryption_table: initiator cookie and phase 1
// encryption key, both unquoted hex (Wireshark reads a quoted key as text).
func ikev1(b *strings.Builder, r *Result, sas []keys.IKEv1SA) {
	b.WriteString("# Wireshark ikev1_decryption_table, written by ipsecmon keys: it holds keys.\n")
	for _, sa := range sas {
		fmt.Fprintf(b, "%s,%s\n", hx(sa.ICookie[:]), hx(sa.EncKey))
		r.Written++
	}
}

// ikev2 writes ikev2_decryption_table: SPIi, SPIr, SK_ei, SK_er,
// encryption, SK_ai, SK_ar, integrity (packet-isakmp.c's UAT).
func ikev2(b *strings.Builder, r *Result, sas []keys.IKEv2SA) {
	b.WriteString("# Wireshark ikev2_decryption_table, written by ipsecmon keys: it holds keys.\n")
	for _, sa := range sas {
		id := fmt.Sprintf("IKEv2 SA %s/%s", hx(sa.SPIi[:]), hx(sa.SPIr[:]))
		en, ok := sa.Enc.WiresharkIKEv2Name(len(sa.SKei) - sa.Enc.SaltLen())
		if !ok {
			r.note("ikev2: %s left out: Wireshark 4.0 has no %s with a %d-byte key", id, sa.Enc.Display(), len(sa.SKei)-sa.Enc.SaltLen())
			continue
		}
		integ := integrity(sa.Enc, sa.Integ)
		in, ok := integ.WiresharkIKEv2Name()
		if !ok {
			r.note("ikev2: %s left out: Wireshark 4.0 has no %s integrity", id, integ.Display())
			continue
		}
		fmt.Fprintf(b, "%s,%s,%s,%s,%q,%s,%s,%q\n", hx(sa.SPIi[:]), hx(sa.SPIr[:]), hx(sa.SKei), hx(sa.SKer), en, hx(sa.SKai), hx(sa.SKar), in)
		r.Written++
	}
}

// tcpdumpCipher is the OpenSSL cipher name tcpdump's -E takes for e with a
// key of n bytes (print-esp.c hands it to EVP_get_cipherbyname).
func tcpdumpCipher(e algo.Enc, n int) (string, bool) {
	switch e {
	case algo.EncNull:
		return "none", true
	case algo.EncDESCBC:
		return "des-cbc", true
	case algo.Enc3DESCBC:
		return "3des-cbc", true
	case algo.EncAESCBC:
		return fmt.Sprintf("aes%d-cbc", 8*n), true
	case algo.EncBlowfishCBC:
		return "blowfish-cbc", true
	case algo.EncCAST5CBC:
		return "cast128-cbc", true
	}
	return "", false
}

// tcpdump writes tcpdump's -E secrets, "0xSPI@dst cipher[-hmac96]:0xkey"
// per ESP SA. tcpdump checks no ICV: "-hmac96" only tells it to skip 12
// bytes, so SAs with another ICV length, or an AEAD, cannot be given.
func tcpdump(b *strings.Builder, r *Result, sas []keys.SA) {
	b.WriteString("# tcpdump -E secrets (tcpdump -E \"file THIS\"), written by ipsecmon keys: it holds keys.\n")
	for _, sa := range sas {
		if sa.NoKeys || !exact(r, sa, Tcpdump) {
			continue
		}
		if sa.Proto != ipproto.ESP {
			r.note("tcpdump: %s left out: tcpdump decrypts ESP only", name(sa))
			continue
		}
		c, ok := tcpdumpCipher(sa.Enc, len(sa.EncKey))
		if !ok {
			r.note("tcpdump: %s left out: tcpdump's -E has no %s", name(sa), sa.Enc.Display())
			continue
		}
		switch sa.Auth.ICVLen() {
		case 0:
		case 12:
			c += "-hmac96"
		default:
			r.note("tcpdump: %s left out: tcpdump can skip only a 96-bit ICV, not %s's %d bytes", name(sa), sa.Auth.Display(), sa.Auth.ICVLen())
			continue
		}
		fmt.Fprintf(b, "0x%08x@%s %s:0x%s\n", sa.SPI, sa.Dst.Addr(), c, hx(sa.EncKey))
		r.Written++
	}
}

// xfrm writes SA blocks as `ip xfrm state` prints them (iproute2's
// xfrm_state_print), which ipsecmon and the scripts that read a gateway's
// dump take back.
func xfrm(b *strings.Builder, r *Result, sas []keys.SA) {
	b.WriteString("# ip xfrm state, written by ipsecmon keys: it holds keys.\n")
	for _, sa := range sas {
		if sa.NoKeys || !exact(r, sa, Xfrm) {
			continue
		}
		if !sa.Src.IsValid() || sa.Src.Bits() != sa.Src.Addr().BitLen() {
			r.note("xfrm: %s left out: its source address is not known", name(sa))
			continue
		}
		var lines []string
		if sa.Proto == ipproto.ESP {
			en, aead, icv, ok := sa.Enc.LinuxName()
			if !ok {
				r.note("xfrm: %s left out: Linux has no %s", name(sa), sa.Enc.Display())
				continue
			}
			key := "0x" + hx(sa.EncKey)
			switch {
			case aead:
				lines = append(lines, fmt.Sprintf("aead %s %s %d", en, key, icv))
			case sa.Enc == algo.EncNull:
				lines = append(lines, "enc "+en+" 0x")
			default:
				lines = append(lines, fmt.Sprintf("enc %s %s", en, key))
			}
		}
		if sa.Auth != algo.AuthNone && !(sa.Proto == ipproto.ESP && sa.Enc.AEAD()) {
			an, bits, ok := sa.Auth.LinuxName()
			if !ok {
				r.note("xfrm: %s left out: Linux has no %s integrity", name(sa), sa.Auth.Display())
				continue
			}
			// iproute2 prints auth-trunc before enc.
			lines = append([]string{fmt.Sprintf("auth-trunc %s 0x%s %d", an, hx(sa.AuthKey), bits)}, lines...)
		}
		proto, mode := "esp", sa.Mode
		if sa.Proto == ipproto.AH {
			proto = "ah"
		}
		if mode == "" {
			mode = "tunnel"
			r.note("xfrm: %s: mode not known, written as tunnel", name(sa))
		}
		flags := "flag af-unspec"
		if sa.ESN {
			flags += " esn"
		}
		fmt.Fprintf(b, "src %s dst %s\n\tproto %s spi 0x%08x reqid 0 mode %s\n\treplay-window %d %s\n",
			sa.Src.Addr(), sa.Dst.Addr(), proto, sa.SPI, mode, sa.ReplayWindow, flags)
		for _, l := range lines {
			b.WriteString("\t" + l + "\n")
		}
		if sa.EncapSport != 0 || sa.EncapDport != 0 {
			fmt.Fprintf(b, "\tencap type espinudp sport %d dport %d addr 0.0.0.0\n", sa.EncapSport, sa.EncapDport)
		}
		r.Written++
	}
}

// native writes ipsecmon's own format (README "Native key format"), the
// only one that carries SKEYID_d and SK_d.
func native(b *strings.Builder, r *Result, set keys.Set) {
	b.WriteString("# ipsecmon native keys, written by ipsecmon keys: it holds keys.\n")
	for _, sa := range set.IKEv1 {
		fmt.Fprintf(b, "ikev1 icookie=%s", hx(sa.ICookie[:]))
		if sa.HasRCookie {
			fmt.Fprintf(b, " rcookie=%s", hx(sa.RCookie[:]))
		}
		fmt.Fprintf(b, " enc-key=0x%s", hx(sa.EncKey))
		if sa.Enc != algo.EncUnknown {
			fmt.Fprintf(b, " enc=%s", sa.Enc)
		}
		if sa.PRF != algo.PRFUnknown {
			fmt.Fprintf(b, " prf=%s", sa.PRF)
		}
		if len(sa.SKEYIDd) > 0 {
			fmt.Fprintf(b, " skeyid-d=0x%s", hx(sa.SKEYIDd))
		}
		if len(sa.SKEYIDa) > 0 {
			fmt.Fprintf(b, " skeyid-a=0x%s", hx(sa.SKEYIDa))
		}
		b.WriteByte('\n')
		r.Written++
	}
	for _, sa := range set.IKEv2 {
		if sa.PRF == algo.PRFUnknown {
			r.note("native: IKEv2 SA %s/%s left out: its PRF is not known (Wireshark's table does not say it)", hx(sa.SPIi[:]), hx(sa.SPIr[:]))
			continue
		}
		integ := integrity(sa.Enc, sa.Integ)
		fmt.Fprintf(b, "ikev2 spii=%s spir=%s enc=%s sk-ei=0x%s sk-er=0x%s integ=%s", hx(sa.SPIi[:]), hx(sa.SPIr[:]), sa.Enc, hx(sa.SKei), hx(sa.SKer), integ)
		if integ != algo.AuthNone {
			fmt.Fprintf(b, " sk-ai=0x%s sk-ar=0x%s", hx(sa.SKai), hx(sa.SKar))
		}
		fmt.Fprintf(b, " prf=%s", sa.PRF)
		if len(sa.SKd) > 0 {
			fmt.Fprintf(b, " sk-d=0x%s", hx(sa.SKd))
		}
		b.WriteByte('\n')
		r.Written++
	}
	for _, sa := range set.SAs {
		if sa.NoKeys {
			continue
		}
		kind := "esp"
		if sa.Proto == ipproto.AH {
			kind = "ah"
		}
		spi := fmt.Sprintf("0x%08x", sa.SPI)
		if sa.AnySPI {
			spi = "*"
		}
		if sa.SPIWild != 0 {
			r.note("native: %s left out: a partial SPI wildcard", name(sa))
			continue
		}
		fmt.Fprintf(b, "%s spi=%s dst=%s", kind, spi, uatAddr(sa.Dst))
		if sa.Src.IsValid() && sa.Src.Bits() > 0 {
			fmt.Fprintf(b, " src=%s", uatAddr(sa.Src))
		}
		if sa.Proto == ipproto.ESP {
			fmt.Fprintf(b, " enc=%s", sa.Enc)
			if len(sa.EncKey) > 0 {
				fmt.Fprintf(b, " enc-key=0x%s", hx(sa.EncKey))
			}
		}
		if !(sa.Proto == ipproto.ESP && sa.Enc.AEAD()) {
			fmt.Fprintf(b, " auth=%s", sa.Auth)
			if len(sa.AuthKey) > 0 {
				fmt.Fprintf(b, " auth-key=0x%s", hx(sa.AuthKey))
			}
		}
		if sa.ESN {
			b.WriteString(" esn")
		}
		if sa.EncapSport != 0 || sa.EncapDport != 0 {
			fmt.Fprintf(b, " encap=%d:%d", sa.EncapSport, sa.EncapDport)
		}
		if sa.Mode != "" {
			fmt.Fprintf(b, " mode=%s", sa.Mode)
		}
		if sa.ReplayWindow > 0 {
			fmt.Fprintf(b, " replay-window=%d", sa.ReplayWindow)
		}
		b.WriteByte('\n')
		r.Written++
	}
}
