package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/capture"
	"ipsecmon/decode"
)

// A capture that starts after the first CHILD SA was negotiated (a live run
// started mid-stream): its Delete and the REKEY_SA that replaces it still
// count, and its SAs, known only from their traffic, end with the Delete.
// ikev2-rekey's frames 1-4 are IKE_SA_INIT and IKE_AUTH (checked below);
// the daemons report 3 CHILD SAs completed (one of them in those frames),
// 2 rekeys, and 3 deletions (2 Delete payloads, 1 with the IKE SA), all
// later, and none alive at the end.
func TestCaptureStartingMidStream(t *testing.T) {
	root, scenarios := labScenarios(t)
	found := false
	for _, sc := range scenarios {
		found = found || sc == "ikev2-rekey"
	}
	if !found {
		t.Skip("no ikev2-rekey recording")
	}
	dir := filepath.Join(root, "ikev2-rekey")
	src, err := capture.Open(filepath.Join(dir, "capture.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "late.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	w.WriteFileHeader(262144, layers.LinkTypeEthernet)
	dec := decode.NewDecoder()
	var fr capture.Frame
	var p decode.Packet
	for src.Next(&fr) == nil {
		if fr.Index <= 4 {
			if err := dec.Decode(fr.LinkType, fr.Data, fr.CI.Length, &p); err != nil || p.Kind != decode.KindIKE || (p.IKEHeader.Exchange != 34 && p.IKEHeader.Exchange != 35) {
				t.Fatalf("frame %d is not IKE_SA_INIT/IKE_AUTH: %v %v", fr.Index, p.Kind, err)
			}
			continue
		}
		w.WritePacket(fr.CI, fr.Data)
	}
	f.Close()
	f0 := readFacts(t, dir)
	var st map[string]any
	jsonOut(t, &st, "stats", "-q", "-r", out, "-k", filepath.Join(dir, "keys.txt"), "--me", f0.link("bob"), "-o", "json")
	for k, v := range map[string]float64{"key_additions": 2, "rekeys": 2, "key_deletions": 3, "active_security_associations": 0} {
		if st[k] != v {
			t.Errorf("%s = %v, want %v", k, st[k], v)
		}
	}
}
