package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ipsecmon/internal/lab/verify"
	"ipsecmon/internal/testcorpus"
)

// exportKeys runs `ipsecmon keys` into a file and checks the file's mode.
func exportKeys(t *testing.T, capture, keyFile, format string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), format)
	_, stderr, code := runCmd(t, "keys", "-r", capture, "-k", keyFile, "--format", format, "-w", out)
	if code != exitOK {
		t.Fatalf("keys --format %s: exit %d: %s", format, code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %04o, want 0600", out, st.Mode().Perm())
	}
	return out
}

func uatRows(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			rows = append(rows, l)
		}
	}
	return rows
}

// Issue 16's acceptance: `keys --format esp_sa`, given only the IKE keys
// and those of CHILD SAs negotiated with PFS (so that every other SA's
// keys are ipsecmon's derivation from SKEYID_d / SK_d), is a table with
// which tshark decrypts every ESP packet of each lab recording: tshark's
// plaintext equals the packets the hosts' tunnel devices saw
// (verify.CheckTunnelDevices). Each row is also one of the esp_sa rows the
// lab wrote from charon's own log.
//
// make test tries the recordings with keys derived from both IKE versions
// and one with UDP encapsulation; make lab-check (IPSECMON_LAB_DIR) all of
// them, which takes minutes.
func TestLabKeysESPSALetsTsharkDecrypt(t *testing.T) {
	dir, scenarios := labScenarios(t)
	if os.Getenv("IPSECMON_LAB_DIR") == "" {
		scenarios = slices.DeleteFunc(scenarios, func(s string) bool {
			return !slices.Contains([]string{"ikev1-rekey", "ikev2-rekey", "ikev2-encap"}, s)
		})
	}
	for _, sc := range scenarios {
		t.Run(sc, func(t *testing.T) {
			d := filepath.Join(dir, sc)
			keys, _ := pfsKeys(t, d)
			capture := filepath.Join(d, "capture.pcap")
			espSA := exportKeys(t, capture, keys, "esp_sa")
			charon := uatRows(t, filepath.Join(d, "esp_sa"))
			rows := uatRows(t, espSA)
			for _, r := range rows {
				if !slices.Contains(charon, r) {
					t.Errorf("row not in the lab's esp_sa (from charon's log): %s", r)
				}
			}
			var dec []verify.Decrypted
			ts := tsharkDecrypt(t, capture, espSA)
			frames := slices.Sorted(maps.Keys(ts))
			for _, n := range frames {
				e := ts[n]
				last := len(e.data) - 1
				if last < 0 || len(e.data[last]) == 0 {
					t.Errorf("frame %d: tshark did not decrypt ESP SPI %s", n, e.spi[0])
					continue
				}
				spi, err := strconv.ParseUint(strings.TrimPrefix(e.spi[last], "0x"), 16, 32)
				if err != nil {
					t.Fatalf("frame %d: esp.spi %q", n, e.spi[last])
				}
				dec = append(dec, verify.Decrypted{SPI: uint32(spi), Inner: e.data[last]})
			}
			res, err := verify.CheckTunnelDevices(d, dec)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Problems {
				t.Error(p)
			}
			if res.TunnelPackets == 0 && len(dec) > 0 {
				t.Error("no tunnel-device packets compared")
			}
			t.Logf("%d esp_sa rows; tshark decrypted %d ESP packets, equal to the tunnel devices' %d", len(rows), len(dec), res.TunnelPackets)
		})
	}
}

// decryptWith is what `decrypt` writes with the given key files.
func decryptWith(t *testing.T, capture string, keyFiles ...string) []outPacket {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plain.pcapng")
	args := []string{"decrypt", "-q", "--keep-undecrypted", "-r", capture, "-w", out}
	for _, k := range keyFiles {
		args = append(args, "-k", k)
	}
	if _, stderr, code := runCmd(t, args...); code != exitOK {
		t.Fatalf("decrypt %v: exit %d: %s", keyFiles, code, stderr)
	}
	return readPcapng(t, out)
}

// The exported keys fed back to ipsecmon decrypt what the keys they were
// exported from decrypt: the same packets, byte for byte, with the same
// comments (SPI, sequence number, outcome). The lab's rekey recordings
// have SAs whose keys are derived from IKE, which the exports must carry
// as keys of their own (esp_sa, xfrm; native with the IKE keys too).
func TestLabKeysFedBack(t *testing.T) {
	dir, scenarios := labScenarios(t)
	for _, sc := range []string{"ikev1-rekey", "ikev2-rekey", "ikev2-encap"} {
		if !slices.Contains(scenarios, sc) {
			continue
		}
		t.Run(sc, func(t *testing.T) {
			d := filepath.Join(dir, sc)
			keys, _ := pfsKeys(t, d)
			capture := filepath.Join(d, "capture.pcap")
			want := decryptWith(t, capture, keys)
			decrypted := 0
			for _, p := range want {
				if !strings.HasPrefix(p.comment, "not decrypted") {
					decrypted++
				}
			}
			if decrypted == 0 {
				t.Fatal("nothing decrypted with the original keys")
			}
			ikeTable := "ikev2"
			if strings.HasPrefix(sc, "ikev1") {
				ikeTable = "ikev1"
			}
			for _, set := range [][]string{{"native"}, {"xfrm"}, {"esp_sa", ikeTable}} {
				var files []string
				for _, f := range set {
					files = append(files, exportKeys(t, capture, keys, f))
				}
				got := decryptWith(t, capture, files...)
				if len(got) != len(want) {
					t.Errorf("%v: %d packets written, with the original keys %d", set, len(got), len(want))
					continue
				}
				for i := range got {
					if !bytes.Equal(got[i].data, want[i].data) || got[i].comment != want[i].comment {
						t.Errorf("%v: packet %d: %q, with the original keys %q", set, i+1, got[i].comment, want[i].comment)
						break
					}
				}
			}
			t.Logf("%d packets, %d decrypted, the same with each export", len(want), decrypted)
		})
	}
}

// tcpdump's own ESP tests (esp2: nested SAs, esp5: AES-256) decrypted by
// tcpdump with `keys --format tcpdump` print what they print with
// tcpdump's own secrets file, which decrypts them (tcpdump's esp2.out and
// esp5.out).
func TestKeysTcpdumpDecrypts(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	c := filepath.Join(testcorpus.Dir(t), "tcpdump")
	b, err := os.ReadFile(filepath.Join(c, "esp-secrets.txt"))
	if err != nil {
		t.Skip(err)
	}
	secrets := writeKeys(t, "esp-secrets.txt", string(b))
	// -Z root: tcpdump drops to its own user before it reads the secrets,
	// which are root's and of mode 0600. Its warnings are part of the output.
	show := func(t *testing.T, capture, secrets string) string {
		args := []string{"-Z", "root", "-n", "-r", capture}
		if secrets != "" {
			args = append(args, "-E", "file "+secrets)
		}
		out, err := exec.Command(tcpdump, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	for _, name := range []string{"08-sunrise-sunset-esp2.pcap", "08-sunrise-sunset-aes.pcap"} {
		t.Run(name, func(t *testing.T) {
			capture := filepath.Join(c, name)
			exported := exportKeys(t, capture, secrets, "tcpdump")
			got, want := show(t, capture, exported), show(t, capture, secrets)
			if got != want {
				t.Errorf("tcpdump with the exported keys:\n%s\nwith tcpdump's own secrets:\n%s", got, want)
			}
			if want == show(t, capture, "") || !strings.Contains(want, "ICMP echo") {
				t.Errorf("tcpdump's own secrets decrypt nothing:\n%s", want)
			}
		})
	}
}

// openPTY opens a pseudo-terminal and returns its terminal end.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keys refuses to print keys on a terminal (a real pseudo-terminal here)
// unless --force, and writes them to a pipe or file.
func TestKeysRefuseTerminal(t *testing.T) {
	dir, scenarios := labScenarios(t)
	if !slices.Contains(scenarios, "ikev2-encap") {
		t.Skip("no ikev2-encap recording")
	}
	d := filepath.Join(dir, "ikev2-encap")
	keys, _ := pfsKeys(t, d)
	capture := filepath.Join(d, "capture.pcap")
	tty := openPTY(t)
	var stderr bytes.Buffer
	if code := run([]string{"keys", "-r", capture, "-k", keys, "--format", "esp_sa"}, tty, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "refusing to print keys on a terminal") {
		t.Errorf("on a terminal: exit %d, %s", code, stderr.String())
	}
	// With --force they go to the terminal; read them from its other end
	// is not needed: the exit status and stderr say they were written.
	stderr.Reset()
	if code := run([]string{"keys", "-q", "-r", capture, "-k", keys, "--format", "esp_sa", "--force"}, tty, &stderr); code != exitOK {
		t.Errorf("--force: exit %d, %s", code, stderr.String())
	}
	out, stderr2, code := runCmd(t, "keys", "-q", "-r", capture, "-k", keys, "--format", "esp_sa")
	if code != exitOK || len(uatRows(t, writeKeys(t, "out", out))) == 0 {
		t.Errorf("to a pipe: exit %d, %q, %s", code, out, stderr2)
	}
}

// tsharkIKEDecrypted counts the IKE messages tshark decrypts in a capture
// with one Wireshark IKE table: IKEv2's "Decrypted Data" subtrees; for
// IKEv1, which shows the decrypted payloads in place, the Hash payloads
// (in Main Mode every one is encrypted: messages 5 and 6, Quick Mode,
// Informational).
func tsharkIKEDecrypted(t *testing.T, capture, table, file string) int {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	home := t.TempDir()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "wireshark"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "wireshark", table), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", capture, "-V")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if table == "ikev1_decryption_table" {
		return strings.Count(string(out), "Payload: Hash (8)")
	}
	return strings.Count(string(out), "Decrypted Data")
}

// `keys --format ikev1|ikev2` lets tshark decrypt as many IKE messages as
// the table the lab wrote from charon's own log does (and the lab's
// Main Mode and IKEv2 recordings have encrypted messages).
func TestLabKeysIKETablesLetTsharkDecrypt(t *testing.T) {
	dir, scenarios := labScenarios(t)
	for _, c := range []struct{ scenario, format, table string }{
		{"ikev1-rekey", "ikev1", "ikev1_decryption_table"},
		{"ikev2-rekey", "ikev2", "ikev2_decryption_table"},
	} {
		if !slices.Contains(scenarios, c.scenario) {
			continue
		}
		t.Run(c.scenario, func(t *testing.T) {
			d := filepath.Join(dir, c.scenario)
			capture := filepath.Join(d, "capture.pcap")
			keys, _ := pfsKeys(t, d)
			got := tsharkIKEDecrypted(t, capture, c.table, exportKeys(t, capture, keys, c.format))
			want := tsharkIKEDecrypted(t, capture, c.table, filepath.Join(d, c.table))
			none := tsharkIKEDecrypted(t, capture, c.table, writeKeys(t, "empty", "\n"))
			if got != want || want <= none {
				t.Errorf("tshark decrypts %d IKE messages with the export, %d with the lab's table, %d with none", got, want, none)
			}
		})
	}
}
