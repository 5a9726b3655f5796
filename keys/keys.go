// Package keys reads the key material ipsecmon is given: Wireshark's esp_sa,
// ikev1_decryption_table and ikev2_decryption_table, tcpdump's -E secrets,
// `ip xfrm state` output and ipsecmon's native key format. It knows nothing
// about packets; it turns files into the Set below. Key bytes are secrets:
// nothing in this package prints them, and errors name the file and line,
// never the key.
//
// Parse detects the format from the first line that is not blank or a
// comment. Where the source programs have quirks, this package follows
// them and says so:
//
//   - Wireshark esp_sa keys: "0x…" is hex and an odd number of digits makes
//     the first digit a byte of its own ("0xabc" is 0a bc), as Wireshark's
//     compute_ascii_key does; anything else is the ASCII bytes of the
//     text. SPIs are read as C's strtoul with base 0 reads them ("010" is
//     8); a partial wildcard "0x0000012*" matches digit by digit. Addresses
//     may be "*", an address, a CIDR prefix or an IPv4 address with
//     trailing "*" octets (a /24 or /16 prefix; Wireshark compares such
//     patterns as strings, character by character, which only agrees for
//     addresses of the same printed length). Both the 8-column table
//     (Wireshark ≤ 4.0) and the 10-column one with sequence number length
//     and ESN high bits (4.2 and later) are read.
//   - tcpdump: "-hmac96" only says a 12-byte ICV follows, which tcpdump
//     skips; the SA gets an unchecked 96-bit ICV. A trailing odd hex digit
//     is dropped, as tcpdump does. A line without SPI@address applies to
//     every SPI.
//   - ip xfrm state: the dump is the host's whole SA database, so the Set
//     is Authoritative. Algorithms ipsecmon cannot check keep the SA for
//     SPI lookups (NoKeys, or an unchecked ICV of the right length) with a
//     warning; `nokeys` listings give NoKeys SAs.
//
// Algorithm names Wireshark knows but ipsecmon cannot use (implicit-IV
// GCM/ChaCha20, RIPEMD-160, SHA-256-96, the RFC 4595 IKE integrity
// algorithms) skip the SA, or leave its ICV unchecked, with a warning in
// Set.Warnings. An entry that cannot be read at all (an unknown name, a
// bad field, a key of the wrong length) is skipped with a warning, as
// Wireshark skips bad rows of its tables, and counted in Set.Skipped; only
// a file of no known format is an error.
package keys

import (
	"net/netip"

	"ipsecmon/algo"
)

// SA is the keying of one ESP or AH security association.
type SA struct {
	Proto uint8
	// Src and Dst select the outer addresses the SA applies to. A zero-bit
	// prefix is Wireshark's "*" wildcard.
	Src, Dst netip.Prefix
	SPI      uint32
	AnySPI   bool // Wireshark's "*" SPI
	// SPIWild marks the SPI bits a partial Wireshark wildcard ("0x0000000*")
	// leaves free; zero for an exact SPI.
	SPIWild uint32
	Enc     algo.Enc
	EncKey  []byte // includes the salt/nonce for CTR, GCM, CCM, GMAC and ChaCha20-Poly1305
	Auth    algo.Auth
	AuthKey []byte
	ESN     bool
	// SeqHi is the ESN high half the source states (Wireshark's "ESN High
	// Bits", the receive seq-hi of an `ip xfrm state` dump), a starting point
	// for ESN inference.
	SeqHi uint32
	// NoKeys is set when the source lists the SA without key material
	// (`ip xfrm state list nokeys`): it still counts for SPI lookups.
	NoKeys bool
	// EncapSport/EncapDport are the UDP encapsulation ports (RFC 3948); zero when none or not stated.
	EncapSport, EncapDport uint16
	Mode                   string // "tunnel", "transport" or "" when the file does not say
	ReplayWindow           int    // 0 when the file does not say
	Origin                 string // "file:line", for messages
}

// IKEv1SA is the keying of one ISAKMP SA (phase 1).
type IKEv1SA struct {
	ICookie    [8]byte
	RCookie    [8]byte
	HasRCookie bool
	// EncKey is the phase 1 encryption key, already cut to the cipher's key
	// length (Wireshark's ikev1_decryption_table column).
	EncKey []byte
	Enc    algo.Enc // EncUnknown: take it from the Main/Aggressive Mode SA payload
	PRF    algo.PRF // PRFUnknown: take it from the negotiated hash
	// SKEYIDd derives Quick Mode KEYMAT (RFC 2409 §5.5); only the native format carries it.
	SKEYIDd []byte
	SKEYIDa []byte
	Origin  string
}

// IKEv2SA is the keying of one IKEv2 SA.
type IKEv2SA struct {
	SPIi, SPIr [8]byte
	Enc        algo.Enc
	SKei, SKer []byte // include the salt for AEAD and CTR modes (RFC 5282, RFC 5930)
	Integ      algo.Auth
	SKai, SKar []byte
	PRF        algo.PRF
	// SKd derives CHILD SA KEYMAT (RFC 7296 §2.17); only the native format carries it.
	SKd    []byte
	Origin string
}

// Set is everything read from one or more key files.
type Set struct {
	SAs   []SA
	IKEv1 []IKEv1SA
	IKEv2 []IKEv2SA
	// Authoritative is set when a source lists the host's whole SA database
	// (an `ip xfrm state` dump), so that a packet for an SPI not in it is a Bad SPI.
	Authoritative bool
	// Warnings are non-fatal findings, e.g. a key file readable by group or
	// others, or an entry that could not be read.
	Warnings []string
	// Skipped counts the entries (rows, lines, SA blocks) that could not be
	// read and were left out, each with a warning.
	Skipped int

	idx *index // built by Parse and Merge for ESPFor
}
