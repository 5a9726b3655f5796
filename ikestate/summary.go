package ikestate

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"ipsecmon/decode/ike"
)

// String is the method as the policies view prints it.
func (m Method) String() string {
	parts := []string{m.Protocol}
	if len(m.Encryption) > 0 {
		parts = append(parts, strings.Join(m.Encryption, "/"))
	}
	// A combined-mode cipher's integrity is itself: said once.
	if len(m.Integrity) > 0 && !slices.Equal(m.Integrity, m.Encryption) {
		parts = append(parts, strings.Join(m.Integrity, "/"))
	}
	if len(m.PFS) > 0 {
		parts = append(parts, "PFS "+strings.Join(m.PFS, "/"))
	}
	if len(m.ESN) > 0 {
		parts = append(parts, strings.Join(m.ESN, "/"))
	}
	if m.Mode != "" {
		parts = append(parts, m.Mode)
	}
	if m.LifeSeconds != 0 {
		parts = append(parts, fmt.Sprintf("%ds", m.LifeSeconds))
	}
	if m.LifeKilobytes != 0 {
		parts = append(parts, fmt.Sprintf("%dKB", m.LifeKilobytes))
	}
	return strings.Join(parts, " ")
}

func spiText(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%08x", binary.BigEndian.Uint32(b))
	}
	return fmt.Sprintf("%x", b)
}

// summarize names a payload for the timeline, with the detail that matters
// for forensics (notify type, deleted SPIs, vendor, identity, selectors).
// It reports the payload's parse error, if any.
func summarize(version int, p ike.Payload) (string, error) {
	name := p.Type.String()
	detail, ok, err := describe(p)
	switch {
	case err != nil:
		return name, err
	case ok:
		return name + "(" + detail + ")", nil
	}
	return name, check(p)
}

// describe reads the detail of the payloads that carry one worth showing;
// ok is false for the others (and for an SA payload without proposals).
func describe(p ike.Payload) (detail string, ok bool, err error) {
	switch p.Type {
	case ike.PayloadNotify:
		n, err := ike.ParseNotifyV1(p.Body)
		return n.Type.String(), err == nil, err
	case ike.PayloadNotifyV2:
		n, err := ike.ParseNotify(p.Body)
		if err != nil {
			return "", false, err
		}
		s := n.Type.String()
		if len(n.SPI) > 0 {
			s += " " + n.Protocol.String() + " " + spiText(n.SPI)
		}
		return s, true, nil
	case ike.PayloadDelete:
		d, err := ike.ParseDeleteV1(p.Body)
		return deleteText(d.Protocol, d.SPIs), err == nil, err
	case ike.PayloadDeleteV2:
		d, err := ike.ParseDelete(p.Body)
		return deleteText(d.Protocol, d.SPIs), err == nil, err
	case ike.PayloadVendorID, ike.PayloadVendorV2:
		if v := ike.VendorName(p.Body); v != "" {
			return v, true, nil
		}
		return fmt.Sprintf("%x", p.Body), true, nil
	case ike.PayloadID:
		id, err := ike.ParseIDv1(p.Body)
		if err != nil {
			return "", false, err
		}
		return id.String(), true, nil
	case ike.PayloadIDi, ike.PayloadIDr:
		id, err := ike.ParseID(p.Body)
		if err != nil {
			return "", false, err
		}
		return id.String(), true, nil
	case ike.PayloadTSi, ike.PayloadTSr:
		ts, err := ike.ParseTS(p.Body)
		if err != nil {
			return "", false, err
		}
		var s []string
		for _, x := range ts {
			s = append(s, x.String())
		}
		return strings.Join(s, ","), true, nil
	case ike.PayloadKEv2:
		ke, err := ike.ParseKE(p.Body)
		return ke.Group.String(), err == nil, err
	case ike.PayloadSAv2:
		props, err := ike.ParseSA(p.Body)
		if err != nil || len(props) == 0 {
			return "", false, err
		}
		return props[0].Protocol.String(), true, nil
	case ike.PayloadAuth:
		a, err := ike.ParseAuth(p.Body)
		return a.Method.String(), err == nil, err
	case ike.PayloadSKF:
		f, err := ike.ParseFragment(p.Body)
		return fmt.Sprintf("%d/%d", f.Number, f.Total), err == nil, err
	}
	return "", false, nil
}

// check parses the payloads named without detail, for their errors.
func check(p ike.Payload) error {
	var err error
	switch p.Type {
	case ike.PayloadSA:
		_, err = ike.ParseSAv1(p.Body)
	case ike.PayloadCP:
		_, err = ike.ParseCP(p.Body)
	case ike.PayloadEAP:
		_, err = ike.ParseEAP(p.Body)
	case ike.PayloadAttr:
		_, err = ike.ParseAttrPayload(p.Body)
	case ike.PayloadCert, ike.PayloadCertV2, ike.PayloadCertReq, ike.PayloadCertReqV2:
		_, err = ike.ParseCert(p.Body)
	case ike.PayloadNATOA, ike.PayloadNATOADraft:
		_, err = ike.ParseNATOA(p.Body)
	}
	return err
}

func deleteText(p ike.ProtocolID, spis [][]byte) string {
	var s []string
	for _, x := range spis {
		s = append(s, spiText(x))
	}
	if len(s) == 0 {
		return p.String()
	}
	return p.String() + " " + strings.Join(s, ",")
}

// summarizeChain walks a payload chain, naming every payload; it returns the
// names and the first error (with the payload index and type).
func summarizeChain(version int, first ike.PayloadType, data []byte) ([]string, []ike.Payload, error) {
	it := ike.NewIter(first, data)
	var names []string
	var ps []ike.Payload
	for {
		p, ok := it.Next()
		if !ok {
			break
		}
		s, err := summarize(version, p)
		names = append(names, s)
		ps = append(ps, p)
		if err != nil {
			return names, ps, fmt.Errorf("payload %d (%v): %w", p.Index, p.Type, err)
		}
	}
	return names, ps, it.Err()
}
