package ikestate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/internal/pktbuild"
	"ipsecmon/keys"
)

func spiN(n uint64) ike.SPI {
	var s ike.SPI
	binary.BigEndian.PutUint64(s[:], n)
	return s
}

// With room for 3 IKE SAs, an established one (IKE_AUTH answered, ENCR_NULL
// so that the tracker reads it) survives a flood of half-open ones: each
// new IKE_SA_INIT request forgets the oldest half-open SA, as a responder
// running out of room would. Counts worked out by hand: 1 established + 5
// half-open seen, 3 kept (E, H4, H5), 3 forgotten (H1, H2, H3).
func TestHalfOpenForgottenFirst(t *testing.T) {
	E1, E2 := spiN(0xe1), spiN(0xe2)
	ks := &keys.Set{IKEv2: []keys.IKEv2SA{{SPIi: E1, SPIr: E2, Enc: algo.EncNull, Integ: algo.AuthNone, PRF: algo.PRFHMACSHA256, SKd: rng(0, 32)}}}
	tr := New(ks)
	tr.SetLimits(Limits{IKESAs: 3})
	const I, R = ike.FlagInitiator, ike.FlagResponse
	var zero ike.SPI
	steps := []step{
		{0, hostI, hostR, v2msg(E1, zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(1, 16)))},
		{0.1, hostR, hostI, v2msg(E1, E2, ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(2, 16)))},
		{0.2, hostI, hostR, v2sk(E1, E2, ike.ExchangeIKEAuth, I, 1, idV2(ike.PayloadIDi, "alice"), authV2())},
		{0.3, hostR, hostI, v2sk(E1, E2, ike.ExchangeIKEAuth, R, 1, idV2(ike.PayloadIDr, "bob"), authV2())},
	}
	for h := range uint64(5) {
		steps = append(steps, step{1 + float64(h), "10.9.0.1:500", hostR, v2msg(spiN(0x100+h), zero, ike.ExchangeIKESAInit, I, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(3, 16)))})
	}
	play(tr, steps)
	var kept []string
	for _, sa := range tr.IKESAs() {
		kept = append(kept, fmt.Sprintf("%s/%s", sa.ISPI, sa.State))
	}
	want := []string{E1.String() + "/established", spiN(0x103).String() + "/negotiating", spiN(0x104).String() + "/negotiating"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	f, c := tr.Forgotten(), tr.Counters()
	if f.IKESAs != 3 || f.HalfOpen != 3 || c.IKESAs != 6 || c.IKESAsEstablished != 1 {
		t.Errorf("forgotten %+v, counted %d IKE SAs (%d established); want 3 forgotten half-open, 6 seen, 1 established", f, c.IKESAs, c.IKESAsEstablished)
	}
	// A message of a forgotten SA starts a new one.
	play(tr, []step{{9, hostR, "10.9.0.1:500", v2msg(spiN(0x100), spiN(0x999), ike.ExchangeIKESAInit, R, 0, saV2(ikeProp(nil)), keV2(14), nonceV2(rng(4, 16)))}})
	if c := tr.Counters(); c.IKESAs != 7 || tr.Forgotten().IKESAs != 4 {
		t.Errorf("after a forgotten SA's answer: %d IKE SAs seen, %d forgotten; want 7 and 4", c.IKESAs, tr.Forgotten().IKESAs)
	}
}

// With 2 digests kept, a byte-identical repeat of the newest message is a
// retransmission; one of a message 2 messages older is read as new.
func TestDigestsForgottenOldestFirst(t *testing.T) {
	tr := New(nil)
	tr.SetLimits(Limits{Messages: 2})
	A, B := spiN(0xa), spiN(0xb)
	msg := func(mid uint32) []byte {
		return v2msg(A, B, ike.ExchangeInformationalV2, ike.FlagInitiator, mid, pl{T: ike.PayloadSK, B: rng(byte(mid), 32)})
	}
	play(tr, []step{{0, hostI, hostR, msg(1)}, {1, hostI, hostR, msg(2)}, {2, hostI, hostR, msg(3)}, {3, hostI, hostR, msg(3)}, {4, hostI, hostR, msg(1)}})
	c := tr.Counters()
	if c.Retransmissions != 1 || tr.Forgotten().Messages != 2 {
		t.Errorf("%d retransmissions, %d digests forgotten; want 1 (message 3) and 2 (messages 1, then 2)", c.Retransmissions, tr.Forgotten().Messages)
	}
}

// skf is an SKF payload (RFC 7383 §2.5): fragment number and total, then
// what stands for ciphertext.
func skf(num, total int) pl {
	return pl{T: ike.PayloadSKF, B: cat(pktbuild.U16(uint16(num)), pktbuild.U16(uint16(total)), rng(byte(num), 24))}
}

// With 4 fragments held at most: message 1 holds fragments 1-3 of 5;
// message 2's first two push the total to 5, so message 1's 3 go (its
// exchange is the oldest holding any). Message 2's third and last fragment
// completes it (and frees its 3); message 1's fragments 4 and 5 then do not
// make it whole: the tracker never reports it read, and holds those 2.
func TestFragmentsForgottenOldestExchangeFirst(t *testing.T) {
	tr := New(nil)
	tr.SetLimits(Limits{Fragments: 4})
	A, B := spiN(0xa), spiN(0xb)
	frag := func(mid uint32, num, total int) []byte {
		return v2msg(A, B, ike.ExchangeInformationalV2, ike.FlagInitiator, mid, skf(num, total))
	}
	steps := []step{
		{0, hostI, hostR, frag(1, 1, 5)}, {0, hostI, hostR, frag(1, 2, 5)}, {0, hostI, hostR, frag(1, 3, 5)},
		{1, hostI, hostR, frag(2, 1, 3)}, {1, hostI, hostR, frag(2, 2, 3)}, {1, hostI, hostR, frag(2, 3, 3)},
		{2, hostI, hostR, frag(1, 4, 5)}, {2, hostI, hostR, frag(1, 5, 5)},
	}
	play(tr, steps)
	if f := tr.Forgotten(); f.Fragments != 3 {
		t.Errorf("%d fragments forgotten, want 3", f.Fragments)
	}
	sa := tr.lookupSA(2, A, B)
	if ex := sa.v2ex[v2ExKey{1, true}]; ex.reqSeen {
		t.Error("message 1 counted whole after its first fragments were forgotten")
	}
	if ex := sa.v2ex[v2ExKey{2, true}]; !ex.reqSeen {
		t.Error("message 2 not whole after all its fragments")
	}
	if tr.fragsHeld != 2 {
		t.Errorf("%d fragments held at the end, want message 1's 4 and 5", tr.fragsHeld)
	}
}

// referenceLookup is the IKE SA lookup as it was written first: a scan of
// the SAs with the initiator SPI, newest first, taking one of the same
// version whose responder SPI is the message's, or either of them zero.
func referenceLookup(sas []*ikeSA, version int, ispi, rspi ike.SPI) *ikeSA {
	for i := len(sas) - 1; i >= 0; i-- {
		sa := sas[i]
		if sa.forgotten() || sa.ref.Version != version || sa.ref.ISPI != ispi {
			continue
		}
		if sa.ref.RSPI == rspi || rspi.IsZero() || sa.ref.RSPI.IsZero() {
			return sa
		}
	}
	return nil
}

// The index finds what the scan found, through SAs that share SPIs, get
// their responder SPI late, and are forgotten (a limit of 20).
func TestLookupSAAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tr := New(nil)
	tr.SetLimits(Limits{IKESAs: 20})
	pick := func() (int, ike.SPI, ike.SPI) {
		v := 1 + r.IntN(2)
		ispi, rspi := spiN(uint64(r.IntN(4))), spiN(uint64(r.IntN(6)))
		return v, ispi, rspi
	}
	for step := range 5000 {
		v, ispi, rspi := pick()
		want := referenceLookup(tr.sas, v, ispi, rspi)
		got := tr.lookupSA(v, ispi, rspi)
		if got != want {
			t.Fatalf("step %d: lookup(v%d, %s, %s) = %v, want %v", step, v, ispi, rspi, got, want)
		}
		switch {
		case got == nil:
			tr.newSA(v, ispi, rspi, at(float64(step)))
		case got.ref.RSPI.IsZero() && !rspi.IsZero():
			tr.setRSPI(got, rspi)
		}
		if r.IntN(10) == 0 {
			// Now and then an SA is established, so that not only half-open ones go.
			if live := tr.IKESAs(); len(live) > 0 {
				for _, sa := range tr.sas {
					if sa.ref.ID == live[r.IntN(len(live))].ID {
						sa.setState(IKESAEstablished, "", at(float64(step)))
					}
				}
			}
		}
	}
	if tr.Forgotten().IKESAs == 0 {
		t.Error("the limit never bit")
	}
}

// A flood of Quick Mode first messages (cleartext headers, never answered)
// with room for 4 negotiations: the oldest pending ones go, and Pending Key
// Operations still counts all 10 — as an inference, since a forgotten
// negotiation may have been answered unseen.
func TestNegotiationsForgotten(t *testing.T) {
	tr := New(nil)
	tr.SetLimits(Limits{Negotiations: 4})
	A, B := spiN(0xa), spiN(0xb)
	var steps []step
	for mid := range uint32(10) {
		qm := append(pktbuild.IKEMessageHeader(A, B, ike.PayloadHash, 0x10, ike.ExchangeQuick, ike.FlagEncryption, mid+1, 32), rng(byte(mid), 32)...)
		steps = append(steps, step{float64(mid), hostI, hostR, qm})
	}
	play(tr, steps)
	c, f := tr.Counters(), tr.Forgotten()
	if len(tr.negs) > 4 || f.Negotiations+uint64(len(tr.negs)) != 10 || f.PendingForgotten != f.Negotiations {
		t.Errorf("%d negotiations kept, %d forgotten (%d pending); want at most 4 kept, 10 in all, all pending", len(tr.negs), f.Negotiations, f.PendingForgotten)
	}
	if c.PendingKeyOps.Value != 10 || c.PendingKeyOps.Known {
		t.Errorf("pending key operations %+v, want 10, not known", c.PendingKeyOps)
	}
}

// Peer pairs past the limit are never authoritative: an unknown SPI
// between them is not called a Bad SPI.
func TestPeersLimit(t *testing.T) {
	tr := New(nil)
	tr.SetLimits(Limits{Peers: 1})
	for i, peer := range []string{"10.0.0.5:500", "10.0.0.6:500"} {
		sa := &ikeSA{initiator: netip.MustParseAddrPort(hostI), responder: netip.MustParseAddrPort(peer)}
		tr.noteDecryption(sa, true)
		_, _, auth := tr.LookupSPI(50, 0x1234, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr(peer[:8]))
		if auth != (i == 0) {
			t.Errorf("peer %s: authoritative %v, want %v", peer, auth, i == 0)
		}
	}
	if tr.Forgotten().Peers != 1 {
		t.Errorf("%d peer pairs not recorded, want 1", tr.Forgotten().Peers)
	}
}
