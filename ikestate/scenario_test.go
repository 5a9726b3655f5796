package ikestate

import (
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/event"
	"ipsecmon/ikecrypt"
	"ipsecmon/keys"
)

type step struct {
	at       float64
	src, dst string
	msg      []byte
}

func play(tr *Tracker, steps []step) []Event {
	var ev []Event
	for i, s := range steps {
		tr.Handle(Message{Time: at(s.at), Src: netip.MustParseAddrPort(s.src), Dst: netip.MustParseAddrPort(s.dst), Data: s.msg, Frame: FrameRef{Index: i + 1}})
		ev = append(ev, tr.Drain()...)
	}
	return ev
}

const (
	hostI = "10.0.0.1:500"
	hostR = "10.0.0.2:500"
)

// An IKEv2 life: IKE_AUTH child, a CHILD SA rekey started by the responder,
// deletion of the old pair by both sides, a PFS child, a refused child, an
// IKE SA rekey that carries the children over, deletion of the old IKE SA,
// a CREATE_CHILD_SA left unanswered when the new IKE SA is deleted (which
// closes its children, RFC 7296 §1.4.1), and a third IKE SA whose IKE_AUTH
// is never answered. ENCR_NULL keeps the messages readable; SK_d lets the
// tracker derive the CHILD SA keys.
func TestIKEv2Lifecycle(t *testing.T) {
	A1, A2 := spi8("0101010101010101"), spi8("0202020202020202")
	B1, B2 := spi8("0303030303030303"), spi8("0404040404040404")
	C1 := spi8("0505050505050505")
	skd := rng(0, 32)
	null := func(i, r ike.SPI) keys.IKEv2SA {
		return keys.IKEv2SA{SPIi: i, SPIr: r, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256, SKd: skd}
	}
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{null(A1, A2), null(B1, B2), null(C1, A2)}}
	ni, nr := rng(0xa0, 16), rng(0xb0, 16)
	ts := []pl{{T: ike.PayloadTSi, B: tsV4("10.1.0.0", "10.1.255.255")}, {T: ike.PayloadTSr, B: tsV4("10.2.0.0", "10.2.255.255")}}
	withTS := func(ps ...pl) []pl { return append(ps, ts...) }
	const I, R, IR = ike.FlagInitiator, ike.FlagResponse, ike.FlagInitiator | ike.FlagResponse
	var zero ike.SPI
	authResp := v2sk(A1, A2, ike.ExchangeIKEAuth, R, 1, withTS(idV2(ike.PayloadIDr, "bob"), authV2(), saV2(espProp(0x22222222, 0)))...)
	steps := []step{
		{0, hostI, hostR, v2msg(A1, zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(ni))},
		{0.1, hostR, hostI, v2msg(A1, A2, ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(nr))},
		{1, hostI, hostR, v2sk(A1, A2, ike.ExchangeIKEAuth, I, 1, withTS(idV2(ike.PayloadIDi, "alice"), authV2(), saV2(espProp(0x11111111, 0)))...)},
		{1.1, hostR, hostI, authResp},
		{2.1, hostR, hostI, authResp}, // retransmitted answer
		// The responder rekeys the pair: its own message ID 0, no I flag.
		{10, hostR, hostI, v2sk(A1, A2, ike.ExchangeCreateChildSA, 0, 0, withTS(notifyV2(ike.ProtoESP, u32(0x22222222), ike.NotifyRekeySA), saV2(espProp(0x33333333, 0)), nonceV2(rng(0xc0, 16)))...)},
		{10.1, hostI, hostR, v2sk(A1, A2, ike.ExchangeCreateChildSA, IR, 0, withTS(saV2(espProp(0x44444444, 0)), nonceV2(rng(0xd0, 16)))...)},
		{11, hostR, hostI, v2sk(A1, A2, ike.ExchangeInformationalV2, 0, 1, deleteV2(ike.ProtoESP, 0x22222222))},
		{11.1, hostI, hostR, v2sk(A1, A2, ike.ExchangeInformationalV2, IR, 1, deleteV2(ike.ProtoESP, 0x11111111))},
		{20, hostI, hostR, v2sk(A1, A2, ike.ExchangeCreateChildSA, I, 2, withTS(saV2(espProp(0x55555555, 14)), nonceV2(rng(0x10, 16)), keV2(14))...)},
		{20.1, hostR, hostI, v2sk(A1, A2, ike.ExchangeCreateChildSA, R, 2, withTS(saV2(espProp(0x66666666, 14)), nonceV2(rng(0x20, 16)), keV2(14))...)},
		{30, hostI, hostR, v2sk(A1, A2, ike.ExchangeCreateChildSA, I, 3, withTS(saV2(espProp(0x77777777, 0)), nonceV2(rng(0x30, 16)))...)},
		{30.1, hostR, hostI, v2sk(A1, A2, ike.ExchangeCreateChildSA, R, 3, notifyV2(0, nil, ike.NotifyNoProposalChosen))},
		{40, hostI, hostR, v2sk(A1, A2, ike.ExchangeCreateChildSA, I, 4, saV2(ikeProp(B1[:])), nonceV2(rng(0x40, 16)), keV2(14))},
		{40.1, hostR, hostI, v2sk(A1, A2, ike.ExchangeCreateChildSA, R, 4, saV2(ikeProp(B2[:])), nonceV2(rng(0x50, 16)), keV2(14))},
		{41, hostI, hostR, v2sk(A1, A2, ike.ExchangeInformationalV2, I, 5, deleteV2(ike.ProtoISAKMP))},
		{41.1, hostR, hostI, v2sk(A1, A2, ike.ExchangeInformationalV2, R, 5)},
		{50, hostI, hostR, v2sk(B1, B2, ike.ExchangeCreateChildSA, I, 0, withTS(saV2(espProp(0x88888888, 0)), nonceV2(rng(0x60, 16)))...)},
		{60, hostR, hostI, v2sk(B1, B2, ike.ExchangeInformationalV2, 0, 0, deleteV2(ike.ProtoISAKMP))},
		{70, "10.0.0.3:500", hostR, v2msg(C1, zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(ni))},
		{70.1, hostR, "10.0.0.3:500", v2msg(C1, A2, ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(nr))},
		{71, "10.0.0.3:500", hostR, v2sk(C1, A2, ike.ExchangeIKEAuth, I, 1, withTS(idV2(ike.PayloadIDi, "carol"), authV2(), saV2(espProp(0x99999999, 0)))...)},
	}
	tr := New(ks)
	ev := play(tr, steps)
	tr.Finish(at(80))
	ev = append(ev, tr.Drain()...)
	for _, e := range kinds(ev, event.MessageError) {
		t.Errorf("frame %v: %s", e.Frame.Index, e.Error)
	}

	ch := kinds(ev, event.ChildSANegotiated)
	if len(ch) != 3 {
		t.Fatalf("%d pairs negotiated, want 3", len(ch))
	}
	c1, c2, c3 := ch[0].Child, ch[1].Child, ch[2].Child
	if c1.SPIInitiator != 0x11111111 || c1.SPIResponder != 0x22222222 || c1.Exchange != "IKE_AUTH" || c1.Mode != ModeTunnel ||
		c1.Encryption != "AES-CBC" || c1.EncKeyBits != 128 || c1.Integrity != "SHA-256" || c1.RekeyOf != 0 {
		t.Errorf("IKE_AUTH pair %+v", c1)
	}
	// The rekey was started by the IKE responder: it is this exchange's initiator.
	if c2.SPIInitiator != 0x33333333 || c2.SPIResponder != 0x44444444 || c2.RekeyOf != c1.ID ||
		c2.Initiator != netip.MustParseAddrPort(hostR) {
		t.Errorf("rekeyed pair %+v", c2)
	}
	if c3.KeysAvailable || c3.PFSGroup != "MODP-2048" || c3.KeysReason == "" {
		t.Errorf("PFS pair %+v", c3)
	}
	// KEYMAT: prf+(SK_d, Ni | Nr) with HMAC-SHA2-256, split enc i→r (16),
	// integ i→r (32), enc r→i, integ r→i. Expected bytes from an independent
	// Python computation (see ikecrypt's TestKeymat):
	//   prfplus(sha256, 00..1f, a0..af|b0..bf, 96) = 9dd590e5… (pair 1)
	//   prfplus(sha256, 00..1f, c0..cf|d0..df, 96) = cfc6b5ec… (pair 2)
	for _, k := range []struct {
		c    *ChildSA
		want string
	}{
		{c1, "9dd590e54ceb1bafffcf5b84ee3cde0755f34d81a3f392a158bc3a75062372a2792b79e2d3f7b2d035e2c022f23264a3a7ce93e0208b11e89c15cc0e0312b021505f88ffe7b4b6a1c214a5faa8f09624c7e39c8edade32e48736e95b38215382"},
		{c2, "cfc6b5ece5f7502dd7bb4343e0b41f73d4c413a3c8c304c89443c003ce248410bfe6499f3f1ea5265ec391cdb461460bf8d81ce4a27ef0361f7ed2b8ea6375b6c364f1f686cc86b5da6222225e3a9cffa9f3419f7630ec618d8c8241e5bb542d"},
	} {
		c := k.c
		if !c.KeysAvailable {
			t.Fatalf("pair %d: keys unavailable: %s", c.ID, c.KeysReason)
		}
		got := hex.EncodeToString(cat(c.KeysIR.EncKey, c.KeysIR.AuthKey, c.KeysRI.EncKey, c.KeysRI.AuthKey))
		if got != k.want {
			t.Errorf("pair %d KEYMAT\n got %s\nwant %s", c.ID, got, k.want)
		}
		if c.KeysIR.SPI != c.SPIResponder || c.KeysRI.SPI != c.SPIInitiator || c.KeysIR.Dst.Addr() != c.Responder.Addr() ||
			c.KeysIR.Enc != algo.EncAESCBC || c.KeysIR.Auth != algo.AuthHMACSHA256_128 || c.KeysIR.Proto != 50 {
			t.Errorf("pair %d key SAs %+v / %+v", c.ID, c.KeysIR, c.KeysRI)
		}
	}

	del := kinds(ev, event.ChildSADeleted)
	if len(del) != 3 || del[0].Child.ID != c1.ID || del[0].DeletedSPI != 0x22222222 || del[0].Reason != "delete payload" ||
		del[1].Reason != "IKE SA deleted" || del[2].Reason != "IKE SA deleted" {
		t.Errorf("deletions %+v", del)
	}
	if rk := kinds(ev, event.IKESARekeyed); len(rk) != 1 || rk[0].IKESA.ISPI != B1 || rk[0].IKESA.RSPI != B2 {
		t.Errorf("IKE SA rekey events %+v", rk)
	}
	fails := kinds(ev, event.NegotiationFailed)
	if len(fails) != 2 || fails[0].Reason != "NO_PROPOSAL_CHOSEN" || fails[1].Reason != "IKE SA deleted before an answer" {
		t.Errorf("failures %+v", fails)
	}
	c := tr.Counters()
	checkFig(t, "additions", c.KeyAdditions, wantFig{v: 3, known: true})
	checkFig(t, "rekeys", c.Rekeys, wantFig{v: 1, known: true})
	checkFig(t, "deletions", c.KeyDeletions, wantFig{v: 3, known: true})
	checkFig(t, "deleted by payload", c.DeletedByPayload, wantFig{v: 1, known: true})
	checkFig(t, "deleted with IKE SA", c.DeletedWithIKESA, wantFig{v: 2, known: true})
	checkFig(t, "expirations", c.Expirations, wantFig{v: 0, known: true})
	checkFig(t, "failed", c.FailedNegotiations, wantFig{v: 2, known: true})
	checkFig(t, "pending", c.PendingKeyOps, wantFig{v: 1, known: true})
	checkFig(t, "active", c.ActiveSAs, wantFig{v: 0, known: true})
	if c.Retransmissions != 1 {
		t.Errorf("retransmissions %d", c.Retransmissions)
	}
	states := map[string]string{}
	for _, sa := range tr.IKESAs() {
		states[sa.ISPI.String()] = sa.State.String()
	}
	if states[A1.String()] != "deleted" || states[B1.String()] != "deleted" || states[C1.String()] != "established" && states[C1.String()] != "negotiating" {
		t.Errorf("IKE SA states %v", states)
	}
	if _, st, auth := tr.LookupSPI(50, 0x44444444, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")); st != SPIDeleted || !auth {
		t.Errorf("SPI 44444444: %v %v", st, auth)
	}
}

// An IKEv1 life under AES-128-CBC/SHA1 with SKEYID_d: Main Mode, a Quick
// Mode whose first message is retransmitted, a rekey (same peers and
// selectors), a Delete, a PFS Quick Mode for other selectors, a refused one
// and an unanswered one, then the end of input an hour later: the pairs
// not deleted expire by their 3600-second lifetime, one of them announced
// by a Delete at its deadline (an expiry, not a deletion).
func TestIKEv1Lifecycle(t *testing.T) {
	ci, cr := spi8("1111111111111111"), spi8("2222222222222222")
	var zero ike.SPI
	key := rng(0x40, 16)
	skeyidD := rng(0, 20)
	ks := &keys.Set{IKEv1: []keys.IKEv1SA{{ICookie: ci, EncKey: key, SKEYIDd: skeyidD}}}
	p1 := saV1(proposalV1(1, ike.ProtoISAKMP, nil, transformV1(1, 1,
		attrTV(1, 7), attrTV(14, 128), attrTV(2, 2), attrTV(3, 1), attrTV(4, 2), attrTV(11, 1), attrTV(12, 28800))))
	gxi, gxr := rng(0x11, 128), rng(0x22, 128)
	iv, _ := ikecrypt.Phase1IV(algo.PRFHMACSHA1, gxi, gxr, 16)
	mm5, iv := v1enc(key, iv, ci, cr, ike.ExchangeMain, 0, pl{T: ike.PayloadID, B: cat([]byte{1, 0, 0, 0}, []byte{10, 0, 0, 1})}, hashV1())
	mm6, last := v1enc(key, iv, ci, cr, ike.ExchangeMain, 0, pl{T: ike.PayloadID, B: cat([]byte{1, 0, 0, 0}, []byte{10, 0, 0, 2})}, hashV1())
	ni, nr := rng(0xa0, 16), rng(0xb0, 16)
	ids := []pl{idV1Subnet("10.1.0.0/16"), idV1Subnet("10.2.0.0/16")}
	// qm returns the three Quick Mode messages of message ID mid.
	qm := func(mid uint32, spiI, spiR uint32, group int, idp []pl) [3][]byte {
		iv, _ := ikecrypt.Phase2IV(algo.PRFHMACSHA1, last, mid)
		m1 := []pl{hashV1(), espV1(spiI, group), {T: ike.PayloadNonce, B: ni}}
		m2 := []pl{hashV1(), espV1(spiR, group), {T: ike.PayloadNonce, B: nr}}
		if group != 0 {
			m1 = append(m1, pl{T: ike.PayloadKE, B: rng(0x33, 128)})
			m2 = append(m2, pl{T: ike.PayloadKE, B: rng(0x44, 128)})
		}
		m1, m2 = append(m1, idp...), append(m2, idp...)
		var out [3][]byte
		out[0], iv = v1enc(key, iv, ci, cr, ike.ExchangeQuick, mid, m1...)
		out[1], iv = v1enc(key, iv, ci, cr, ike.ExchangeQuick, mid, m2...)
		out[2], _ = v1enc(key, iv, ci, cr, ike.ExchangeQuick, mid, hashV1())
		return out
	}
	info := func(mid uint32, ps ...pl) []byte {
		iv, _ := ikecrypt.Phase2IV(algo.PRFHMACSHA1, last, mid)
		m, _ := v1enc(key, iv, ci, cr, ike.ExchangeInformational, mid, append([]pl{hashV1()}, ps...)...)
		return m
	}
	q1 := qm(0x1001, 0xaaaaaaa1, 0xbbbbbbb1, 0, ids)
	q2 := qm(0x1002, 0xaaaaaaa2, 0xbbbbbbb2, 0, ids)
	q4 := qm(0x1004, 0xaaaaaaa4, 0xbbbbbbb4, 2, []pl{idV1Subnet("10.3.0.0/16"), idV1Subnet("10.4.0.0/16")})
	q5 := qm(0x1005, 0xaaaaaaa5, 0xbbbbbbb5, 0, ids)
	q7 := qm(0x1007, 0xaaaaaaa7, 0xbbbbbbb7, 0, ids)
	steps := []step{
		{0, hostI, hostR, v1clear(ci, zero, ike.ExchangeMain, 0, p1)},
		{0.1, hostR, hostI, v1clear(ci, cr, ike.ExchangeMain, 0, p1)},
		{0.2, hostI, hostR, v1clear(ci, cr, ike.ExchangeMain, 0, pl{T: ike.PayloadKE, B: gxi}, pl{T: ike.PayloadNonce, B: rng(1, 16)})},
		{0.3, hostR, hostI, v1clear(ci, cr, ike.ExchangeMain, 0, pl{T: ike.PayloadKE, B: gxr}, pl{T: ike.PayloadNonce, B: rng(2, 16)})},
		{0.4, hostI, hostR, mm5},
		{0.5, hostR, hostI, mm6},
		{1, hostI, hostR, q1[0]},
		{2, hostI, hostR, q1[0]}, // retransmitted QM1
		{2.1, hostR, hostI, q1[1]},
		{2.2, hostI, hostR, q1[2]},
		{100, hostI, hostR, q2[0]}, {100.1, hostR, hostI, q2[1]}, {100.2, hostI, hostR, q2[2]},
		{110, hostI, hostR, info(0x1003, deleteV1(ike.ProtoESP, 0xaaaaaaa1))},
		{120, hostI, hostR, q4[0]}, {120.1, hostR, hostI, q4[1]}, {120.2, hostI, hostR, q4[2]},
		{130, hostI, hostR, q5[0]},
		{130.1, hostR, hostI, info(0x1006, notifyV1(ike.NotifyV1NoProposalChosen))},
		{140, hostI, hostR, q7[0]},
		// The rekeyed pair's lifetime ends at 100.2 + 3600; the peer announces it.
		{3700.5, hostR, hostI, info(0x1008, deleteV1(ike.ProtoESP, 0xbbbbbbb2))},
	}
	tr := New(ks)
	ev := play(tr, steps)
	tr.Finish(at(3800))
	ev = append(ev, tr.Drain()...)
	for _, e := range kinds(ev, event.MessageError) {
		t.Errorf("frame %v: %s", e.Frame.Index, e.Error)
	}
	for _, e := range kinds(ev, event.Message) {
		if !e.Message.Decrypted && e.Message.Encrypted {
			t.Errorf("frame %d not decrypted: %s", e.Frame.Index, e.Message.Note)
		}
	}
	ch := kinds(ev, event.ChildSANegotiated)
	if len(ch) != 3 {
		t.Fatalf("%d pairs, want 3", len(ch))
	}
	c1, c2, c4 := ch[0].Child, ch[1].Child, ch[2].Child
	if c1.SPIInitiator != 0xaaaaaaa1 || c1.SPIResponder != 0xbbbbbbb1 || c1.LifeSeconds != 3600 || c1.Mode != ModeTunnel ||
		c1.InitiatorSelectors[0].Text != "10.1.0.0/16" || c1.ResponderSelectors[0].Text != "10.2.0.0/16" {
		t.Errorf("pair 1 %+v", c1)
	}
	if c2.RekeyOf != c1.ID || c4.RekeyOf != 0 {
		t.Errorf("rekey links: pair 2 → %d, PFS pair → %d", c2.RekeyOf, c4.RekeyOf)
	}
	if c4.KeysAvailable || c4.PFSGroup != "MODP-1024" {
		t.Errorf("PFS pair %+v", c4)
	}
	// RFC 2409 §5.5 KEYMAT, 16 bytes AES then 20 bytes HMAC-SHA1 key per
	// direction, computed independently in Python:
	//   km(k,spi) = hmac_sha1(k, K_prev | 03 | spi | a0..af | b0..bf) chained to 36 bytes, k = 00..13
	//   km(bbbbbbb1) = 92110e8d…, km(aaaaaaa1) = 53c99827…
	if !c1.KeysAvailable {
		t.Fatalf("pair 1 keys: %s", c1.KeysReason)
	}
	if got := hex.EncodeToString(cat(c1.KeysIR.EncKey, c1.KeysIR.AuthKey)); got != "92110e8d27611d0d107bb95f131fc498c3bcdb8ea5d31af079e25fe941aff1d4da8400fa" {
		t.Errorf("i→r KEYMAT %s", got)
	}
	if got := hex.EncodeToString(cat(c1.KeysRI.EncKey, c1.KeysRI.AuthKey)); got != "53c99827b0b2bf4198b1ea74da7631451ce614a63c9856f01fc40915ee4bb72d684d645b" {
		t.Errorf("r→i KEYMAT %s", got)
	}
	if c1.KeysIR.SPI != 0xbbbbbbb1 || c1.KeysIR.Auth != algo.AuthHMACSHA1_96 || len(c1.KeysIR.EncKey) != 16 {
		t.Errorf("i→r SA %+v", c1.KeysIR)
	}
	// Policies: Quick Modes 1, 2, 4 and 5 offered the same method; the PFS
	// one (negotiation 3) is its own policy.
	pol := tr.Policies()
	if len(pol) != 2 || len(pol[0].Negotiations) != 4 || pol[0].Negotiations[2] != 4 || len(pol[1].Negotiations) != 1 ||
		pol[1].Negotiations[0] != 3 || len(pol[0].Chosen) != 1 || len(pol[0].Peers) != 2 ||
		pol[0].Offered[0].String() != "ESP AES-CBC-128 SHA1 Tunnel 3600s" || pol[1].Offered[0].PFS[0] != "MODP-1024" {
		t.Errorf("policies %+v", pol)
	}
	exp := kinds(ev, event.ChildSAExpired)
	if len(exp) != 2 || exp[0].Child.ID != c2.ID || exp[0].DeletedSPI != 0xbbbbbbb2 || !exp[1].Time.Equal(at(120.2).Add(time.Hour)) {
		t.Errorf("expirations %+v", exp)
	}
	c := tr.Counters()
	checkFig(t, "additions", c.KeyAdditions, wantFig{v: 3, known: true})
	checkFig(t, "rekeys", c.Rekeys, wantFig{v: 1, known: true})
	// Every pair whose keys went, whatever the cause: one Delete, two lifetimes.
	checkFig(t, "deletions", c.KeyDeletions, wantFig{v: 3, known: true})
	checkFig(t, "deleted by payload", c.DeletedByPayload, wantFig{v: 1, known: true})
	checkFig(t, "deleted with IKE SA", c.DeletedWithIKESA, wantFig{v: 0, known: true})
	checkFig(t, "expirations", c.Expirations, wantFig{v: 2, known: true})
	checkFig(t, "failed", c.FailedNegotiations, wantFig{v: 1, known: true})
	checkFig(t, "pending", c.PendingKeyOps, wantFig{v: 1, known: true})
	checkFig(t, "active", c.ActiveSAs, wantFig{v: 0, known: true})
	if c.Retransmissions != 1 {
		t.Errorf("retransmissions %d", c.Retransmissions)
	}

	// The same capture without keys: the headers give additions (three
	// completed Quick Modes) and the pending one; the refused Quick Mode's
	// answer is encrypted, so it counts as pending too, and the rest is unknown.
	tr = New(nil)
	play(tr, steps)
	tr.Finish(at(3800))
	c = tr.Counters()
	checkFig(t, "additions (keyless)", c.KeyAdditions, wantFig{v: 3, known: true})
	checkFig(t, "pending (keyless)", c.PendingKeyOps, wantFig{v: 2, known: true})
	checkFig(t, "deletions (keyless)", c.KeyDeletions, wantFig{null: true})
	checkFig(t, "expirations (keyless)", c.Expirations, wantFig{null: true})
	if c.Rekeys.Known || c.FailedNegotiations.Known || c.ActiveSAs.Known {
		t.Errorf("keyless figures claimed known: %+v", c)
	}
}
