package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/ikestate"
)

// isByteStat reports the statistics that count bytes.
func isByteStat(i analyzer.Stat) bool { return i >= analyzer.ConfidentialSent }

// StatsJSON is the Statistics view as JSON: the 21 counters under their
// keys, then what the run was about.
func StatsJSON(r Run) ([]byte, error) {
	o := newObject()
	notes := map[string]string{}
	for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
		f := r.Snap.Stats[i]
		if err := o.add(StatNames[i].Key, f); err != nil {
			return nil, err
		}
		if n := NoteText(i, f); n != "" {
			notes[StatNames[i].Key] = n
		}
	}
	me := make([]string, len(r.Snap.Me))
	for i, a := range r.Snap.Me {
		me[i] = a.String()
	}
	c := r.Snap.Counts
	meta := []struct {
		k string
		v any
	}{
		{"me", me},
		{"me_chosen", r.Snap.MeChosen},
		{"me_linked", r.Snap.MeLinked},
		{"notes", notes},
		{"analysis", map[string]any{
			"packets":                       c.Packets,
			"ipsec_packets":                 c.IPsecPackets,
			"ikev1_messages":                c.IKEv1Messages,
			"ikev2_messages":                c.IKEv2Messages,
			"ike_udp_encapsulated":          c.IKEEncapsulated,
			"nat_keepalives":                c.NATKeepalives,
			"truncated_ipsec_packets":       c.TruncatedIPsec,
			"security_associations_tracked": uint64(r.Snap.SAs),
			"untracked_packets":             c.Untracked,
			"evicted_security_associations": c.EvictedSAs,
			"integrity_only_esp":            r.Snap.IntegrityOnly,
			"key_deletions_by_cause":        deletionCauses(r.Snap),
		}},
	}
	meta = append(meta, struct {
		k string
		v any
	}{"limits", append([]bounds.Limit{}, Limits(r)...)})
	if r.Input != nil {
		meta = append(meta, struct {
			k string
			v any
		}{"input", r.Input})
	}
	if r.Capture != nil {
		meta = append(meta, struct {
			k string
			v any
		}{"capture", r.Capture})
	}
	if r.Snap.Policy != nil {
		meta = append(meta, struct {
			k string
			v any
		}{"policy", r.Snap.Policy})
	}
	if !r.Snap.First.IsZero() {
		meta = append(meta, struct {
			k string
			v any
		}{"first_packet", r.Snap.First.Format(time.RFC3339Nano)}, struct {
			k string
			v any
		}{"last_packet", r.Snap.Last.Format(time.RFC3339Nano)})
	}
	for _, m := range meta {
		if err := o.add(m.k, m.v); err != nil {
			return nil, err
		}
	}
	return o.bytes(), nil
}

// statRow is one statistic of a run.
type statRow struct {
	stat analyzer.Stat
	fig  analyzer.Figure
}

// statColumns: tables show the statistic and its value, CSV adds the key.
var statColumns = &Columns[statRow]{All: []*Column[statRow]{
	{Name: "Quick Mode Statistics", Key: "statistic", Default: true, Get: func(r statRow) Value {
		return str(StatNames[r.stat].Display)
	}},
	{Name: "Key", Key: "key", Get: func(r statRow) Value { return str(StatNames[r.stat].Key) }},
	{Name: "Value", Key: "value", Default: true, Right: true, Unknown: "n/a", Get: func(r statRow) Value {
		if !r.fig.Known {
			return Value{}
		}
		text := humanize.Comma(int64(r.fig.Value))
		if isByteStat(r.stat) {
			text = humanBytes(r.fig.Value)
		}
		if r.fig.Why != analyzer.WhyNone {
			text += " *" // a partial figure, explained under the table
		}
		return num(r.fig.Value).shown(text)
	}},
}}

// Stats is the Statistics view.
type Stats struct{}

// Write prints the Statistics view.
func (Stats) Write(w io.Writer, r Run, f Format) error { return WriteStats(w, r, f) }

// WriteStats prints the Statistics view.
func WriteStats(w io.Writer, r Run, f Format) error {
	if f == JSON {
		b, err := StatsJSON(r)
		if err != nil {
			return err
		}
		return writeIndented(w, b)
	}
	rows := make([]statRow, analyzer.NumStats)
	for i := range rows {
		rows[i] = statRow{analyzer.Stat(i), r.Snap.Stats[i]}
	}
	cols, _ := statColumns.Select(nil, f == CSV)
	if err := statColumns.Write(w, rows, cols, f); err != nil || f == CSV {
		return err
	}
	var b strings.Builder
	var noteOrder []string
	noteStats := map[string][]string{}
	for _, row := range rows {
		if n := NoteText(row.stat, row.fig); n != "" {
			if _, ok := noteStats[n]; !ok {
				noteOrder = append(noteOrder, n)
			}
			noteStats[n] = append(noteStats[n], StatNames[row.stat].Display)
		}
	}
	if len(noteOrder) > 0 {
		b.WriteString("\nn/a: the input cannot tell; *: partial figure.\n")
		for _, n := range noteOrder {
			fmt.Fprintf(&b, "  %s: %s\n", strings.Join(noteStats[n], ", "), n)
		}
	}
	b.WriteString("\n")
	if io := r.Snap.IntegrityOnly; io.SAs > 0 {
		fmt.Fprintf(&b, "ESP without encryption (integrity only): %d SAs; %s sent, %s received in the clear, counted in Confidential Bytes (every ESP byte is)\n",
			io.SAs, humanBytes(io.BytesSent), humanBytes(io.BytesReceived))
	}
	b.WriteString(meLine(r.Snap))
	b.WriteString(InputSummary(r))
	_, err := io.WriteString(w, b.String())
	return err
}

func humanBytes(v uint64) string {
	if v < 1000 {
		return strconv.FormatUint(v, 10) + " B"
	}
	return fmt.Sprintf("%s (%s B)", humanize.Bytes(v), humanize.Comma(int64(v)))
}

func meLine(s *analyzer.Snapshot) string {
	switch {
	case s.MeUnmatched:
		return fmt.Sprintf("Me: %s (given; not an endpoint of any SA: every SA is between other hosts; the SAs' endpoints: %s)\n", meGiven(s), meEndpoints(s))
	case len(s.MeBothEnds) > 0:
		return fmt.Sprintf("Me: %s (given; covers both endpoints of some SAs: the sender of the first SA seen between two of them is taken as Me)\n", meGiven(s))
	case len(s.MeGiven) > 0:
		return fmt.Sprintf("Me: %s\n", meGiven(s))
	case len(s.Me) == 0:
		return "Me: no IPsec traffic seen\n"
	}
	addrs := make([]string, len(s.Me))
	for i, a := range s.Me {
		addrs[i] = a.String()
	}
	if s.MeChosen && len(s.MeLinked) > 0 {
		linked := make([]string, len(s.MeLinked))
		for i, a := range s.MeLinked {
			linked[i] = a.String()
		}
		return fmt.Sprintf("Me: %s (chosen: %s is the endpoint of the most SAs, %s sends its SAs from the same link address; set --me to override)\n",
			strings.Join(addrs, ", "), addrs[0], strings.Join(linked, ", "))
	}
	if s.MeChosen {
		return fmt.Sprintf("Me: %s (chosen: the endpoint of the most SAs; set --me to override)\n", strings.Join(addrs, ", "))
	}
	return fmt.Sprintf("Me: %s\n", strings.Join(addrs, ", "))
}

// Limits are every memory bound in force, the analyzer's and the input
// stage's, with what each discarded.
func Limits(r Run) []bounds.Limit {
	ls := append([]bounds.Limit(nil), r.Snap.Limits...)
	if r.Input != nil {
		ls = append(ls, r.Input.Limits...)
	}
	return ls
}

// deletionCauses splits Key Deletions by why the keys went (null when the
// capture has no IKE, each cause null when the input cannot tell it).
func deletionCauses(s *analyzer.Snapshot) map[string]*int {
	if s.IKE == nil {
		return nil
	}
	v := func(f ikestate.Figure) *int {
		if !f.Known {
			return nil
		}
		return &f.Value
	}
	return map[string]*int{
		"delete_payload":   v(s.IKE.DeletedByPayload),
		"with_ike_sa":      v(s.IKE.DeletedWithIKESA),
		"lifetime_expired": v(s.IKE.Expirations),
	}
}
