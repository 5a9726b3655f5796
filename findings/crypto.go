package findings

import (
	"fmt"

	"github.com/dustin/go-humanize"

	"ipsecmon/algo"
	"ipsecmon/analyzer"
	"ipsecmon/decode/ike"
	"ipsecmon/ikestate"
	"ipsecmon/ipproto"
)

// weakness is what the RFCs hold against an algorithm: how serious, and
// why (completing "<algorithm> ...").
type weakness struct {
	sev Severity
	why string
}

// sweet32 is why a 64-bit block cipher is weak whatever its key.
const sweet32 = "has a 64-bit block: after about 2^32 blocks (32 GiB) under one key, colliding cipher blocks reveal plaintext (Sweet32)"

// encWeakness judges an encryption algorithm for ESP (RFC 8221 §5) or
// IKE (RFC 8247 §2.1, RFC 7296 §3.3.2).
func encWeakness(e algo.Enc, forIKE bool) (weakness, bool) {
	switch e {
	case algo.EncDESCBC:
		if forIKE {
			return weakness{High, "has a 56-bit key, found by exhaustive search; RFC 8247 §2.1: ENCR_DES MUST NOT be used"}, true
		}
		return weakness{High, "has a 56-bit key, found by exhaustive search; RFC 8221 §5: ENCR_DES MUST NOT be used"}, true
	case algo.Enc3DESCBC:
		if forIKE {
			return weakness{Medium, sweet32 + "; RFC 8247 §2.1 keeps ENCR_3DES only at MAY, to be retired"}, true
		}
		return weakness{Medium, sweet32 + "; RFC 8221 §5: ENCR_3DES SHOULD NOT be used"}, true
	case algo.EncBlowfishCBC:
		if forIKE {
			return weakness{Medium, sweet32 + "; RFC 8247 §2.1 lists AES and ChaCha20 for IKEv2 instead"}, true
		}
		return weakness{Medium, sweet32 + "; RFC 8221 §5: ENCR_BLOWFISH MUST NOT be used"}, true
	case algo.EncCAST5CBC:
		if forIKE {
			return weakness{Medium, sweet32 + "; RFC 8247 §2.1 lists AES and ChaCha20 for IKEv2 instead"}, true
		}
		return weakness{Medium, sweet32 + "; RFC 8221 §5 recommends AES-GCM, AES-CBC or ChaCha20-Poly1305 instead"}, true
	case algo.EncNull, algo.EncNullAESGMAC:
		if forIKE {
			return weakness{High, "leaves IKE's identities, keys for its CHILD SAs' traffic selectors and notifications in the clear; RFC 7296 §3.3.2: ENCR_NULL is not allowed for IKE"}, true
		}
	}
	return weakness{}, false
}

// authWeakness judges an integrity algorithm for ESP/AH (RFC 8221 §6) or
// IKEv2 (RFC 8247 §2.3).
func authWeakness(x algo.Auth, forIKE bool) (weakness, bool) {
	rfc := "RFC 8221 §6"
	if forIKE {
		rfc = "RFC 8247 §2.3"
	}
	switch x {
	case algo.AuthHMACMD5_96:
		return weakness{Medium, "is built on MD5, whose collisions are found in seconds; " + rfc + ": AUTH_HMAC_MD5_96 MUST NOT be used"}, true
	case algo.AuthHMACSHA1_96:
		return weakness{Low, "is built on SHA-1, whose collisions are practical; " + rfc + " keeps AUTH_HMAC_SHA1_96 at MUST-, expected to be downgraded: prefer HMAC-SHA2-256-128 or an AEAD cipher"}, true
	}
	return weakness{}, false
}

// prfWeakness judges an IKE PRF (RFC 8247 §2.2; IKEv1's PRF is the HMAC
// of its hash algorithm, RFC 2409 §5).
func prfWeakness(p algo.PRF, version int) (weakness, bool) {
	v1 := ""
	if version == 1 {
		v1 = " (IKEv1's PRF is the HMAC of its negotiated hash, which also authenticates its messages: RFC 2409 §5)"
	}
	switch p {
	case algo.PRFHMACMD5:
		return weakness{Medium, "is built on MD5" + v1 + "; RFC 8247 §2.2: PRF_HMAC_MD5 MUST NOT be used"}, true
	case algo.PRFHMACSHA1:
		return weakness{Low, "is built on SHA-1" + v1 + "; RFC 8247 §2.2 keeps PRF_HMAC_SHA1 at MUST-, expected to be downgraded"}, true
	}
	return weakness{}, false
}

// dhWeakness judges a Diffie-Hellman group (RFC 8247 §2.4).
func dhWeakness(g algo.DHGroup) (weakness, bool) {
	switch g {
	case 1:
		return weakness{High, "is a 768-bit group, whose discrete logarithms have been computed; RFC 8247 §2.4: group 1 MUST NOT be used"}, true
	case 2:
		return weakness{Medium, "is a 1024-bit group, within reach of a precomputation that breaks every exchange in it (Logjam); RFC 8247 §2.4: group 2 SHOULD NOT be used"}, true
	case 22:
		return weakness{Medium, "is a 1024-bit group (RFC 5114); RFC 8247 §2.4: group 22 SHOULD NOT be used"}, true
	case 5:
		return weakness{Low, "is a 1536-bit group, weaker than the 2048 bits RFC 8247 §2.4 requires (group 14 MUST); group 5 SHOULD NOT be used"}, true
	case 23, 24:
		return weakness{Low, fmt.Sprintf("is an RFC 5114 group with a small subgroup; RFC 8247 §2.4: group %d SHOULD NOT be used", g)}, true
	}
	return weakness{}, false
}

// suite is what protects one Quick Mode SA, and where that is known from.
type suite struct {
	proto   uint8
	enc     algo.Enc
	encBits int
	auth    algo.Auth
	from    string
}

// rowSuite returns the row's suite: what IKE negotiated, else what a key
// entry says (only when it names real algorithms).
func rowSuite(r *analyzer.QuickModeSA) (suite, bool) {
	if n := negotiation(r); n != nil && !n.Child.Inferred {
		c := n.Child
		return suite{proto: c.Proto, enc: c.Enc, encBits: c.EncKeyBits, auth: c.Auth,
			from: fmt.Sprintf("negotiated in %s of IKE SA %d", c.Exchange, c.IKESA.ID)}, true
	}
	for _, sa := range r.SAs() {
		k := sa.Keys()
		if k == nil || k.Unusable != "" || !(k.Auth.Checked() || k.Auth == algo.AuthNone) {
			continue
		}
		if sa.Key.Proto == ipproto.ESP && k.Enc == algo.EncUnknown {
			continue
		}
		return suite{proto: sa.Key.Proto, enc: k.Enc, encBits: k.EncKeyBits, auth: k.Auth, from: "per key entry " + k.Origin}, true
	}
	return suite{}, false
}

// saCrypto audits each Quick Mode SA's algorithms and forward secrecy.
func (a *auditor) saCrypto() []Finding {
	var out []Finding
	for _, r := range a.snap.Rows {
		u, ok := rowSuite(r)
		if !ok {
			continue
		}
		esp := u.proto == ipproto.ESP
		name := "AH"
		if esp {
			name = "ESP"
		}
		if esp {
			if w, bad := encWeakness(u.enc, false); bad {
				f := saFinding(WeakCryptoEnc, w.sev, r)
				f.Detail = fmt.Sprintf("ESP encrypts with %s (%s). %s %s.", u.enc.DisplayKey(u.encBits), u.from, u.enc.Display(), w.why)
				out = append(out, f)
			}
			if u.enc.IntegrityOnly() {
				f := saFinding(NoEncryption, Medium, r)
				f.Detail = fmt.Sprintf("ESP with NULL encryption (%s, %s): %s of payload crossed the wire in the clear, authenticated but readable by anyone on the path (RFC 2410 §1, RFC 4543 §3: integrity only, no confidentiality).",
					u.enc.DisplayKey(u.encBits), u.from, humanize.Bytes(rowBytes(r)))
				out = append(out, f)
			}
		}
		if w, bad := authWeakness(u.auth, false); bad {
			f := saFinding(WeakCryptoAuth, w.sev, r)
			f.Detail = fmt.Sprintf("%s authenticates with HMAC-%s (%s). It %s.", name, u.auth.Display(), u.from, w.why)
			out = append(out, f)
		}
		if esp && u.auth == algo.AuthNone && !u.enc.AEAD() && u.enc != algo.EncUnknown {
			f := saFinding(WeakCryptoNoAuth, High, r)
			if u.enc == algo.EncNull {
				f.Detail = fmt.Sprintf("ESP with neither encryption nor integrity (%s): RFC 4303 §3.2 requires at least one of them, and RFC 8221 §6 integrity whenever the cipher is not AEAD.", u.from)
			} else {
				f.Detail = fmt.Sprintf("ESP encrypts with %s but checks no integrity (%s): an attacker can alter ciphertext undetected, and CBC padding checks then leak plaintext; RFC 8221 §6: AUTH_NONE MUST NOT be used with a non-AEAD cipher.",
					u.enc.DisplayKey(u.encBits), u.from)
			}
			out = append(out, f)
		}
		out = append(out, a.pfs(r)...)
	}
	return out
}

// pfs audits a negotiated pair's own Diffie-Hellman: none (no_pfs) or a
// weak group (weak_crypto_dh).
func (a *auditor) pfs(r *analyzer.QuickModeSA) []Finding {
	n := negotiation(r)
	if n == nil || n.Child.Inferred {
		return nil
	}
	c := n.Child
	// An IKE_AUTH pair has no exchange of its own by design (RFC 7296 §1.2).
	if c.Exchange == ike.ExchangeIKEAuth.String() {
		return nil
	}
	g := algo.DHGroup(c.PFSGroupID)
	if g == 0 {
		f := saFinding(NoPFS, Low, r)
		kind, kdf, rfc := "a CREATE_CHILD_SA", "SK_d", "RFC 7296 §2.17"
		if c.Version == 1 {
			kind, kdf, rfc = "a Quick Mode", "SKEYID_d", "RFC 2409 §5.5"
		}
		f.Detail = fmt.Sprintf("IKE SA %d negotiated the pair in %s without a KE payload: its keys derive from the IKE SA's %s and the nonces alone (%s), so whoever learns the IKE SA's keys can decrypt this traffic too. A Diffie-Hellman of its own (PFS) would prevent that.",
			c.IKESA.ID, kind, kdf, rfc)
		return []Finding{f}
	}
	if w, bad := dhWeakness(g); bad {
		f := saFinding(WeakCryptoDH, w.sev, r)
		f.Detail = fmt.Sprintf("The pair's own Diffie-Hellman (PFS, %s of IKE SA %d) uses %s, which %s.", c.Exchange, c.IKESA.ID, g.Display(), w.why)
		return []Finding{f}
	}
	return nil
}

// rowBytes is what the row's SAs carried.
func rowBytes(r *analyzer.QuickModeSA) uint64 {
	var n uint64
	for _, sa := range r.SAs() {
		n += sa.Bytes
	}
	return n
}

// ikeCrypto audits each IKE SA's negotiated suite and exchange.
func (a *auditor) ikeCrypto() []Finding {
	var out []Finding
	for i := range a.snap.IKESAs {
		s := &a.snap.IKESAs[i]
		u := s.Suite
		if s.MultipleChoices > 0 {
			f := a.ikeFinding(MultipleServerProposal, Medium, s)
			f.Detail = fmt.Sprintf("The responder's SA payload chose more than one proposal or transform %d time(s) (%s); it must choose exactly one (RFC 7296 §3.3, RFC 2408 §4.2): the peers may not agree on what protects the SA.",
				s.MultipleChoices, ikeName(s))
			out = append(out, f)
		}
		if !u.Chosen {
			continue
		}
		if u.Exchange == ike.ExchangeAggressive && u.AuthV1.PreShared() {
			f := a.ikeFinding(AggressiveModePSK, High, s)
			f.Detail = fmt.Sprintf("IKEv1 Aggressive Mode with a pre-shared key (%s): the responder's hash, computed from the key, crosses the wire before any encryption, so anyone who captured it can guess the key offline (RFC 2409 §5.4 and §7); use Main Mode or IKEv2.",
				u.AuthV1)
			out = append(out, f)
		}
		if w, bad := encWeakness(u.Enc, true); bad {
			f := a.ikeFinding(WeakCryptoEnc, w.sev, s)
			f.Detail = fmt.Sprintf("The %s encrypts with %s. %s %s.%s", ikeName(s), u.Enc.DisplayKey(u.EncKeyBits), u.Enc.Display(), w.why, v1Note(s))
			out = append(out, f)
		}
		if s.Version == 2 && u.HasInteg {
			if w, bad := authWeakness(u.Integ, true); bad {
				f := a.ikeFinding(WeakCryptoAuth, w.sev, s)
				f.Detail = fmt.Sprintf("The %s authenticates its messages with HMAC-%s. It %s.", ikeName(s), u.Integ.Display(), w.why)
				out = append(out, f)
			}
		}
		if s.Version == 2 && !u.HasInteg && !u.Enc.AEAD() && u.Enc != algo.EncUnknown {
			f := a.ikeFinding(WeakCryptoNoAuth, High, s)
			f.Detail = fmt.Sprintf("The %s negotiated %s without an integrity transform: RFC 7296 §3.3.3 requires one with every non-AEAD cipher.", ikeName(s), u.Enc.DisplayKey(u.EncKeyBits))
			out = append(out, f)
		}
		if w, bad := prfWeakness(u.PRF, s.Version); bad {
			f := a.ikeFinding(WeakCryptoPRF, w.sev, s)
			f.Detail = fmt.Sprintf("The %s derives its keys with PRF HMAC-%s. It %s.%s", ikeName(s), u.PRF.Display(), w.why, v1Note(s))
			out = append(out, f)
		}
		switch w, bad := dhWeakness(u.DH); {
		case !u.HasDH:
			f := a.ikeFinding(WeakCryptoNoDH, High, s)
			f.Detail = fmt.Sprintf("The %s negotiated no Diffie-Hellman group: its keys then rest on nothing a passive observer lacks (RFC 7296 §3.3.3 requires a D-H transform for IKE SAs).", ikeName(s))
			out = append(out, f)
		case bad:
			f := a.ikeFinding(WeakCryptoDH, w.sev, s)
			f.Detail = fmt.Sprintf("The Diffie-Hellman of the %s uses %s, which %s. Every key of the IKE SA, and of its CHILD SAs without PFS, rests on it.%s", ikeName(s), u.DH.Display(), w.why, v1Note(s))
			out = append(out, f)
		}
	}
	return out
}

// ikeName names an IKE SA in details: "IKEv2 IKE SA 3 (IKE_SA_INIT)".
func ikeName(s *ikestate.IKESA) string {
	kind := "IKE SA"
	if s.Version == 1 {
		kind = "ISAKMP SA"
	}
	return fmt.Sprintf("IKEv%d %s %d (%s)", s.Version, kind, s.ID, s.Exchange)
}

// v1Note completes an IKE finding that cites RFC 8247, which is about
// IKEv2, for an IKEv1 SA.
func v1Note(s *ikestate.IKESA) string {
	if s.Version != 1 {
		return ""
	}
	return " (RFC 8247 is about IKEv2; IKEv1 itself is deprecated, RFC 9395.)"
}
