// Package badkeys is a collection of malformed key files of every format
// ipsecmon reads, each with key material where it does not belong, and a
// test for that material in what a program printed: no message may show a
// key (issue 12). Tests of package keys and of the CLI share it.
package badkeys

import "strings"

// Key material of the malformed files: two hex keys and an ASCII key
// (Wireshark's and tcpdump's formats take ASCII).
const (
	K1    = "7f3a9c51e2d84b06c1a5e9f0d2b7384e"         // 16 bytes
	K2    = "5ac3e18f9b72d04a6e1f3c8b95d2a7e4b3c1f0e9" // 20 bytes
	ASCII = "Sup3rS3cretAsciiKey!"
)

// Files are key files of every format with a key where it
// does not belong, or with the key itself damaged: columns swapped,
// shifted or truncated, a key in a name, address, SPI or port field. Each
// is named for its format and what is wrong.
func Files() map[string]string {
	k1, k2, a := K1, K2, ASCII
	ws := func(cols ...string) string { return `"` + strings.Join(cols, `","`) + `"` + "\n" }
	ok := []string{"IPv4", "10.0.0.1", "10.0.0.2", "0x00000101", "AES-CBC [RFC3602]", "0x" + k1, "HMAC-SHA-1-96 [RFC2404]", "0x" + k2}
	with := func(i int, v string) string {
		c := append([]string{}, ok...)
		c[i] = v
		return ws(c...)
	}
	v2 := func(cols ...string) string { return strings.Join(cols, ",") + "\n" }
	spis := []string{"0001020304050607", "08090a0b0c0d0e0f"}
	v2ok := []string{spis[0], spis[1], k1, k1, `"AES-CBC-128 [RFC3602]"`, k2, k2, `"HMAC_SHA1_96 [RFC2404]"`}
	v2with := func(i, j int) string {
		c := append([]string{}, v2ok...)
		c[i], c[j] = c[j], c[i]
		return v2(c...)
	}
	xf := func(lines ...string) string {
		return "src 10.0.0.1 dst 10.0.0.2\n\t" + strings.Join(lines, "\n\t") + "\n"
	}
	return map[string]string{
		"esp_sa enc name and key swapped":  with(4, "0x"+k1) + "",
		"esp_sa auth name and key swapped": with(6, "0x"+k2),
		"esp_sa ASCII key as enc name":     with(4, a),
		"esp_sa ASCII key as auth name":    with(6, a),
		"esp_sa key in SPI":                with(3, "0x"+k1),
		"esp_sa ASCII key in SPI":          with(3, a),
		"esp_sa key in source":             with(1, k1),
		"esp_sa ASCII key in destination":  with(2, a),
		"esp_sa key in protocol":           with(0, "0x"+k1),
		"esp_sa key not hex":               with(5, "0x"+k1+"zz"),
		"esp_sa key too short":             with(5, "0x"+k1[:30]),
		"esp_sa ASCII key too long":        with(5, a),
		"esp_sa key in ESN high bits":      strings.TrimSuffix(ws(append(ok, "64-bit", k1)...), "\n") + "\n",
		"esp_sa key in sequence length":    ws(append(ok, "0x"+k1, "0")...),
		"esp_sa 9 columns":                 ws(append(ok, "0x"+k1)...),
		"esp_sa unquoted key column shift": `"IPv4","10.0.0.1","10.0.0.2","0x00000101","AES-CBC [RFC3602]",0x` + k1 + `,0x` + k2 + `,"HMAC-SHA-1-96 [RFC2404]"` + "\n",
		"esp_sa unterminated quote":        `"IPv4","10.0.0.1","10.0.0.2","0x00000101","AES-CBC [RFC3602]","0x` + k1 + "\n",
		"ikev1 key in cookie":              k1 + ",0011223344556677\n",
		"ikev1 odd key":                    "0011223344556677," + k1 + "0\n",
		"ikev1 key not hex":                "0011223344556677," + k1 + "zz\n",
		"ikev2 enc name and SK_ei swapped": v2with(2, 4),
		"ikev2 integ name and SK_ai":       v2with(5, 7),
		"ikev2 key as SPIr":                v2(spis[0], k1, k1, k1, `"AES-CBC-128 [RFC3602]"`, k2, k2, `"HMAC_SHA1_96 [RFC2404]"`),
		"ikev2 short SK_er":                v2(spis[0], spis[1], k1, k1[:30], `"AES-CBC-128 [RFC3602]"`, k2, k2, `"HMAC_SHA1_96 [RFC2404]"`),
		"tcpdump no algo":                  "0x101@10.0.0.2 0x" + k1 + "\n",
		"tcpdump ASCII secret no algo":     "0x101@10.0.0.2 " + a + "\n",
		"tcpdump key as SPI":               "0x" + k1 + "@10.0.0.2 aes128-cbc:0x" + k1 + "\n",
		"tcpdump key as address":           "0x101@" + k1 + " aes128-cbc:0x" + k1 + "\n",
		"tcpdump key and cipher swapped":   "0x101@10.0.0.2 0x" + k1 + ":aes128-cbc\n",
		"tcpdump ASCII key and cipher":     "0x101@10.0.0.2 " + a + ":aes128-cbc\n",
		"tcpdump ASCII key wrong length":   "0x101@10.0.0.2 aes128-cbc:" + a + "\n",
		"tcpdump extra field":              "0x101@10.0.0.2 aes128-cbc:0x" + k1 + " 0x" + k2 + "\n",
		"tcpdump no @":                     "0x" + k1 + " aes128-cbc:0x" + k1 + "\n",
		"tcpdump key not hex":              "0x101@10.0.0.2 aes128-cbc:0x" + k1[:30] + "zz\n",
		"tcpdump ikev2 key as direction":   "ikev2 I 0x" + spis[0] + " 0x" + spis[1] + " sha1:0x" + k2 + " aes128:0x" + k1 + "\nikev2 0x" + k1 + " 0x" + spis[0] + " 0x" + spis[1] + " sha1:0x" + k2 + " aes128:0x" + k1 + "\n",
		"tcpdump ikev2 key as SPI":         "ikev2 I 0x" + k1[:16] + "zz 0x" + spis[1] + " sha1:0x" + k2 + " aes128:0x" + k1 + "\n",
		"tcpdump ikev2 integ swapped":      "ikev2 I 0x" + spis[0] + " 0x" + spis[1] + " 0x" + k2 + ":sha1 aes128:0x" + k1 + "\n",
		"tcpdump ikev2 no integ algo":      "ikev2 I 0x" + spis[0] + " 0x" + spis[1] + " 0x" + k2 + " aes128:0x" + k1 + "\n",
		"native bare key":                  "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc " + k1 + "\n",
		"native bare key twice":            "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + " " + k2 + " " + k2 + "\n",
		"native key as enc":                "esp spi=0x101 dst=10.0.0.2 enc=" + k1 + "\n",
		"native key as auth":               "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + " auth=0x" + k2 + "\n",
		"native key as SPI":                "esp spi=0x" + k1 + " dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + "\n",
		"native key as dst":                "esp spi=0x101 dst=" + k1 + " enc=aes-cbc enc-key=" + k1 + "\n",
		"native key as src":                "esp spi=0x101 dst=10.0.0.2 src=0x" + k1 + " enc=aes-cbc enc-key=" + k1 + "\n",
		"native key as field name":         "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc " + k1 + "=" + k2 + "\n",
		"native key field twice":           "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc " + k1 + "=1 " + k1 + "=2\n",
		"native key as line kind":          "esp spi=0x101 dst=10.0.0.2 enc=null\n" + k1 + " spi=0x102\n",
		"native key as encap":              "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + " encap=" + k2 + "\n",
		"native key as mode":               "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + " mode=" + k2 + "\n",
		"native key as replay window":      "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + " replay-window=" + k2 + "\n",
		"native key as prf":                "ikev2 spii=" + spis[0] + " spir=" + spis[1] + " enc=aes-cbc integ=hmac-sha1-96 prf=" + k1 + "\n",
		"native key as cookie":             "ikev1 icookie=" + k1 + " enc-key=" + k2 + "\n",
		"native key not hex":               "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1 + "zz\n",
		"native key too short":             "esp spi=0x101 dst=10.0.0.2 enc=aes-cbc enc-key=" + k1[:30] + "\n",
		"xfrm key as source":               "src 0x" + k1 + " dst 10.0.0.2\n\tproto esp spi 0x00000101\n",
		"xfrm key as SPI":                  xf("proto esp spi 0x"+k1[:16]+" reqid 1 mode tunnel", "enc cbc(aes) 0x"+k1),
		"xfrm key line at column 0":        "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\nenc cbc(aes) 0x" + k1 + "\n",
		"xfrm key alone at column 0":       "src 10.0.0.1 dst 10.0.0.2\n\tproto esp spi 0x00000101 mode tunnel\n\tenc cbc(aes)\n0x" + k1 + "\n",
		"xfrm key and name swapped":        xf("proto esp spi 0x00000101 mode tunnel", "enc 0x"+k1+" cbc(aes)", "auth-trunc hmac(sha1) 0x"+k2+" 96"),
		"xfrm auth key and name swapped":   xf("proto esp spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1, "auth-trunc 0x"+k2+" hmac(sha1) 96"),
		"xfrm aead key and name swapped":   xf("proto esp spi 0x00000101 mode tunnel", "aead 0x"+k2+" rfc4106(gcm(aes)) 128"),
		"xfrm key as encap port":           xf("proto esp spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1, "encap type espinudp sport "+k1+" dport 4500 addr 0.0.0.0"),
		"xfrm key not hex":                 xf("proto esp spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1[:31]),
		"xfrm key too short":               xf("proto esp spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1[:30]),
		"xfrm key as proto":                xf("proto 0x"+k1+" spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1),
		"xfrm key as mode":                 xf("proto esp spi 0x00000101 mode "+k1, "enc cbc(aes) 0x"+k1),
		"xfrm unknown line with a key":     xf("proto esp spi 0x00000101 mode tunnel", "enc cbc(aes) 0x"+k1, "aead-x rfc4106(gcm(aes)) 0x"+k2),
	}
}

// windows are the pieces of key material no message may contain:
// every 8-character window of each key's hex (either case, so 0x-hex is
// covered too) and of the ASCII key.
func windows() []string {
	var out []string
	for _, k := range []string{K1, K2, strings.ToUpper(K1), strings.ToUpper(K2), ASCII} {
		for i := 0; i+8 <= len(k); i++ {
			out = append(out, k[i:i+8])
		}
	}
	return out
}

// Leak returns the first piece of key material of Files in msg, or "".
func Leak(msg string) string {
	for _, w := range windows() {
		if strings.Contains(msg, w) {
			return w
		}
	}
	return ""
}
