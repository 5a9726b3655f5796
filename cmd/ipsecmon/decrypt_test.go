package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ipsecmon/internal/lab/facts"
	"ipsecmon/internal/lab/verify"
	pb "ipsecmon/internal/pktbuild"
	"ipsecmon/internal/testcorpus"
	"ipsecmon/pipeline"
)

// outPacket is one packet of a pcapng file, read with gopacket's own
// reader (not package capture, whose writer made the file).
type outPacket struct {
	iface   string
	lt      layers.LinkType
	data    []byte
	comment string
}

func readPcapng(t *testing.T, path string) []outPacket {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []outPacket
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", path, len(out)+1, err)
		}
		intf, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		p := outPacket{iface: intf.Name, lt: intf.LinkType, data: data}
		if len(opts.Comments) > 0 {
			p.comment = opts.Comments[0]
		}
		out = append(out, p)
	}
}

// tsharkClean runs tshark over a file and fails t on anything it warns
// about: messages on stderr, or expert infos of severity warning or error
// (malformed packets, bad checksums, bad lengths).
func tsharkClean(t *testing.T, path string) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tshark, "-n", "-r", path, "-q", "-z", "expert,warn", "-o", "ip.check_checksum:TRUE")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), `Running as user "root" and group "root". This could be dangerous.`, ""))
	if err != nil || msg != "" {
		t.Fatalf("tshark on %s: %v: %s", path, err, msg)
	}
	if s := string(out); strings.Contains(s, "Warnings (") || strings.Contains(s, "Errors (") {
		t.Errorf("tshark's expert infos on %s:\n%s", path, s)
	}
}

var commentSPI = regexp.MustCompile(`^(ESP|AH) SPI 0x([0-9a-f]{8}) seq (\d+) `)

// pfsKeys writes the scenario's keys.txt with only the esp lines of CHILD
// SAs negotiated with PFS (facts.json: a pfs_group of their own): every
// other SA's keys ipsecmon must derive from SKEYID_d / SK_d.
func pfsKeys(t *testing.T, dir string) (string, int) {
	t.Helper()
	f, err := facts.Read(filepath.Join(dir, "facts.json"))
	if err != nil {
		t.Fatal(err)
	}
	pfs := map[string]bool{}
	for _, c := range f.ChildSAs {
		if c.Suite.PFSGroup == "" {
			continue
		}
		for _, s := range c.SPIs {
			pfs[s.In], pfs[s.Out] = true, true
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	given := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "esp ") || strings.HasPrefix(l, "ah ") {
			spi := strings.TrimPrefix(strings.Fields(l)[1], "spi=")
			if !pfs[spi] {
				continue
			}
			given++
		}
		keep = append(keep, l)
	}
	return writeKeys(t, "pfs-keys.txt", strings.Join(keep, "\n")), given
}

// Issue 16's acceptance on every strongSwan lab recording: the inner IP
// packets `decrypt` writes equal, byte for byte and in number, the packets
// the hosts' tunnel devices saw (checked as ipsecmon-lab verify checks
// tshark's decryption: verify.CheckTunnelDevices), with only the IKE keys
// and the keys of PFS CHILD SAs given; and tshark reads the file without a
// warning. The SPI of each packet is taken from its comment.
func TestLabDecryptEqualsTunnelDevices(t *testing.T) {
	dir, scenarios := labScenarios(t)
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			d := filepath.Join(dir, sc)
			keys, given := pfsKeys(t, d)
			out := filepath.Join(t.TempDir(), "plain.pcapng")
			_, stderr, code := runCmd(t, "decrypt", "-q", "-r", filepath.Join(d, "capture.pcap"), "-k", keys, "-w", out)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %04o, want 0600", st.Mode().Perm())
			}
			var dec []verify.Decrypted
			for i, p := range readPcapng(t, out) {
				m := commentSPI.FindStringSubmatch(p.comment)
				if p.lt != layers.LinkTypeRaw || p.iface != "decrypted" || m == nil {
					t.Fatalf("packet %d: interface %q, link type %v, comment %q", i+1, p.iface, p.lt, p.comment)
				}
				spi, _ := strconv.ParseUint(m[2], 16, 32)
				dec = append(dec, verify.Decrypted{SPI: uint32(spi), Inner: p.data})
			}
			res, err := verify.CheckTunnelDevices(d, dec)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Problems {
				t.Error(p)
			}
			if res.TunnelPackets == 0 {
				t.Error("no tunnel-device packets compared")
			}
			t.Logf("%d inner packets equal to the tunnel devices' %d (%d not delivered by a receiver); esp keys given for %d PFS SAs", len(dec), res.TunnelPackets, res.NotDelivered, given)
			tsharkClean(t, out)
		})
	}
}

var commentFrame = regexp.MustCompile(`; (.*) frame (\d+)$`)

// tsharkESP is tshark's decryption of one frame's ESP headers, outermost
// first: SPI, sequence number, next header and the decrypted data
// (esp.contained_data: the plaintext without padding and trailer).
type tsharkESP struct {
	spi, seq []string
	nh       []string
	data     [][]byte
}

// outerESP selects ESP frames whose outer packet is no ICMP error (one
// quotes the packet it is about, and tshark dissects a quoted ESP header
// too, which is no ESP packet); an ICMP error inside a tunnel stays.
const outerESP = "esp and not ip.proto#1 == 1 and not ipv6.nxt#1 == 58"

func tsharkDecrypt(t *testing.T, capture, espSA string) map[int]tsharkESP {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "wireshark"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(espSA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "wireshark", "esp_sa"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", capture, "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
		"-Y", outerESP,
		"-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number", "-e", "esp.spi", "-e", "esp.sequence", "-e", "esp.protocol", "-e", "esp.contained_data")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	frames := map[int]tsharkESP{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 5 || f[1] == "" {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		e := tsharkESP{spi: strings.Split(f[1], "|"), seq: strings.Split(f[2], "|"), nh: strings.Split(f[3], "|")}
		for _, h := range strings.Split(f[4], "|") {
			d, err := hex.DecodeString(h)
			if err != nil {
				t.Fatalf("frame %d: esp.contained_data %q", n, h)
			}
			e.data = append(e.data, d)
		}
		frames[n] = e
	}
	return frames
}

// Issue 16's acceptance on the corpus' keyed captures: every ESP packet
// tshark decrypts with the projects' own keys comes out of decrypt with the
// same plaintext (tshark's innermost esp.contained_data: the whole packet
// in tunnel mode, what follows the rebuilt IP header in transport mode),
// or, kept with --keep-undecrypted, as a replay of an SPI and sequence
// number tshark showed before; tshark reads the file without a warning.
// tcpdump's captures are decrypted by ipsecmon from tcpdump's own secrets
// file where one exists, and by tshark from the corpus' esp_sa made from it.
func TestCorpusDecryptEqualsTshark(t *testing.T) {
	c := testcorpus.Dir(t)
	wiki := filepath.Join(c, "wireshark-wiki")
	tcp := filepath.Join(c, "tcpdump")
	esp1 := filepath.Join(tcp, "esp_sa.esp1-cmdline.wireshark-derived")
	cases := []struct {
		capture, keys, espSA string
		nested               bool
	}{
		{filepath.Join(wiki, "ipsec_esp_capture_1", "capture.pcap"), "", filepath.Join(wiki, "ipsec_esp_capture_1", "esp_sa"), false},
		{filepath.Join(wiki, "ipsec_esp_capture_2", "capture.pcap"), "", filepath.Join(wiki, "ipsec_esp_capture_2", "esp_sa"), true},
		{filepath.Join(wiki, "ipsec_esp_capture_3", "capture.pcap"), "", filepath.Join(wiki, "ipsec_esp_capture_3", "esp_sa"), false},
		{filepath.Join(wiki, "ipsec_esp_capture_5", "capture.pcap"), "", filepath.Join(wiki, "ipsec_esp_capture_5", "esp_sa"), false},
		{filepath.Join(wiki, "ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc", "capture.pcapng"), "", filepath.Join(wiki, "ikev2_esp_natt_aes-gcm_aes-ctr_aes-cbc", "esp_sa"), false},
		{filepath.Join(tcp, "02-sunrise-sunset-esp.pcap"), "", esp1, false},
		{filepath.Join(tcp, "espudp1.pcap"), "", esp1, false},
		{filepath.Join(tcp, "08-sunrise-sunset-esp2.pcap"), filepath.Join(tcp, "esp-secrets.txt"), filepath.Join(tcp, "esp_sa.esp-secrets.wireshark-derived"), true},
		{filepath.Join(tcp, "08-sunrise-sunset-aes.pcap"), filepath.Join(tcp, "esp-secrets.txt"), filepath.Join(tcp, "esp_sa.esp-secrets.wireshark-derived"), false},
	}
	for _, tc := range cases {
		name, _ := filepath.Rel(c, tc.capture)
		t.Run(name, func(t *testing.T) {
			keys := tc.keys
			if keys == "" {
				keys = tc.espSA
			}
			// Key files of the corpus are world-readable; a copy of mode 0600 spares the warning.
			b, err := os.ReadFile(keys)
			if err != nil {
				t.Skip(err)
			}
			keys = writeKeys(t, "keys", string(b))
			ts := tsharkDecrypt(t, tc.capture, tc.espSA)
			out := filepath.Join(t.TempDir(), "plain.pcapng")
			_, stderr, code := runCmd(t, "decrypt", "-q", "--keep-undecrypted", "-r", tc.capture, "-k", keys, "-w", out)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			pkts := readPcapng(t, out)
			byFrame := map[int]outPacket{}
			for _, p := range pkts {
				m := commentFrame.FindStringSubmatch(p.comment)
				if m == nil {
					t.Fatalf("comment %q names no frame", p.comment)
				}
				n, _ := strconv.Atoi(m[2])
				byFrame[n] = p
			}
			seen := map[string]bool{}
			decrypted, replays, nested := 0, 0, 0
			for n := 1; n <= len(ts)*4+1000; n++ {
				e, ok := ts[n]
				if !ok {
					continue
				}
				outer := e.spi[0] + "/" + e.seq[0]
				p, ok := byFrame[n]
				switch {
				case !ok:
					t.Errorf("frame %d: tshark decrypted ESP %s, decrypt wrote nothing", n, outer)
				case strings.HasPrefix(p.comment, "not decrypted") && strings.Contains(p.comment, ": replay") && seen[outer]:
					replays++
				case strings.HasPrefix(p.comment, "not decrypted"):
					t.Errorf("frame %d: tshark decrypted ESP %s, decrypt: %q", n, outer, p.comment)
				default:
					last := len(e.data) - 1
					want := e.data[last]
					got := p.data
					if e.nh[last] != "0x04" && e.nh[last] != "0x29" {
						// Transport mode: what follows the rebuilt IP header.
						hl := 40
						if len(got) > 0 && got[0]>>4 == 4 {
							hl = int(got[0]&0x0f) * 4
						}
						got = got[min(hl, len(got)):]
					}
					if !bytes.Equal(got, want) {
						t.Errorf("frame %d (ESP %s): decrypt's plaintext differs from tshark's\n got % x\nwant % x", n, outer, got, want)
					}
					decrypted++
					if len(e.data) > 1 {
						nested++
					}
				}
				seen[outer] = true
			}
			if decrypted == 0 || tc.nested != (nested > 0) {
				t.Errorf("%d decrypted, %d of them nested", decrypted, nested)
			}
			t.Logf("%d ESP packets decrypted as tshark does (%d nested), %d replays of earlier ones", decrypted, nested, replays)
			tsharkClean(t, out)
		})
	}
}

// decrypt -i: ESP in UDP 4500 sealed by pktbuild (standard library) and
// sent over loopback comes out decrypted, in order, and is in the file
// within about a second while the capture goes on. (127.0.0.4: tests of
// other packages use other loopback addresses at the same time.)
func TestLiveDecrypt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root")
	}
	const n = 10
	s := pb.Sealer{SPI: 0x4444, Key: pb.Seq(0x21, 16), AuthKey: pb.Seq(0x61, 32)}
	keys := writeKeys(t, "keys.txt", fmt.Sprintf("esp spi=0x4444 dst=127.0.0.4 enc=aes-cbc enc-key=0x%x auth=hmac-sha2-256-128 auth-key=0x%x\n", s.Key, s.AuthKey))
	out := filepath.Join(t.TempDir(), "live.pcapng")
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 4), Port: 4500})
	if err != nil {
		t.Skipf("UDP 4500 on loopback: %v", err)
	}
	defer conn.Close()
	done := make(chan string)
	go func() {
		o, e, code := runCmd(t, "decrypt", "-i", "lo", "-f", "udp port 4500 and host 127.0.0.4", "-k", keys, "-w", out, "--duration", "4s", "-o", "json")
		done <- fmt.Sprintf("%d\n%s\n%s", code, o, e)
	}()
	time.Sleep(700 * time.Millisecond) // the capture is open
	var want [][]byte
	for i := 1; i <= n; i++ {
		in := pb.InnerICMP([4]byte{10, 1, 0, 1}, [4]byte{10, 2, 0, 1}, 20+i)
		want = append(want, in)
		if _, err := conn.WriteToUDP(s.Seal(uint64(i), in, 4, pb.NoFault), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 4), Port: 4500}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(pipeline.FlushInterval + 800*time.Millisecond)
	if mid := readPcapng(t, out); len(mid) != n {
		t.Errorf("the file holds %d of %d packets while the capture goes on", len(mid), n)
	}
	res := <-done
	if !strings.HasPrefix(res, "0\n") {
		t.Fatalf("decrypt: %s", res)
	}
	got := readPcapng(t, out)
	if len(got) != n {
		t.Fatalf("%d packets written, want %d: %s", len(got), n, res)
	}
	for i, p := range got {
		if !bytes.Equal(p.data, want[i]) || !strings.HasPrefix(p.comment, fmt.Sprintf("ESP SPI 0x00004444 seq %d 127.0.0.4 -> 127.0.0.4", i+1)) {
			t.Errorf("packet %d: %q % x, want % x", i+1, p.comment, p.data, want[i])
		}
	}
	if !strings.Contains(res, `"decrypted": 10`) {
		t.Errorf("summary: %s", res)
	}
}
