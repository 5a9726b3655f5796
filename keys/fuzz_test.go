package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One fuzz target per format, each driving its parser directly with seeds
// of that format, and one through Parse's detection. Parsers must not panic;
// an error must name the input and line as Error does.

func fuzzFormat(f *testing.F, seeds []string, parse func(p *parser, lines []string) error) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := &parser{name: "fuzz", set: &Set{}}
		if err := parse(p, splitLines([]byte(in))); err != nil {
			if _, ok := err.(*Error); !ok || !strings.HasPrefix(err.Error(), "keys: fuzz:") {
				t.Fatalf("error not from Error: %v", err)
			}
			return
		}
		p.set.reindex()
		for i := range p.set.SAs {
			_ = p.set.SAs[i].String()
		}
	})
}

func FuzzWiresharkESP(f *testing.F) {
	fuzzFormat(f, []string{
		`"IPv4","10.0.0.1","10.0.0.2","0x00001234","AES-CBC [RFC3602]","0x00112233445566778899aabbccddeeff","HMAC-SHA-1-96 [RFC2404]","hmacsha1authenticati"`,
		`"IPv6","*","3ffe::2","*","BLOWFISH-CBC [RFC2451]","0xecafecacafecafebbccbbccdadaffff","NULL","","64-bit","0x1"`,
		`"Any","10.1.*.*","0.0.0.0/0","0x0000000*","NULL","","ANY 96 bit authentication [no checking]","\x41"`,
	}, (*parser).espSA)
}

func FuzzWiresharkIKEv1(f *testing.F) {
	fuzzFormat(f, []string{"fafaeb49382a763c,735be0cb62f82675c4f7bf8fbab9b56834ba76d6ab4fa240"}, (*parser).ikev1Table)
}

func FuzzWiresharkIKEv2(f *testing.F) {
	fuzzFormat(f, []string{
		`1234567890123456,0987654321098765,,,"NULL [RFC2410]",,,"NONE [RFC4306]"`,
		`5a64e0edca3a3614,7c9ebe2a8e9ff7b8,00112233445566778899aabbccddeeff,00112233445566778899aabbccddeeff,"AES-CBC-128 [RFC3602]",0011223344556677889900112233445566778899,0011223344556677889900112233445566778899,"HMAC_SHA1_96 [RFC2404]"`,
	}, (*parser).ikev2Table)
}

func FuzzTcpdump(f *testing.F) {
	fuzzFormat(f, []string{
		"# c\n0x12345678@192.1.2.45 3des-cbc-hmac96:0x4343454546464949" + "4a4a4c4c4f4f515152525454575758ff\n",
		"aes128-cbc:sixteenbytes key",
		"ikev2 I 0x0001020304050607 0xc02e7a3031a03188 sha1:0x00 aes128:0x00112233445566778899aabbccddeeff\nikev2 R 0x0001020304050607 0xc02e7a3031a03188 sha1:0x11 aes128:0x00112233445566778899aabbccddeeff",
	}, (*parser).tcpdump)
}

func FuzzXfrm(f *testing.F) {
	var seeds []string
	files, _ := filepath.Glob(filepath.Join("testdata", "xfrm-*.txt"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	fuzzFormat(f, seeds, (*parser).xfrm)
}

func FuzzNative(f *testing.F) {
	fuzzFormat(f, []string{
		"esp spi=0xc0ffee01 dst=10.0.0.2 src=10.0.0.1 enc=aes-cbc enc-key=0x00112233445566778899aabbccddeeff auth=hmac-sha1-96 auth-key=00 esn encap=4500:4500 mode=tunnel replay-window=64",
		"ah spi=1 dst=fe80::1 auth=aes-xcbc-96 auth-key=00112233445566778899aabbccddeeff # c",
		"ikev1 icookie=fafaeb49382a763c rcookie=0000000000000001 enc-key=00 enc=3des-cbc prf=hmac-md5 skeyid-d=00 skeyid-a=00",
		"ikev2 spii=0001020304050607 spir=0001020304050607 enc=null integ=none prf=hmac-sha1 sk-d=00",
	}, (*parser).native)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`"IPv4","*","*","*","NULL","","NULL",""`))
	f.Add([]byte("src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x1 mode tunnel\n\tenc cbc(aes) 0x00112233445566778899aabbccddeeff\n"))
	f.Add([]byte("esp spi=1 dst=* enc=null"))
	f.Add([]byte("fafaeb49382a763c,00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Parse("fuzz", in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "keys: fuzz:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for i := range s.SAs {
			sa := &s.SAs[i]
			if got := s.ESPFor(sa.Proto, sa.Src.Addr(), sa.Dst.Addr(), sa.SPI); got == nil && !sa.AnySPI && sa.Src.IsValid() && sa.Dst.IsValid() {
				t.Fatalf("SA %v does not find itself", sa)
			}
		}
	})
}
