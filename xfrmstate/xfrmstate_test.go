package xfrmstate

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The dumps are verbatim `ip xfrm state` / `ip -s xfrm state` output of
// real kernels kept beside the packages that read them (their sources are
// in keys/xfrm_test.go and hosts/testdata/README.md). Every expected value
// below was read off the text by hand.

func u32(v uint32) *uint32 { return &v }
func u64(v uint64) *uint64 { return &v }

func read(t *testing.T, path string, loc *time.Location) []Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Read(string(b), loc)
}

func check(t *testing.T, got []Record, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestReadTunnelWithStatistics(t *testing.T) {
	got := read(t, "../hosts/testdata/linux-ip-s-xfrm-state-tunnel.txt", time.UTC)
	check(t, got, []Record{{
		Line: 1, Src: addr("120.132.29.114"), Dst: addr("117.50.61.96"), ProtoName: "esp", Proto: 50,
		SPI: 0xce15ff2d, ReqID: 1, Mode: "tunnel", ESNWindow: -1,
		Algs: []Alg{
			{Line: 4, Kind: "auth-trunc", Name: "hmac(sha1)", Key: "0x3a13962d519e77dfdf745c74a83b9c7588123fe1", KeyBits: 160, Bits: 96},
			{Line: 5, Kind: "enc", Name: "cbc(aes)", Key: "0x6abc7e8ea43d365d42a9b8d71c7db9be", KeyBits: 128},
		},
		Seq: u32(0), OSeq: u32(0x22b),
		Bytes: u64(46620), Packets: u64(555), AddTime: time.Date(2019, 1, 10, 11, 11, 54, 0, time.UTC),
		ReplayWindowDrops: u64(0), ReplayDrops: u64(0), IntegrityFails: u64(0),
	}})
	if got[0].Window() != 0 {
		t.Errorf("window %d", got[0].Window())
	}
}

func TestReadESNAndDirection(t *testing.T) {
	got := read(t, "../hosts/testdata/linux-ip-s-xfrm-state-esn-dir.txt", time.UTC)
	check(t, got, []Record{{
		Line: 1, Src: addr("192.168.1.10"), Dst: addr("192.168.1.20"), ProtoName: "esp", Proto: 50,
		SPI: 0xca56d890, ReqID: 16409, Mode: "tunnel", ESN: true, ESNWindow: 0,
		// The author elided the keys as "0x...": the lengths come from "(N bits)".
		Algs: []Alg{
			{Line: 4, Kind: "auth-trunc", Name: "hmac(sha256)", Key: "0x...", KeyBits: 256, Bits: 128},
			{Line: 5, Kind: "enc", Name: "cbc(aes)", Key: "0x...", KeyBits: 256},
		},
		Dir: "out", Seq: u32(0), SeqHi: u32(0), OSeq: u32(0xc), OSeqHi: u32(0),
		Bytes: u64(832), Packets: u64(12), AddTime: time.Date(2026, 7, 8, 17, 25, 40, 0, time.UTC),
		ReplayWindowDrops: u64(0), ReplayDrops: u64(0), IntegrityFails: u64(0),
	}})
}

func TestReadESNEncapBitmap(t *testing.T) {
	got := read(t, "../hosts/testdata/linux-ip-xfrm-state-esn-encap.txt", time.UTC)
	aead := func(line int, key string) []Alg {
		return []Alg{{Line: line, Kind: "aead", Name: "rfc4106(gcm(aes))", Key: key, KeyBits: 288, Bits: 128}}
	}
	check(t, got, []Record{{
		Line: 1, Src: addr("3.85.251.173"), Dst: addr("10.88.100.246"), ProtoName: "esp", Proto: 50,
		SPI: 0xb9e564dc, ReqID: 16389, Mode: "tunnel", ESN: true, ESNWindow: 128,
		Algs:      aead(4, "0x6ad2a89ad3ff0c5cd3389ba419ce04e7b3a37621bd5f90e58635a63adcb63e1a605987c2"),
		EncapType: "espinudp", EncapSport: 4500, EncapDport: 4500,
		Seq: u32(0x1d), SeqHi: u32(0), OSeq: u32(0), OSeqHi: u32(0),
	}, {
		Line: 10, Src: addr("10.88.100.246"), Dst: addr("3.85.251.173"), ProtoName: "esp", Proto: 50,
		SPI: 0x0b81df6e, ReqID: 16389, Mode: "tunnel", ESN: true, ESNWindow: 128,
		Algs:      aead(13, "0xb717b9ffb3ec46f35ec83b4dd124f64d2f32793c0709b0c01ac72a924430a7571eb417ae"),
		EncapType: "espinudp", EncapSport: 4500, EncapDport: 4500,
		Seq: u32(0), SeqHi: u32(0), OSeq: u32(0x18), OSeqHi: u32(0),
	}})
	if got[0].Window() != 128 {
		t.Errorf("window %d", got[0].Window())
	}
}

// Libreswan's listing with an IPComp and an IP-in-IP state between the ESP
// ones, and IPv6 selectors.
func TestReadIPCompAndIPIP(t *testing.T) {
	got := read(t, "../keys/testdata/xfrm-libreswan-713.txt", time.UTC)
	a1, a2 := addr("2001:db8:1:2::45"), addr("2001:db8:1:2::23")
	any6 := netip.MustParsePrefix("::/0")
	check(t, got, []Record{{
		Line: 1, Src: a1, Dst: a2, ProtoName: "esp", Proto: 50, SPI: 0x08f08721, ReqID: 16389, Mode: "transport", ESNWindow: 64,
		Algs: []Alg{
			{Line: 4, Kind: "auth-trunc", Name: "hmac(sha1)", Key: "0x87a277435761c42f7cb21c2172d22e1070cb3df0", KeyBits: 160, Bits: 96},
			{Line: 5, Kind: "enc", Name: "cbc(aes)", Key: "0xa8da6865f2158638045b430eee4b2728", KeyBits: 128},
		},
		Seq: u32(1), SeqHi: u32(0), OSeq: u32(0), OSeqHi: u32(0), SelSrc: any6, SelDst: any6,
	}, {
		Line: 11, Src: a1, Dst: a2, ProtoName: "comp", SPI: 0x8a76, ReqID: 16390, Mode: "tunnel", ESNWindow: -1,
		Seq: u32(0), OSeq: u32(0),
	}, {
		Line: 16, Src: a1, Dst: a2, ProtoName: "41", Proto: 41, SPI: 2, Mode: "tunnel", ESNWindow: -1,
		Seq: u32(0), OSeq: u32(0),
	}, {
		Line: 20, Src: a2, Dst: a1, ProtoName: "esp", Proto: 50, SPI: 0x21181c63, ReqID: 16389, Mode: "transport", ESNWindow: 64,
		Algs: []Alg{
			{Line: 23, Kind: "auth-trunc", Name: "hmac(sha1)", Key: "0x83feef4d93cb4c262eb8bb99092139624b048378", KeyBits: 160, Bits: 96},
			{Line: 24, Kind: "enc", Name: "cbc(aes)", Key: "0x76f7dc5b4457a972fd4c1b9f674ad7ad", KeyBits: 128},
		},
		Seq: u32(0), SeqHi: u32(0), OSeq: u32(0), OSeqHi: u32(0),
	}})
}

// A recent kernel: pcpu-num (skipped without a word), dir, lastused.
func TestReadRecentKernel(t *testing.T) {
	got := read(t, "../keys/testdata/xfrm-libreswan-2856.txt", time.UTC)
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	for i, w := range []struct {
		dir    string
		window int
		seq    uint32
	}{{"out", 0, 0}, {"in", 128, 0x1f40}} {
		r := got[i]
		if r.Err != nil || r.Dir != w.dir || r.Window() != w.window || *r.Seq != w.seq || !r.ESN || len(r.Unknown) != 0 ||
			len(r.Algs) != 1 || r.Algs[0].Bits != 128 || r.Algs[0].KeyBits != 288 {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}

// iproute2 prints the install time in the local time of the host that ran
// ip (strxf_time: localtime, "%Y-%m-%d %T"); Read takes the zone.
func TestReadInstallTimeZone(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	got := read(t, "../hosts/testdata/linux-ip-s-xfrm-state-tunnel.txt", cet)
	if want := time.Date(2019, 1, 10, 10, 11, 54, 0, time.UTC); !got[0].AddTime.Equal(want) {
		t.Errorf("add time %v, want %v", got[0].AddTime, want)
	}
}

// TestReadErrors: each damaged line makes its block's Err (the line and
// what is wrong), the blocks around it read on, and no message quotes a
// value (the keys here are 7f3a9c51…).
func TestReadErrors(t *testing.T) {
	const k = "0x7f3a9c51e2d84b06c1a5e9f0d2b7384e"
	good := "src 10.0.0.9 dst 10.0.0.8\n\tproto esp spi 0x00000009 mode tunnel\n"
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"indented first", "\tproto esp spi 0x1\n", 1, `indented line before the first "src ADDR dst ADDR"`},
		{"key at column 0", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\naead rfc4106(gcm(aes)) " + k + " 128\n", 3,
			`expected "src ADDR dst ADDR" to open an SA, got a line starting "aead"`},
		{"bare key at column 0", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n" + k + "\n", 3,
			`expected "src ADDR dst ADDR" to open an SA, got a line starting with a value that is not a keyword`},
		{"header words", "src 10.0.0.1 dst\n", 1, `malformed SA header: want "src ADDR dst ADDR"`},
		{"header address", "src " + k + " dst 10.0.0.2\n", 1, "src address is not an IP address"},
		{"dst address", "src 10.0.0.1 dst 10.0.0.300\n", 1, "dst address is not an IP address"},
		{"proto alone", "src 10.0.0.1 dst 10.0.0.2\n\tproto\n", 2, "proto without a protocol"},
		{"SPI", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi " + k + "\n", 2, "bad SPI: want 0x and 8 hex digits"},
		{"decimal SPI", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 257\n", 2, "bad SPI: want 0x and 8 hex digits"},
		{"algorithm without a name", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tenc\n", 3, "enc without an algorithm"},
		{"encap port", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tencap type espinudp sport " + k + " dport 4500\n", 3, "encap sport is not a port number"},
		{"counters", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tlifetime current:\n\t  x(bytes), 1(packets)\n", 4, "malformed lifetime counters"},
		{"install time", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tlifetime current:\n\t  add 2019-13-10 11:11:54 use -\n", 4, "malformed install time"},
		{"stats", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tstats:\n\t  replay-window 0 replay x failed 0\n", 4, "malformed stats"},
		{"ESN context", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tanti-replay esn context:\n\t seq-hi 0x0, seq " + k + ", oseq-hi 0x0, oseq 0x0\n", 4, "bad seq: want 0x and up to 8 hex digits"},
		{"replay window", "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000001\n\tanti-replay esn context:\n\t replay_window x, bitmap-length 4\n", 4, "bad replay_window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, shift := good, 2
			if tc.line == 1 && tc.in[0] == '\t' {
				before, shift = "", 0 // nothing may come before it
			}
			got := Read(before+tc.in+good, time.UTC)
			var bad *Record
			for i := range got {
				if got[i].Err != nil {
					if bad != nil {
						t.Fatalf("two blocks with errors: %+v", got)
					}
					bad = &got[i]
				}
			}
			if bad == nil {
				t.Fatalf("no error: %+v", got)
			}
			if bad.Err.Line != shift+tc.line || bad.Err.Msg != tc.msg {
				t.Errorf("error %v, want line %d: %s", bad.Err, shift+tc.line, tc.msg)
			}
			if strings.Contains(bad.Err.Error(), k[2:10]) {
				t.Errorf("error shows key material: %v", bad.Err)
			}
			if last := got[len(got)-1]; last.Err != nil || last.SPI != 9 || shift > 0 && (got[0].Err != nil || got[0].SPI != 9) {
				t.Errorf("the blocks around it: %+v", got)
			}
		})
	}
}

// TestReadSkips: comments, blank lines, CRLF and lines ipsecmon has no use
// for; an unknown keyword is listed, quoted only when it looks like one.
func TestReadSkips(t *testing.T) {
	in := "# ip xfrm state, taken 2024-01-01\r\n\r\nsrc 10.0.0.1 dst 10.0.0.2\r\n\tproto ah spi 0x00000104 reqid 1 mode transport\r\n" +
		"\tauth-trunc xcbc(aes) 0x33333333333333333333333333333333 96\r\n\tif_id 0x4000\r\n\tfrobnicate 1\r\n\taead-x rfc4106(gcm(aes)) 0x7f3a9c51e2d84b06\r\n\t0x7f3a9c51e2d84b06c1a5\r\n"
	got := Read(in, time.UTC)
	check(t, got, []Record{{
		Line: 3, Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), ProtoName: "ah", Proto: 51, SPI: 0x104, ReqID: 1, Mode: "transport", ESNWindow: -1,
		Algs:    []Alg{{Line: 5, Kind: "auth-trunc", Name: "xcbc(aes)", Key: "0x33333333333333333333333333333333", KeyBits: 128, Bits: 96}},
		Unknown: []Unknown{{7, `"frobnicate"`}, {8, `"aead-x"`}, {9, "with a value that is not a keyword"}},
	}})
}

func FuzzRead(f *testing.F) {
	for _, p := range []string{"../hosts/testdata/linux-ip-s-xfrm-state-tunnel.txt", "../hosts/testdata/linux-ip-xfrm-state-esn-encap.txt", "../keys/testdata/xfrm-libreswan-713.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("src 10.0.0.1 dst 10.0.0.2\n\tanti-replay esn context:\n\t seq 0x1,,, oseq\n\tlifetime current:\n\t  (bytes), (packets)\n")
	f.Fuzz(func(t *testing.T, in string) {
		lines := strings.Count(in, "\n") + 1
		for _, r := range Read(in, time.UTC) {
			if r.Line < 1 || r.Line > lines || r.Err != nil && (r.Err.Line < r.Line || r.Err.Line > lines) {
				t.Fatalf("line numbers out of range: %+v", r)
			}
			for _, a := range r.Algs {
				if a.Line <= r.Line || a.KeyBits < 0 || a.Bits < 0 {
					t.Fatalf("alg %+v of record at line %d", a, r.Line)
				}
			}
			if r.Window() < 0 {
				t.Fatalf("window %d", r.Window())
			}
		}
	})
}
