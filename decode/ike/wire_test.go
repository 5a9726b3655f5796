package ike

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"ipsecmon/algo"
)

func h2b(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hdr builds an IKE header (RFC 7296 §3.1 layout) followed by body.
func hdr(next PayloadType, ver uint8, ex ExchangeType, flags uint8, mid uint32, body []byte) []byte {
	b := make([]byte, 28, 28+len(body))
	copy(b, "\x01\x02\x03\x04\x05\x06\x07\x08")
	b[16], b[17], b[18], b[19] = byte(next), ver, byte(ex), flags
	binary.BigEndian.PutUint32(b[20:], mid)
	binary.BigEndian.PutUint32(b[24:], uint32(28+len(body)))
	return append(b, body...)
}

// pl builds a generic payload: next, flags, length, body.
func pl(next PayloadType, body []byte) []byte {
	b := []byte{byte(next), 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(body)))
	return append(b, body...)
}

func TestParseHeader(t *testing.T) {
	good := hdr(PayloadNone, 0x20, ExchangeIKESAInit, FlagInitiator, 7, nil)
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"ok", good, nil},
		{"short", good[:27], ErrTruncated},
		{"version 3", func() []byte { b := append([]byte{}, good...); b[17] = 0x30; return b }(), ErrVersion},
		{"length below header", func() []byte { b := append([]byte{}, good...); b[27] = 20; return b }(), ErrMalformed},
		{"length beyond data", func() []byte { b := append([]byte{}, good...); b[27] = 29; return b }(), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(tt.msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err == nil && (h.MessageID != 7 || !h.Initiator() || h.Response() || h.Exchange != ExchangeIKESAInit || h.Major() != 2) {
				t.Errorf("header %+v", h)
			}
		})
	}
}

// TestReadHeader: the fixed fields at their RFC 7296 §3.1 offsets; only a
// short message or a major version other than 1 or 2 is refused, the
// length field is left to ParseHeader (the decoder counts IKE messages a
// snapshot length cut).
func TestReadHeader(t *testing.T) {
	good := hdr(PayloadSAv2, 0x20, ExchangeCreateChildSA, FlagResponse, 0x01020304, nil)
	copy(good[8:16], "\x11\x12\x13\x14\x15\x16\x17\x18")
	with := func(i int, v byte) []byte { b := append([]byte{}, good...); b[i] = v; return b }
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"ok", good, nil},
		{"short", good[:27], ErrTruncated},
		{"version 3", with(17, 0x30), ErrVersion},
		{"version 0", with(17, 0x00), ErrVersion},
		{"length below header", with(27, 20), nil},
		{"length beyond data", with(27, 29), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadHeader(tt.msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrTruncated) {
				return
			}
			want := SPI{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
			if h.ISPI != want || h.RSPI != (SPI{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18}) || h.NextPayload != PayloadSAv2 ||
				h.Version != tt.msg[17] || h.Exchange != ExchangeCreateChildSA || !h.Response() || h.Initiator() ||
				h.MessageID != 0x01020304 || h.Length != uint32(tt.msg[27]) {
				t.Errorf("header %+v", h)
			}
		})
	}
}

func TestIter(t *testing.T) {
	// Nonce, then SK whose Next Payload (IDi) is inside the encryption: the
	// chain must stop after SK.
	body := append(pl(PayloadIDi, []byte{1, 2, 3}), pl(PayloadNone, []byte{9, 9, 9, 9})...)
	body = append(pl(PayloadSK, []byte("nonce")), body...)
	it := NewIter(PayloadNonceV2, body)
	var got []string
	for {
		p, ok := it.Next()
		if !ok {
			break
		}
		got = append(got, p.Type.String()+"/"+p.Next.String())
	}
	if it.Err() != nil || strings.Join(got, " ") != "Nonce/SK SK/IDi" {
		t.Errorf("chain %v, err %v", got, it.Err())
	}
	// IKEv1 padding after the last payload is left in Rest, not an error.
	it = NewIter(PayloadHash, append(pl(PayloadNone, []byte{1, 2}), 0, 0, 0))
	for _, ok := it.Next(); ok; _, ok = it.Next() {
	}
	if it.Err() != nil || len(it.Rest()) != 3 {
		t.Errorf("rest %d bytes, err %v", len(it.Rest()), it.Err())
	}
	for name, tt := range map[string]struct {
		data []byte
		want error
	}{
		"zero length":  {[]byte{0, 0, 0, 0}, ErrMalformed},
		"short header": {[]byte{0, 0}, ErrTruncated},
		"past end":     {[]byte{0, 0, 0, 9, 1}, ErrTruncated},
		"next missing": {pl(PayloadNonce, nil), ErrTruncated},
	} {
		_, err := ParsePayloads(PayloadHash, tt.data)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "payload") {
			t.Errorf("%s: err %v, want %v", name, err, tt.want)
		}
	}
}

func TestAttributes(t *testing.T) {
	// TV encryption=AES (7), TLV life duration 4 bytes = 86400, TV key length 256.
	b := h2b(t, "80010007 000c0004 00015180 800e0100")
	attrs, err := ParseAttributes(b)
	if err != nil || len(attrs) != 3 {
		t.Fatalf("%d attributes, err %v", len(attrs), err)
	}
	if v, _ := attrs[1].Uint(); attrs[1].TV || attrs[1].Type != 12 || v != 86400 {
		t.Errorf("TLV attribute %+v = %d", attrs[1], v)
	}
	if _, err := ParseAttributes(h2b(t, "000c0008 0001")); !errors.Is(err, ErrTruncated) {
		t.Errorf("TLV past the end: %v", err)
	}
	if _, err := ParseAttributes(h2b(t, "8001")); !errors.Is(err, ErrTruncated) {
		t.Errorf("half attribute: %v", err)
	}
}

// A Quick Mode SA as RFC 2407 §4.5 lays it out: ESP AES-CBC-256 (transform
// 12), life 3600 s and 4608000 KB, PFS group 14, UDP-encapsulated tunnel
// (RFC 3947: 3), HMAC-SHA2-256 (5), ESN.
func TestPhase2(t *testing.T) {
	attrs := h2b(t, "80010001 80020e10 80010002 00020004 00465000 8003000e 80040003 80050005 80060100 800b0001")
	tr := pl(PayloadNone, append([]byte{1, 12, 0, 0}, attrs...))
	prop := pl(PayloadNone, append([]byte{1, byte(ProtoESP), 4, 1, 0xc0, 0xff, 0xee, 0x01}, tr...))
	sa, err := ParseSAv1(append(h2b(t, "00000001 00000001"), prop...))
	if err != nil {
		t.Fatal(err)
	}
	p := sa.Proposals[0]
	if spi, ok := p.SPI32(); !ok || spi != 0xc0ffee01 || p.Protocol != ProtoESP {
		t.Errorf("proposal %+v", p)
	}
	q := p.Transforms[0].Phase2(p.Protocol)
	want := Phase2{Protocol: ProtoESP, TransformID: 12, Encap: EncapUDPTunnel, AuthAlg: 5, Group: 14, KeyLen: 256,
		LifeSeconds: 3600, LifeKilobytes: 4608000, ESN: true}
	if q != want {
		t.Errorf("phase 2 %+v\nwant %+v", q, want)
	}
	enc, auth := q.Algorithms()
	if enc != algo.EncAESCBC || auth != algo.AuthHMACSHA256_128 || q.EncKeyBits() != 256 || !q.Encap.UDP() || !q.Encap.Tunnel() {
		t.Errorf("algorithms %v %v %d", enc, auth, q.EncKeyBits())
	}
	// AH: the transform ID names the algorithm (AH_SHA = 3 → HMAC-SHA1-96).
	if _, a := (Phase2{Protocol: ProtoAH, TransformID: 3}).Algorithms(); a != algo.AuthHMACSHA1_96 {
		t.Errorf("AH_SHA → %v", a)
	}
	// Wrong transform count in the proposal header.
	bad := append([]byte{}, prop...)
	bad[7] = 2
	if _, err := ParseSAv1(append(h2b(t, "00000001 00000001"), bad...)); !errors.Is(err, ErrMalformed) {
		t.Errorf("transform count mismatch: %v", err)
	}
}

func TestIDv1(t *testing.T) {
	tests := []struct {
		id     string // type proto port data
		str    string
		prefix string
	}{
		{"01 11 01f4 c0a80101", "192.168.1.1 proto 17 port 500", "192.168.1.1/32"},
		{"04 00 0000 0a000000 ffffff00", "10.0.0.0/24", "10.0.0.0/24"},
		{"07 06 0050 0a000001 0a0000fe", "10.0.0.1-10.0.0.254 proto 6 port 80", ""},
		{"06 00 0000 20010db8000000000000000000000000 ffffffffffffffff0000000000000000", "2001:db8::/64", "2001:db8::/64"},
		{"02 00 0000 7665706e2e6578616d706c65", "vepn.example", ""},
		{"01 00 0000 de", "IPV4_ADDR (malformed)", ""},
	}
	for _, tt := range tests {
		id, err := ParseIDv1(h2b(t, tt.id))
		if err != nil {
			t.Fatal(err)
		}
		if id.String() != tt.str {
			t.Errorf("%s: String %q, want %q", tt.id, id.String(), tt.str)
		}
		p, ok := id.Prefix()
		if (tt.prefix == "") == ok || ok && p.String() != tt.prefix {
			t.Errorf("%s: prefix %v %v, want %q", tt.id, p, ok, tt.prefix)
		}
	}
}

func TestTrafficSelectors(t *testing.T) {
	// Two selectors (RFC 7296 §3.13.1): IPv4 10.1.0.0–10.1.255.255 any
	// protocol/port, and IPv6 fd68:c9f9:4157::/64 TCP port 443.
	b := h2b(t, "02000000"+
		"07000010 0000ffff 0a010000 0a01ffff"+
		"08060028 01bb01bb fd68c9f9415700000000000000000000 fd68c9f941570000ffffffffffffffff")
	ts, err := ParseTS(b)
	if err != nil || len(ts) != 2 {
		t.Fatalf("%d selectors, err %v", len(ts), err)
	}
	if ts[0].String() != "10.1.0.0/16" || ts[1].String() != "fd68:c9f9:4157::/64[6/443]" {
		t.Errorf("selectors %v %v", ts[0], ts[1])
	}
	if p, ok := ts[1].Prefix(); !ok || p != netip.MustParsePrefix("fd68:c9f9:4157::/64") {
		t.Errorf("prefix %v", p)
	}
	b[0] = 3 // announces a third selector that is not there
	if _, err := ParseTS(b); !errors.Is(err, ErrTruncated) {
		t.Errorf("missing selector: %v", err)
	}
}

func TestDeleteAndNotify(t *testing.T) {
	d, err := ParseDelete(h2b(t, "03040002 c0ffee01 c0ffee02"))
	if err != nil || d.Protocol != ProtoESP || len(d.SPIs) != 2 || hex.EncodeToString(d.SPIs[1]) != "c0ffee02" {
		t.Errorf("delete %+v %v", d, err)
	}
	if _, err := ParseDelete(h2b(t, "03040002 c0ffee01")); !errors.Is(err, ErrMalformed) {
		t.Errorf("short SPI list: %v", err)
	}
	d1, err := ParseDeleteV1(h2b(t, "00000001 03040001 c0ffee01"))
	if err != nil || d1.DOI != 1 || len(d1.SPIs) != 1 {
		t.Errorf("v1 delete %+v %v", d1, err)
	}
	// IKEv1 DPD R-U-THERE (RFC 3706 §5.1): ISAKMP protocol, 16-byte cookie pair as SPI, 4-byte sequence.
	n, err := ParseNotifyV1(h2b(t, "00000001 01108d28 0102030405060708 1112131415161718 0000002a"))
	if err != nil || n.Type != NotifyV1RUThere || n.Type.String() != "R-U-THERE" || len(n.SPI) != 16 || len(n.Data) != 4 || n.Type.Error() {
		t.Errorf("DPD notify %+v %v", n, err)
	}
	if NotifyV1ResponderLifetime.String() != "RESPONDER-LIFETIME" || NotifyV1InitialContact.String() != "INITIAL-CONTACT" {
		t.Error("notify names")
	}
	n2, err := ParseNotify(h2b(t, "03044009 c0ffee01"))
	if err != nil || n2.Type != NotifyRekeySA || n2.Type.String() != "REKEY_SA" || n2.Protocol != ProtoESP {
		t.Errorf("REKEY_SA %+v %v", n2, err)
	}
}

// Vendor IDs that are MD5 digests of a string: the table must hold exactly
// that digest (RFC 3947 §3.1, RFC 3706 §8 use MD5 of the name; the NAT-T
// drafts and strongSwan likewise).
func TestVendorIDDigests(t *testing.T) {
	for s, name := range map[string]string{
		"RFC 3947":                              "RFC 3947 NAT-T",
		"draft-ietf-ipsec-nat-t-ike-00":         "draft-ietf-ipsec-nat-t-ike-00",
		"draft-ietf-ipsec-nat-t-ike-01":         "draft-ietf-ipsec-nat-t-ike-01",
		"draft-ietf-ipsec-nat-t-ike-02":         "draft-ietf-ipsec-nat-t-ike-02",
		"draft-ietf-ipsec-nat-t-ike-02\n":       "draft-ietf-ipsec-nat-t-ike-02\\n",
		"draft-ietf-ipsec-nat-t-ike-03":         "draft-ietf-ipsec-nat-t-ike-03",
		"draft-ietf-ipsec-nat-t-ike-08":         "draft-ietf-ipsec-nat-t-ike-08",
		"draft-stenberg-ipsec-nat-traversal-02": "draft-stenberg-ipsec-nat-traversal-02",
		"strongSwan":                            "strongSwan",
		"FRAGMENTATION":                         "IKE Fragmentation",
	} {
		d := md5.Sum([]byte(s))
		if got := VendorName(d[:]); got != name {
			t.Errorf("MD5(%q) names %q, want %q", s, got, name)
		}
	}
	// XAUTH is the first 8 bytes of MD5("draft-ietf-ipsra-isakmp-xauth-06.txt").
	d := md5.Sum([]byte("draft-ietf-ipsra-isakmp-xauth-06.txt"))
	if got := VendorName(d[:8]); got != "XAUTH" {
		t.Errorf("XAUTH: %q", got)
	}
	for _, tt := range []struct{ hex, name string }{
		{"1e2b516905991c7d7c96fcbfb587e46100000009", "MS NT5 ISAKMPOAKLEY (Windows 8)"},
		{"12f5f28c457168a9702d9fe274cc0100", "Cisco Unity"},
		{"464c455856504e2d535550504f52544544", "FLEXVPN-SUPPORTED"},
		{"a9b9b1034f7e50a2513b47b100bb85a9", ""},
		{"4f45", ""},
	} {
		if got := VendorName(h2b(t, tt.hex)); got != tt.name {
			t.Errorf("%s: %q, want %q", tt.hex, got, tt.name)
		}
	}
}

func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		ExchangeQuick.String():            "Quick Mode",
		ExchangeIKEIntermediate.String():  "IKE_INTERMEDIATE",
		ExchangeType(99).String():         "UNKNOWN(99)",
		PayloadSKF.String():               "SKF",
		NotifyType(16430).String():        "IKEV2_FRAGMENTATION_SUPPORTED",
		TransformName(TransformINTEG, 12): "AUTH_HMAC_SHA2_256_128",
		TransformName(TransformENCR, 28):  "ENCR_CHACHA20_POLY1305",
		EncapUDPTransportDraft.String():   "UDP-Encapsulated-Transport (draft)",
		TransformIDName(ProtoESP, 20):     "ESP_AES-GCM_16",
		AuthMethodV1(65001).String():      "XAUTHInitPreShared",
		DHGroup(31).String():              "CURVE25519",
		IDType(11).String():               "KEY_ID",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func FuzzMessage(f *testing.F) {
	f.Add(hdr(PayloadSAv2, 0x20, ExchangeIKESAInit, FlagInitiator, 0, pl(PayloadNone, h2b(f, "00000028 01010004 03000008 0100000c 03000008 02000005 03000008 03000002 00000008 0400000e"))))
	f.Add(hdr(PayloadSA, 0x10, ExchangeMain, 0, 0, pl(PayloadVendorID, append(h2b(f, "00000001 00000001"), pl(PayloadNone, h2b(f, "01010001 00000018 01010000 80010007 800e0080 80020002 80030001"))...))))
	f.Add(hdr(PayloadTSi, 0x20, ExchangeIKEAuth, 0, 1, pl(PayloadNone, h2b(f, "01000000 07000010 0000ffff 0a010000 0a01ffff"))))
	f.Add(hdr(PayloadSKF, 0x20, ExchangeIKEAuth, 0, 1, pl(PayloadIDi, h2b(f, "00010002 0102030405060708"))))
	f.Fuzz(func(t *testing.T, msg []byte) {
		_ = walk(msg)
		// A chain parsed as either version must not panic either.
		for _, first := range []PayloadType{PayloadSA, PayloadID, PayloadSAv2, PayloadTSi, PayloadCP, PayloadEAP, PayloadNotify, PayloadNotifyV2} {
			it := NewIter(first, msg)
			for p, ok := it.Next(); ok; p, ok = it.Next() {
				_ = parseTyped(1, p)
			}
		}
	})
}

func FuzzAttributes(f *testing.F) {
	f.Add([]byte{0x80, 0x01, 0x00, 0x07, 0x00, 0x0c, 0x00, 0x04, 0, 1, 0x51, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		attrs, err := ParseAttributes(b)
		for _, a := range attrs {
			a.Uint()
		}
		tr := TransformV1{Attrs: attrs}
		_ = tr.Phase1().KeyBytes()
		tr.Phase2(ProtoESP).Algorithms()
		tr.Phase2(ProtoAH).EncKeyBits()
		_ = err
		ParseAttrPayload(b)
		ParseCP(b)
	})
}

func FuzzSA(f *testing.F) {
	f.Add(h2b(f, "00000028 01010004 03000008 0100000c 03000008 02000005 03000008 03000002 00000008 0400000e"), true)
	f.Add(h2b(f, "00000001 00000001 00000020 01030401 c0ffee01 00000014 010c0000 80040001 80050002 80060080"), false)
	f.Fuzz(func(t *testing.T, b []byte, v2 bool) {
		if v2 {
			props, _ := ParseSA(b)
			for _, p := range props {
				p.Suite()
				p.SPI32()
			}
			return
		}
		sa, _ := ParseSAv1(b)
		for _, p := range sa.Proposals {
			for _, tr := range p.Transforms {
				tr.Phase1()
				tr.Phase2(p.Protocol).Algorithms()
			}
		}
	})
}

func FuzzSelectors(f *testing.F) {
	f.Add(h2b(f, "01000000 07000010 0000ffff 0a010000 0a01ffff"), uint8(0))
	f.Add(h2b(f, "04000000 0a000000 ffffff00"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		switch kind % 4 {
		case 0:
			ts, _ := ParseTS(b)
			for _, s := range ts {
				_ = s.String()
				s.Prefix()
			}
		case 1:
			if id, err := ParseIDv1(b); err == nil {
				_ = id.String()
				id.Prefix()
			}
		case 2:
			if id, err := ParseID(b); err == nil {
				_ = id.String()
			}
		case 3:
			ParseNATOA(b)
			ParseDelete(b)
			ParseDeleteV1(b)
			ParseNotify(b)
			ParseNotifyV1(b)
			ParseEAP(b)
			ParseFragment(b)
			VendorName(b)
		}
	})
}
