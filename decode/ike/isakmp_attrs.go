package ike

import "ipsecmon/algo"

// IKEv1 phase 1 attribute types (RFC 2409 Appendix A).
const (
	P1AttrEncryption uint16 = 1
	P1AttrHash       uint16 = 2
	P1AttrAuthMethod uint16 = 3
	P1AttrGroupDesc  uint16 = 4
	P1AttrGroupType  uint16 = 5
	P1AttrLifeType   uint16 = 11
	P1AttrLifeDur    uint16 = 12
	P1AttrPRF        uint16 = 13
	P1AttrKeyLength  uint16 = 14
)

var p1AttrNames = map[uint16]string{
	1: "Encryption-Algorithm", 2: "Hash-Algorithm", 3: "Authentication-Method", 4: "Group-Description",
	5: "Group-Type", 6: "Group-Prime", 7: "Group-Generator-One", 8: "Group-Generator-Two",
	9: "Group-Curve-A", 10: "Group-Curve-B", 11: "Life-Type", 12: "Life-Duration", 13: "PRF",
	14: "Key-Length", 15: "Field-Size", 16: "Group-Order",
}

// P1AttrName names an IKEv1 phase 1 attribute type.
func P1AttrName(t uint16) string { return nameOf(p1AttrNames, t) }

// IKEv1 phase 2 (IPsec DOI) attribute types (RFC 2407 §4.5, RFC 4304).
const (
	P2AttrLifeType  uint16 = 1
	P2AttrLifeDur   uint16 = 2
	P2AttrGroupDesc uint16 = 3
	P2AttrEncap     uint16 = 4
	P2AttrAuthAlg   uint16 = 5
	P2AttrKeyLength uint16 = 6
	P2AttrKeyRounds uint16 = 7
	P2AttrECN       uint16 = 10
	P2AttrESN       uint16 = 11
)

var p2AttrNames = map[uint16]string{
	1: "SA-Life-Type", 2: "SA-Life-Duration", 3: "Group-Description", 4: "Encapsulation-Mode",
	5: "Authentication-Algorithm", 6: "Key-Length", 7: "Key-Rounds", 8: "Compress-Dictionary-Size",
	9: "Compress-Private-Algorithm", 10: "ECN-Tunnel", 11: "Extended-Sequence-Number",
	12: "Authentication-Key-Length", 13: "Signature-Encoding", 14: "Address-Preservation", 15: "SA-Direction",
}

// P2AttrName names an IKEv1 IPsec DOI attribute type.
func P2AttrName(t uint16) string { return nameOf(p2AttrNames, t) }

// P1EncName names an IKEv1 phase 1 encryption algorithm.
func P1EncName(v uint16) string { return ianaName(algo.IKEv1P1Enc, v) }

// P1HashName names an IKEv1 phase 1 hash algorithm.
func P1HashName(v uint16) string { return ianaName(algo.IKEv1P1Hash, v) }

// AuthMethodV1 is the phase 1 Authentication Method attribute (RFC 2409
// Appendix A, RFC 4754, and the XAUTH/hybrid private values).
type AuthMethodV1 uint16

var authMethodV1Names = map[AuthMethodV1]string{
	1: "Pre-Shared Key", 2: "DSS Signatures", 3: "RSA Signatures", 4: "RSA Encryption",
	5: "Revised RSA Encryption", 9: "ECDSA-SHA256", 10: "ECDSA-SHA384", 11: "ECDSA-SHA512",
	64221: "HybridInitRSA", 64222: "HybridRespRSA", 64223: "HybridInitDSS", 64224: "HybridRespDSS",
	65001: "XAUTHInitPreShared", 65002: "XAUTHRespPreShared", 65003: "XAUTHInitDSS", 65004: "XAUTHRespDSS",
	65005: "XAUTHInitRSA", 65006: "XAUTHRespRSA", 65007: "XAUTHInitRSAEncryption",
	65008: "XAUTHRespRSAEncryption", 65009: "XAUTHInitRSARevisedEncryption",
	65010: "XAUTHRespRSARevisedEncryption",
}

func (m AuthMethodV1) String() string { return nameOf(authMethodV1Names, m) }

// EncapMode is the phase 2 Encapsulation Mode attribute (RFC 2407 §4.5,
// RFC 3947 §5.3, and the numbers of the NAT-T drafts).
type EncapMode uint16

const (
	EncapTunnel            EncapMode = 1
	EncapTransport         EncapMode = 2
	EncapUDPTunnel         EncapMode = 3
	EncapUDPTransport      EncapMode = 4
	EncapUDPTunnelDraft    EncapMode = 61443
	EncapUDPTransportDraft EncapMode = 61444
)

var encapNames = map[EncapMode]string{
	EncapTunnel: "Tunnel", EncapTransport: "Transport", EncapUDPTunnel: "UDP-Encapsulated-Tunnel",
	EncapUDPTransport: "UDP-Encapsulated-Transport", EncapUDPTunnelDraft: "UDP-Encapsulated-Tunnel (draft)",
	EncapUDPTransportDraft: "UDP-Encapsulated-Transport (draft)",
}

func (m EncapMode) String() string { return nameOf(encapNames, m) }

// Tunnel reports a tunnel mode (plain or UDP-encapsulated).
func (m EncapMode) Tunnel() bool {
	return m == EncapTunnel || m == EncapUDPTunnel || m == EncapUDPTunnelDraft
}

// UDP reports UDP encapsulation (RFC 3948).
func (m EncapMode) UDP() bool {
	return m == EncapUDPTunnel || m == EncapUDPTransport || m == EncapUDPTunnelDraft || m == EncapUDPTransportDraft
}

var ipcompTransformNames = map[uint8]string{1: "IPCOMP_OUI", 2: "IPCOMP_DEFLATE", 3: "IPCOMP_LZS", 4: "IPCOMP_LZJH"}

// TransformIDName names a phase 1 or phase 2 transform ID of protocol p.
func TransformIDName(p ProtocolID, id uint8) string {
	switch p {
	case ProtoISAKMP:
		if id == 1 {
			return "KEY_IKE"
		}
	case ProtoESP:
		return ianaName(algo.IKEv1ESP, uint16(id))
	case ProtoAH:
		return ianaName(algo.IKEv1AH, uint16(id))
	case ProtoIPComp:
		return nameOf(ipcompTransformNames, id)
	}
	return nameOf(map[uint8]string{}, id)
}

// AuthAlgV1Name names a phase 2 Authentication Algorithm attribute value.
func AuthAlgV1Name(v uint16) string { return ianaName(algo.IKEv1AuthAlg, v) }

// Life types of phase 1 and phase 2 (same numbers).
const (
	LifeSeconds   uint16 = 1
	LifeKilobytes uint16 = 2
)

// Phase1 is what a phase 1 (KEY_IKE) transform proposes, read from its attributes.
type Phase1 struct {
	Enc           uint16 // P1EncName
	KeyLen        uint16 // bits; 0 = not stated (fixed-size ciphers)
	Hash          uint16 // P1HashName
	PRF           uint16 // rarely sent; 0 = HMAC of Hash
	AuthMethod    AuthMethodV1
	Group         DHGroup
	LifeSeconds   uint64
	LifeKilobytes uint64
}

// Phase1 interprets t's attributes as phase 1 attributes.
func (t TransformV1) Phase1() Phase1 {
	var p Phase1
	lifeType := uint16(0)
	for _, a := range t.Attrs {
		v, ok := a.Uint()
		if !ok {
			continue
		}
		switch a.Type {
		case P1AttrEncryption:
			p.Enc = uint16(v)
		case P1AttrHash:
			p.Hash = uint16(v)
		case P1AttrAuthMethod:
			p.AuthMethod = AuthMethodV1(v)
		case P1AttrGroupDesc:
			p.Group = DHGroup(v)
		case P1AttrPRF:
			p.PRF = uint16(v)
		case P1AttrKeyLength:
			p.KeyLen = uint16(v)
		case P1AttrLifeType:
			lifeType = uint16(v)
		case P1AttrLifeDur:
			// A duration applies to the life type that precedes it (RFC 2409 Appendix A).
			switch lifeType {
			case LifeSeconds:
				p.LifeSeconds = v
			case LifeKilobytes:
				p.LifeKilobytes = v
			}
		}
	}
	return p
}

// Cipher maps the phase 1 encryption attribute to an algo.Enc.
func (p Phase1) Cipher() algo.Enc { return algo.EncFromIKEv1Phase1(p.Enc) }

// PRFAlg is the phase 1 PRF: HMAC of the negotiated hash (RFC 2409 §5).
func (p Phase1) PRFAlg() algo.PRF { return algo.PRFFromIKEv1Hash(p.Hash) }

// KeyBytes is the phase 1 encryption key length in bytes: the Key-Length
// attribute for variable-length ciphers, else the cipher's fixed size.
func (p Phase1) KeyBytes() int {
	if p.KeyLen != 0 {
		return int(p.KeyLen) / 8
	}
	switch p.Cipher() {
	case algo.EncDESCBC:
		return 8
	case algo.Enc3DESCBC:
		return 24
	case algo.EncAESCBC, algo.EncBlowfishCBC, algo.EncCAST5CBC:
		return 16 // RFC 3602 has no default, but 128 bits is what every implementation assumes
	}
	return 0
}

// Phase2 is what a Quick Mode transform proposes.
type Phase2 struct {
	Protocol      ProtocolID
	TransformID   uint8
	Encap         EncapMode // 0 = not stated (tunnel by default)
	AuthAlg       uint16    // AuthAlgV1Name
	Group         DHGroup   // PFS group, 0 = none
	KeyLen        uint16    // bits
	LifeSeconds   uint64
	LifeKilobytes uint64
	ESN           bool
}

// Phase2 interprets t's attributes as IPsec DOI attributes of protocol p.
func (t TransformV1) Phase2(p ProtocolID) Phase2 {
	q := Phase2{Protocol: p, TransformID: t.ID}
	lifeType := uint16(0)
	for _, a := range t.Attrs {
		v, ok := a.Uint()
		if !ok {
			continue
		}
		switch a.Type {
		case P2AttrLifeType:
			lifeType = uint16(v)
		case P2AttrLifeDur:
			switch lifeType {
			case LifeSeconds:
				q.LifeSeconds = v
			case LifeKilobytes:
				q.LifeKilobytes = v
			}
		case P2AttrGroupDesc:
			q.Group = DHGroup(v)
		case P2AttrEncap:
			q.Encap = EncapMode(v)
		case P2AttrAuthAlg:
			q.AuthAlg = uint16(v)
		case P2AttrKeyLength:
			q.KeyLen = uint16(v)
		case P2AttrESN:
			q.ESN = v == 1
		}
	}
	return q
}

// Algorithms maps the transform to ESP/AH algorithms. For AH the transform ID
// names the integrity algorithm; the attribute, when present, agrees with it.
func (q Phase2) Algorithms() (algo.Enc, algo.Auth) {
	switch q.Protocol {
	case ProtoESP:
		enc := algo.EncFromIKEv1ESP(uint16(q.TransformID))
		auth := algo.AuthNone
		if q.AuthAlg != 0 {
			auth = algo.AuthFromIKEv1(q.AuthAlg)
		}
		return enc, auth
	case ProtoAH:
		if q.AuthAlg != 0 {
			return algo.EncUnknown, algo.AuthFromIKEv1(q.AuthAlg)
		}
		return algo.EncUnknown, algo.AuthFromIKEv1AH(uint16(q.TransformID))
	}
	return algo.EncUnknown, algo.AuthUnknown
}

// EncKeyBits is the encryption key length in bits without salt: the Key
// Length attribute, or the cipher's fixed size.
func (q Phase2) EncKeyBits() int {
	if q.KeyLen != 0 {
		return int(q.KeyLen)
	}
	enc, _ := q.Algorithms()
	return DefaultKeyBits(enc)
}

// DefaultKeyBits is the key length in bits of a cipher with one fixed size
// (0 for NULL and for ciphers whose length a Key Length attribute gives).
func DefaultKeyBits(enc algo.Enc) int {
	switch enc {
	case algo.EncDESCBC:
		return 64
	case algo.Enc3DESCBC:
		return 192
	case algo.EncNull:
		return 0
	case algo.EncChaCha20Poly1305:
		return 256
	case algo.EncBlowfishCBC, algo.EncCAST5CBC:
		return 128 // RFC 2451 defaults
	}
	return 0
}

// PreShared reports authentication with a pre-shared key, alone or with
// XAUTH after it (RFC 2409 §5.4; the XAUTH methods of
// draft-ietf-ipsec-isakmp-xauth): what makes an Aggressive Mode exchange
// open to an offline guess of the key.
func (m AuthMethodV1) PreShared() bool { return m == 1 || m == 65001 || m == 65002 }
