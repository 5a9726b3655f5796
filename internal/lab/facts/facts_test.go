package facts

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ipsecmon/internal/lab/charonlog"
	"ipsecmon/internal/lab/vicimsg"
)

// testdata/ikev2-rekey is one lab run of the ikev2-rekey scenario: verbatim
// excerpts of both charon logs, both VICI event files and every
// `swanctl --list-sas --raw` listing. Expected values are derived by hand
// from the scenario's configuration (testdata/lab/scenarios/ikev2-rekey)
// and the traffic generator's design, and read off those files.
func fixture(t *testing.T) *Input {
	t.Helper()
	dir := filepath.Join("testdata", "ikev2-rekey")
	in := &Input{Scenario: "ikev2-rekey", Topology: "direct", StrongSwan: "strongSwan 5.9.8",
		Logs: map[string]*charonlog.Log{}, Events: map[string][]vicimsg.Event{},
		CaptureStart: time.Date(2026, 11, 27, 3, 15, 9, 0, time.UTC), CaptureEnd: time.Date(2026, 11, 27, 3, 15, 40, 0, time.UTC)}
	for _, p := range PeerNames {
		f, err := os.Open(filepath.Join(dir, p+"-charon.log"))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := charonlog.Parse(f, p)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if in.Logs[p], err = charonlog.Analyze(lines, p); err != nil {
			t.Fatal(err)
		}
		ef, err := os.Open(filepath.Join(dir, p+"-vici-events.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		in.Events[p], err = vicimsg.ReadEvents(ef, p)
		ef.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*-raw.txt"))
	re := regexp.MustCompile(`^(alice|bob)-list-sas-(.+)-raw\.txt$`)
	for _, p := range m {
		sm := re.FindStringSubmatch(filepath.Base(p))
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := vicimsg.ParseRaw(f, p)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		in.Snapshots = append(in.Snapshots, Snapshot{Peer: sm[1], Tag: sm[2], File: filepath.Base(p), Messages: msgs})
	}
	return in
}

func TestBuildIKEv2Rekey(t *testing.T) {
	f, set, err := Build(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	// IKE SAs: the one from IKE_SA_INIT and its rekey (checkin lines of the logs).
	if len(f.IKESAs) != 2 {
		t.Fatalf("%d IKE SAs", len(f.IKESAs))
	}
	// alice.conf: proposals = aes256-sha512-modp2048, auth = psk.
	suite := IKESuite{Enc: "aes-cbc", EncKeyBits: 256, Integ: "hmac-sha2-512-256", PRF: "hmac-sha2-512", DHGroup: "modp2048"}
	ikeTests := []struct {
		spii, spir, exchange, replaces, replacedBy, reason string
	}{
		{"ede42d4527d9c18e", "98a093e10efa57a7", "IKE_SA_INIT", "", "ike-2", "rekey"},
		{"681c9299bb03fa63", "0b3271418294d29b", "CREATE_CHILD_SA", "ike-1", "", "delete"},
	}
	for i, tt := range ikeTests {
		s := f.IKESAs[i]
		if s.SPIi != tt.spii || s.SPIr != tt.spir || s.Exchange != tt.exchange || s.Replaces != tt.replaces || s.ReplacedBy != tt.replacedBy ||
			s.Suite != suite || s.Auth != "psk" || s.Version != 2 || !s.NATT {
			t.Errorf("IKE SA %d: %+v", i+1, s)
		}
		if s.Initiator != (Endpoint{Peer: "alice", Addr: "198.51.100.1", Port: 4500}) || s.Responder != (Endpoint{Peer: "bob", Addr: "198.51.100.2", Port: 4500}) {
			t.Errorf("IKE SA %d endpoints %+v %+v", i+1, s.Initiator, s.Responder)
		}
		if s.Deleted == nil || s.Deleted.Reason != tt.reason || s.Deleted.By != "alice" {
			t.Errorf("IKE SA %d deletion %+v", i+1, s.Deleted)
		}
	}
	// CHILD SAs: created in IKE_AUTH, rekeyed after 10 s and 20 s (CREATE_CHILD_SA
	// message IDs 2 and 4), the last one moved to ike-2 and closed with it.
	childTests := []struct {
		exchange          string
		msgID             uint32
		aliceIn, aliceOut string
		replaces, moved   string
		pfs, reason       string
	}{
		{"IKE_AUTH", 1, "0x59bcf2d3", "0x6f03193f", "", "", "", "delete"},
		{"CREATE_CHILD_SA", 2, "0x1bcd09f3", "0x69f974b9", "child-1", "", "ecp256", "delete"},
		{"CREATE_CHILD_SA", 4, "0x6490818f", "0x78dcf61f", "child-2", "ike-2", "ecp256", "with-ike-sa"},
	}
	if len(f.ChildSAs) != len(childTests) {
		t.Fatalf("%d CHILD SAs", len(f.ChildSAs))
	}
	for i, tt := range childTests {
		c := f.ChildSAs[i]
		if c.Exchange != tt.exchange || c.MessageID != tt.msgID || c.Initiator != "alice" || c.IKESA != "ike-1" || c.Replaces != tt.replaces || c.MovedTo != tt.moved {
			t.Errorf("CHILD SA %d: %+v", i+1, c)
		}
		if c.SPIs["alice"] != (PeerSPIs{In: tt.aliceIn, Out: tt.aliceOut}) || c.SPIs["bob"] != (PeerSPIs{In: tt.aliceOut, Out: tt.aliceIn}) {
			t.Errorf("CHILD SA %d SPIs %+v", i+1, c.SPIs)
		}
		// esp_proposals = aes128gcm16-ecp256: the IKE_AUTH child has no PFS.
		if c.Suite != (ChildSuite{Enc: "aes-gcm-16", EncKeyBits: 128, Integ: "none", PFSGroup: tt.pfs}) || c.Mode != "tunnel" || !c.UDPEncap || c.Protocol != "esp" {
			t.Errorf("CHILD SA %d suite %+v mode %s", i+1, c.Suite, c.Mode)
		}
		if c.Deleted == nil || c.Deleted.Reason != tt.reason || c.Deleted.By != "alice" {
			t.Errorf("CHILD SA %d deletion %+v", i+1, c.Deleted)
		}
		if got := c.Selectors["alice"]; len(got.Local) != 1 || got.Local[0] != "10.1.0.1/32" || got.Remote[0] != "10.2.0.1/32" {
			t.Errorf("CHILD SA %d selectors %+v", i+1, got)
		}
	}
	// Counters. One round of the full mix (MIX in lib.sh) sends, per
	// direction, the sender's own 2 ICMP requests + 6 UDP datagrams + 14 TCP
	// segments (SYN, ACK, 5 chunks, 5 ACKs, FIN, ACK) and the replies to the
	// other side's session: 2 echo replies + 13 TCP segments (SYN-ACK, 5 ACKs,
	// 5 one-byte answers, ACK, FIN) = 37 packets. Inner IP bytes: 2x84 +
	// 2x(46+328+1028) + 60+52+5x552+5x52+52+52 = 6208, plus 2x84 + 60+5x52+5x53+52+52
	// = 857: 7065. A LIGHT round is 1+2+8 and 1+7: 19 packets, and
	// 84+92+728+60+52+2x352+2x52+52+52 = 1928 plus 84+60+2x52+2x53+52+52 = 458:
	// 2386 bytes. child-3 carried two LIGHT rounds.
	counts := map[string][2]uint64{
		"0x6f03193f": {37, 7065}, "0x59bcf2d3": {37, 7065},
		"0x69f974b9": {19, 2386}, "0x1bcd09f3": {19, 2386},
		"0x78dcf61f": {38, 4772}, "0x6490818f": {38, 4772},
	}
	if len(f.SPIs) != 6 {
		t.Fatalf("%d SPIs", len(f.SPIs))
	}
	for _, s := range f.SPIs {
		want := counts[s.SPI]
		for _, p := range PeerNames {
			c := s.Counters[p]
			if c.Packets != want[0] || c.Bytes != want[1] {
				t.Errorf("SPI %s at %s: %d packets %d bytes (%s), want %d %d", s.SPI, p, c.Packets, c.Bytes, c.Source, want[0], want[1])
			}
		}
		if s.SrcPort != 4500 || s.DstPort != 4500 {
			t.Errorf("SPI %s ports %d %d", s.SPI, s.SrcPort, s.DstPort)
		}
		if (s.From == "alice") != (s.Src == "198.51.100.1") || s.Counters[s.From].Side != "out" {
			t.Errorf("SPI %s from %s: %+v", s.SPI, s.From, s)
		}
	}
	n := f.Negotiations
	if n.IKECompleted != 2 || n.IKERekeyed != 1 || n.IKEDeleted != 2 || n.ChildCompleted != 3 || n.ChildCreated != 1 || n.ChildRekeyed != 2 ||
		n.ChildDeleted["delete"] != 2 || n.ChildDeleted["with-ike-sa"] != 1 || n.ChildAliveEnd != 0 || n.Failed != 0 || n.Pending != 0 {
		t.Errorf("negotiations %+v", n)
	}
	// Keys: alice's log line 37-38 ("encryption initiator key" of IKE_AUTH)
	// protects SPI 0x6f03193f, alice -> bob.
	if len(set.SAs) != 6 || len(set.IKEv2) != 2 || len(set.IKEv1) != 0 {
		t.Fatalf("key set: %d ESP, %d IKEv2, %d IKEv1", len(set.SAs), len(set.IKEv2), len(set.IKEv1))
	}
	want, _ := hex.DecodeString("50D89ADA25112E1706CD5EBBCD5FAF5DA120636B")
	found := false
	for _, sa := range set.SAs {
		if sa.SPI == 0x6f03193f {
			found = bytes.Equal(sa.EncKey, want) && sa.Dst.Addr().String() == "198.51.100.2" && sa.EncapSport == 4500 && sa.Mode == "tunnel"
		}
	}
	if !found {
		t.Error("ESP SA 0x6f03193f does not carry the key from alice's log")
	}
}

func TestBuildRejectsDisagreeingKeys(t *testing.T) {
	in := fixture(t)
	// bob "logged" a different outbound key for his first CHILD SA.
	for _, c := range in.Logs["bob"].Children {
		if c.UID == 1 {
			c.EncOut = append([]byte(nil), c.EncOut...)
			c.EncOut[0] ^= 1
		}
	}
	if _, _, err := Build(in); err == nil || !strings.Contains(err.Error(), "different keys") {
		t.Errorf("error %v", err)
	}
}

func TestBuildCaptureWindow(t *testing.T) {
	in := fixture(t)
	// End the capture right after the first CHILD rekey (03:15:20.063) and
	// before its Delete exchange completed on both sides.
	in.CaptureEnd = time.Date(2026, 11, 27, 3, 15, 25, 0, time.UTC)
	f, _, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.IKESAs) != 1 || f.IKESAs[0].Deleted != nil || len(f.ChildSAs) != 2 || f.ChildSAs[1].Deleted != nil || f.ChildSAs[0].Deleted == nil {
		t.Errorf("IKE SAs %+v, CHILD SAs %+v", f.IKESAs, f.ChildSAs)
	}
	if f.Negotiations.ChildAliveEnd != 1 {
		t.Errorf("negotiations %+v", f.Negotiations)
	}
}

func TestCompare(t *testing.T) {
	base, _, err := Build(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	clone := func() *Facts {
		f, _, _ := Build(fixture(t))
		return f
	}
	tests := []struct {
		name   string
		change func(f *Facts)
		want   []string
	}{
		{"identical", func(f *Facts) {}, nil},
		{"other SPIs and times", func(f *Facts) {
			for i := range f.SPIs {
				old := f.SPIs[i].SPI
				f.SPIs[i].SPI = "0xdeadbe0" + string(rune('0'+i))
				for j := range f.ChildSAs {
					for p, v := range f.ChildSAs[j].SPIs {
						if v.In == old {
							v.In = f.SPIs[i].SPI
						}
						if v.Out == old {
							v.Out = f.SPIs[i].SPI
						}
						f.ChildSAs[j].SPIs[p] = v
					}
				}
			}
			f.IKESAs[0].SPIi = "0000000000000001"
			f.ChildSAs[0].Created = f.ChildSAs[0].Created.Add(time.Hour)
			f.Capture.End = time.Time{}
			f.Retransmits = append(f.Retransmits, Retransmit{Peer: "alice"})
		}, nil},
		{"a count", func(f *Facts) {
			c := f.SPIs[0].Counters["bob"]
			c.Packets++
			f.SPIs[0].Counters["bob"] = c
		}, []string{".spis[0].counters.bob.packets: 37 vs 38"}},
		{"a suite", func(f *Facts) { f.ChildSAs[1].Suite.EncKeyBits = 256 }, []string{".child_sas[1].suite.enc_key_bits: 128 vs 256"}},
		{"a missing CHILD SA", func(f *Facts) { f.ChildSAs = f.ChildSAs[:2] }, []string{".child_sas: 3 entries vs 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := clone()
			tt.change(f)
			got, err := Compare(base, f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseSteps(t *testing.T) {
	// Lines as scenario.sh writes them (mark).
	good := "2026-11-27T03:15:09.265812Z scenario ikev2-rekey\n2026-11-27T03:15:09.997129Z capture-start\n" +
		"2026-11-27T03:15:10.001317Z initiate alice child net\n2026-11-27T03:15:38.620510Z capture-end\n"
	s, e, err := ParseSteps(strings.NewReader(good), "steps.log")
	if err != nil || s != time.Date(2026, 11, 27, 3, 15, 9, 997129000, time.UTC) || e != time.Date(2026, 11, 27, 3, 15, 38, 620510000, time.UTC) {
		t.Errorf("%v %v %v", s, e, err)
	}
	for _, bad := range []struct{ in, want string }{
		{"2026-11-27T03:15:09Z capture-start\n", "no capture-start/capture-end"},
		{"yesterday capture-start\n", "steps.log:1:"},
		{"2026-11-27T03:15:09Z capture-end\n2026-11-27T03:15:10Z capture-start\n", "capture-end before capture-start"},
	} {
		if _, _, err := ParseSteps(strings.NewReader(bad.in), "steps.log"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v", bad.in, err)
		}
	}
}

func FuzzParseSteps(f *testing.F) {
	f.Add("2026-11-27T03:15:09.997129Z capture-start\n2026-11-27T03:15:38.620510Z capture-end\n")
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := ParseSteps(strings.NewReader(s), "fuzz")
		if err == nil && end.Before(start) {
			t.Fatal("end before start accepted")
		}
	})
}

// runningWorkDir lays the fixture out as a scenario's work directory while
// it runs (scenario.sh): <peer>/charon.log, events, listings, and a
// steps.log with a capture-start mark only.
func runningWorkDir(t *testing.T, steps string) string {
	t.Helper()
	src := filepath.Join("testdata", "ikev2-rekey")
	dir := t.TempDir()
	copyTo := func(from, to string) {
		b, err := os.ReadFile(filepath.Join(src, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, to)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range PeerNames {
		copyTo(p+"-charon.log", filepath.Join(p, "charon.log"))
		copyTo(p+"-vici-events.jsonl", p+"-vici-events.jsonl")
	}
	m, _ := filepath.Glob(filepath.Join(src, "*-raw.txt"))
	for _, p := range m {
		copyTo(filepath.Base(p), filepath.Base(p))
	}
	if err := os.WriteFile(filepath.Join(dir, "steps.log"), []byte(steps), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadRunning: the keys of a running scenario are those of the SAs
// established by "now". The SPIs are alice's, read off the fixture's log
// ("CHILD_SA net{N} established with SPIs <in>_i <out>_o" at 03:15:10.061,
// 03:15:20.063 and 03:15:30.066); each SPI is one ESP key line.
func TestLoadRunning(t *testing.T) {
	dir := runningWorkDir(t, "2026-11-27T03:15:09.800000Z capture-start\n2026-11-27T03:15:09.900000Z initiate alice child net\n")
	tests := []struct {
		now  time.Time
		spis []uint32
	}{
		{time.Date(2026, 11, 27, 3, 15, 9, 950_000_000, time.UTC), nil},
		{time.Date(2026, 11, 27, 3, 15, 15, 0, time.UTC), []uint32{0x59bcf2d3, 0x6f03193f}},
		{time.Date(2026, 11, 27, 3, 15, 25, 0, time.UTC), []uint32{0x59bcf2d3, 0x6f03193f, 0x1bcd09f3, 0x69f974b9}},
		{time.Date(2026, 11, 27, 3, 15, 35, 0, time.UTC), []uint32{0x59bcf2d3, 0x6f03193f, 0x1bcd09f3, 0x69f974b9, 0x6490818f, 0x78dcf61f}},
	}
	for _, tt := range tests {
		t.Run(tt.now.Format("15:04:05.000"), func(t *testing.T) {
			in, err := LoadRunning(dir, "ikev2-rekey", "direct", tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if !in.CaptureEnd.Equal(tt.now) {
				t.Errorf("capture end %v, want now %v", in.CaptureEnd, tt.now)
			}
			_, set, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint32]bool{}
			for _, sa := range set.SAs {
				got[sa.SPI] = true
			}
			if len(got) != len(tt.spis) {
				t.Errorf("%d ESP keys, want %d", len(got), len(tt.spis))
			}
			for _, spi := range tt.spis {
				if !got[spi] {
					t.Errorf("no key for SPI 0x%08x", spi)
				}
			}
		})
	}
}

// TestLoadRunningNeedsStart: without a capture-start mark there is nothing
// to read, running or not; Load still wants the capture-end mark.
func TestLoadRunningNeedsStart(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 15, 35, 0, time.UTC)
	if _, err := LoadRunning(runningWorkDir(t, "2026-11-27T03:15:09.900000Z initiate alice child net\n"), "ikev2-rekey", "direct", now); err == nil {
		t.Error("LoadRunning without capture-start: no error")
	}
	if _, err := Load(runningWorkDir(t, "2026-11-27T03:15:09.800000Z capture-start\n"), "ikev2-rekey", "", "direct"); err == nil {
		t.Error("Load of a running scenario: no error")
	}
}
