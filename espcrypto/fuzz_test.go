package espcrypto

import (
	"testing"

	"ipsecmon/ipproto"
)

// The fuzz targets feed arbitrary bytes to every transform of benchSAs; the
// only requirement is that nothing panics and the result is consistent.

func fuzzTransforms(f *testing.F) []*Transform {
	trs := make([]*Transform, len(benchSAs))
	for i, sa := range benchSAs {
		trs[i] = benchTransform(f, sa)
	}
	return trs
}

func checkResult(t *testing.T, r Result, in []byte) {
	if r.Outcome == OutcomeNone {
		t.Fatal("no outcome")
	}
	if r.Outcome != Accepted && r.Payload != nil {
		t.Fatalf("%v with a payload", r.Outcome)
	}
	if len(r.Payload) > len(in) {
		t.Fatalf("payload of %d bytes from %d", len(r.Payload), len(in))
	}
}

func FuzzOpenESP(f *testing.F) {
	trs := fuzzTransforms(f)
	for i, sa := range benchSAs {
		if sa.proto == ipproto.ESP {
			f.Add(uint8(i), uint32(benchSeqHi), benchPacket(f, sa, 20))
		}
	}
	f.Add(uint8(0), uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, seqHi uint32, esp []byte) {
		i := int(which) % len(trs)
		if benchSAs[i].proto != ipproto.ESP {
			return
		}
		full := trs[i].OpenESP(esp, seqHi)
		checkResult(t, full, esp)
		whole := append([]byte(nil), full.Payload...)
		// Decrypting the head alone concludes the same.
		head := int(seqHi % 80)
		r := trs[i].OpenESPHead(esp, seqHi, head)
		checkResult(t, r, esp)
		if r.Outcome != full.Outcome || r.Reason != full.Reason || r.NextHeader != full.NextHeader || r.PadLen != full.PadLen ||
			len(r.Payload)+r.Skipped != len(whole) || string(r.Payload) != string(whole[:len(r.Payload)]) {
			t.Fatalf("head %d: %+v, whole %+v", head, r, full)
		}
	})
}

func FuzzVerifyAH(f *testing.F) {
	trs := fuzzTransforms(f)
	unchecked, err := New(ipproto.AH, 0, nil, 10, nil, false) // algo.AuthUnchecked96
	if err != nil {
		f.Fatal(err)
	}
	for i, sa := range benchSAs {
		if sa.proto == ipproto.AH {
			f.Add(uint8(i), 40, benchPacket(f, sa, 20))
		}
	}
	for _, v := range ahVectors {
		f.Add(uint8(len(trs)), v.ahOff, unhex(f, v.pkt))
	}
	f.Fuzz(func(t *testing.T, which uint8, ahOff int, pkt []byte) {
		tr := unchecked
		if i := int(which) % (len(trs) + 1); i < len(trs) && benchSAs[i].proto == ipproto.AH {
			tr = trs[i]
		}
		orig := string(pkt)
		checkResult(t, tr.VerifyAH(pkt, ahOff, 0), pkt)
		if string(pkt) != orig {
			t.Fatal("input modified")
		}
	})
}
