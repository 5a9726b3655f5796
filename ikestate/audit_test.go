package ikestate

import (
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/decode/ike"
	"ipsecmon/decode/ike/iketest"
	"ipsecmon/internal/lab/facts"
)

// TestLabLiveness compares each peer's liveness figures with what its
// daemon logged (facts.json `liveness`: DPD requests sent, answered,
// unanswered at the end of the capture, retransmitted) and the requests
// left open (`pending`), with the IKE keys and without them.
func TestLabLiveness(t *testing.T) {
	for _, dir := range labScenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := facts.Read(filepath.Join(dir, "facts.json"))
			if err != nil {
				t.Skip(err)
			}
			if f.IKESAs[0].Version != 2 {
				t.Skip("IKEv1: liveness is counted for IKEv2 only")
			}
			native, err := iketest.Native(filepath.Join(dir, "keys.txt"))
			if err != nil {
				t.Fatal(err)
			}
			for _, keyed := range []bool{true, false} {
				ks := ikeOnly(native)
				if !keyed {
					ks = nil
				}
				tr, _ := runLab(t, dir, ks)
				// Sum over the IKE SAs, by the peer that sent the requests:
				// the facts count per peer, whatever IKE SA carried them.
				got := map[string]*Liveness{"alice": {}, "bob": {}}
				for _, s := range tr.IKESAs() {
					peerOf := func(side int) string {
						a := s.Initiator.Addr().String()
						if side == 1 {
							a = s.Responder.Addr().String()
						}
						for _, p := range f.Peers {
							if p.LinkAddress == a {
								return p.Name
							}
						}
						t.Fatalf("IKE SA %d: address %s is neither peer's", s.ID, a)
						return ""
					}
					for side, l := range s.Liveness {
						g := got[peerOf(side)]
						g.Checks += l.Checks
						g.Unanswered += l.Unanswered
						g.Retransmits += l.Retransmits
					}
				}
				for _, lv := range f.Liveness {
					g := got[lv.Peer]
					wantUnanswered, wantRetrans := lv.DPDUnanswered, lv.DPDRetransmits
					for _, p := range f.Pending {
						if p.Initiator == lv.Peer && p.Exchange != "INFORMATIONAL" {
							wantUnanswered++
							wantRetrans += p.Retransmits
						}
					}
					// Without keys an INFORMATIONAL request's payloads are not
					// visible: a liveness check cannot be told from a Delete.
					wantChecks := lv.DPDRequests
					if !keyed {
						wantChecks = 0
					}
					if g.Checks != wantChecks || g.Unanswered != wantUnanswered || g.Retransmits != wantRetrans {
						t.Errorf("keys %v, %s: checks %d unanswered %d retransmits %d; daemon: DPD %d, unanswered %d, retransmits %d",
							keyed, lv.Peer, g.Checks, g.Unanswered, g.Retransmits, wantChecks, wantUnanswered, wantRetrans)
					}
				}
			}
		})
	}
}

// TestLabSuites: the typed suite of every IKE SA is what the daemons
// negotiated (facts.json ike_sas[].suite, ipsecmon's canonical names and
// strongSwan's DH keywords), chosen by the responder, and no responder
// chose more than one suite.
func TestLabSuites(t *testing.T) {
	for _, dir := range labScenarios(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := facts.Read(filepath.Join(dir, "facts.json"))
			if err != nil {
				t.Skip(err)
			}
			native, err := iketest.Native(filepath.Join(dir, "keys.txt"))
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := runLab(t, dir, ikeOnly(native))
			ours := tr.IKESAs()
			// Phase 1 and IKE_SA_INIT are in the clear: without keys the IKE
			// SAs they opened have their suite, those made by a rekey (whose
			// CREATE_CHILD_SA is encrypted) do not.
			keyless, _ := runLab(t, dir, nil)
			for _, s := range keyless.IKESAs() {
				opened := s.Suite.Exchange == ike.ExchangeIKESAInit || s.Suite.Exchange == ike.ExchangeMain || s.Suite.Exchange == ike.ExchangeAggressive
				if opened != (s.Suite.Chosen && s.Suite.Enc != algo.EncUnknown) {
					t.Errorf("IKE SA %d without keys: suite %+v", s.ID, s.Suite)
				}
			}
			for _, fs := range f.IKESAs {
				var s *IKESA
				for i := range ours {
					if strings.EqualFold(ours[i].ISPI.String(), fs.SPIi) {
						s = &ours[i]
					}
				}
				if s == nil {
					t.Errorf("%s: no IKE SA with SPI %s", fs.ID, fs.SPIi)
					continue
				}
				u := s.Suite
				integ := "none"
				if u.HasInteg {
					integ = u.Integ.String()
				}
				got := []string{u.Enc.String(), u.PRF.String(), dhKeyword(u.DH.String())}
				want := []string{fs.Suite.Enc, fs.Suite.PRF, fs.Suite.DHGroup}
				if fs.Version == 2 {
					got, want = append(got, integ), append(want, fs.Suite.Integ)
				}
				if strings.Join(got, " ") != strings.Join(want, " ") || u.EncKeyBits != fs.Suite.EncKeyBits || !u.Chosen || s.MultipleChoices != 0 {
					t.Errorf("%s: suite %v %d-bit chosen %v multiple %d; daemons %v %d-bit", fs.ID, got, u.EncKeyBits, u.Chosen, s.MultipleChoices, want, fs.Suite.EncKeyBits)
				}
				wantEx := map[string]ike.ExchangeType{"main": ike.ExchangeMain, "aggressive": ike.ExchangeAggressive,
					"IKE_SA_INIT": ike.ExchangeIKESAInit, "CREATE_CHILD_SA": ike.ExchangeCreateChildSA}[fs.Exchange]
				if u.Exchange != wantEx {
					t.Errorf("%s: exchange %v, daemons %s", fs.ID, u.Exchange, fs.Exchange)
				}
				if fs.Version == 1 && (fs.Auth == "psk") != u.AuthV1.PreShared() {
					t.Errorf("%s: auth method %v, daemons %s", fs.ID, u.AuthV1, fs.Auth)
				}
			}
		})
	}
}

// TestMultipleChoices: a responder's SA payload is read for more than one
// choice as RFC 7296 §3.3 and RFC 2408 §4.2 lay it out.
func TestMultipleChoices(t *testing.T) {
	tr := func(typ ike.TransformType, id uint16) ike.Transform { return ike.Transform{Type: typ, ID: id} }
	aes, sha := tr(ike.TransformENCR, uint16(algo.EncAESCBC.IKEv2())), tr(ike.TransformINTEG, 12)
	for _, c := range []struct {
		name  string
		props []ike.Proposal
		want  bool
	}{
		{"one suite", []ike.Proposal{{Number: 1, Transforms: []ike.Transform{aes, sha}}}, false},
		{"two proposals", []ike.Proposal{{Number: 1, Transforms: []ike.Transform{aes}}, {Number: 2, Transforms: []ike.Transform{aes}}}, true},
		{"two encryption transforms", []ike.Proposal{{Number: 1, Transforms: []ike.Transform{aes, sha, aes}}}, true},
	} {
		if got := multipleChoicesV2(c.props); got != c.want {
			t.Errorf("v2 %s: %v", c.name, got)
		}
	}
	t1 := ike.TransformV1{ID: 1}
	for _, c := range []struct {
		name string
		sa   ike.SAv1
		want bool
	}{
		{"one transform", ike.SAv1{Proposals: []ike.ProposalV1{{Number: 1, Transforms: []ike.TransformV1{t1}}}}, false},
		{"AH+ESP bundle", ike.SAv1{Proposals: []ike.ProposalV1{{Number: 1, Protocol: ike.ProtoAH, Transforms: []ike.TransformV1{t1}}, {Number: 1, Protocol: ike.ProtoESP, Transforms: []ike.TransformV1{t1}}}}, false},
		{"two transforms", ike.SAv1{Proposals: []ike.ProposalV1{{Number: 1, Transforms: []ike.TransformV1{t1, t1}}}}, true},
		{"two proposal numbers", ike.SAv1{Proposals: []ike.ProposalV1{{Number: 1, Transforms: []ike.TransformV1{t1}}, {Number: 2, Transforms: []ike.TransformV1{t1}}}}, true},
	} {
		if got := multipleChoicesV1(c.sa); got != c.want {
			t.Errorf("v1 %s: %v", c.name, got)
		}
	}
}
