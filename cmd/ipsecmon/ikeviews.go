package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ipsecmon/ikestate"
	"ipsecmon/report"
)

// runIKEView runs an analysis and renders one of the IKE views.
func runIKEView(name, synopsis, examples string, render func(io.Writer, report.Run, report.Format) error) func([]string, io.Writer, io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		var in inputFlags
		var lf liveFlags
		fs := newFlagSet(name, synopsis, examples)
		in.register(fs)
		lf.register(fs)
		if done, st := parseFlags(fs, args, stdout, stderr); done {
			return st
		}
		cfg, format, inputs, err := in.config(fs.Args(), lf.live())
		if err != nil {
			return usageError(stderr, name, err)
		}
		lf.apply(&cfg, fs)
		if err := in.openLog(stdout, 0); err != nil {
			return usageError(stderr, name, err)
		}
		r, status := collect(&in, &lf, cfg, inputs, stderr)
		if st := in.closeLog(stderr); st != exitOK {
			status = st
		}
		if r.Snap == nil {
			return status
		}
		if err := render(stdout, r, format); err != nil {
			fmt.Fprintf(stderr, "ipsecmon: %v\n", err)
			return exitUsage
		}
		return status
	}
}

func writeRows(w io.Writer, f report.Format, header, keys []string, rows [][]string, objs []any) error {
	switch f {
	case report.JSON:
		b, err := json.MarshalIndent(objs, "", "  ")
		if err != nil {
			return err
		}
		if objs == nil {
			b = []byte("[]")
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case report.CSV:
		return report.WriteCSV(w, keys, rows)
	}
	return report.WriteTable(w, header, rows, nil)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

func renderMMSAs(w io.Writer, r report.Run, f report.Format) error {
	header := []string{"ID", "Version", "Exchange", "Initiator", "Responder", "Initiator SPI", "Responder SPI", "Authentication", "Encryption", "Integrity", "PRF", "DH Group", "Lifetime", "NAT-T", "Child Pairs", "State", "Established", "Ended"}
	keys := []string{"id", "version", "exchange", "initiator", "responder", "ispi", "rspi", "auth_method", "encryption", "integrity", "prf", "dh_group", "lifetime", "nat_t", "child_pairs", "state", "established", "ended"}
	var rows [][]string
	var objs []any
	for _, s := range r.Snap.IKESAs {
		enc := s.Encryption
		if s.EncKeyBits > 0 {
			enc = fmt.Sprintf("%s-%d", enc, s.EncKeyBits)
		}
		life := ""
		if s.LifeSeconds > 0 {
			life = fmt.Sprintf("%ds", s.LifeSeconds)
		}
		ini := s.Initiator.String()
		if !s.InitiatorKnown {
			ini += " (?)"
		}
		state := s.State.String()
		if s.Inferred {
			state += " (inferred)"
		}
		rows = append(rows, []string{strconv.Itoa(s.ID), "IKEv" + strconv.Itoa(s.Version), s.Exchange, ini, s.Responder.String(),
			fmt.Sprintf("%x", s.ISPI[:]), fmt.Sprintf("%x", s.RSPI[:]), orDash(s.AuthMethod), orDash(enc), orDash(s.Integrity), orDash(s.PRF), orDash(s.DHGroup),
			orDash(life), strconv.FormatBool(s.NATT), strconv.Itoa(s.Children), state, timeCell(s.Established), timeCell(s.Ended)})
		objs = append(objs, s)
	}
	if len(rows) == 0 && f == report.Table {
		_, err := io.WriteString(w, "No IKE SA in the input.\n")
		return err
	}
	return writeRows(w, f, header, keys, rows, objs)
}

func methodText(m ikestate.Method) (enc, integ, pfs string) {
	return strings.Join(m.Encryption, " | "), strings.Join(m.Integrity, " | "), strings.Join(m.PFS, " | ")
}

func renderPolicies(w io.Writer, r report.Run, f report.Format) error {
	if p := r.Snap.Policy; p != nil && len(p.Configured) > 0 {
		// With --policy: the configured negotiation policies, their offers
		// in preference order, next to what the capture shows was negotiated.
		if f == report.JSON {
			b, err := json.MarshalIndent(p.Configured, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "%s\n", b)
			return err
		}
		header := []string{"Negotiation Policy", "Preference", "Security Method", "Negotiated In Capture"}
		keys := []string{"negotiation_policy", "preference", "security_method", "negotiated"}
		var rows [][]string
		for _, cp := range p.Configured {
			offers := cp.Offers
			if len(offers) == 0 {
				offers = []string{"(the source lists no algorithms)"}
			}
			for j, o := range offers {
				neg := ""
				if j < len(cp.PerOffer) && cp.PerOffer[j] > 0 {
					neg = fmt.Sprintf("yes: %d SA pair(s)", cp.PerOffer[j])
				}
				rows = append(rows, []string{cp.Name, strconv.Itoa(j + 1), o, neg})
			}
			for _, c := range cp.NotOffered {
				rows = append(rows, []string{cp.Name, "-", c, "negotiated, NOT offered"})
			}
		}
		if err := writeRows(w, f, header, keys, rows, nil); err != nil {
			return err
		}
		if f != report.Table {
			return nil
		}
		io.WriteString(w, "\nPhase 2 offers seen in the capture:\n")
	}
	if f == report.JSON {
		type out struct {
			Name string `json:"name"`
			ikestate.Policy
		}
		var objs []out
		for i, p := range r.Snap.Policies {
			objs = append(objs, out{fmt.Sprintf("policy %d", i+1), p})
		}
		b, err := json.MarshalIndent(objs, "", "  ")
		if err != nil {
			return err
		}
		if objs == nil {
			b = []byte("[]")
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	header := []string{"Policy", "Preference", "Protocol", "Encryption", "Integrity", "PFS", "Mode", "Lifetime", "Chosen", "Negotiations", "Peers"}
	keys := []string{"policy", "preference", "protocol", "encryption", "integrity", "pfs", "mode", "lifetime", "chosen", "negotiations", "peers"}
	var rows [][]string
	for i, p := range r.Snap.Policies {
		var peers []string
		for _, a := range p.Peers {
			peers = append(peers, a.Addr().String())
		}
		for j, m := range p.Offered {
			enc, integ, pfs := methodText(m)
			chosen := ""
			for _, c := range p.Chosen {
				if methodMatches(c, m) {
					chosen = "yes"
				}
			}
			life := ""
			if m.LifeSeconds > 0 {
				life = fmt.Sprintf("%ds", m.LifeSeconds)
			}
			if m.LifeKilobytes > 0 {
				life = strings.TrimPrefix(life+fmt.Sprintf("/%dKB", m.LifeKilobytes), "/")
			}
			rows = append(rows, []string{fmt.Sprintf("policy %d", i+1), strconv.Itoa(j + 1), m.Protocol, orDash(enc), orDash(integ), orDash(pfs), orDash(m.Mode), orDash(life), chosen,
				strconv.Itoa(len(p.Negotiations)), strings.Join(dedupe(peers), ", ")})
		}
	}
	if len(rows) == 0 && f == report.Table {
		_, err := io.WriteString(w, "No phase 2 negotiation with visible offers in the input (IKEv2 and IKEv1 Quick Mode offers need the IKE keys).\n")
		return err
	}
	return writeRows(w, f, header, keys, rows, nil)
}

// methodMatches reports whether a chosen method is one of an offered
// method's alternatives.
func methodMatches(chosen, offered ikestate.Method) bool {
	in := func(v []string, set []string) bool {
		if len(v) == 0 {
			return true
		}
		for _, s := range set {
			if s == v[0] {
				return true
			}
		}
		return len(set) == 0
	}
	return chosen.Protocol == offered.Protocol && in(chosen.Encryption, offered.Encryption) && in(chosen.Integrity, offered.Integrity) && in(chosen.PFS, offered.PFS)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// runEvents prints the forensic timeline: every IKE message and every SA
// lifecycle event and anomaly, as JSON lines in capture order.
func runEvents(args []string, stdout, stderr io.Writer) int {
	var in inputFlags
	var lf liveFlags
	fs := newFlagSet("events", "Prints the forensic timeline as JSON lines: one per IKE message (decrypted when keys allow)\nand one per SA lifecycle event or anomaly, with capture timestamps and frame numbers.",
		`  ipsecmon events -r gateway.pcap -k keys.txt
  ipsecmon events -r gateway.pcap | jq 'select(.event == "child_sa_negotiated")'
`)
	in.register(fs)
	lf.register(fs)
	if done, st := parseFlags(fs, args, stdout, stderr); done {
		return st
	}
	cfg, _, inputs, err := in.config(fs.Args(), lf.live())
	if err != nil {
		return usageError(stderr, "events", err)
	}
	lf.apply(&cfg, fs)
	cfg.IKEMessageEvents = true
	if in.events == "" {
		in.events = "-"
	}
	if err := in.openLog(stdout, 0); err != nil {
		return usageError(stderr, "events", err)
	}
	_, status := collect(&in, &lf, cfg, inputs, stderr)
	if st := in.closeLog(stderr); st != exitOK {
		status = st
	}
	return status
}
