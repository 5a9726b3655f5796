package algo

import (
	"strconv"
	"strings"
)

// The one display vocabulary: every view names an algorithm, a DH group
// and a protocol the same way, whatever source it came from (a key file,
// an IKE negotiation, a policy, a host listing):
//
//	encryption    Enc.DisplayKey(bits)   "AES-CBC-128", "AES-GCM-256", "AES-GCM-128 (8-byte ICV)", "3DES-192", "None"
//	integrity     Auth.Display()         "SHA1", "SHA-256", "MD5", "AES-XCBC", "None"
//	PRF           PRF.Display()          "SHA-256", "AES-XCBC"
//	DH group      DHGroup.Display()      "MODP-2048", "ECP-256", "CURVE25519", "None"
//	IP protocol   ipproto.Name           "ESP", "AH", "TCP", "Any"
//
// Registry names (IANAName: "ENCR_AES_GCM_16", "ESP_3DES", "HMAC-SHA") are
// for values ipsecmon has no algorithm for, and for messages about the
// wire itself.

// DisplayKey is the name the views show for e with a key of keyBits bits
// (without salt; 0 when not known): the algorithm, its key length, and for
// AEAD its ICV length when it is not the usual 16 bytes. NULL with GMAC is
// shown as the integrity it gives: it encrypts nothing.
func (e Enc) DisplayKey(keyBits int) string {
	base, _, _ := strings.Cut(e.info().display, " (")
	if e == EncNullAESGMAC {
		base = "AES-GMAC"
	}
	if keyBits == 0 || e == EncNull || strings.HasSuffix(base, "-"+strconv.Itoa(keyBits)) {
		return base // no length known, none to give, or the name gives it ("CAST-128")
	}
	n := base + "-" + strconv.Itoa(keyBits)
	if e.AEAD() && e.ICVLen() != 16 {
		n += " (" + strconv.Itoa(e.ICVLen()) + "-byte ICV)"
	}
	return n
}

// Display is the name the views show for the group: its IANA name, "None"
// for no group, "group N" for a number the registry does not list.
func (g DHGroup) Display() string {
	if g == 0 {
		return "None"
	}
	if n, ok := IANAName(DHGroups, uint16(g)); ok {
		return n
	}
	return "group " + strconv.Itoa(int(g))
}
