package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"ipsecmon/analyzer"
	"ipsecmon/bounds"
	"ipsecmon/inputstats"
)

// Run is what a view is rendered from: the analyzer's snapshot and what the
// input stage read and skipped.
type Run struct {
	Snap  *analyzer.Snapshot
	Input *inputstats.Stats
	// Capture holds libpcap's counters of a live run: drops are never hidden.
	Capture []CaptureStats
}

// CaptureStats are one interface's libpcap counters.
type CaptureStats struct {
	Interface string `json:"interface"`
	Received  uint64 `json:"received"`
	Dropped   uint64 `json:"dropped_by_kernel"`
	IfDropped uint64 `json:"dropped_by_interface"`
}

// object writes a JSON object with keys in the given order (encoding/json
// sorts map keys, and the Statistics view has an order of its own).
type object struct {
	buf   bytes.Buffer
	first bool
}

func newObject() *object {
	o := &object{first: true}
	o.buf.WriteByte('{')
	return o
}

func (o *object) add(key string, v any) error {
	if !o.first {
		o.buf.WriteByte(',')
	}
	o.first = false
	k, _ := json.Marshal(key)
	o.buf.Write(k)
	o.buf.WriteByte(':')
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("report: %s: %w", key, err)
	}
	o.buf.Write(b)
	return nil
}

func (o *object) bytes() []byte {
	o.buf.WriteByte('}')
	return o.buf.Bytes()
}

// isByteStat reports the statistics that count bytes.
func isByteStat(i analyzer.Stat) bool { return i >= analyzer.ConfidentialSent }

// StatsJSON is the Statistics view as JSON: the 21 counters under their
// keys, then what the run was about.
func StatsJSON(r Run) ([]byte, error) {
	o := newObject()
	notes := map[string]string{}
	for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
		f := r.Snap.Stats[i]
		if err := o.add(analyzer.StatNames[i].Key, f); err != nil {
			return nil, err
		}
		if f.Note != "" {
			notes[analyzer.StatNames[i].Key] = f.Note
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
		{"notes", notes},
		{"analysis", map[string]uint64{
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

// WriteStats prints the Statistics view.
func WriteStats(w io.Writer, r Run, f Format) error {
	switch f {
	case JSON:
		b, err := StatsJSON(r)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = w.Write(out.Bytes())
		return err
	case CSV:
		var rows [][]string
		for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
			v := ""
			if fig := r.Snap.Stats[i]; fig.Known {
				v = strconv.FormatUint(fig.Value, 10)
			}
			rows = append(rows, []string{analyzer.StatNames[i].Display, analyzer.StatNames[i].Key, v})
		}
		return WriteCSV(w, []string{"statistic", "key", "value"}, rows)
	}
	var rows [][]string
	var noteOrder []string
	noteStats := map[string][]string{}
	for i := analyzer.Stat(0); i < analyzer.NumStats; i++ {
		fig := r.Snap.Stats[i]
		v := "n/a"
		if fig.Known {
			if isByteStat(i) {
				v = humanBytes(fig.Value)
			} else {
				v = humanize.Comma(int64(fig.Value))
			}
		}
		if fig.Note != "" {
			if _, ok := noteStats[fig.Note]; !ok {
				noteOrder = append(noteOrder, fig.Note)
			}
			noteStats[fig.Note] = append(noteStats[fig.Note], analyzer.StatNames[i].Display)
			if fig.Known {
				v += " *"
			}
		}
		rows = append(rows, []string{analyzer.StatNames[i].Display, v})
	}
	if err := WriteTable(w, []string{"Quick Mode Statistics", "Value"}, rows, []bool{false, true}); err != nil {
		return err
	}
	var b strings.Builder
	if len(noteOrder) > 0 {
		b.WriteString("\nn/a: the input cannot tell; *: partial figure.\n")
		for _, n := range noteOrder {
			fmt.Fprintf(&b, "  %s: %s\n", strings.Join(noteStats[n], ", "), n)
		}
	}
	b.WriteString("\n")
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
	if len(s.Me) == 0 {
		return "Me: no IPsec traffic seen\n"
	}
	addrs := make([]string, len(s.Me))
	for i, a := range s.Me {
		addrs[i] = a.String()
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

// InputSummary is the human-readable account of what was read and skipped.
func InputSummary(r Run) string {
	var b strings.Builder
	for _, c := range r.Capture {
		fmt.Fprintf(&b, "Capture %s: %s packets received, %s dropped by the kernel, %s by the interface\n",
			c.Interface, humanize.Comma(int64(c.Received)), humanize.Comma(int64(c.Dropped)), humanize.Comma(int64(c.IfDropped)))
	}
	c := r.Snap.Counts
	if in := r.Input; in != nil && r.Capture == nil {
		fmt.Fprintf(&b, "Input: %d file(s), %s frames", len(in.Files), humanize.Comma(int64(in.Frames)))
		if !r.Snap.First.IsZero() {
			fmt.Fprintf(&b, " from %s to %s", r.Snap.First.Format(time.RFC3339), r.Snap.Last.Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Seen: %s ESP/AH packets in %d SAs, %s IKEv1 and %s IKEv2 messages (%s behind a non-ESP marker), %s NAT keepalives\n",
		humanize.Comma(int64(c.IPsecPackets)), r.Snap.SAs, humanize.Comma(int64(c.IKEv1Messages)), humanize.Comma(int64(c.IKEv2Messages)),
		humanize.Comma(int64(c.IKEEncapsulated)), humanize.Comma(int64(c.NATKeepalives)))
	if p := r.Snap.Policy; p != nil {
		fmt.Fprintf(&b, "Policy: %s cleartext packets that the policy says must be protected or blocked, %d SA pairs whose selectors match no policy, %d whose suite the policy does not offer\n",
			humanize.Comma(int64(p.Violations)), p.SAsWithoutPolicy, p.SAsOutsideOffers)
	}
	if c.Untracked > 0 {
		fmt.Fprintf(&b, "Untracked: %s IPsec packets of SAs the table had no room for (see Limit reached)\n", humanize.Comma(int64(c.Untracked)))
	}
	for _, l := range bounds.Hit(Limits(r)) {
		fmt.Fprintf(&b, "Limit reached: %s\n", l)
	}
	if c.EvictedSAs > 0 {
		fmt.Fprintf(&b, "Evicted: %s idle or ended SAs left the SA view; their totals are in the statistics\n", humanize.Comma(int64(c.EvictedSAs)))
	}
	if c.TruncatedIPsec > 0 {
		fmt.Fprintf(&b, "Truncated: %s ESP/AH packets were cut by the snap length (counted from their IP length)\n", humanize.Comma(int64(c.TruncatedIPsec)))
	}
	if in := r.Input; in != nil {
		if in.PacketsReassembled > 0 {
			fmt.Fprintf(&b, "Reassembled: %d packets from %d IP fragments\n", in.PacketsReassembled, in.FragmentsReassembled)
		}
		if in.FragmentsUnanalysed > 0 {
			fmt.Fprintf(&b, "Fragments not analysed: %d\n", in.FragmentsUnanalysed)
		}
		if n := in.SkippedTotal(); n > 0 {
			var parts []string
			for _, k := range in.SkipReasons() {
				parts = append(parts, fmt.Sprintf("%s: %d", k, in.Skipped[k]))
			}
			fmt.Fprintf(&b, "Skipped: %d (%s)\n", n, strings.Join(parts, ", "))
		}
		for _, f := range in.Files {
			if f.Error != "" {
				fmt.Fprintf(&b, "Problem: %s\n", f.Error)
			}
		}
	}
	return b.String()
}
