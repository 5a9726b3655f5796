package ike

// NotifyTypeV1 is an IKEv1 notify message type (RFC 2408 §3.14.1, RFC 2407
// §4.6.3, RFC 3706). Values below 16384 are errors.
type NotifyTypeV1 uint16

const (
	NotifyV1InvalidPayloadType     NotifyTypeV1 = 1
	NotifyV1InvalidCookie          NotifyTypeV1 = 4
	NotifyV1InvalidSPI             NotifyTypeV1 = 11
	NotifyV1NoProposalChosen       NotifyTypeV1 = 14
	NotifyV1PayloadMalformed       NotifyTypeV1 = 16
	NotifyV1InvalidIDInformation   NotifyTypeV1 = 18
	NotifyV1InvalidHashInformation NotifyTypeV1 = 23
	NotifyV1AuthenticationFailed   NotifyTypeV1 = 24
	NotifyV1Connected              NotifyTypeV1 = 16384
	NotifyV1ResponderLifetime      NotifyTypeV1 = 24576
	NotifyV1ReplayStatus           NotifyTypeV1 = 24577
	NotifyV1InitialContact         NotifyTypeV1 = 24578
	NotifyV1RUThere                NotifyTypeV1 = 36136 // RFC 3706
	NotifyV1RUThereAck             NotifyTypeV1 = 36137
)

var notifyV1Names = map[NotifyTypeV1]string{
	1:     "INVALID-PAYLOAD-TYPE",
	2:     "DOI-NOT-SUPPORTED",
	3:     "SITUATION-NOT-SUPPORTED",
	4:     "INVALID-COOKIE",
	5:     "INVALID-MAJOR-VERSION",
	6:     "INVALID-MINOR-VERSION",
	7:     "INVALID-EXCHANGE-TYPE",
	8:     "INVALID-FLAGS",
	9:     "INVALID-MESSAGE-ID",
	10:    "INVALID-PROTOCOL-ID",
	11:    "INVALID-SPI",
	12:    "INVALID-TRANSFORM-ID",
	13:    "ATTRIBUTES-NOT-SUPPORTED",
	14:    "NO-PROPOSAL-CHOSEN",
	15:    "BAD-PROPOSAL-SYNTAX",
	16:    "PAYLOAD-MALFORMED",
	17:    "INVALID-KEY-INFORMATION",
	18:    "INVALID-ID-INFORMATION",
	19:    "INVALID-CERT-ENCODING",
	20:    "INVALID-CERTIFICATE",
	21:    "CERT-TYPE-UNSUPPORTED",
	22:    "INVALID-CERT-AUTHORITY",
	23:    "INVALID-HASH-INFORMATION",
	24:    "AUTHENTICATION-FAILED",
	25:    "INVALID-SIGNATURE",
	26:    "ADDRESS-NOTIFICATION",
	27:    "NOTIFY-SA-LIFETIME",
	28:    "CERTIFICATE-UNAVAILABLE",
	29:    "UNSUPPORTED-EXCHANGE-TYPE",
	30:    "UNEQUAL-PAYLOAD-LENGTHS",
	16384: "CONNECTED",
	24576: "RESPONDER-LIFETIME",
	24577: "REPLAY-STATUS",
	24578: "INITIAL-CONTACT",
	36136: "R-U-THERE",
	36137: "R-U-THERE-ACK",
}

func (n NotifyTypeV1) String() string { return nameOf(notifyV1Names, n) }

// Error reports an error notification (RFC 2408 §3.14.1: 1–16383).
func (n NotifyTypeV1) Error() bool { return n > 0 && n < 16384 }

// NotifyType is an IKEv2 notify message type (RFC 7296 §3.10.1 and the IANA
// registry). Values below 16384 are errors.
type NotifyType uint16

const (
	NotifyUnsupportedCriticalPayload NotifyType = 1
	NotifyInvalidIKESPI              NotifyType = 4
	NotifyInvalidSyntax              NotifyType = 7
	NotifyInvalidSPI                 NotifyType = 11
	NotifyNoProposalChosen           NotifyType = 14
	NotifyInvalidKEPayload           NotifyType = 17
	NotifyAuthenticationFailed       NotifyType = 24
	NotifySinglePairRequired         NotifyType = 34
	NotifyNoAdditionalSAs            NotifyType = 35
	NotifyInternalAddressFailure     NotifyType = 36
	NotifyFailedCPRequired           NotifyType = 37
	NotifyTSUnacceptable             NotifyType = 38
	NotifyTemporaryFailure           NotifyType = 43
	NotifyChildSANotFound            NotifyType = 44
	NotifyInitialContact             NotifyType = 16384
	NotifyNATDetectionSourceIP       NotifyType = 16388
	NotifyNATDetectionDestinationIP  NotifyType = 16389
	NotifyCookie                     NotifyType = 16390
	NotifyUseTransportMode           NotifyType = 16391
	NotifyRekeySA                    NotifyType = 16393
	NotifyESPTFCPaddingNotSupported  NotifyType = 16394
	NotifyAdditionalKeyExchange      NotifyType = 16441
)

var notifyNames = map[NotifyType]string{
	1:     "UNSUPPORTED_CRITICAL_PAYLOAD",
	4:     "INVALID_IKE_SPI",
	5:     "INVALID_MAJOR_VERSION",
	7:     "INVALID_SYNTAX",
	9:     "INVALID_MESSAGE_ID",
	11:    "INVALID_SPI",
	14:    "NO_PROPOSAL_CHOSEN",
	17:    "INVALID_KE_PAYLOAD",
	24:    "AUTHENTICATION_FAILED",
	34:    "SINGLE_PAIR_REQUIRED",
	35:    "NO_ADDITIONAL_SAS",
	36:    "INTERNAL_ADDRESS_FAILURE",
	37:    "FAILED_CP_REQUIRED",
	38:    "TS_UNACCEPTABLE",
	39:    "INVALID_SELECTORS",
	40:    "UNACCEPTABLE_ADDRESSES",
	41:    "UNEXPECTED_NAT_DETECTED",
	42:    "USE_ASSIGNED_HoA",
	43:    "TEMPORARY_FAILURE",
	44:    "CHILD_SA_NOT_FOUND",
	45:    "INVALID_GROUP_ID",
	46:    "AUTHORIZATION_FAILED",
	47:    "STATE_NOT_FOUND",
	16384: "INITIAL_CONTACT",
	16385: "SET_WINDOW_SIZE",
	16386: "ADDITIONAL_TS_POSSIBLE",
	16387: "IPCOMP_SUPPORTED",
	16388: "NAT_DETECTION_SOURCE_IP",
	16389: "NAT_DETECTION_DESTINATION_IP",
	16390: "COOKIE",
	16391: "USE_TRANSPORT_MODE",
	16392: "HTTP_CERT_LOOKUP_SUPPORTED",
	16393: "REKEY_SA",
	16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
	16395: "NON_FIRST_FRAGMENTS_ALSO",
	16396: "MOBIKE_SUPPORTED",
	16397: "ADDITIONAL_IP4_ADDRESS",
	16398: "ADDITIONAL_IP6_ADDRESS",
	16399: "NO_ADDITIONAL_ADDRESSES",
	16400: "UPDATE_SA_ADDRESSES",
	16401: "COOKIE2",
	16402: "NO_NATS_ALLOWED",
	16403: "AUTH_LIFETIME",
	16404: "MULTIPLE_AUTH_SUPPORTED",
	16405: "ANOTHER_AUTH_FOLLOWS",
	16406: "REDIRECT_SUPPORTED",
	16407: "REDIRECT",
	16408: "REDIRECTED_FROM",
	16409: "TICKET_LT_OPAQUE",
	16410: "TICKET_REQUEST",
	16411: "TICKET_ACK",
	16412: "TICKET_NACK",
	16413: "TICKET_OPAQUE",
	16414: "LINK_ID",
	16415: "USE_WESP_MODE",
	16416: "ROHC_SUPPORTED",
	16417: "EAP_ONLY_AUTHENTICATION",
	16418: "CHILDLESS_IKEV2_SUPPORTED",
	16419: "QUICK_CRASH_DETECTION",
	16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
	16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
	16422: "IKEV2_MESSAGE_ID_SYNC",
	16423: "IPSEC_REPLAY_COUNTER_SYNC",
	16424: "SECURE_PASSWORD_METHODS",
	16425: "PSK_PERSIST",
	16426: "PSK_CONFIRM",
	16427: "ERX_SUPPORTED",
	16428: "IFOM_CAPABILITY",
	16429: "SENDER_REQUEST_ID",
	16430: "IKEV2_FRAGMENTATION_SUPPORTED",
	16431: "SIGNATURE_HASH_ALGORITHMS",
	16432: "CLONE_IKE_SA_SUPPORTED",
	16433: "CLONE_IKE_SA",
	16434: "PUZZLE",
	16435: "USE_PPK",
	16436: "PPK_IDENTITY",
	16437: "NO_PPK_AUTH",
	16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
	16439: "IP4_ALLOWED",
	16440: "IP6_ALLOWED",
	16441: "ADDITIONAL_KEY_EXCHANGE",
	16442: "USE_AGGFRAG",
}

func (n NotifyType) String() string { return nameOf(notifyNames, n) }

// Error reports an error notification (RFC 7296 §3.10.1: 0–16383).
func (n NotifyType) Error() bool { return n > 0 && n < 16384 }
