package ike

import (
	"strconv"

	"ipsecmon/algo"
	"ipsecmon/ipproto"
)

// ianaName is algo's name of an IANA registry value, with nameOf's fallback.
func ianaName(r algo.Registry, id uint16) string {
	if n, ok := algo.IANAName(r, id); ok {
		return n
	}
	return nameOf(map[uint16]string{}, id)
}

// nameOf looks n up in a name table and falls back to the number, so that an
// unknown value still prints as something a reader can search for.
func nameOf[T ~uint8 | ~uint16 | ~uint32](names map[T]string, n T) string {
	if s, ok := names[n]; ok {
		return s
	}
	return "UNKNOWN(" + strconv.FormatUint(uint64(n), 10) + ")"
}

// ExchangeType is the header's exchange type. IKEv1 (RFC 2408 §3.1, RFC 2409)
// and IKEv2 (RFC 7296 §3.1) use disjoint numbers, so one type serves both.
type ExchangeType uint8

const (
	ExchangeBase             ExchangeType = 1
	ExchangeMain             ExchangeType = 2 // Identity Protection
	ExchangeAuthOnly         ExchangeType = 3
	ExchangeAggressive       ExchangeType = 4
	ExchangeInformational    ExchangeType = 5
	ExchangeTransaction      ExchangeType = 6 // Mode Config / XAUTH (draft-dukes-ike-mode-cfg)
	ExchangeQuick            ExchangeType = 32
	ExchangeNewGroup         ExchangeType = 33
	ExchangeIKESAInit        ExchangeType = 34
	ExchangeIKEAuth          ExchangeType = 35
	ExchangeCreateChildSA    ExchangeType = 36
	ExchangeInformationalV2  ExchangeType = 37
	ExchangeIKESessionResume ExchangeType = 38
	ExchangeGSAAuth          ExchangeType = 39
	ExchangeGSARegistration  ExchangeType = 40
	ExchangeGSARekey         ExchangeType = 41
	ExchangeIKEIntermediate  ExchangeType = 43 // RFC 9242
	ExchangeIKEFollowupKE    ExchangeType = 44 // RFC 9370
)

var exchangeNames = map[ExchangeType]string{
	ExchangeBase:             "Base",
	ExchangeMain:             "Main Mode",
	ExchangeAuthOnly:         "Authentication Only",
	ExchangeAggressive:       "Aggressive Mode",
	ExchangeInformational:    "Informational",
	ExchangeTransaction:      "Transaction",
	ExchangeQuick:            "Quick Mode",
	ExchangeNewGroup:         "New Group Mode",
	ExchangeIKESAInit:        "IKE_SA_INIT",
	ExchangeIKEAuth:          "IKE_AUTH",
	ExchangeCreateChildSA:    "CREATE_CHILD_SA",
	ExchangeInformationalV2:  "INFORMATIONAL",
	ExchangeIKESessionResume: "IKE_SESSION_RESUME",
	ExchangeGSAAuth:          "GSA_AUTH",
	ExchangeGSARegistration:  "GSA_REGISTRATION",
	ExchangeGSARekey:         "GSA_REKEY",
	ExchangeIKEIntermediate:  "IKE_INTERMEDIATE",
	ExchangeIKEFollowupKE:    "IKE_FOLLOWUP_KE",
}

func (e ExchangeType) String() string { return nameOf(exchangeNames, e) }

// PayloadType is a payload's type in the Next Payload chain. IKEv1 uses 1–21
// (plus the NAT-T draft numbers 130/131), IKEv2 uses 33 and up.
type PayloadType uint8

const (
	PayloadNone PayloadType = 0
	// IKEv1 (RFC 2408 §3.1, RFC 3947, RFC 6407)
	PayloadSA         PayloadType = 1
	PayloadProposal   PayloadType = 2
	PayloadTransform  PayloadType = 3
	PayloadKE         PayloadType = 4
	PayloadID         PayloadType = 5
	PayloadCert       PayloadType = 6
	PayloadCertReq    PayloadType = 7
	PayloadHash       PayloadType = 8
	PayloadSig        PayloadType = 9
	PayloadNonce      PayloadType = 10
	PayloadNotify     PayloadType = 11
	PayloadDelete     PayloadType = 12
	PayloadVendorID   PayloadType = 13
	PayloadAttr       PayloadType = 14 // Mode Config attributes
	PayloadSAK        PayloadType = 15
	PayloadSAT        PayloadType = 16
	PayloadKD         PayloadType = 17
	PayloadSEQ        PayloadType = 18
	PayloadPOP        PayloadType = 19
	PayloadNATD       PayloadType = 20
	PayloadNATOA      PayloadType = 21
	PayloadGAP        PayloadType = 22
	PayloadNATDDraft  PayloadType = 130 // draft-ietf-ipsec-nat-t-ike-02/03
	PayloadNATOADraft PayloadType = 131
	PayloadFragmentV1 PayloadType = 132 // Cisco/racoon IKEv1 fragmentation
	// IKEv2 (RFC 7296 §3.2, RFC 7383, RFC 6407-bis)
	PayloadSAv2      PayloadType = 33
	PayloadKEv2      PayloadType = 34
	PayloadIDi       PayloadType = 35
	PayloadIDr       PayloadType = 36
	PayloadCertV2    PayloadType = 37
	PayloadCertReqV2 PayloadType = 38
	PayloadAuth      PayloadType = 39
	PayloadNonceV2   PayloadType = 40
	PayloadNotifyV2  PayloadType = 41
	PayloadDeleteV2  PayloadType = 42
	PayloadVendorV2  PayloadType = 43
	PayloadTSi       PayloadType = 44
	PayloadTSr       PayloadType = 45
	PayloadSK        PayloadType = 46
	PayloadCP        PayloadType = 47
	PayloadEAP       PayloadType = 48
	PayloadGSPM      PayloadType = 49
	PayloadIDg       PayloadType = 50
	PayloadGSA       PayloadType = 51
	PayloadKDv2      PayloadType = 52
	PayloadSKF       PayloadType = 53
	PayloadPS        PayloadType = 54
)

var payloadNames = map[PayloadType]string{
	PayloadNone:       "NONE",
	PayloadSA:         "SA",
	PayloadProposal:   "P",
	PayloadTransform:  "T",
	PayloadKE:         "KE",
	PayloadID:         "ID",
	PayloadCert:       "CERT",
	PayloadCertReq:    "CR",
	PayloadHash:       "HASH",
	PayloadSig:        "SIG",
	PayloadNonce:      "NONCE",
	PayloadNotify:     "N",
	PayloadDelete:     "D",
	PayloadVendorID:   "VID",
	PayloadAttr:       "ATTR",
	PayloadSAK:        "SAK",
	PayloadSAT:        "SAT",
	PayloadKD:         "KD",
	PayloadSEQ:        "SEQ",
	PayloadPOP:        "POP",
	PayloadNATD:       "NAT-D",
	PayloadNATOA:      "NAT-OA",
	PayloadGAP:        "GAP",
	PayloadNATDDraft:  "NAT-D(draft)",
	PayloadNATOADraft: "NAT-OA(draft)",
	PayloadFragmentV1: "FRAG",
	PayloadSAv2:       "SA",
	PayloadKEv2:       "KE",
	PayloadIDi:        "IDi",
	PayloadIDr:        "IDr",
	PayloadCertV2:     "CERT",
	PayloadCertReqV2:  "CERTREQ",
	PayloadAuth:       "AUTH",
	PayloadNonceV2:    "Nonce",
	PayloadNotifyV2:   "N",
	PayloadDeleteV2:   "D",
	PayloadVendorV2:   "V",
	PayloadTSi:        "TSi",
	PayloadTSr:        "TSr",
	PayloadSK:         "SK",
	PayloadCP:         "CP",
	PayloadEAP:        "EAP",
	PayloadGSPM:       "GSPM",
	PayloadIDg:        "IDg",
	PayloadGSA:        "GSA",
	PayloadKDv2:       "KD",
	PayloadSKF:        "SKF",
	PayloadPS:         "PS",
}

func (p PayloadType) String() string { return nameOf(payloadNames, p) }

// ProtocolID names the protocol of a proposal, notify or delete: RFC 2407 §4.4.1
// for IKEv1 (1 = ISAKMP) and RFC 7296 §3.3.1 for IKEv2 (1 = IKE); 2 and 3 agree.
type ProtocolID uint8

const (
	ProtoISAKMP ProtocolID = 1 // IKE in IKEv2
	ProtoAH     ProtocolID = 2
	ProtoESP    ProtocolID = 3
	ProtoIPComp ProtocolID = 4 // IKEv1 only
)

var protocolNames = map[ProtocolID]string{
	0:           "NONE",
	ProtoISAKMP: "ISAKMP",
	ProtoAH:     "AH",
	ProtoESP:    "ESP",
	ProtoIPComp: "IPCOMP",
}

func (p ProtocolID) String() string { return nameOf(protocolNames, p) }

// IPProto is the IP protocol number of AH (51) or ESP (50) for p, 0 otherwise.
func (p ProtocolID) IPProto() uint8 {
	switch p {
	case ProtoAH:
		return ipproto.AH
	case ProtoESP:
		return ipproto.ESP
	}
	return 0
}

// IDType is an identification type. IKEv1 uses the IPsec DOI numbers (RFC 2407
// §4.6.2.1), IKEv2 RFC 7296 §3.5; the shared numbers mean the same thing.
type IDType uint8

const (
	IDIPv4       IDType = 1
	IDFQDN       IDType = 2
	IDUserFQDN   IDType = 3 // RFC822_ADDR in IKEv2
	IDIPv4Subnet IDType = 4
	IDIPv6       IDType = 5
	IDIPv6Subnet IDType = 6
	IDIPv4Range  IDType = 7
	IDIPv6Range  IDType = 8
	IDDERASN1DN  IDType = 9
	IDDERASN1GN  IDType = 10
	IDKeyID      IDType = 11
	IDFCName     IDType = 12
	IDNull       IDType = 13 // RFC 7619
)

var idNames = map[IDType]string{
	IDIPv4:       "IPV4_ADDR",
	IDFQDN:       "FQDN",
	IDUserFQDN:   "USER_FQDN",
	IDIPv4Subnet: "IPV4_ADDR_SUBNET",
	IDIPv6:       "IPV6_ADDR",
	IDIPv6Subnet: "IPV6_ADDR_SUBNET",
	IDIPv4Range:  "IPV4_ADDR_RANGE",
	IDIPv6Range:  "IPV6_ADDR_RANGE",
	IDDERASN1DN:  "DER_ASN1_DN",
	IDDERASN1GN:  "DER_ASN1_GN",
	IDKeyID:      "KEY_ID",
	IDFCName:     "FC_NAME",
	IDNull:       "ID_NULL",
}

func (t IDType) String() string { return nameOf(idNames, t) }

// DHGroup is a Diffie-Hellman group number (IANA "Transform Type 4"; IKEv1
// Group Description uses the same registry), named by package algo.
type DHGroup = algo.DHGroup

// CertEncoding is a CERT/CERTREQ encoding (RFC 2408 §3.9, RFC 7296 §3.6).
type CertEncoding uint8

var certEncodingNames = map[CertEncoding]string{
	1:  "PKCS #7 wrapped X.509",
	2:  "PGP",
	3:  "DNS Signed Key",
	4:  "X.509 Signature",
	5:  "X.509 Key Exchange",
	6:  "Kerberos Tokens",
	7:  "CRL",
	8:  "ARL",
	9:  "SPKI",
	10: "X.509 Attribute",
	11: "Raw RSA Key",
	12: "Hash and URL of X.509 certificate",
	13: "Hash and URL of X.509 bundle",
	14: "OCSP Content",
	15: "Raw Public Key",
}

func (c CertEncoding) String() string { return nameOf(certEncodingNames, c) }
