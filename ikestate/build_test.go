package ikestate

import (
	"encoding/binary"
	"time"

	"ipsecmon/internal/pktbuild"
)

// The scenario tests' short names for pktbuild's IKE message builders
// (RFC 7296 §3 and RFC 2408 §3, byte for byte).

type pl = pktbuild.Payload

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

var (
	cat         = pktbuild.Cat
	rng         = pktbuild.Seq
	spi8        = pktbuild.SPI8
	v2msg       = pktbuild.V2Msg
	v2sk        = pktbuild.V2SK
	saV2        = pktbuild.SAv2
	espProp     = pktbuild.ESPProposalV2
	ikeProp     = pktbuild.IKEProposalV2
	tsV4        = pktbuild.TSv4
	nonceV2     = pktbuild.NonceV2
	keV2        = pktbuild.KEv2
	notifyV2    = pktbuild.NotifyV2
	deleteV2    = pktbuild.DeleteV2
	idV2        = pktbuild.IDv2
	authV2      = pktbuild.AuthV2
	attrTV      = pktbuild.AttrTV
	transformV1 = pktbuild.TransformV1
	proposalV1  = pktbuild.ProposalV1
	saV1        = pktbuild.SAv1
	espV1       = pktbuild.ESPv1
	idV1Subnet  = pktbuild.IDv1Subnet
	notifyV1    = pktbuild.NotifyV1
	deleteV1    = pktbuild.DeleteV1
	hashV1      = pktbuild.HashV1
	v1clear     = pktbuild.V1Clear
	v1enc       = pktbuild.V1Enc
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
