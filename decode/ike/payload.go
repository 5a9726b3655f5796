package ike

import (
	"encoding/binary"
	"fmt"
)

// GenericHeaderLen is the length of the generic payload header (next payload,
// flags/reserved, payload length).
const GenericHeaderLen = 4

// Payload is one payload of a chain, generic header already read.
type Payload struct {
	Type     PayloadType
	Next     PayloadType // for SK/SKF: the type of the first encrypted payload
	Critical bool        // IKEv2 critical bit (RFC 7296 §3.2)
	Index    int         // position in the chain, from 0
	Offset   int         // offset of the generic header in the iterated data
	Body     []byte      // after the generic header
	Raw      []byte      // generic header and body
}

// Iter walks a payload chain without allocating. The chain ends at
// PayloadNone or after an SK/SKF payload, whose Next field names the first
// payload inside the encryption rather than a following one (RFC 7296 §3.14).
type Iter struct {
	data []byte
	off  int
	next PayloadType
	idx  int
	err  error
	done bool
}

// NewIter starts a chain whose first payload has type first.
func NewIter(first PayloadType, data []byte) Iter {
	return Iter{data: data, next: first, done: first == PayloadNone}
}

// Payloads starts the chain of a message whose header was read by ParseHeader.
func Payloads(h Header, msg []byte) Iter {
	return NewIter(h.NextPayload, h.Body(msg))
}

// Next returns the next payload; false at the end of the chain or on error
// (see Err).
func (it *Iter) Next() (Payload, bool) {
	if it.done || it.err != nil {
		return Payload{}, false
	}
	rest := it.data[it.off:]
	if len(rest) < GenericHeaderLen {
		it.err = fmt.Errorf("payload %d (%v): %d bytes left, need a %d-byte header: %w",
			it.idx, it.next, len(rest), GenericHeaderLen, ErrTruncated)
		return Payload{}, false
	}
	n := int(binary.BigEndian.Uint16(rest[2:4]))
	if n < GenericHeaderLen {
		it.err = fmt.Errorf("payload %d (%v): length %d is shorter than its header: %w",
			it.idx, it.next, n, ErrMalformed)
		return Payload{}, false
	}
	if n > len(rest) {
		it.err = fmt.Errorf("payload %d (%v): length %d, only %d bytes left: %w",
			it.idx, it.next, n, len(rest), ErrTruncated)
		return Payload{}, false
	}
	p := Payload{
		Type:     it.next,
		Next:     PayloadType(rest[0]),
		Critical: rest[1]&0x80 != 0,
		Index:    it.idx,
		Offset:   it.off,
		Body:     rest[GenericHeaderLen:n:n],
		Raw:      rest[:n:n],
	}
	it.off += n
	it.idx++
	it.next = p.Next
	if p.Next == PayloadNone || p.Type == PayloadSK || p.Type == PayloadSKF {
		it.done = true
	}
	return p, true
}

// Err is the error that stopped the iteration, if any.
func (it *Iter) Err() error { return it.err }

// Rest is what follows the last payload: IKEv1 encryption padding (RFC 2408
// §3.1 lets it trail the chain) or junk after a cleartext message.
func (it *Iter) Rest() []byte {
	if !it.done {
		return nil
	}
	return it.data[it.off:]
}

// ParsePayloads collects a whole chain. On error it returns the payloads read
// before the bad one together with the error.
func ParsePayloads(first PayloadType, data []byte) ([]Payload, error) {
	it := NewIter(first, data)
	var ps []Payload
	for {
		p, ok := it.Next()
		if !ok {
			break
		}
		ps = append(ps, p)
	}
	return ps, it.Err()
}
