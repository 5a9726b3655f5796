package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// The testdata/xfrm-*.txt files are verbatim `ip xfrm state` and `ip -s
// xfrm state` output from real kernels, as posted in public issues (only
// whole SA blocks were kept where a post was cut off):
//
//	xfrm-s-moby-45635.txt     https://github.com/moby/moby/issues/45635 (ip -s; first SA)
//	xfrm-moby-26523.txt       https://github.com/moby/moby/issues/26523 (first four SAs)
//	xfrm-libreswan-713.txt    https://github.com/libreswan/libreswan/issues/713 (both listings; the last SA's sel line was cut)
//	xfrm-libreswan-2856.txt   https://github.com/libreswan/libreswan/pull/2856 (first two SAs)
//	xfrm-s-libreswan-1569.txt https://github.com/libreswan/libreswan/issues/1569 (ip -s; first SA)
//	xfrm-gist-wataash.txt     https://gist.github.com/wataash/d8ed9c441c8fed3cb904efbbd0ece012 (keys redacted by its author)
//
// The expectations were read off the text by hand.
type wantSA struct {
	proto        uint8
	spi          uint32
	src, dst     string
	enc          algo.Enc
	encKeyLen    int
	auth         algo.Auth
	authKeyLen   int
	esn          bool
	mode         string
	replayWindow int
	sport, dport uint16
	noKeys       bool
}

func checkSA(t *testing.T, i int, got SA, w wantSA) {
	t.Helper()
	if got.Proto != w.proto || got.SPI != w.spi || prefixString(got.Src) != w.src || prefixString(got.Dst) != w.dst ||
		got.Enc != w.enc || len(got.EncKey) != w.encKeyLen || got.Auth != w.auth || len(got.AuthKey) != w.authKeyLen ||
		got.ESN != w.esn || got.Mode != w.mode || got.ReplayWindow != w.replayWindow ||
		got.EncapSport != w.sport || got.EncapDport != w.dport || got.NoKeys != w.noKeys {
		t.Errorf("SA %d:\n got %v keys %d/%d mode %q window %d encap %d:%d nokeys %v\nwant %+v",
			i, got, len(got.EncKey), len(got.AuthKey), got.Mode, got.ReplayWindow, got.EncapSport, got.EncapDport, got.NoKeys, w)
	}
}

func TestXfrmSamples(t *testing.T) {
	tests := []struct {
		file string
		want []wantSA
	}{
		{"xfrm-s-moby-45635.txt", []wantSA{
			{ipproto.ESP, 0xf4faae1b, "10.1.11.45", "10.1.11.29", algo.EncAESGCM8, 20, algo.AuthNone, 0, false, "transport", 0, 0, 0, false},
		}},
		{"xfrm-moby-26523.txt", []wantSA{
			{ipproto.ESP, 0xc37b0533, "10.129.23.9", "10.129.15.191", algo.EncAESGCM8, 20, algo.AuthNone, 0, false, "transport", 0, 0, 0, false},
			{ipproto.ESP, 0x363d7b7f, "10.129.23.9", "10.129.15.191", algo.EncAESGCM8, 20, algo.AuthNone, 0, false, "transport", 0, 0, 0, false},
			{ipproto.ESP, 0x0fbdc9a5, "10.129.15.191", "10.129.23.9", algo.EncAESGCM8, 20, algo.AuthNone, 0, false, "transport", 0, 0, 0, false},
			{ipproto.ESP, 0xb25024f9, "10.129.23.9", "10.129.15.191", algo.EncAESGCM8, 20, algo.AuthNone, 0, false, "transport", 0, 0, 0, false},
		}},
		{"xfrm-libreswan-713.txt", []wantSA{
			// "anti-replay esn context" appears for a 64-packet window without "flag esn":
			// libreswan uses the ESN replay structure for large windows. No ESN.
			{ipproto.ESP, 0x08f08721, "2001:db8:1:2::45", "2001:db8:1:2::23", algo.EncAESCBC, 16, algo.AuthHMACSHA1_96, 20, false, "transport", 64, 0, 0, false},
			// the IPComp (proto comp) and IP-in-IP (proto 41) states carry no IPsec keys
			{ipproto.ESP, 0x21181c63, "2001:db8:1:2::23", "2001:db8:1:2::45", algo.EncAESCBC, 16, algo.AuthHMACSHA1_96, 20, false, "transport", 64, 0, 0, false},
		}},
		{"xfrm-libreswan-2856.txt", []wantSA{
			{ipproto.ESP, 0x90450740, "fd0a:9f7d:feaa::1", "fd0a:9f7d:feaa::2", algo.EncAESGCM16, 36, algo.AuthNone, 0, true, "tunnel", 0, 0, 0, false},
			{ipproto.ESP, 0x3d28f6b3, "fd0a:9f7d:feaa::2", "fd0a:9f7d:feaa::1", algo.EncAESGCM16, 36, algo.AuthNone, 0, true, "tunnel", 128, 0, 0, false},
		}},
		{"xfrm-s-libreswan-1569.txt", []wantSA{
			// the stats block's "replay-window 0 replay 0 failed 0" is not the window
			{ipproto.ESP, 0x4267e0d8, "192.168.2.170", "192.168.2.246", algo.EncAESCBC, 24, algo.AuthHMACSHA256_128, 32, false, "tunnel", 128, 0, 0, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			set, err := Parse(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if !set.Authoritative {
				t.Error("an ip xfrm state dump must be authoritative")
			}
			if len(set.SAs) != len(tc.want) {
				t.Fatalf("%d SAs, want %d: %v", len(set.SAs), len(tc.want), set.SAs)
			}
			for i, w := range tc.want {
				checkSA(t, i, set.SAs[i], w)
			}
		})
	}
}

func TestXfrmSeqHi(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "xfrm-libreswan-2856.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Same SA with the receive high half the kernel reports after wrapping.
	s := strings.Replace(string(data), "seq-hi 0x0, seq 0x1f40", "seq-hi 0x2, seq 0x1f40", 1)
	set, err := Parse("x", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if set.SAs[1].SeqHi != 2 || set.SAs[0].SeqHi != 0 {
		t.Errorf("seq-hi %d %d", set.SAs[0].SeqHi, set.SAs[1].SeqHi)
	}
}

// The gist's author replaced the keys with runs of one letter; the AES key
// became 28 bytes, which AES-CBC does not allow. The warning names the
// file, the line the SA starts on and the problem, and not the key; the SA
// still counts for SPI lookups (the dump stays the host's whole list), the
// next one is read.
func TestXfrmRedactedKeys(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "xfrm-gist-wataash.txt"))
	if err != nil {
		t.Fatal(err)
	}
	msg, set := problem("gist.txt", string(data))
	if want := "keys: gist.txt:1: ip xfrm state: SA 0xaaaaaaaa: aes-cbc key is 28 bytes; want 16, 24, 32"; msg != want {
		t.Errorf("problem\n got %q\nwant %q", msg, want)
	}
	if strings.Contains(msg, "cccc") {
		t.Error("warning shows the key")
	}
	if set == nil || len(set.SAs) != 2 || !set.SAs[0].NoKeys || set.SAs[0].SPI != 0xaaaaaaaa || !set.SAs[1].NoKeys || set.Skipped != 2 || !set.Authoritative {
		t.Errorf("both SAs (28-byte keys) kept for lookups only, the dump authoritative: %v", set)
	}
	// With a 32-byte key the sample parses, encap ports included.
	fixed := strings.ReplaceAll(string(data), strings.Repeat("c", 56), strings.Repeat("c", 64))
	fixed = strings.ReplaceAll(fixed, strings.Repeat("f", 56), strings.Repeat("f", 64))
	set, err = Parse("gist.txt", []byte(fixed))
	if err != nil {
		t.Fatal(err)
	}
	checkSA(t, 0, set.SAs[0], wantSA{ipproto.ESP, 0xaaaaaaaa, "192.168.0.2", "10.0.0.1", algo.EncAESCBC, 32, algo.AuthHMACSHA1_96, 20, false, "transport", 0, 4500, 4500, false})
	checkSA(t, 1, set.SAs[1], wantSA{ipproto.ESP, 0xdddddddd, "10.0.0.1", "192.168.0.2", algo.EncAESCBC, 32, algo.AuthHMACSHA1_96, 20, false, "transport", 32, 4500, 4500, false})
}

// Constructed variations on the samples' syntax: the nokeys listing, the
// kernel's default truncation for a plain "auth" line, AH, unsupported
// algorithms.
func TestXfrmVariants(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want wantSA
		err  string
		warn bool
	}{
		{"nokeys listing", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 reqid 1 mode tunnel\n\treplay-window 32 flag af-unspec\n\tauth-trunc hmac(sha256) 128\n\tenc cbc(aes)\n",
			wantSA{ipproto.ESP, 0x101, "10.0.0.1", "10.0.0.2", algo.EncAESCBC, 0, algo.AuthHMACSHA256_128, 0, false, "tunnel", 32, 0, 0, true}, "", false},
		{"plain auth hmac(sha1) is 96-bit", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x102 mode tunnel\n\tauth hmac(sha1) 0x" + strings.Repeat("11", 20) + "\n\tenc cbc(des3_ede) 0x" + strings.Repeat("22", 24) + "\n",
			wantSA{ipproto.ESP, 0x102, "10.0.0.1", "10.0.0.2", algo.Enc3DESCBC, 24, algo.AuthHMACSHA1_96, 20, false, "tunnel", 0, 0, 0, false}, "", false},
		{"plain auth hmac(sha256) is the kernel's 96-bit legacy", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x103 mode tunnel\n\tauth hmac(sha256) 0x" + strings.Repeat("11", 32) + "\n\tenc cbc(aes) 0x" + strings.Repeat("22", 16) + "\n",
			wantSA{ipproto.ESP, 0x103, "10.0.0.1", "10.0.0.2", algo.EncAESCBC, 16, algo.AuthUnchecked96, 0, false, "tunnel", 0, 0, 0, false}, "", true},
		{"AH", "src 10.0.0.1 dst 10.0.0.2\n\tproto ah spi 0x104 reqid 1 mode transport\n\tauth-trunc xcbc(aes) 0x" + strings.Repeat("33", 16) + " 96\n",
			wantSA{ipproto.AH, 0x104, "10.0.0.1", "10.0.0.2", algo.EncNull, 0, algo.AuthAESXCBC96, 16, false, "transport", 0, 0, 0, false}, "", false},
		{"chacha20-poly1305 and esn on a flag line", "src ::1 dst ::2\n\tproto esp spi 0x105 mode tunnel\n\tflag esn\n\taead rfc7539esp(chacha20,poly1305) 0x" + strings.Repeat("44", 36) + " 128\n",
			wantSA{ipproto.ESP, 0x105, "::1", "::2", algo.EncChaCha20Poly1305, 36, algo.AuthNone, 0, true, "tunnel", 0, 0, 0, false}, "", false},
		{"NULL encryption, key printed as 0x", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x106 mode transport\n\tauth-trunc hmac(md5) 0x" + strings.Repeat("55", 16) + " 96\n\tenc ecb(cipher_null) \n",
			wantSA{ipproto.ESP, 0x106, "10.0.0.1", "10.0.0.2", algo.EncNull, 0, algo.AuthHMACMD5_96, 16, false, "transport", 0, 0, 0, false}, "", false},
		{"unsupported cipher kept for lookups", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x107 mode tunnel\n\tenc cbc(serpent) 0x" + strings.Repeat("66", 16) + "\n",
			wantSA{ipproto.ESP, 0x107, "10.0.0.1", "10.0.0.2", algo.EncUnknown, 0, algo.AuthNone, 0, false, "tunnel", 0, 0, 0, true}, "", true},
		{"attribute before src", "\tproto esp spi 0x1\n", wantSA{}, "keys: v:1: not a key file format ipsecmon knows (Wireshark esp_sa, ikev1/ikev2_decryption_table, tcpdump -E secrets, ip xfrm state, ipsecmon native)", false},
		{"AH without auth", "src 10.0.0.1 dst 10.0.0.2\n\tproto ah spi 0x1\n", wantSA{}, "keys: v:1: ip xfrm state: AH SA 0x00000001 without an auth line", false},
		{"bad address", "src 10.0.0.300 dst 10.0.0.2\n", wantSA{}, "keys: v:1: ip xfrm state: src address is not an IP address", false},
		{"odd key", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x1\n\tenc cbc(aes) 0x123\n", wantSA{}, "keys: v:3: ip xfrm state: enc key odd number of hex digits", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err != "" {
				if got, _ := problem("v", tc.in); got != tc.err {
					t.Fatalf("problem %q, want %q", got, tc.err)
				}
				return
			}
			set, err := Parse("v", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(set.SAs) != 1 {
				t.Fatalf("%d SAs", len(set.SAs))
			}
			checkSA(t, 0, set.SAs[0], tc.want)
			if (len(set.Warnings) > 0) != tc.warn {
				t.Errorf("warnings %q", set.Warnings)
			}
		})
	}
}
