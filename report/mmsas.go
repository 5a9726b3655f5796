package report

import (
	"fmt"
	"io"
	"strconv"

	"ipsecmon/ikestate"
)

// mmsaColumns are the Main Mode / IKE SA view's columns.
var mmsaColumns = &Columns[*ikestate.IKESA]{CSVAsShown: true, All: []*Column[*ikestate.IKESA]{
	{Name: "ID", Key: "id", Default: true, Get: func(s *ikestate.IKESA) Value { return exact(uint64(s.ID)) }},
	{Name: "Version", Key: "version", Default: true, Get: func(s *ikestate.IKESA) Value { return str("IKEv" + strconv.Itoa(s.Version)) }},
	{Name: "Exchange", Key: "exchange", Default: true, Get: func(s *ikestate.IKESA) Value { return str(s.Exchange) }},
	{Name: "Initiator", Key: "initiator", Default: true, Get: func(s *ikestate.IKESA) Value {
		if !s.InitiatorKnown {
			return str(s.Initiator.String() + " (?)") // the capture began after the first message
		}
		return str(s.Initiator.String())
	}},
	{Name: "Responder", Key: "responder", Default: true, Get: func(s *ikestate.IKESA) Value { return str(s.Responder.String()) }},
	{Name: "Initiator SPI", Key: "ispi", Default: true, Get: func(s *ikestate.IKESA) Value { return str(fmt.Sprintf("%x", s.ISPI[:])) }},
	{Name: "Responder SPI", Key: "rspi", Default: true, Get: func(s *ikestate.IKESA) Value { return str(fmt.Sprintf("%x", s.RSPI[:])) }},
	{Name: "Authentication", Key: "auth_method", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.AuthMethod) }},
	{Name: "Encryption", Key: "encryption", Default: true, Get: func(s *ikestate.IKESA) Value {
		if s.EncKeyBits > 0 {
			return str(fmt.Sprintf("%s-%d", s.Encryption, s.EncKeyBits))
		}
		return orNull(s.Encryption)
	}},
	{Name: "Integrity", Key: "integrity", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.Integrity) }},
	{Name: "PRF", Key: "prf", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.PRF) }},
	{Name: "DH Group", Key: "dh_group", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.DHGroup) }},
	{Name: "Lifetime", Key: "lifetime", Default: true, Get: func(s *ikestate.IKESA) Value {
		if s.LifeSeconds > 0 {
			return str(fmt.Sprintf("%ds", s.LifeSeconds))
		}
		return Value{}
	}},
	{Name: "NAT-T", Key: "nat_t", Default: true, Get: func(s *ikestate.IKESA) Value { return str(strconv.FormatBool(s.NATT)) }},
	{Name: "Child Pairs", Key: "child_pairs", Default: true, Get: func(s *ikestate.IKESA) Value { return exact(uint64(s.Children)) }},
	{Name: "State", Key: "state", Default: true, Get: func(s *ikestate.IKESA) Value {
		st := s.State.String()
		if s.Inferred {
			st += " (inferred)" // from the headers only
		}
		if s.KeysMismatch {
			st += " (keys do not match)"
		}
		return str(st)
	}},
	{Name: "Established", Key: "established", Default: true, Get: func(s *ikestate.IKESA) Value { return at(s.Established) }},
	{Name: "Ended", Key: "ended", Default: true, Get: func(s *ikestate.IKESA) Value { return at(s.Ended) }},
}}

// MMSAs is the Main Mode / IKE SA view: one row per IKEv1 ISAKMP SA or
// IKEv2 IKE SA. Its JSON is the IKE SAs' own records, with every detail.
type MMSAs struct{}

// Write prints the Main Mode / IKE SA view.
func (MMSAs) Write(w io.Writer, r Run, f Format) error {
	sas := r.Snap.IKESAs
	switch {
	case f == JSON:
		return writeJSON(w, append([]ikestate.IKESA{}, sas...))
	case len(sas) == 0 && f == Table:
		_, err := io.WriteString(w, "No IKE SA in the input.\n")
		return err
	}
	rows := make([]*ikestate.IKESA, len(sas))
	for i := range sas {
		rows[i] = &sas[i]
	}
	cols, _ := mmsaColumns.Select(nil, false)
	return mmsaColumns.Write(w, rows, cols, f)
}
