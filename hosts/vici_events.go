package hosts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// FormatViciEvents is a log of strongSwan VICI events, one JSON object per
// line: {"time": ..., "event": "child-updown", "data": {<the VICI message>}},
// as `ipsecmon-lab events` records them (keys in VICI order). SAs deleted or
// rekeyed before a `swanctl --list-sas` listing are gone from it; their
// final counters are in the child-updown and child-rekey events.
const FormatViciEvents = "vici-events-jsonl"

func detectViciEvents(data []byte) bool {
	line, _, _ := bytes.Cut(bytes.TrimSpace(data), []byte("\n"))
	return bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte(`"event"`)) && bytes.Contains(line, []byte(`"data"`))
}

// parseViciEvents keeps, for each SA, the entry with the highest counters:
// counters only grow, and an SA appears again in later events.
func parseViciEvents(name string, data []byte) (*Snapshot, error) {
	s := &Snapshot{Source: name, Format: FormatViciEvents}
	best := map[[3]uint64]int{}
	for i, line := range lines(data) {
		n := i + 1
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return nil, errorf(name, n, "not a JSON event: %v", err)
		}
		switch ev.Event {
		case "ike-updown", "child-updown", "ike-rekey", "child-rekey", "list-sa":
		default:
			continue
		}
		sec, err := jsonSection(json.NewDecoder(bytes.NewReader(ev.Data)))
		if err != nil {
			return nil, errorf(name, n, "event %s: %v", ev.Event, err)
		}
		if ev.Event == "ike-rekey" || ev.Event == "child-rekey" {
			// Rekey events wrap the IKE SA sections one level deeper: {"old": ..., "new": ...}.
			expandRekey(sec)
		}
		var one Snapshot
		if err := viciListSA(&one, sec, name, n); err != nil {
			return nil, err
		}
		// A child-updown without up=yes reports SAs going down, with their
		// final counters; the host no longer has them after it.
		down := ev.Event == "child-updown" && sec.str("up") != "yes"
		for _, sa := range one.SAs {
			sa.FromEvent = true
			if down {
				sa.State = "DELETED"
			}
			k := [3]uint64{uint64(sa.Proto), uint64(sa.SPI), uint64(sa.Dir)}
			if j, ok := best[k]; ok {
				// Later events win ties: they carry the later state.
				if deref(sa.Packets) >= deref(s.SAs[j].Packets) {
					s.SAs[j] = sa
				}
				continue
			}
			best[k] = len(s.SAs)
			s.SAs = append(s.SAs, sa)
		}
	}
	return s, nil
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// expandRekey lifts the SAs of a rekey event ({ike: {child-sas: {child: {old, new}}}}
// or {ike: {old, new}}) so that viciListSA sees them as listed SAs.
func expandRekey(sec *viciSection) {
	for _, ikeName := range sec.keys {
		ike := sec.sub(ikeName)
		if ike == nil {
			continue
		}
		if cs := ike.sub("child-sas"); cs != nil {
			flat := newViciSection()
			for _, cn := range cs.keys {
				c := cs.sub(cn)
				if c == nil {
					continue
				}
				if c.sub("old") == nil && c.sub("new") == nil {
					flat.set(cn, c)
					continue
				}
				for _, part := range []string{"old", "new"} {
					if p := c.sub(part); p != nil {
						flat.set(cn+"-"+part, p)
					}
				}
			}
			ike.set("child-sas", flat)
		}
	}
}

// jsonSection reads a JSON object into a section tree, keeping key order.
func jsonSection(d *json.Decoder) (*viciSection, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("want an object, got %v", t)
	}
	sec := newViciSection()
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		v, err := jsonValue(d)
		if err != nil {
			return nil, err
		}
		sec.set(k, v)
	}
	_, err = d.Token() // '}'
	return sec, err
}

func jsonValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			sec := newViciSection()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				val, err := jsonValue(d)
				if err != nil {
					return nil, err
				}
				sec.set(k, val)
			}
			_, err := d.Token()
			return sec, err
		case '[':
			var list []string
			for d.More() {
				et, err := d.Token()
				if err != nil {
					return nil, err
				}
				list = append(list, fmt.Sprint(et))
			}
			_, err := d.Token()
			return list, err
		}
		return nil, fmt.Errorf("unexpected %v", v)
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	return fmt.Sprint(t), nil
}
