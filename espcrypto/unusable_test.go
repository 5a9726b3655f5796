package espcrypto

import (
	"net/netip"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
	"ipsecmon/keys"
)

// TestUnusable: of four key entries, only AH with AES-GMAC (RFC 4543 §3.2;
// this package implements GMAC for ESP only) cannot be used; the message
// names its SPI and origin, not the key. Listed-without-keys entries are
// not tried.
func TestUnusable(t *testing.T) {
	dst := netip.MustParsePrefix("10.0.0.1/32")
	gmacKey := []byte("0123456789abcdef\x01\x02\x03\x04")
	set := &keys.Set{SAs: []keys.SA{
		{Proto: ipproto.ESP, SPI: 1, Dst: dst, Enc: algo.EncAESCBC, EncKey: make([]byte, 16), Auth: algo.AuthHMACSHA1_96, AuthKey: make([]byte, 20), Origin: "k:1"},
		{Proto: ipproto.AH, SPI: 2, Dst: dst, Enc: algo.EncNull, Auth: algo.AuthAESGMAC128, AuthKey: gmacKey, Origin: "k:2"},
		{Proto: ipproto.ESP, SPI: 3, Dst: dst, Enc: algo.EncNullAESGMAC, EncKey: gmacKey, Auth: algo.AuthNone, Origin: "k:3"},
		{Proto: ipproto.ESP, SPI: 4, Dst: dst, Enc: algo.EncAESCBC, NoKeys: true, Origin: "k:4"},
	}}
	got := Unusable(set)
	if len(got) != 1 || !strings.HasPrefix(got[0], "key cannot be used: espcrypto: integrity aes-gmac: unsupported") || !strings.HasSuffix(got[0], "(SA 0x00000002, k:2)") {
		t.Errorf("%q", got)
	}
	if strings.Contains(strings.Join(got, " "), "0123456789abcdef") {
		t.Error("a message shows the key")
	}
}
