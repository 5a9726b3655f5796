package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pb "ipsecmon/internal/pktbuild"
)

// fragmentedCapture: ESP packets with real ICVs, fragmented by their
// sender over IPv4 (SA 0x4004) and IPv6 (SA 0x6006), some whole, some in
// order, reversed, duplicated, overlapping or incomplete. What each
// datagram should come to is written beside it; integrity only verifies
// when reassembly gave back the sender's exact bytes.
func fragmentedCapture(t *testing.T) string {
	inner := pb.InnerICMP([4]byte{192, 168, 2, 7}, [4]byte{192, 168, 1, 5}, 1172) // 1200-byte inner packet
	s4 := pb.Sealer{SPI: 0x4004, Key: k1Enc, AuthKey: k1Auth}
	s6 := pb.Sealer{SPI: 0x6006, Key: k1Enc, AuthKey: k1Auth}
	var fr []pb.Frame
	add := func(ps ...[]byte) {
		for _, p := range ps {
			fr = append(fr, pb.Frame{Data: p})
		}
	}
	v4 := func(seq uint64) []byte {
		esp := s4.Seal(seq, inner, 4, pb.NoFault)
		return pb.Cat(pb.IPv4(50, ip(2), ip(1), len(esp), 0), esp)
	}
	v6 := func(seq uint64) []byte {
		esp := s6.Seal(seq, inner, 4, pb.NoFault)
		return pb.Cat(pb.IPv6(50, pb.V6B, pb.V6A, len(esp)), esp)
	}
	split6 := func(seq uint64) [][]byte { return pb.FragmentIPv6(v6(seq), 40, 6, uint32(seq), 512, 512) }
	rev := func(fs [][]byte) [][]byte {
		out := make([][]byte, len(fs))
		for i, f := range fs {
			out[len(fs)-1-i] = f
		}
		return out
	}

	// IPv4: 3 packets, 2 of them in 3 fragments each.
	add(pb.FragmentIPv4(v4(1), 1, 512, 512)...)      // in order
	add(rev(pb.FragmentIPv4(v4(2), 2, 512, 512))...) // reversed
	add(v4(3))                                       // whole

	// IPv6: 4 packets analysed, 9 fragments reassembled, 2 left incomplete,
	// 5 dropped.
	add(split6(1)...)      // in order
	add(rev(split6(2))...) // reversed
	add(v6(3))             // whole
	f4 := split6(4)
	add(f4[0], f4[2]) // the middle one lost: 2 fragments never complete
	f5 := split6(5)
	bad := append([]byte(nil), f5[1]...)
	binary.BigEndian.PutUint16(bad[42:], (512-8)|1) // offset 504: 8 bytes over fragment 0
	add(f5[0], bad, f5[1], f5[2])                   // RFC 5722: all 4 dropped
	f6 := split6(6)
	add(f6[0], f6[1], f6[1], f6[2]) // a duplicate: dropped, the datagram completes

	path := filepath.Join(t.TempDir(), "fragments.pcap")
	if err := pb.WritePcap(path, t0, fr); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFragmentedIPsec(t *testing.T) {
	path := fragmentedCapture(t)
	keys := writeKeys(t, "keys.txt", fmt.Sprintf(
		"esp spi=0x4004 dst=10.0.0.1 enc=aes-cbc enc-key=0x%s auth=hmac-sha2-256-128 auth-key=0x%s\n"+
			"esp spi=0x6006 dst=2001:db8::1 enc=aes-cbc enc-key=0x%s auth=hmac-sha2-256-128 auth-key=0x%s\n",
		h(k1Enc), h(k1Auth), h(k1Enc), h(k1Auth)))
	if !strings.HasPrefix(fmt.Sprint(pb.V6A), "[32 1 13 184") {
		t.Fatalf("pb.V6A is not 2001:db8::/32: %v", pb.V6A)
	}

	out, errOut, code := runCmd(t, "stats", "-r", path, "-k", keys, "--me", "10.0.0.1", "--me", "2001:db8::1", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var st struct {
		Input struct {
			Frames               uint64            `json:"frames"`
			Skipped              map[string]uint64 `json:"skipped"`
			FragmentsReassembled uint64            `json:"fragments_reassembled"`
			PacketsReassembled   uint64            `json:"packets_reassembled"`
			FragmentsUnanalysed  uint64            `json:"fragments_not_analysed"`
		} `json:"input"`
		NotAuthenticated any `json:"packets_not_authenticated"`
		NotDecrypted     any `json:"packets_not_decrypted"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	in := st.Input
	// 7 IPv4 frames (3+3+1), 17 IPv6 (3+3+1+2+4+4; the duplicate counts).
	if in.Frames != 24 || in.FragmentsReassembled != 6+9 || in.PacketsReassembled != 2+3 ||
		in.FragmentsUnanalysed != 2 || in.Skipped["IPv6 fragments dropped by reassembly"] != 4+1 || len(in.Skipped) != 1 {
		t.Errorf("input %+v; want 24 frames, 15 fragments reassembled into 5 packets, 2 not analysed, 5 IPv6 fragments dropped", in)
	}
	if st.NotAuthenticated != 0.0 || st.NotDecrypted != 0.0 {
		t.Errorf("not authenticated %v, not decrypted %v: reassembly changed bytes", st.NotAuthenticated, st.NotDecrypted)
	}
	// Frames 1-7 are IPv4; IPv6 datagram 5 is frames 17-20, 6 is 21-24.
	for _, m := range []string{
		"packet 18: IPv6 reassembly: overlapping fragments: datagram discarded",
		"packet 19: IPv6 reassembly: fragment of a datagram discarded for overlapping fragments",
		"packet 20: IPv6 reassembly: fragment of a datagram discarded for overlapping fragments",
		"packet 23: IPv6 reassembly: duplicate fragment",
	} {
		if !strings.Contains(errOut, m) {
			t.Errorf("stderr does not say %q:\n%s", m, errOut)
		}
	}

	want := map[string]float64{"0x00004004": 3, "0x00006006": 4} // seq 1-3; seq 1, 2, 3, 6
	out, _, _ = runCmd(t, "sas", "-q", "-r", path, "-k", keys, "--me", "10.0.0.1", "--me", "2001:db8::1", "-o", "json")
	var rows []map[string]any
	json.Unmarshal([]byte(out), &rows)
	got := map[string]float64{}
	for _, r := range rows {
		spi := fmt.Sprint(r["spi_in"])
		if _, ok := want[spi]; !ok {
			t.Errorf("unexpected SA %v", r)
			continue
		}
		got[spi], _ = r["packets_in"].(float64)
		if r["plaintext_bytes_in"] != 1200*got[spi] || r["not_authenticated_in"] != 0.0 || r["replayed_in"] != 0.0 {
			t.Errorf("SA %s: %v", spi, r)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("packets per SA %v, want %v", got, want)
	}

	// tshark reassembles both IP versions by default; its count of ESP
	// packets per SPI must be ours. (It keeps the IPv6 datagram whose
	// fragments overlap, which RFC 5722 forbids a receiver to: that one
	// is taken out of its count.)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	b, err := exec.Command(tshark, "-r", path, "-Y", "esp", "-T", "fields", "-e", "esp.spi").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	ts := map[string]float64{}
	for _, l := range strings.Fields(string(b)) {
		ts[l]++
	}
	ts["0x00006006"]--
	if fmt.Sprint(ts) != fmt.Sprint(want) {
		t.Errorf("tshark's ESP packets per SPI, less the overlapping datagram: %v; ipsecmon: %v", ts, want)
	}
}
