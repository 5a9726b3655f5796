package ike

import (
	"encoding/binary"
	"fmt"
)

// Attribute is an ISAKMP data attribute (RFC 2408 §3.3), used by IKEv1 SA
// transforms, IKEv1 Mode Config and IKEv2 transform attributes (RFC 7296
// §3.3.5). A TV attribute carries its 2-byte value in Value; a TLV attribute
// carries a variable-length Value.
type Attribute struct {
	Type  uint16 // without the format bit
	TV    bool
	Value []byte
}

// Uint reads Value as a big-endian unsigned number; false if it is longer
// than 8 bytes.
func (a Attribute) Uint() (uint64, bool) {
	if len(a.Value) > 8 {
		return 0, false
	}
	var v uint64
	for _, b := range a.Value {
		v = v<<8 | uint64(b)
	}
	return v, true
}

// ParseAttributes reads a sequence of data attributes that fills b exactly.
func ParseAttributes(b []byte) ([]Attribute, error) {
	var out []Attribute
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return out, fmt.Errorf("attribute %d: %d bytes left, need 4: %w", len(out), len(b)-off, ErrTruncated)
		}
		t := binary.BigEndian.Uint16(b[off:])
		v := b[off+2 : off+4]
		if t&0x8000 != 0 {
			out = append(out, Attribute{Type: t & 0x7fff, TV: true, Value: v[:2:2]})
			off += 4
			continue
		}
		n := int(binary.BigEndian.Uint16(v))
		if n > len(b)-off-4 {
			return out, fmt.Errorf("attribute %d (type %d): length %d, only %d bytes left: %w",
				len(out), t, n, len(b)-off-4, ErrTruncated)
		}
		out = append(out, Attribute{Type: t, Value: b[off+4 : off+4+n : off+4+n]})
		off += 4 + n
	}
	return out, nil
}
