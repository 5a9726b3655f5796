package ikestate

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/keys"
)

// FuzzTracker feeds sequences of arbitrary messages (each prefixed by a
// length byte) from alternating peers, with NULL-cipher keys for the SPIs
// the seeds use so that the decrypted paths run too. No message may cause
// an internal error (a recovered panic).
func FuzzTracker(f *testing.F) {
	A1, A2 := spi8("0101010101010101"), spi8("0202020202020202")
	var zero ike.SPI
	seed := func(msgs ...[]byte) []byte {
		var out []byte
		for _, m := range msgs {
			if len(m) > 255 {
				m = m[:255]
			}
			out = append(out, byte(len(m)))
			out = append(out, m...)
		}
		return out
	}
	const I, R = ike.FlagInitiator, ike.FlagResponse
	f.Add(seed(
		v2msg(A1, zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), nonceV2(rng(1, 16))),
		v2msg(A1, A2, ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), nonceV2(rng(2, 16))),
		v2sk(A1, A2, ike.ExchangeIKEAuth, I, 1, saV2(espProp(0x11111111, 0)), pl{T: ike.PayloadTSi, B: tsV4("10.0.0.0", "10.0.0.255")}),
		v2sk(A1, A2, ike.ExchangeIKEAuth, R, 1, saV2(espProp(0x22222222, 0))),
		v2sk(A1, A2, ike.ExchangeInformationalV2, I, 2, deleteV2(ike.ProtoESP, 0x11111111), deleteV2(ike.ProtoISAKMP)),
	))
	f.Add(seed(
		v1clear(A1, zero, ike.ExchangeMain, 0, saV1(proposalV1(1, ike.ProtoISAKMP, nil, transformV1(1, 1, attrTV(1, 7), attrTV(2, 2))))),
		v1clear(A1, A2, ike.ExchangeQuick, 7, hashV1(), espV1(0xaaaaaaa1, 0)),
		v1clear(A1, A2, ike.ExchangeQuick, 7, hashV1(), espV1(0xbbbbbbb1, 0)),
		v1clear(A1, A2, ike.ExchangeQuick, 7, hashV1()),
		v1clear(A1, A2, ike.ExchangeInformational, 9, hashV1(), deleteV1(ike.ProtoESP, 0xaaaaaaa1), notifyV1(14)),
	))
	ks := &keys.Set{
		IKEv2: []keys.IKEv2SA{{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA1, SKd: rng(0, 20)}},
		IKEv1: []keys.IKEv1SA{{ICookie: A1, EncKey: rng(0, 16), SKEYIDd: rng(0, 20)}},
	}
	peers := []netip.AddrPort{netip.MustParseAddrPort(hostI), netip.MustParseAddrPort(hostR)}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr := New(ks)
		for i := 0; len(data) > 0; i++ {
			n := min(int(data[0]), len(data)-1)
			msg := data[1 : 1+n]
			data = data[1+n:]
			tr.Handle(Message{Time: at(float64(i)), Src: peers[i%2], Dst: peers[1-i%2], Data: msg})
		}
		tr.Finish(at(1e6))
		for _, e := range tr.Drain() {
			if strings.HasPrefix(e.Error, "internal error") {
				t.Fatal(e.Error)
			}
		}
		_ = tr.Counters()
		_ = tr.Policies()
	})
}

// Events marshal to JSON without key material.
func TestEventsHideKeys(t *testing.T) {
	c := ChildSA{ID: 1, KeysIR: &keys.SA{EncKey: []byte("SECRETSECRETSECR"), AuthKey: []byte("AUTHAUTHAUTHAUTH")}, KeysAvailable: true}
	b, err := json.Marshal(Event{Kind: event.ChildSANegotiated, Child: &c})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "SECRET") || strings.Contains(s, "U0VDUkVU") || strings.Contains(s, "AUTHAUTH") {
		t.Errorf("key material in JSON: %s", s)
	}
	f, _ := json.Marshal(Figure{Value: 3})
	if string(f) != `{"value":null,"known":false}` {
		t.Errorf("unknown figure marshals as %s", f)
	}
	f, _ = json.Marshal(Figure{Value: 3, Inferred: true})
	if string(f) != `{"value":3,"known":false,"inferred":true}` {
		t.Errorf("inferred figure marshals as %s", f)
	}
}
