package ike

import "fmt"

// eachSubstructure walks proposals inside an SA payload or transforms inside
// a proposal. Both IKE versions nest them behind the generic payload header
// with a fixed type (RFC 2408 §3.5-3.6, RFC 7296 §3.3.1), so one walker
// keeps the two parsers' bounds checks identical.
func eachSubstructure(kind PayloadType, b []byte, fn func(index int, body []byte) error) error {
	it := NewIter(kind, b)
	for {
		p, ok := it.Next()
		if !ok {
			return it.Err()
		}
		if p.Type != kind {
			return fmt.Errorf("%s %d: substructure type %d: %w", substructureName(kind), p.Index, p.Type, ErrMalformed)
		}
		if err := fn(p.Index, p.Body); err != nil {
			return err
		}
	}
}

func substructureName(kind PayloadType) string {
	if kind == PayloadProposal {
		return "proposal"
	}
	return "transform"
}

// proposalHeader is the part of a proposal both versions lay out alike.
type proposalHeader struct {
	Number   uint8
	Protocol ProtocolID
	SPI      []byte
}

// parseProposalCommon reads a proposal's header and hands each transform's
// 4-byte header and attributes to fn, whose layout differs by version.
// It checks the transform count the header announces.
func parseProposalCommon(b []byte, fn func(hdr []byte, attrs []Attribute) error) (proposalHeader, error) {
	var h proposalHeader
	if len(b) < 4 {
		return h, fmt.Errorf("%d bytes, need 4: %w", len(b), ErrTruncated)
	}
	h.Number = b[0]
	h.Protocol = ProtocolID(b[1])
	spiSize := int(b[2])
	announced := int(b[3])
	if spiSize > len(b)-4 {
		return h, fmt.Errorf("SPI size %d, only %d bytes left: %w", spiSize, len(b)-4, ErrTruncated)
	}
	h.SPI = b[4 : 4+spiSize : 4+spiSize]
	n := 0
	err := eachSubstructure(PayloadTransform, b[4+spiSize:], func(i int, t []byte) error {
		if len(t) < 4 {
			return fmt.Errorf("transform %d: %d bytes, need 4: %w", i, len(t), ErrTruncated)
		}
		attrs, err := ParseAttributes(t[4:])
		if err != nil {
			return fmt.Errorf("transform %d: %w", i, err)
		}
		n++
		return fn(t[:4], attrs)
	})
	if err != nil {
		return h, err
	}
	if n != announced {
		return h, fmt.Errorf("header announces %d transforms, %d present: %w", announced, n, ErrMalformed)
	}
	return h, nil
}
