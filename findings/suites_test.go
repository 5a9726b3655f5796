package findings

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ipsecmon/analyzer"
	pb "ipsecmon/internal/pktbuild"
)

// TestKnownSuites is the acceptance test of the crypto audit on a capture
// written here with real ciphertext: four SA pairs between 10.0.0.1 and
// 10.0.0.2, sealed with the standard library's ciphers under the suites
// the key file names — 3DES-CBC with HMAC-SHA2-256-128 (RFC 2451), NULL
// encryption with HMAC-SHA2-256-128 (RFC 2410), AES-GCM-16-128 (RFC 4106)
// and AES-CBC-128 with HMAC-SHA2-256-128 (RFC 3602). Every packet must
// pass integrity with those keys (so the suites are what the bytes were
// made with), and then weak_crypto_enc names exactly the 3DES pair,
// no_encryption exactly the NULL pair, and no finding names the AES
// pairs.
func TestKnownSuites(t *testing.T) {
	dir := t.TempDir()
	me, peer := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	type pair struct {
		name      string
		keyLine   string // enc=... auth=... with %x for the keys
		out, in   pb.Sealer
		weakEnc   bool
		cleartext bool
	}
	k := func(n int, b byte) []byte { return pb.Seq(b, n) }
	pairs := []pair{
		{name: "3des", keyLine: "enc=3des-cbc enc-key=0x%[6]x auth=hmac-sha2-256-128 auth-key=0x%[7]x",
			out: pb.Sealer{SPI: 0x3de50001, Key: k(24, 0x10), AuthKey: k(32, 0x40), TripleDES: true},
			in:  pb.Sealer{SPI: 0x3de50002, Key: k(24, 0x20), AuthKey: k(32, 0x50), TripleDES: true}, weakEnc: true},
		{name: "null", keyLine: "enc=null auth=hmac-sha2-256-128 auth-key=0x%[7]x",
			out: pb.Sealer{SPI: 0x0e110001, AuthKey: k(32, 0x41), Null: true},
			in:  pb.Sealer{SPI: 0x0e110002, AuthKey: k(32, 0x51), Null: true}, cleartext: true},
		{name: "aes-gcm", keyLine: "enc=aes-gcm-16 enc-key=0x%[6]x",
			out: pb.Sealer{SPI: 0x6c000001, Key: k(20, 0x12), GCM: true},
			in:  pb.Sealer{SPI: 0x6c000002, Key: k(20, 0x22), GCM: true}},
		{name: "aes-cbc", keyLine: "enc=aes-cbc enc-key=0x%[6]x auth=hmac-sha2-256-128 auth-key=0x%[7]x",
			out: pb.Sealer{SPI: 0xcbc00001, Key: k(16, 0x13), AuthKey: k(32, 0x43)},
			in:  pb.Sealer{SPI: 0xcbc00002, Key: k(16, 0x23), AuthKey: k(32, 0x53)}},
	}
	var keyText strings.Builder
	var frames []pb.Frame
	const perSA = 5
	// The pairs follow each other in time, each direction's packets
	// interleaved with the other's: each SA's lifetime overlaps only its
	// pair's, which is how the analyzer pairs SAs without IKE.
	for _, p := range pairs {
		dirs := []struct {
			s        pb.Sealer
			src, dst [4]byte
		}{{p.out, me, peer}, {p.in, peer, me}}
		for _, d := range dirs {
			fmt.Fprintf(&keyText, "esp spi=0x%08x dst=%d.%d.%d.%d "+p.keyLine+" mode=tunnel\n", d.s.SPI, d.dst[0], d.dst[1], d.dst[2], d.dst[3], d.s.Key, d.s.AuthKey)
		}
		for seq := uint64(1); seq <= perSA; seq++ {
			for _, d := range dirs {
				inner := pb.InnerICMP([4]byte{192, 168, 1, 1}, [4]byte{192, 168, 2, 1}, 40)
				esp := d.s.Seal(seq, inner, 4, pb.NoFault)
				frames = append(frames, pb.Frame{Data: pb.Cat(pb.IPv4(50, d.src, d.dst, len(esp), 0), esp)})
			}
		}
	}
	keyFile, pcap := filepath.Join(dir, "keys.txt"), filepath.Join(dir, "suites.pcap")
	if err := os.WriteFile(keyFile, []byte(keyText.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pb.WritePcap(pcap, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), frames); err != nil {
		t.Fatal(err)
	}
	fs, in := analyse(t, keyFile, analyzer.Config{Me: nil}, pcap)
	// The keys verify every packet: the suites are the ones the bytes were sealed with.
	for _, r := range in.Snap.Rows {
		for _, sa := range r.SAs() {
			if sa.Accepted != perSA || sa.Unverified != 0 || !sa.Keyed() {
				t.Fatalf("SA 0x%08x: %d accepted, %d unverified, keyed %v; want %d verified", sa.Key.SPI, sa.Accepted, sa.Unverified, sa.Keyed(), perSA)
			}
		}
	}
	want := map[Kind][]string{}
	for _, p := range pairs {
		// Me is chosen from the traffic: 10.0.0.2 receives the first SA, so
		// it is this host and the "out" sealers' SAs are its inbound ones.
		name := fmt.Sprintf("0x%08x/0x%08x", p.out.SPI, p.in.SPI)
		if p.weakEnc {
			want[WeakCryptoEnc] = append(want[WeakCryptoEnc], name)
		}
		if p.cleartext {
			want[NoEncryption] = append(want[NoEncryption], name)
		}
	}
	got := map[Kind][]string{}
	for _, f := range fs {
		got[f.Kind] = append(got[f.Kind], spis(f))
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s on %v, want %v", k, got[k], w)
		}
	}
	for k, g := range got {
		if want[k] == nil {
			t.Errorf("unexpected %s on %v", k, g)
		}
	}
}
