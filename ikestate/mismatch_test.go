package ikestate

import (
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/keys"
)

// Keys that fail the integrity check on every message they are tried on
// do not belong to the IKE SA (issue 14 item 6): the mmsas view and a
// final event say so. Three IKE SAs, each with IKE_SA_INIT in the clear
// and an IKE_AUTH request and answer under SK (ENCR_NULL, so the test can
// write them, RFC 7296 §3.14):
//
//	A: its entry says HMAC-SHA2-256-128, but the messages carry no ICV
//	   (as if written under other keys): both SK messages fail → mismatch.
//	B: its entry matches (NULL, no integrity): both open → no mismatch.
//	C: no entry: nothing was tried → no mismatch (keys are merely missing).
func TestKeysMismatch(t *testing.T) {
	A1, A2 := spi8("0a0a0a0a0a0a0a0a"), spi8("0b0b0b0b0b0b0b0b")
	B1, B2 := spi8("0c0c0c0c0c0c0c0c"), spi8("0d0d0d0d0d0d0d0d")
	C1, C2 := spi8("0e0e0e0e0e0e0e0e"), spi8("0f0f0f0f0f0f0f0f")
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{
		{SPIi: A1, SPIr: A2, Enc: algo.EncNull, Integ: algo.AuthHMACSHA256_128, SKai: rng(1, 32), SKar: rng(2, 32), PRF: algo.PRFHMACSHA256},
		{SPIi: B1, SPIr: B2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256},
	}}
	const I, R = ike.FlagInitiator, ike.FlagResponse
	var zero ike.SPI
	life := func(i, r ike.SPI, at0 float64) []step {
		return []step{
			{at0, hostI, hostR, v2msg(i, zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(0xa0, 16)))},
			{at0 + 0.1, hostR, hostI, v2msg(i, r, ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(0xb0, 16)))},
			{at0 + 0.2, hostI, hostR, v2sk(i, r, ike.ExchangeIKEAuth, I, 1, idV2(ike.PayloadIDi, "alice"), authV2(), saV2(espProp(0x11111111, 0)))},
			{at0 + 0.3, hostR, hostI, v2sk(i, r, ike.ExchangeIKEAuth, R, 1, idV2(ike.PayloadIDr, "bob"), authV2(), saV2(espProp(0x22222222, 0)))},
		}
	}
	tr := New(ks)
	ev := play(tr, append(append(life(A1, A2, 0), life(B1, B2, 1)...), life(C1, C2, 2)...))
	tr.Finish(at(10))
	ev = append(ev, tr.Drain()...)

	want := map[ike.SPI]bool{A1: true, B1: false, C1: false}
	for _, sa := range tr.IKESAs() {
		if sa.KeysMismatch != want[sa.ISPI] {
			t.Errorf("IKE SA %v: keys mismatch %v, want %v", sa.ISPI, sa.KeysMismatch, want[sa.ISPI])
		}
	}
	got := kinds(ev, event.IKEKeysMismatch)
	if len(got) != 1 || got[0].IKESA.ISPI != A1 || !strings.Contains(got[0].Reason, "failed on all 2 messages") {
		t.Errorf("mismatch events %+v, want one for IKE SA A naming its 2 messages", got)
	}
	if c := tr.Counters(); c.IntegrityFailures != 2 || c.Decrypted != 2 {
		t.Errorf("integrity failures %d, decrypted %d; want 2 (A's) and 2 (B's)", c.IntegrityFailures, c.Decrypted)
	}
}
