package ike

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"ipsecmon/decode/ike/iketest"
	"ipsecmon/internal/testcorpus"
)

// walk parses a message and every payload in it the way a consumer would,
// returning the first error. It is what the fuzz targets and the malformed
// corpus run.
func walk(msg []byte) error {
	h, err := ParseHeader(msg)
	if err != nil {
		return err
	}
	if h.Major() == 1 && h.Encrypted() {
		return nil // the chain is ciphertext until ikecrypt opens it
	}
	it := Payloads(h, msg)
	for {
		p, ok := it.Next()
		if !ok {
			break
		}
		if err := parseTyped(h.Major(), p); err != nil {
			return err
		}
	}
	return it.Err()
}

func parseTyped(major uint8, p Payload) error {
	var err error
	switch p.Type {
	case PayloadSA:
		_, err = ParseSAv1(p.Body)
	case PayloadID:
		var id IDv1
		if id, err = ParseIDv1(p.Body); err == nil {
			_ = id.String()
		}
	case PayloadNotify:
		_, err = ParseNotifyV1(p.Body)
	case PayloadDelete:
		_, err = ParseDeleteV1(p.Body)
	case PayloadCert, PayloadCertReq, PayloadCertV2, PayloadCertReqV2:
		_, err = ParseCert(p.Body)
	case PayloadNATOA, PayloadNATOADraft:
		_, err = ParseNATOA(p.Body)
	case PayloadAttr:
		_, err = ParseAttrPayload(p.Body)
	case PayloadVendorID, PayloadVendorV2:
		_ = VendorName(p.Body)
	case PayloadSAv2:
		var props []Proposal
		if props, err = ParseSA(p.Body); err == nil {
			for _, pr := range props {
				_ = pr.Suite()
				for _, t := range pr.Transforms {
					_ = t.String()
				}
			}
		}
	case PayloadKEv2:
		_, err = ParseKE(p.Body)
	case PayloadIDi, PayloadIDr:
		var id ID
		if id, err = ParseID(p.Body); err == nil {
			_ = id.String()
		}
	case PayloadAuth:
		_, err = ParseAuth(p.Body)
	case PayloadNotifyV2:
		_, err = ParseNotify(p.Body)
	case PayloadDeleteV2:
		_, err = ParseDelete(p.Body)
	case PayloadTSi, PayloadTSr:
		var ts []TrafficSelector
		if ts, err = ParseTS(p.Body); err == nil {
			for _, s := range ts {
				_ = s.String()
			}
		}
	case PayloadSKF:
		_, err = ParseFragment(p.Body)
	case PayloadCP:
		_, err = ParseCP(p.Body)
	case PayloadEAP:
		_, err = ParseEAP(p.Body)
	}
	if err != nil {
		return fmt.Errorf("payload %d (%v): %w", p.Index, p.Type, err)
	}
	return nil
}

func readCorpus(t *testing.T, path string) []iketest.Message {
	t.Helper()
	msgs, _, err := iketest.Read(testcorpus.Path(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func payloadsOf(t *testing.T, msg []byte) (Header, []Payload) {
	t.Helper()
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParsePayloads(h.NextPayload, h.Body(msg))
	if err != nil {
		t.Fatal(err)
	}
	return h, ps
}

func typesOf(ps []Payload) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Type.String())
	}
	return strings.Join(s, " ")
}

// TestCorpusDecodes: every IKE message of every capture whose project does
// not call it malformed decodes with all its cleartext payloads; the
// message counts per exchange type are tshark's (ORACLE.md).
func TestCorpusDecodes(t *testing.T) {
	tests := []struct {
		path   string
		counts map[ExchangeType]int
	}{
		{"ndpi/ah.pcapng", map[ExchangeType]int{ExchangeIKESAInit: 2, ExchangeIKEAuth: 2}},
		{"ndpi/esp.pcapng", map[ExchangeType]int{ExchangeIKESAInit: 2, ExchangeIKEAuth: 2}},
		{"openswan/lp109-v1rwnatQR1/v1rwnatM1.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp109-v1rwnatQR1/v1rwnatM2.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp109-v1rwnatQR1/v1rwnatM3.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp109-v1rwnatQR1/v1rwnatQI1.pcap", map[ExchangeType]int{ExchangeQuick: 1}},
		{"openswan/lp12-parentR2/parentI1.pcap", map[ExchangeType]int{ExchangeIKESAInit: 1}},
		{"openswan/lp12-parentR2/parentI2.pcap", map[ExchangeType]int{ExchangeIKEAuth: 1}},
		{"openswan/lp13-parentI3/parentR2.pcap", map[ExchangeType]int{ExchangeIKEAuth: 1}},
		{"openswan/lp187-v1certN3/v1certM1.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp187-v1certN3/v1certM2.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp187-v1certN3/v1certM3.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"openswan/lp64-nattR2/nattI2.pcap", map[ExchangeType]int{ExchangeIKEAuth: 1}},
		{"suricata-verify/detect-bypass-udp/input.pcap", map[ExchangeType]int{ExchangeIKEAuth: 28, ExchangeIKEIntermediate: 38}},
		{"suricata-verify/ikev1-duplicate-proposals/generated.pcap", map[ExchangeType]int{ExchangeMain: 1}},
		{"suricata-verify/ikev1-rules/ikev1-isakmp-main-mode.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeQuick: 3}},
		{"suricata-verify/ikev2-weak-dh/IKEv2_SA_INIT_2-8-weak.pcap", map[ExchangeType]int{ExchangeIKESAInit: 1}},
		{"tcpdump/ISAKMP_sa_setup.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeQuick: 3}},
		{"tcpdump/ikev2four.pcap", map[ExchangeType]int{ExchangeIKESAInit: 4, ExchangeIKEAuth: 2, ExchangeCreateChildSA: 14, ExchangeInformationalV2: 1}},
		{"tcpdump/ikev2pI2.pcap", map[ExchangeType]int{ExchangeIKESAInit: 1, ExchangeIKEAuth: 1}},
		{"tcpdump/isakmp4500.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeInformational: 1, ExchangeQuick: 8}},
		{"wireshark-wiki/ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc/capture.pcapng", map[ExchangeType]int{ExchangeIKESAInit: 6, ExchangeIKEAuth: 6, ExchangeInformationalV2: 18}},
		{"wireshark-wiki/misc/attachment_ikev1_main_mode.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeInformational: 3, ExchangeQuick: 3}},
		{"wireshark-wiki/misc/ipsec.cap", map[ExchangeType]int{ExchangeIKESAInit: 122, ExchangeIKEAuth: 121, ExchangeCreateChildSA: 2}},
		{"zeek-plugin-ikev2/ikev2.pcap", map[ExchangeType]int{ExchangeIKESAInit: 4, ExchangeIKEAuth: 3}},
		{"zeek-spicy-ipsec/traces/ikev1-certs.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeQuick: 4}},
		{"zeek-spicy-ipsec/traces/ipsec-ikev1-isakmp-aggressive-mode.pcap", map[ExchangeType]int{ExchangeAggressive: 3, ExchangeQuick: 3}},
		{"zeek-spicy-ipsec/traces/ipsec-ikev1-isakmp-main-mode.pcap", map[ExchangeType]int{ExchangeMain: 6, ExchangeQuick: 3}},
		{"zeek-spicy-ipsec/traces/ipsec.cap", map[ExchangeType]int{ExchangeMain: 7, ExchangeInformational: 1, ExchangeQuick: 3}},
		// tshark counts IP-fragmented IKE once, in the reassembling frame: 2 + 3.
		{"zeek-spicy-ipsec/traces/ipsec_client.pcap", map[ExchangeType]int{ExchangeIKESAInit: 2, ExchangeIKEAuth: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := map[ExchangeType]int{}
			for _, m := range readCorpus(t, tt.path) {
				if err := walk(m.Data); err != nil {
					t.Errorf("frame %d: %v", m.Frame, err)
				}
				if h, err := ParseHeader(m.Data); err == nil {
					got[h.Exchange]++
				}
			}
			for ex, n := range tt.counts {
				if got[ex] != n {
					t.Errorf("%v: %d messages, want %d", ex, got[ex], n)
				}
			}
			if len(got) != len(tt.counts) {
				t.Errorf("exchange types %v, want %v", got, tt.counts)
			}
		})
	}
}

// TestCorpusMalformed: the crafted and truncated captures give a clear
// error (and no panic). Which error each gives follows from the bytes that
// tshark and tcpdump's expected output show for them.
func TestCorpusMalformed(t *testing.T) {
	tests := []struct {
		path  string
		frame int
		want  error
		text  string
	}{
		// tshark: "ver=0xbe"; tcpdump isakmp1.out prints just "isakmp:".
		{"tcpdump/isakmp-delete-segfault.pcap", 1, ErrVersion, "version 11.14"},
		// A zero length field (tcpdump isakmp2.out "phase 1 ? base"; zeek's zero-length trace).
		{"tcpdump/isakmp-pointer-loop.pcap", 1, ErrMalformed, "length field 0"},
		{"zeek-spicy-ipsec/traces/ipsec-ikev1-zero-length.pcap", 1, ErrMalformed, "length field 0"},
		// The second payload claims 3 bytes, less than its own header.
		{"zeek-spicy-ipsec/traces/ipsec-ikev1-payload-bad-length.pcap", 1, ErrMalformed, "payload 1 (VID): length 3"},
		// tcpdump ikev2pI2-segfault-v.out: the fourth transform of the first proposal
		// has substructure type 46 ("(v2e)) [|v2sa]").
		{"tcpdump/ikev2pI2-segfault.pcapng", 1, ErrMalformed, "payload 0 (SA): SA: proposal 0: transform 3: substructure type 46"},
		// isakmp-no-none-np.out: the last notify names a next payload that is not there.
		{"tcpdump/isakmp-no-none-np.pcapng", 1, ErrTruncated, "payload 2 (N)"},
		// ikev2-id-short.out: "(v2IDi: len=1 01 [payload too short])".
		{"tcpdump/ikev2-id-short.pcap", 1, ErrTruncated, "payload 0 (IDi): ID: 1 bytes"},
		// ikev2-id-normal.out: an IDi whose ipv4 data is 1 byte ("ipv4:de").
		{"tcpdump/ikev2-id-normal.pcap", 1, nil, ""},
		// ndpi flags flow 5 of ipsec_isakmp_esp.pcap "Invalid IPSec/ISAKMP Header"; frame 192 is the
		// IKE_AUTH there whose first payload type is 127 and whose chain ends early.
		{"ndpi/ipsec_isakmp_esp.pcap", 192, ErrTruncated, "payload 1"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			found := false
			for _, m := range readCorpus(t, tt.path) {
				if m.Frame != tt.frame {
					continue
				}
				found = true
				err := walk(m.Data)
				if tt.want == nil {
					if err != nil {
						t.Errorf("unexpected error %v", err)
					}
					continue
				}
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
					t.Errorf("error %v, want %v containing %q", err, tt.want, tt.text)
				}
			}
			if !found {
				t.Fatalf("no IKE message in frame %d", tt.frame)
			}
		})
	}
	// The other fuzz reproducers only need to pass without a panic.
	for _, p := range []string{
		"tcpdump/isakmp-identification-segfault.pcap", "tcpdump/isakmp-ikev1_n_print-oobr.pcap",
		"tcpdump/isakmp-3948-oobr-2.pcap", "tcpdump/isakmp-rfc3948-oobr.pcap", "tcpdump/isakmp-various-oobr.pcap",
		"tcpdump/isakmpv1-attr-oobr.pcap", "tcpdump/ikev1_id_ipv6_addr_subnet-oobr.pcap", "tcpdump/esp_truncated.pcap",
	} {
		for _, m := range readCorpus(t, p) {
			_ = walk(m.Data)
		}
	}
}

func TestIKEv1MainModeSuricata(t *testing.T) {
	// suricata-verify ikev1: the record at pcap_cnt 4 has init_spi
	// e47a591fd057587f, resp_spi a00b8ef0902bb8ec, exchange type 2, client and
	// server nonces below, and the chosen attributes AES-CBC, SHA, group 2
	// (1024-bit MODP), pre-shared key, life type seconds, life 86400; the rules
	// add key length 128 and vendor ID 4a131c81… (RFC 3947), which tshark
	// shows in frames 1 and 2 (suricata's one alert is per transaction).
	msgs := readCorpus(t, "suricata-verify/ikev1-rules/ikev1-isakmp-main-mode.pcap")
	h, ps := payloadsOf(t, msgs[3].Data)
	if h.ISPI.String() != "e47a591fd057587f" || h.RSPI.String() != "a00b8ef0902bb8ec" || h.Exchange != ExchangeMain {
		t.Errorf("header %v %v %v", h.ISPI, h.RSPI, h.Exchange)
	}
	nonce := func(ps []Payload) string {
		for _, p := range ps {
			if p.Type == PayloadNonce {
				return hex.EncodeToString(p.Body)
			}
		}
		return ""
	}
	_, ps3 := payloadsOf(t, msgs[2].Data)
	if got := nonce(ps3); got != "89d7c8fbf94b515b521d5d9589c2602021e1a709" {
		t.Errorf("client nonce %s", got)
	}
	if got := nonce(ps); got != "15b688421ed5c3dd92d3b86e47a76f0d39cc09e0" {
		t.Errorf("server nonce %s", got)
	}
	_, ps2 := payloadsOf(t, msgs[1].Data)
	sa, err := ParseSAv1(ps2[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Proposals) != 1 || len(sa.Proposals[0].Transforms) != 1 {
		t.Fatalf("responder SA: %d proposals", len(sa.Proposals))
	}
	p1 := sa.Proposals[0].Transforms[0].Phase1()
	want := Phase1{Enc: 7, KeyLen: 128, Hash: 2, AuthMethod: 1, Group: 2, LifeSeconds: 86400}
	if p1 != want {
		t.Errorf("chosen phase 1 %+v, want %+v", p1, want)
	}
	if P1EncName(p1.Enc) != "AES-CBC" || P1HashName(p1.Hash) != "SHA" || p1.Group.String() != "MODP-1024" || p1.AuthMethod.String() != "Pre-Shared Key" {
		t.Errorf("names %s %s %s %s", P1EncName(p1.Enc), P1HashName(p1.Hash), p1.Group, p1.AuthMethod)
	}
	nat := 0
	for _, m := range msgs {
		h, _ := ParseHeader(m.Data)
		if h.Encrypted() {
			continue
		}
		_, ps := payloadsOf(t, m.Data)
		for _, p := range ps {
			if p.Type == PayloadVendorID && VendorName(p.Body) == "RFC 3947 NAT-T" {
				nat++
			}
		}
	}
	if nat != 2 {
		t.Errorf("RFC 3947 vendor ID seen %d times, want 2", nat)
	}
}

func TestIKEv1CertsZeek(t *testing.T) {
	// zeek-spicy-ipsec analyzer.ikev1-a ipsec.log: message lengths, vendor IDs
	// of the first two messages and the phase 1 transform attributes (life type
	// 1, duration 28800, encryption 5, hash 1, auth 3, group 2).
	msgs := readCorpus(t, "zeek-spicy-ipsec/traces/ikev1-certs.pcap")
	lengths := []uint32{116, 272, 180, 267, 1764, 1932, 276, 276, 276, 52}
	for i, m := range msgs {
		h, err := ParseHeader(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if h.Length != lengths[i] {
			t.Errorf("message %d: length %d, want %d", i+1, h.Length, lengths[i])
		}
	}
	vids := func(msg []byte) []string {
		_, ps := payloadsOf(t, msg)
		var out []string
		for _, p := range ps {
			if p.Type == PayloadVendorID {
				out = append(out, VendorName(p.Body))
			}
		}
		return out
	}
	// Zeek names the first one "Openswan 2.6.32" from a table of version hashes;
	// we name the family and show the ID.
	if got := strings.Join(vids(msgs[0].Data), ","); got != "Openswan/Libreswan (OEhyLdACecfa),RFC 3706 DPD" {
		t.Errorf("message 1 vendor IDs %q", got)
	}
	want2 := "RFC 3706 DPD,draft-stenberg-ipsec-nat-traversal-01,draft-stenberg-ipsec-nat-traversal-02," +
		"draft-ietf-ipsec-nat-t-ike-00,draft-ietf-ipsec-nat-t-ike-02,draft-ietf-ipsec-nat-t-ike-02\\n," +
		"draft-ietf-ipsec-nat-t-ike-03,RFC 3947 NAT-T,Juniper NetScreen"
	if got := strings.Join(vids(msgs[1].Data), ","); got != want2 {
		t.Errorf("message 2 vendor IDs\n got %q\nwant %q", got, want2)
	}
	_, ps := payloadsOf(t, msgs[0].Data)
	sa, err := ParseSAv1(ps[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if sa.DOI != DOIIPsec || sa.Situation != 1 {
		t.Errorf("DOI %d situation %d, want 1 1", sa.DOI, sa.Situation)
	}
	got := sa.Proposals[0].Transforms[0].Phase1()
	if want := (Phase1{Enc: 5, Hash: 1, AuthMethod: 3, Group: 2, LifeSeconds: 28800}); got != want {
		t.Errorf("phase 1 %+v, want %+v", got, want)
	}
	if got.KeyBytes() != 24 {
		t.Errorf("3DES key bytes %d, want 24", got.KeyBytes())
	}
}

func TestIKEv2ZeekPlugin(t *testing.T) {
	// zeek-plugin-ikev2 baseline ikev2.log: the first response carries
	// INVALID_KE_PAYLOAD (the request offered group 19); the second response
	// (SPIr 14633b5928660a90) chose ENCR_AES_CBC, AUTH_HMAC_SHA2_256_128,
	// PRF_AES128_XCBC and the 3072-bit MODP group 15, with the notifies below.
	msgs := readCorpus(t, "zeek-plugin-ikev2/ikev2.pcap")
	_, ps := payloadsOf(t, msgs[0].Data)
	for _, p := range ps {
		if p.Type == PayloadKEv2 {
			ke, err := ParseKE(p.Body)
			if err != nil || ke.Group != 19 {
				t.Errorf("first KE group %d (%v), want 19", ke.Group, err)
			}
		}
	}
	h, ps := payloadsOf(t, msgs[1].Data)
	if !h.Response() || len(ps) != 1 {
		t.Fatalf("message 2: response %v, %d payloads", h.Response(), len(ps))
	}
	n, err := ParseNotify(ps[0].Body)
	if err != nil || n.Type != NotifyInvalidKEPayload || !n.Type.Error() {
		t.Errorf("message 2 notify %v (%v), want INVALID_KE_PAYLOAD", n.Type, err)
	}
	h, ps = payloadsOf(t, msgs[3].Data)
	if h.RSPI.String() != "14633b5928660a90" || h.ISPI.String() != "46fd10006d11e258" {
		t.Errorf("SPIs %v %v", h.ISPI, h.RSPI)
	}
	var names, notifies []string
	for _, p := range ps {
		switch p.Type {
		case PayloadSAv2:
			props, err := ParseSA(p.Body)
			if err != nil || len(props) != 1 {
				t.Fatalf("SA: %v", err)
			}
			for _, tr := range props[0].Transforms {
				names = append(names, tr.Type.String()+":"+TransformName(tr.Type, tr.ID))
			}
		case PayloadNotifyV2:
			n, err := ParseNotify(p.Body)
			if err != nil {
				t.Fatal(err)
			}
			notifies = append(notifies, n.Type.String())
		}
	}
	if got := strings.Join(names, ","); got != "ENCR:ENCR_AES_CBC,INTEG:AUTH_HMAC_SHA2_256_128,PRF:PRF_AES128_XCBC,DH:MODP-3072" {
		t.Errorf("chosen transforms %s", got)
	}
	if got := strings.Join(notifies, ","); got != "NAT_DETECTION_SOURCE_IP,NAT_DETECTION_DESTINATION_IP,IKEV2_FRAGMENTATION_SUPPORTED,SIGNATURE_HASH_ALGORITHMS,CHILDLESS_IKEV2_SUPPORTED,MULTIPLE_AUTH_SUPPORTED" {
		t.Errorf("notifies %s", got)
	}
	// Messages 5 and 6 are the two SKF fragments of the IKE_AUTH request.
	for i, want := range [][2]uint16{{1, 2}, {2, 2}} {
		_, ps := payloadsOf(t, msgs[4+i].Data)
		f, err := ParseFragment(ps[0].Body)
		if err != nil || f.Number != want[0] || f.Total != want[1] {
			t.Errorf("fragment %+v (%v), want %d of %d", f, err, want[0], want[1])
		}
	}
}

func TestIKEv2WeakDHSuricata(t *testing.T) {
	// suricata-verify ikev2-weak-dh: init_spi 61d3693ce12af528, resp_spi 0,
	// message ID 0, exchange 34, payloads Nonce, KeyExchange,
	// SecurityAssociation. tshark: KE group 2, one proposal with D-H 2.
	msgs := readCorpus(t, "suricata-verify/ikev2-weak-dh/IKEv2_SA_INIT_2-8-weak.pcap")
	h, ps := payloadsOf(t, msgs[0].Data)
	if h.ISPI.String() != "61d3693ce12af528" || !h.RSPI.IsZero() || h.MessageID != 0 || h.Exchange != ExchangeIKESAInit || !h.Initiator() {
		t.Errorf("header %+v", h)
	}
	if got := typesOf(ps); got != "Nonce KE SA" {
		t.Errorf("payloads %q", got)
	}
	props, err := ParseSA(ps[2].Body)
	if err != nil {
		t.Fatal(err)
	}
	if s := props[0].Suite(); !s.HasDH || s.DH != 2 {
		t.Errorf("suite DH %v", s.DH)
	}
}

func TestIKEv2FourTcpdump(t *testing.T) {
	// tcpdump ikev2fourv.out, packet 1: one proposal with 12 transforms, AES
	// with key lengths 128/256/192, 3DES, PRFs hmac-sha/hmac-md5/aes128_xcbc,
	// integrity hmac-sha/hmac-md5/aes-xcbc, DH modp1024/modp2048; KE group
	// modp1024; a 32-byte nonce; packet 2 is a COOKIE notify.
	msgs := readCorpus(t, "tcpdump/ikev2four.pcap")
	h, ps := payloadsOf(t, msgs[0].Data)
	if h.ISPI.String() != "a88875a8198992a6" {
		t.Errorf("SPIi %v", h.ISPI)
	}
	props, err := ParseSA(ps[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range props[0].Transforms {
		got = append(got, tr.String())
	}
	want := "ENCR_AES_CBC-128 ENCR_AES_CBC-256 ENCR_AES_CBC-192 ENCR_3DES PRF_HMAC_SHA1 PRF_HMAC_MD5 PRF_AES128_XCBC " +
		"AUTH_HMAC_SHA1_96 AUTH_HMAC_MD5_96 AUTH_AES_XCBC_96 MODP-1024 MODP-2048"
	if strings.Join(got, " ") != want {
		t.Errorf("transforms\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	ke, _ := ParseKE(ps[1].Body)
	if ke.Group != 2 || len(ke.Data) != 128 || len(ps[2].Body) != 32 {
		t.Errorf("KE group %d (%d bytes), nonce %d bytes", ke.Group, len(ke.Data), len(ps[2].Body))
	}
	_, ps = payloadsOf(t, msgs[1].Data)
	n, _ := ParseNotify(ps[0].Body)
	if n.Type != NotifyCookie || hex.EncodeToString(n.Data) != "00000001c2221e50c16e123f2b0c71aefcf0cb3b798782c6" {
		t.Errorf("notify %v %x", n.Type, n.Data)
	}
}
