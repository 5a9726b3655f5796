// Package ike parses ISAKMP/IKEv1 (RFC 2408, 2409, 2407, 3947, 3706) and
// IKEv2 (RFC 7296, 7383, 9242) messages from the IKE header onwards. It is a
// set of pure functions over a message's bytes: typed views whose variable
// parts are sub-slices of the input (callers copy what they keep), constants
// with one name table each, and errors that say which payload was wrong. It
// keeps no state and never panics on any input.
package ike

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// HeaderLen is the fixed ISAKMP/IKE header length (RFC 2408 §3.1, RFC 7296 §3.1).
const HeaderLen = 28

// Header flag bits. IKEv1 (RFC 2408 §3.1) uses the low three; IKEv2 (RFC 7296
// §3.1) uses Initiator, Version and Response.
const (
	FlagEncryption uint8 = 0x01
	FlagCommit     uint8 = 0x02
	FlagAuthOnly   uint8 = 0x04
	FlagInitiator  uint8 = 0x08
	FlagVersion    uint8 = 0x10
	FlagResponse   uint8 = 0x20
)

// SPI is an IKE SA half-identifier: an IKEv1 cookie or an IKEv2 SPI.
type SPI [8]byte

func (s SPI) String() string { return hex.EncodeToString(s[:]) }

// IsZero reports the all-zero SPI of a responder that has not answered yet.
func (s SPI) IsZero() bool { return s == SPI{} }

// MarshalText prints the SPI as hex in JSON.
func (s SPI) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Header is the fixed part of every ISAKMP/IKE message.
type Header struct {
	ISPI, RSPI  SPI // initiator and responder cookie (IKEv1) or SPI (IKEv2)
	NextPayload PayloadType
	Version     uint8 // major<<4 | minor
	Exchange    ExchangeType
	Flags       uint8
	MessageID   uint32
	Length      uint32
}

func (h Header) Major() uint8 { return h.Version >> 4 }
func (h Header) Minor() uint8 { return h.Version & 0x0f }

// Encrypted is IKEv1's E flag: the payloads after the header are encrypted.
func (h Header) Encrypted() bool { return h.Flags&FlagEncryption != 0 }

// Commit is IKEv1's C flag (RFC 2408 §3.1): the sender wants a CONNECTED notify.
func (h Header) Commit() bool { return h.Flags&FlagCommit != 0 }

// Initiator is IKEv2's I flag: the message comes from the original initiator of the IKE SA.
func (h Header) Initiator() bool { return h.Flags&FlagInitiator != 0 }

// Response is IKEv2's R flag.
func (h Header) Response() bool { return h.Flags&FlagResponse != 0 }

// Errors the parsers wrap; test with errors.Is.
var (
	ErrTruncated = errors.New("truncated")
	ErrMalformed = errors.New("malformed")
	ErrVersion   = errors.New("unsupported version")
)

// ReadHeader reads the fixed fields at the start of msg, checking only
// that all 28 bytes are there (else ErrTruncated) and that the major
// version is 1 or 2 (else ErrVersion, returned together with the header
// that was read). The packet decoder uses it to recognise and count IKE
// traffic, a snapshot-truncated message included; ParseHeader also checks
// the length field.
func ReadHeader(msg []byte) (Header, error) {
	var h Header
	if len(msg) < HeaderLen {
		return h, fmt.Errorf("ike header: %d bytes, need %d: %w", len(msg), HeaderLen, ErrTruncated)
	}
	copy(h.ISPI[:], msg[0:8])
	copy(h.RSPI[:], msg[8:16])
	h.NextPayload = PayloadType(msg[16])
	h.Version = msg[17]
	h.Exchange = ExchangeType(msg[18])
	h.Flags = msg[19]
	h.MessageID = binary.BigEndian.Uint32(msg[20:24])
	h.Length = binary.BigEndian.Uint32(msg[24:28])
	if m := h.Major(); m != 1 && m != 2 {
		return h, fmt.Errorf("ike header: version %d.%d: %w", m, h.Minor(), ErrVersion)
	}
	return h, nil
}

// ParseHeader reads the header at the start of msg as ReadHeader does and
// checks that the length field covers at least the header and no more than
// msg; the payloads are msg[HeaderLen:h.Length].
func ParseHeader(msg []byte) (Header, error) {
	h, err := ReadHeader(msg)
	if err != nil {
		return h, err
	}
	if h.Length < HeaderLen {
		return h, fmt.Errorf("ike header: length field %d is shorter than the header: %w", h.Length, ErrMalformed)
	}
	if uint64(h.Length) > uint64(len(msg)) {
		return h, fmt.Errorf("ike header: length field %d, only %d bytes present: %w", h.Length, len(msg), ErrTruncated)
	}
	return h, nil
}

// Body returns the bytes after the header that the length field covers,
// or nil when the header is not valid for msg.
func (h Header) Body(msg []byte) []byte {
	if h.Length < HeaderLen || uint64(h.Length) > uint64(len(msg)) {
		return nil
	}
	return msg[HeaderLen:h.Length]
}
