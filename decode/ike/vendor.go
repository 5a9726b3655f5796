package ike

import (
	"bytes"
	"encoding/hex"
)

// vendorID is one known vendor ID: an exact value, or a prefix followed by
// version or capability bytes.
type vendorID struct {
	id     []byte
	prefix bool
	name   string
}

func vid(h string, prefix bool, name string) vendorID {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic("ike: bad vendor ID literal " + h) // a programming error in the table below
	}
	return vendorID{b, prefix, name}
}

// Most of these are the MD5 of a string (the test checks those against the
// string); the rest are published values.
var vendorIDs = []vendorID{
	vid("4a131c81070358455c5728f20e95452f", false, "RFC 3947 NAT-T"),
	vid("4df37928e9fc4fd1b3262170d515c662", false, "draft-ietf-ipsec-nat-t-ike"),
	vid("4485152d18b6bbcd0be8a8469579ddcc", false, "draft-ietf-ipsec-nat-t-ike-00"),
	vid("16f6ca16e4a4066d83821a0f0aeaa862", false, "draft-ietf-ipsec-nat-t-ike-01"),
	vid("cd60464335df21f87cfdb2fc68b6a448", false, "draft-ietf-ipsec-nat-t-ike-02"),
	vid("90cb80913ebb696e086381b5ec427b1f", false, "draft-ietf-ipsec-nat-t-ike-02\\n"),
	vid("7d9419a65310ca6f2c179d9215529d56", false, "draft-ietf-ipsec-nat-t-ike-03"),
	vid("9909b64eed937c6573de52ace952fa6b", false, "draft-ietf-ipsec-nat-t-ike-04"),
	vid("80d0bb3def54565ee84645d4c85ce3ee", false, "draft-ietf-ipsec-nat-t-ike-05"),
	vid("4d1e0e136deafa34c4f3ea9f02ec7285", false, "draft-ietf-ipsec-nat-t-ike-06"),
	vid("439b59f8ba676c4c7737ae22eab8f582", false, "draft-ietf-ipsec-nat-t-ike-07"),
	vid("8f8d83826d246b6fc7a8a6a428c11de8", false, "draft-ietf-ipsec-nat-t-ike-08"),
	vid("27bab5dc01ea0760ea4e3190ac27c0d0", false, "draft-stenberg-ipsec-nat-traversal-01"),
	vid("6105c422e76847e43f9684801292aecd", false, "draft-stenberg-ipsec-nat-traversal-02"),
	vid("afcad71368a1f1c96b8696fc7757", true, "RFC 3706 DPD"),
	vid("09002689dfd6b712", false, "XAUTH"),
	vid("882fe56d6fd20dbc2251613b2ebe5beb", false, "strongSwan"),
	vid("12f5f28c457168a9702d9fe274cc", true, "Cisco Unity"),
	vid("4048b7d56ebce88525e7de7f00d6c2d3", true, "IKE Fragmentation"),
	vid("1e2b516905991c7d7c96fcbfb587e461", true, "MS NT5 ISAKMPOAKLEY"),
	vid("fb1de3cdf341b7ea16b7e5be0855f120", false, "MS-Negotiation Discovery Capable"),
	vid("26244d38eddb61b3172a36e3d0cfb819", false, "Microsoft Vid-Initial-Contact"),
	vid("f4ed19e0c114eb516faaac0ee37daf2807b4381f", true, "Check Point"),
	vid("699369228741c6d4ca094c93e242c9de19e7b7c6", true, "Juniper NetScreen"),
	vid("7003cbc1097dbe9c2600ba6983bc8b35", false, "KAME/racoon"),
	vid("4f45", true, "Openswan/Libreswan"),
}

// VendorName names a vendor ID payload's data, or returns "" when it is not
// known. Microsoft's and Cisco Unity's trailing version bytes are shown.
func VendorName(data []byte) string {
	for _, v := range vendorIDs {
		if v.prefix && bytes.HasPrefix(data, v.id) || !v.prefix && bytes.Equal(data, v.id) {
			switch {
			case v.name == "Openswan/Libreswan":
				// "OE" followed by printable text (RFC 2408 leaves the format open;
				// Openswan/Libreswan send "OE" plus a short hash of their version).
				if len(data) < 12 || !allPrintable(data) {
					continue
				}
				return v.name + " (" + string(data) + ")"
			case v.name == "MS NT5 ISAKMPOAKLEY" && len(data) == 20:
				return v.name + " " + msVersion(data[19]) // the last byte carries the Windows version
			}
			return v.name
		}
	}
	if len(data) >= 4 && allPrintable(data) {
		// Cisco and others send readable strings ("FLEXVPN-SUPPORTED", "CISCO-DELETE-REASON").
		return string(data)
	}
	return ""
}

func allPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func msVersion(v byte) string {
	names := map[byte]string{2: "(Windows 2000)", 3: "(Windows XP)", 4: "(Windows Server 2003)",
		5: "(Windows Vista)", 6: "(Windows Server 2008)", 7: "(Windows 7)", 8: "(Windows Server 2008 R2)",
		9: "(Windows 8)", 0x10: "(Windows Server 2012)"}
	if s, ok := names[v]; ok {
		return s
	}
	return "(version " + hex.EncodeToString([]byte{v}) + ")"
}
