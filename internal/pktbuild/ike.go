package pktbuild

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"net/netip"

	"ipsecmon/decode/ike"
)

// IKE messages, byte for byte as RFC 7296 §3 (IKEv2) and RFC 2408 §3
// (IKEv1) lay them out.

// Payload is one IKE payload: its type and body (the generic header is
// added by Chain).
type Payload struct {
	T ike.PayloadType
	B []byte
}

// Seq returns n bytes counting up from from (nonces, keys and filler that
// are recognisable in a dump).
func Seq(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}

// SPI8 is an IKE SPI written in hex.
func SPI8(s string) ike.SPI {
	var x ike.SPI
	b, _ := hex.DecodeString(s)
	copy(x[:], b)
	return x
}

// Chain links payloads with their Next Payload fields (RFC 7296 §3.2).
func Chain(ps []Payload) (ike.PayloadType, []byte) {
	if len(ps) == 0 {
		return ike.PayloadNone, nil
	}
	var out []byte
	for i, p := range ps {
		next := ike.PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].T
		}
		out = append(out, byte(next), 0)
		out = append(out, U16(uint16(4+len(p.B)))...)
		out = append(out, p.B...)
	}
	return ps[0].T, out
}

// IKEMessageHeader is the IKE header of either version (RFC 7296 §3.1,
// RFC 2408 §3.1) for a body of bodyLen bytes.
func IKEMessageHeader(ispi, rspi ike.SPI, next ike.PayloadType, ver uint8, ex ike.ExchangeType, flags uint8, mid uint32, bodyLen int) []byte {
	return Cat(ispi[:], rspi[:], []byte{byte(next), ver, byte(ex), flags}, U32(mid), U32(uint32(ike.HeaderLen+bodyLen)))
}

// V2Msg is a cleartext IKEv2 message.
func V2Msg(ispi, rspi ike.SPI, ex ike.ExchangeType, flags uint8, mid uint32, ps ...Payload) []byte {
	first, body := Chain(ps)
	return append(IKEMessageHeader(ispi, rspi, first, 0x20, ex, flags, mid, len(body)), body...)
}

// V2SK wraps inner payloads in an SK payload under ENCR_NULL without
// integrity: plaintext, then the Pad Length byte (RFC 7296 §3.14).
func V2SK(ispi, rspi ike.SPI, ex ike.ExchangeType, flags uint8, mid uint32, inner ...Payload) []byte {
	first, body := Chain(inner)
	sk := Cat([]byte{byte(first), 0}, U16(uint16(4+len(body)+1)), body, []byte{0})
	return append(IKEMessageHeader(ispi, rspi, ike.PayloadSK, 0x20, ex, flags, mid, len(sk)), sk...)
}

// TransformV2 is an IKEv2 transform substructure, with a Key Length
// attribute when keyLen is not 0 (RFC 7296 §3.3.2, §3.3.5).
func TransformV2(typ ike.TransformType, id int, keyLen int) []byte {
	attrs := []byte{}
	if keyLen != 0 {
		attrs = Cat([]byte{0x80, 0x0e}, U16(uint16(keyLen)))
	}
	return Cat([]byte{3, 0}, U16(uint16(8+len(attrs))), []byte{byte(typ), 0}, U16(uint16(id)), attrs)
}

// ProposalV2 is an IKEv2 proposal substructure (RFC 7296 §3.3.1).
func ProposalV2(num uint8, proto ike.ProtocolID, spi []byte, trs ...[]byte) []byte {
	if len(trs) > 0 {
		trs[len(trs)-1][0] = 0 // last transform
	}
	body := Cat([]byte{num, byte(proto), byte(len(spi)), byte(len(trs))}, spi, Cat(trs...))
	return Cat([]byte{2, 0}, U16(uint16(4+len(body))), body)
}

// SAv2 is an IKEv2 SA payload.
func SAv2(props ...[]byte) Payload {
	props[len(props)-1][0] = 0 // last proposal
	return Payload{ike.PayloadSAv2, Cat(props...)}
}

// ESPProposalV2 offers ESP AES-CBC-128 with HMAC-SHA2-256-128 and no ESN
// under spi, with a PFS group when dh is not 0.
func ESPProposalV2(spi uint32, dh int) []byte {
	trs := [][]byte{TransformV2(ike.TransformENCR, 12, 128), TransformV2(ike.TransformINTEG, 12, 0), TransformV2(ike.TransformESN, 0, 0)}
	if dh != 0 {
		trs = append(trs, TransformV2(ike.TransformDH, dh, 0))
	}
	return ProposalV2(1, ike.ProtoESP, U32(spi), trs...)
}

// IKEProposalV2 offers an IKE SA: AES-CBC-128, PRF-HMAC-SHA2-256,
// HMAC-SHA2-256-128, MODP-2048.
func IKEProposalV2(spi []byte) []byte {
	return ProposalV2(1, ike.ProtoISAKMP, spi, TransformV2(ike.TransformENCR, 12, 128), TransformV2(ike.TransformPRF, 5, 0),
		TransformV2(ike.TransformINTEG, 12, 0), TransformV2(ike.TransformDH, 14, 0))
}

// TSv4 is one IPv4 address-range traffic selector, all protocols and ports.
func TSv4(lo, hi string) []byte {
	a, b := netip.MustParseAddr(lo).As4(), netip.MustParseAddr(hi).As4()
	return Cat([]byte{1, 0, 0, 0}, []byte{7, 0}, U16(16), U16(0), U16(65535), a[:], b[:])
}

// NonceV2, KEv2, NotifyV2, DeleteV2, IDv2 and AuthV2 are IKEv2 payloads.
func NonceV2(b []byte) Payload { return Payload{ike.PayloadNonceV2, b} }
func KEv2(group int) Payload {
	return Payload{ike.PayloadKEv2, Cat(U16(uint16(group)), U16(0), Seq(0x55, 32))}
}
func NotifyV2(proto ike.ProtocolID, spi []byte, typ ike.NotifyType) Payload {
	return Payload{ike.PayloadNotifyV2, Cat([]byte{byte(proto), byte(len(spi))}, U16(uint16(typ)), spi)}
}
func DeleteV2(proto ike.ProtocolID, spis ...uint32) Payload {
	size := 0
	var b []byte
	for _, s := range spis {
		size = 4
		b = append(b, U32(s)...)
	}
	return Payload{ike.PayloadDeleteV2, Cat([]byte{byte(proto), byte(size)}, U16(uint16(len(spis))), b)}
}
func IDv2(t ike.PayloadType, fqdn string) Payload {
	return Payload{t, Cat([]byte{2, 0, 0, 0}, []byte(fqdn))}
}
func AuthV2() Payload { return Payload{ike.PayloadAuth, Cat([]byte{2, 0, 0, 0}, Seq(0, 32))} }

// AttrTV is an IKEv1 attribute in the short (TV) form (RFC 2408 §3.3).
func AttrTV(t, v int) []byte { return Cat(U16(uint16(0x8000|t)), U16(uint16(v))) }

// TransformV1 and ProposalV1 are IKEv1 substructures (RFC 2408 §3.5, §3.6).
func TransformV1(num, id uint8, attrs ...[]byte) []byte {
	body := Cat([]byte{num, id, 0, 0}, Cat(attrs...))
	return Cat([]byte{0, 0}, U16(uint16(4+len(body))), body)
}
func ProposalV1(num uint8, proto ike.ProtocolID, spi []byte, trs ...[]byte) []byte {
	body := Cat([]byte{num, byte(proto), byte(len(spi)), byte(len(trs))}, spi, Cat(trs...))
	return Cat([]byte{0, 0}, U16(uint16(4+len(body))), body)
}

// SAv1 is an IKEv1 SA payload in the IPsec DOI, SIT_IDENTITY_ONLY.
func SAv1(props ...[]byte) Payload {
	for i := range props[:len(props)-1] {
		props[i][0] = byte(ike.PayloadProposal)
	}
	return Payload{ike.PayloadSA, Cat(U32(1), U32(1), Cat(props...))}
}

// ESPv1 proposes ESP AES-CBC-128 with HMAC-SHA1, tunnel mode, 3600 s, and
// a PFS group when group != 0 (RFC 2407 §4.5 attributes).
func ESPv1(spi uint32, group int) Payload {
	attrs := [][]byte{AttrTV(1, 1), AttrTV(2, 3600), AttrTV(4, 1), AttrTV(5, 2), AttrTV(6, 128)}
	if group != 0 {
		attrs = append(attrs, AttrTV(3, group))
	}
	return SAv1(ProposalV1(1, ike.ProtoESP, U32(spi), TransformV1(1, 12, attrs...)))
}

// IDv1Subnet is an ID_IPV4_ADDR_SUBNET identification payload.
func IDv1Subnet(prefix string) Payload {
	p := netip.MustParsePrefix(prefix)
	a := p.Addr().As4()
	mask := ^uint32(0) << (32 - p.Bits())
	return Payload{ike.PayloadID, Cat([]byte{4, 0, 0, 0}, a[:], U32(mask))}
}

// NotifyV1, DeleteV1 and HashV1 are IKEv1 payloads.
func NotifyV1(typ ike.NotifyTypeV1) Payload {
	return Payload{ike.PayloadNotify, Cat(U32(1), []byte{3, 0}, U16(uint16(typ)))}
}
func DeleteV1(proto ike.ProtocolID, spi uint32) Payload {
	return Payload{ike.PayloadDelete, Cat(U32(1), []byte{byte(proto), 4}, U16(1), U32(spi))}
}
func HashV1() Payload { return Payload{ike.PayloadHash, Seq(0x77, 20)} }

// V1Clear is a cleartext IKEv1 message.
func V1Clear(ispi, rspi ike.SPI, ex ike.ExchangeType, mid uint32, ps ...Payload) []byte {
	first, body := Chain(ps)
	return append(IKEMessageHeader(ispi, rspi, first, 0x10, ex, 0, mid, len(body)), body...)
}

// V1Enc encrypts a payload chain with AES-CBC under iv, zero-padded to the
// block size (RFC 2408 §3.1), and returns the message and the last
// ciphertext block (the next IV of the chain, RFC 2409 Appendix B).
func V1Enc(key, iv []byte, ispi, rspi ike.SPI, ex ike.ExchangeType, mid uint32, ps ...Payload) ([]byte, []byte) {
	first, body := Chain(ps)
	if r := len(body) % 16; r != 0 {
		body = append(body, make([]byte, 16-r)...)
	}
	b, _ := aes.NewCipher(key)
	ct := make([]byte, len(body))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, body)
	return append(IKEMessageHeader(ispi, rspi, first, 0x10, ex, ike.FlagEncryption, mid, len(ct)), ct...), ct[len(ct)-16:]
}
