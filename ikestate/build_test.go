package ikestate

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"time"

	"ipsecmon/decode/ike"
)

// Builders of IKE messages for the scenario tests, byte for byte as RFC
// 7296 §3 and RFC 2408 §3 lay them out.

type pl struct {
	t ike.PayloadType
	b []byte
}

func u16(v int) []byte    { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
func rng(from byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = from + byte(i)
	}
	return b
}
func spi8(s string) ike.SPI {
	var x ike.SPI
	b, _ := hex.DecodeString(s)
	copy(x[:], b)
	return x
}

// chain links payloads with their Next Payload fields.
func chain(ps []pl) (ike.PayloadType, []byte) {
	if len(ps) == 0 {
		return ike.PayloadNone, nil
	}
	var out []byte
	for i, p := range ps {
		next := ike.PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].t
		}
		out = append(out, byte(next), 0)
		out = append(out, u16(4+len(p.b))...)
		out = append(out, p.b...)
	}
	return ps[0].t, out
}

func header(ispi, rspi ike.SPI, next ike.PayloadType, ver uint8, ex ike.ExchangeType, flags uint8, mid uint32, bodyLen int) []byte {
	return cat(ispi[:], rspi[:], []byte{byte(next), ver, byte(ex), flags}, u32(mid), u32(uint32(ike.HeaderLen+bodyLen)))
}

func v2msg(ispi, rspi ike.SPI, ex ike.ExchangeType, flags uint8, mid uint32, ps ...pl) []byte {
	first, body := chain(ps)
	return append(header(ispi, rspi, first, 0x20, ex, flags, mid, len(body)), body...)
}

// v2sk wraps inner payloads in an SK payload under ENCR_NULL without
// integrity: plaintext, then the Pad Length byte (RFC 7296 §3.14).
func v2sk(ispi, rspi ike.SPI, ex ike.ExchangeType, flags uint8, mid uint32, inner ...pl) []byte {
	first, body := chain(inner)
	sk := cat([]byte{byte(first), 0}, u16(4+len(body)+1), body, []byte{0})
	return append(header(ispi, rspi, ike.PayloadSK, 0x20, ex, flags, mid, len(sk)), sk...)
}

func trV2(typ ike.TransformType, id int, keyLen int) []byte {
	attrs := []byte{}
	if keyLen != 0 {
		attrs = cat([]byte{0x80, 0x0e}, u16(keyLen))
	}
	return cat([]byte{3, 0}, u16(8+len(attrs)), []byte{byte(typ), 0}, u16(id), attrs)
}

func propV2(num uint8, proto ike.ProtocolID, spi []byte, trs ...[]byte) []byte {
	if len(trs) > 0 {
		trs[len(trs)-1][0] = 0 // last transform
	}
	body := cat([]byte{num, byte(proto), byte(len(spi)), byte(len(trs))}, spi, cat(trs...))
	return cat([]byte{2, 0}, u16(4+len(body)), body)
}

func saV2(props ...[]byte) pl {
	props[len(props)-1][0] = 0 // last proposal
	return pl{ike.PayloadSAv2, cat(props...)}
}

func espProp(spi uint32, dh int) []byte {
	trs := [][]byte{trV2(ike.TransformENCR, 12, 128), trV2(ike.TransformINTEG, 12, 0), trV2(ike.TransformESN, 0, 0)}
	if dh != 0 {
		trs = append(trs, trV2(ike.TransformDH, dh, 0))
	}
	return propV2(1, ike.ProtoESP, u32(spi), trs...)
}

func ikeProp(spi []byte) []byte {
	return propV2(1, ike.ProtoISAKMP, spi, trV2(ike.TransformENCR, 12, 128), trV2(ike.TransformPRF, 5, 0),
		trV2(ike.TransformINTEG, 12, 0), trV2(ike.TransformDH, 14, 0))
}

func tsV4(lo, hi string) []byte {
	a, b := netip.MustParseAddr(lo).As4(), netip.MustParseAddr(hi).As4()
	return cat([]byte{1, 0, 0, 0}, []byte{7, 0}, u16(16), u16(0), u16(65535), a[:], b[:])
}

func nonceV2(b []byte) pl { return pl{ike.PayloadNonceV2, b} }
func keV2(group int) pl   { return pl{ike.PayloadKEv2, cat(u16(group), u16(0), rng(0x55, 32))} }
func notifyV2(proto ike.ProtocolID, spi []byte, typ ike.NotifyType) pl {
	return pl{ike.PayloadNotifyV2, cat([]byte{byte(proto), byte(len(spi))}, u16(int(typ)), spi)}
}
func deleteV2(proto ike.ProtocolID, spis ...uint32) pl {
	size := 0
	var b []byte
	for _, s := range spis {
		size = 4
		b = append(b, u32(s)...)
	}
	return pl{ike.PayloadDeleteV2, cat([]byte{byte(proto), byte(size)}, u16(len(spis)), b)}
}
func idV2(t ike.PayloadType, fqdn string) pl { return pl{t, cat([]byte{2, 0, 0, 0}, []byte(fqdn))} }
func authV2() pl                             { return pl{ike.PayloadAuth, cat([]byte{2, 0, 0, 0}, rng(0, 32))} }

// IKEv1.

func attrTV(t, v int) []byte { return cat(u16(0x8000|t), u16(v)) }

func transformV1(num, id uint8, attrs ...[]byte) []byte {
	body := cat([]byte{num, id, 0, 0}, cat(attrs...))
	return cat([]byte{0, 0}, u16(4+len(body)), body)
}

func proposalV1(num uint8, proto ike.ProtocolID, spi []byte, trs ...[]byte) []byte {
	body := cat([]byte{num, byte(proto), byte(len(spi)), byte(len(trs))}, spi, cat(trs...))
	return cat([]byte{0, 0}, u16(4+len(body)), body)
}

func saV1(props ...[]byte) pl {
	for i := range props[:len(props)-1] {
		props[i][0] = byte(ike.PayloadProposal)
	}
	return pl{ike.PayloadSA, cat(u32(1), u32(1), cat(props...))}
}

// espV1 proposes ESP AES-CBC-128 with HMAC-SHA1, tunnel mode, 3600 s, and
// a PFS group when group != 0 (RFC 2407 §4.5 attributes).
func espV1(spi uint32, group int) pl {
	attrs := [][]byte{attrTV(1, 1), attrTV(2, 3600), attrTV(4, 1), attrTV(5, 2), attrTV(6, 128)}
	if group != 0 {
		attrs = append(attrs, attrTV(3, group))
	}
	return saV1(proposalV1(1, ike.ProtoESP, u32(spi), transformV1(1, 12, attrs...)))
}

func idV1Subnet(prefix string) pl {
	p := netip.MustParsePrefix(prefix)
	a := p.Addr().As4()
	mask := ^uint32(0) << (32 - p.Bits())
	return pl{ike.PayloadID, cat([]byte{4, 0, 0, 0}, a[:], u32(mask))}
}

func notifyV1(typ ike.NotifyTypeV1) pl {
	return pl{ike.PayloadNotify, cat(u32(1), []byte{3, 0}, u16(int(typ)))}
}

func deleteV1(proto ike.ProtocolID, spi uint32) pl {
	return pl{ike.PayloadDelete, cat(u32(1), []byte{byte(proto), 4}, u16(1), u32(spi))}
}

func hashV1() pl { return pl{ike.PayloadHash, rng(0x77, 20)} }

func v1clear(ispi, rspi ike.SPI, ex ike.ExchangeType, mid uint32, ps ...pl) []byte {
	first, body := chain(ps)
	return append(header(ispi, rspi, first, 0x10, ex, 0, mid, len(body)), body...)
}

// v1enc encrypts a payload chain with AES-CBC under iv, zero-padded to the
// block size (RFC 2408 §3.1), and returns the message and the last
// ciphertext block (the next IV of the chain, RFC 2409 Appendix B).
func v1enc(key, iv []byte, ispi, rspi ike.SPI, ex ike.ExchangeType, mid uint32, ps ...pl) ([]byte, []byte) {
	first, body := chain(ps)
	if r := len(body) % 16; r != 0 {
		body = append(body, make([]byte, 16-r)...)
	}
	b, _ := aes.NewCipher(key)
	ct := make([]byte, len(body))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, body)
	return append(header(ispi, rspi, first, 0x10, ex, ike.FlagEncryption, mid, len(ct)), ct...), ct[len(ct)-16:]
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
