package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"ipsecmon/ikestate"
)

// ikeVersion is "IKEv1" or "IKEv2", as every view writes a version.
func ikeVersion(v int) Value {
	if v == 0 {
		return Value{}
	}
	return str("IKEv" + strconv.Itoa(v))
}

// mmsaColumns are the Main Mode / IKE SA view's columns. Algorithms are
// named as in every view (algo's display names, with the key length).
var mmsaColumns = &Columns[*ikestate.IKESA]{All: []*Column[*ikestate.IKESA]{
	{Name: "ID", Key: "id", Default: true, Get: func(s *ikestate.IKESA) Value { return exact(uint64(s.ID)) }},
	{Name: "Version", Key: "version", Default: true, Get: func(s *ikestate.IKESA) Value { return ikeVersion(s.Version) }},
	{Name: "Exchange", Key: "exchange", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.Exchange) }},
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
	{Name: "Encryption", Key: "encryption", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.Encryption) }},
	{Name: "Integrity", Key: "integrity", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.Integrity) }},
	{Name: "PRF", Key: "prf", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.PRF) }},
	{Name: "DH Group", Key: "dh_group", Default: true, Get: func(s *ikestate.IKESA) Value { return orNull(s.DHGroup) }},
	{Name: "Lifetime", Key: "lifetime", Default: true, Get: func(s *ikestate.IKESA) Value {
		if s.LifeSeconds > 0 {
			return str(fmt.Sprintf("%ds", s.LifeSeconds))
		}
		return Value{}
	}},
	{Name: "NAT-T", Key: "nat_t", Default: true, Get: func(s *ikestate.IKESA) Value { return boolean(s.NATT) }},
	{Name: "Child Pairs", Key: "child_pairs", Default: true, Right: true, Get: func(s *ikestate.IKESA) Value { return exact(uint64(s.Children)) }},
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

	{Name: "Started", Key: "started", Get: func(s *ikestate.IKESA) Value { return at(s.Started) }},
	{Name: "State Reason", Key: "state_reason", Get: func(s *ikestate.IKESA) Value { return orNull(s.StateReason) }},
	{Name: "Initiator Known", Key: "initiator_known", Get: func(s *ikestate.IKESA) Value { return boolean(s.InitiatorKnown) }},
	{Name: "Initiator ID", Key: "id_initiator", Get: func(s *ikestate.IKESA) Value { return orNull(s.LocalID) }},
	{Name: "Responder ID", Key: "id_responder", Get: func(s *ikestate.IKESA) Value { return orNull(s.RemoteID) }},
	{Name: "Encryption Key Bits", Key: "enc_key_bits", Right: true, Get: func(s *ikestate.IKESA) Value {
		if s.EncKeyBits == 0 {
			return Value{}
		}
		return exact(uint64(s.EncKeyBits))
	}},
	{Name: "Lifetime Kilobytes", Key: "life_kilobytes", Right: true, Get: func(s *ikestate.IKESA) Value {
		if s.LifeKilobytes == 0 {
			return Value{}
		}
		return exact(s.LifeKilobytes)
	}},
	{Name: "Inferred", Key: "inferred", Get: func(s *ikestate.IKESA) Value { return boolean(s.Inferred) }},
	{Name: "Keys Known", Key: "keys_known", Get: func(s *ikestate.IKESA) Value { return boolean(s.KeysKnown) }},
	{Name: "Keys Mismatch", Key: "keys_mismatch", Get: func(s *ikestate.IKESA) Value { return boolean(s.KeysMismatch) }},
	{Name: "Can Derive Keys", Key: "can_derive_keys", Get: func(s *ikestate.IKESA) Value { return boolean(s.CanDeriveChild) }},
	{Name: "Rekey Of", Key: "rekey_of", Right: true, Get: func(s *ikestate.IKESA) Value {
		if s.RekeyOf == nil {
			return Value{}
		}
		return exact(uint64(s.RekeyOf.ID))
	}},
	{Name: "Messages", Key: "messages", Right: true, Get: func(s *ikestate.IKESA) Value { return exact(uint64(s.Messages)) }},
	{Name: "Vendor IDs", Key: "vendor_ids", Get: func(s *ikestate.IKESA) Value { return orNull(strings.Join(s.VendorIDs, "; ")) }},
}}

// MMSAColumns are the IKE SA view's columns, for --columns and --sort.
var MMSAColumns = mmsaColumns

// MMSAs is the Main Mode / IKE SA view: one row per IKEv1 ISAKMP SA or
// IKEv2 IKE SA. JSON has every column unless Columns says otherwise.
type MMSAs struct {
	Columns []*Column[*ikestate.IKESA] // nil: the defaults (JSON: all)
	Sort    []SortKey[*ikestate.IKESA]
}

// Write prints the Main Mode / IKE SA view.
func (v MMSAs) Write(w io.Writer, r Run, f Format) error {
	sas := r.Snap.IKESAs
	if len(sas) == 0 && f == Table {
		_, err := io.WriteString(w, "No IKE SA in the input.\n")
		return err
	}
	rows := make([]*ikestate.IKESA, len(sas))
	for i := range sas {
		rows[i] = &sas[i]
	}
	cols := v.Columns
	if cols == nil {
		cols, _ = mmsaColumns.Select(nil, f == JSON)
	}
	SortRows(rows, v.Sort)
	return mmsaColumns.Write(w, rows, cols, f)
}
