package eventlog_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"ipsecmon/analyzer"
	"ipsecmon/event"
	"ipsecmon/eventlog"
	"ipsecmon/ikestate"
	"ipsecmon/internal/captest"
	"ipsecmon/internal/lab/facts"
	"ipsecmon/internal/testcorpus"
)

func root(t *testing.T) string {
	r, err := testcorpus.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	return r
}

// schema compiles the documented schema, with formats (date-time, ipv4,
// ipv6) asserted.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join(root(t), "contrib", "events", "ipsecmon-event.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, line []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s\ndoes not match the schema: %v", line, err)
	}
}

// labEvents runs a lab recording through the analyzer with its keys and
// IKE message events (as `ipsecmon events -k` does) and returns each
// event's line.
func labEvents(t *testing.T, dir string) [][]byte {
	t.Helper()
	var lines [][]byte
	captest.Recording(t, dir, analyzer.Config{IKEMessageEvents: true, OnEvent: func(e analyzer.Event) {
		b, err := eventlog.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}})
	return lines
}

// Every event of every lab recording (strongSwan's real exchanges, IKEv1
// and IKEv2, NAT, failures, loss, rekeys) matches the documented schema,
// checked by an independent JSON Schema validator; so does a hand-built
// event of each kind no recording has.
func TestEventsMatchSchema(t *testing.T) {
	s := schema(t)
	dirs := testcorpus.LabRecordings(t)
	seen := map[string]bool{}
	total := 0
	for _, dir := range dirs {
		for _, line := range labEvents(t, dir) {
			validate(t, s, line)
			var r struct {
				Event struct{ Action string }
			}
			json.Unmarshal(line, &r)
			seen[r.Event.Action] = true
			total++
		}
	}
	for _, e := range handBuilt() {
		b, err := eventlog.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, s, b)
		seen[e.Kind.String()] = true
	}
	for _, k := range event.All() {
		if !seen[k.String()] {
			t.Errorf("no %s event validated", k)
		}
	}
	t.Logf("%d events of %d recordings validated", total, len(dirs))
}

var at = time.Date(2026, 11, 27, 10, 0, 0, 5e8, time.UTC)

// handBuilt are events of the kinds the lab's recordings do not raise.
func handBuilt() []analyzer.Event {
	sa := &analyzer.EventSA{SPI: "0x0000abcd", Protocol: "esp", Src: "192.0.2.1", Dst: "192.0.2.2", SrcPort: 4500, DstPort: 4500}
	ah := &analyzer.EventSA{SPI: "0x00001234", Protocol: "ah", Src: "2001:db8::1", Dst: "2001:db8::2"}
	flow := &analyzer.EventSA{Protocol: "6", Src: "10.0.0.1", Dst: "10.0.0.2", SrcPort: 40000, DstPort: 80}
	var out []analyzer.Event
	for _, k := range []event.Kind{event.Replay, event.AuthenticationFailure, event.DecryptionFailure, event.BadSPI, event.SAEvicted, event.KeyUnusable, event.SAAdded} {
		out = append(out, analyzer.Event{Time: at, Kind: k, SA: sa, Count: 2, Source: "lab0", Frame: 9, Detail: "hand-built"})
	}
	out = append(out,
		analyzer.Event{Time: at, Kind: event.Replay, SA: ah, Count: 1},
		analyzer.Event{Time: at, Kind: event.PolicyViolation, SA: flow, Count: 1, Detail: "block filter"},
		analyzer.Event{Time: at, Kind: event.SATableFull, Detail: "--max-sas 10 reached"},
		analyzer.Event{Time: at, Kind: event.MessageError, IKE: &ikestate.Event{Time: at, Kind: event.MessageError, Error: "isakmp: payload 3: short",
			Message: &ikestate.MessageInfo{Src: netip.MustParseAddrPort("192.0.2.1:500"), Dst: netip.MustParseAddrPort("192.0.2.2:500"), Version: 1, Exchange: "Main Mode"}}},
		analyzer.Event{Time: at, Kind: event.IKESAFailed, IKE: &ikestate.Event{Time: at, Kind: event.IKESAFailed, Reason: "NO_PROPOSAL_CHOSEN",
			IKESA: &ikestate.IKESA{IKESARef: ikestate.IKESARef{ID: 1, Version: 2}, Initiator: netip.MustParseAddrPort("192.0.2.1:500"), Responder: netip.MustParseAddrPort("192.0.2.2:500")}}},
		analyzer.Event{Time: at, Kind: event.IKEKeysMismatch, IKE: &ikestate.Event{Time: at, Kind: event.IKEKeysMismatch,
			IKESA: &ikestate.IKESA{IKESARef: ikestate.IKESARef{ID: 1, Version: 2}, Initiator: netip.MustParseAddrPort("192.0.2.1:4500"), Responder: netip.MustParseAddrPort("192.0.2.2:4500")}}},
		analyzer.Event{Time: at, Kind: event.ChildSAExpired, IKE: &ikestate.Event{Time: at, Kind: event.ChildSAExpired,
			Child: &ikestate.ChildSA{ID: 3, IKESA: ikestate.IKESARef{ID: 1, Version: 1}, Version: 1, Exchange: "Quick Mode", Proto: 51, SPIInitiator: 7, SPIResponder: 8,
				Mode: ikestate.ModeTransport, Initiator: netip.MustParseAddrPort("192.0.2.1:500"), Responder: netip.MustParseAddrPort("192.0.2.2:500")}}},
	)
	return out
}

// The mapping onto ECS and the ipsec fields, on hand-built events, against
// records written out by hand from the schema's field descriptions.
func TestRecordFields(t *testing.T) {
	evs := handBuilt()
	for _, tt := range []struct {
		e    analyzer.Event
		want string
	}{
		{evs[3], `{"@timestamp":"2026-11-27T10:00:00.5Z","schema_version":1,"ecs":{"version":"8.11.0"},
			"event":{"kind":"alert","category":["network"],"type":["denied"],"action":"bad_spi","outcome":"failure","reason":"hand-built","module":"ipsecmon","dataset":"ipsecmon.events"},
			"source":{"ip":"192.0.2.1","port":4500},"destination":{"ip":"192.0.2.2","port":4500},
			"network":{"transport":"udp","iana_number":"17"},"related":{"ip":["192.0.2.1","192.0.2.2"]},
			"ipsec":{"protocol":"esp","spi":"0x0000abcd"},"ipsecmon":{"input":"lab0","frame":9,"count":2}}`},
		{evs[7], `{"@timestamp":"2026-11-27T10:00:00.5Z","schema_version":1,"ecs":{"version":"8.11.0"},
			"event":{"kind":"alert","category":["network"],"type":["denied"],"action":"replay","outcome":"failure","module":"ipsecmon","dataset":"ipsecmon.events"},
			"source":{"ip":"2001:db8::1"},"destination":{"ip":"2001:db8::2"},
			"network":{"transport":"ah","iana_number":"51"},"related":{"ip":["2001:db8::1","2001:db8::2"]},
			"ipsec":{"protocol":"ah","spi":"0x00001234"},"ipsecmon":{"count":1}}`},
		{evs[8], `{"@timestamp":"2026-11-27T10:00:00.5Z","schema_version":1,"ecs":{"version":"8.11.0"},
			"event":{"kind":"alert","category":["network"],"type":["info"],"action":"policy_violation","reason":"block filter","module":"ipsecmon","dataset":"ipsecmon.events"},
			"source":{"ip":"10.0.0.1","port":40000},"destination":{"ip":"10.0.0.2","port":80},
			"network":{"transport":"tcp","iana_number":"6"},"related":{"ip":["10.0.0.1","10.0.0.2"]},"ipsecmon":{"count":1}}`},
		{evs[9], `{"@timestamp":"2026-11-27T10:00:00.5Z","schema_version":1,"ecs":{"version":"8.11.0"},
			"event":{"kind":"event","category":["network"],"type":["info"],"action":"sa_table_full","outcome":"failure","reason":"--max-sas 10 reached","module":"ipsecmon","dataset":"ipsecmon.events"},
			"ipsecmon":{}}`},
	} {
		b, err := eventlog.Marshal(tt.e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, []byte("}\n")) || bytes.Count(b, []byte("\n")) != 1 {
			t.Errorf("%s: not one line", b)
		}
		var got, want any
		json.Unmarshal(b, &got)
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.e.Kind, b, tt.want)
		}
	}
}

// The pair, IKE SA and endpoints of every CHILD SA event of the lab's
// recordings are those strongSwan reported (facts.json, from the daemons'
// logs and VICI, not from ipsecmon): source the initiator's address,
// ipsec.initiator_spi the SPI the initiator receives on, ike.init_spi and
// resp_spi its IKE SA's.
func TestChildEventsAgreeWithDaemons(t *testing.T) {
	checked := 0
	for _, dir := range testcorpus.LabRecordings(t) {
		f, err := facts.Read(filepath.Join(dir, "facts.json"))
		if err != nil {
			t.Fatal(err)
		}
		addr := map[string]string{}
		for _, pe := range f.Peers {
			addr[pe.Name] = pe.LinkAddress // as the captured link sees it (after a NAT)
		}
		ikes := map[string]facts.IKESA{}
		for _, s := range f.IKESAs {
			ikes[s.ID] = s
		}
		byInitSPI := map[string]facts.ChildSA{}
		for _, c := range f.ChildSAs {
			byInitSPI[c.SPIs[c.Initiator].In] = c
		}
		for _, line := range labEvents(t, dir) {
			var r struct {
				Event               eventlog.Event
				Source, Destination eventlog.Endpoint
				IPsec               eventlog.IPsec
				IKE                 eventlog.IKE
			}
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			if r.Event.Action != "child_sa_negotiated" && r.Event.Action != "child_sa_rekeyed" {
				continue
			}
			name := filepath.Base(dir)
			c, ok := byInitSPI[r.IPsec.InitiatorSPI]
			if !ok {
				t.Errorf("%s: %s: initiator SPI %s is no child SA's the daemons reported", name, r.Event.Action, r.IPsec.InitiatorSPI)
				continue
			}
			ike := ikes[c.IKESA]
			// The IKE SA: IKEv2's CHILD SAs may move to a rekeyed IKE SA;
			// the event names the one that negotiated the pair.
			if r.IPsec.ResponderSPI != c.SPIs[other(c)].In || r.Source.IP != addr[c.Initiator] || r.Destination.IP != addr[other(c)] ||
				r.IKE.InitSPI != ike.SPIi || r.IKE.RespSPI != ike.SPIr || r.IPsec.Protocol != c.Protocol {
				t.Errorf("%s: %s\ndisagrees with the daemons' %s (%+v, IKE SA %s %s/%s)", name, line, c.ID, c.SPIs, ike.ID, ike.SPIi, ike.SPIr)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("%d CHILD SA events checked; the recordings should give more", checked)
	}
}

func other(c facts.ChildSA) string {
	for p := range c.SPIs {
		if p != c.Initiator {
			return p
		}
	}
	return ""
}

// Every kind has an ECS class, and only the event.type values ECS expects
// with category network.
func TestEveryKindClassified(t *testing.T) {
	allowed := []string{"access", "allowed", "connection", "denied", "end", "info", "protocol", "start"}
	for _, k := range event.All() {
		r := eventlog.FromEvent(analyzer.Event{Time: at, Kind: k})
		if r.Event.Kind == "" || len(r.Event.Type) == 0 {
			t.Errorf("%s: no ECS class", k)
		}
		for _, ty := range r.Event.Type {
			if !slices.Contains(allowed, ty) {
				t.Errorf("%s: event.type %q is not one ECS expects for network", k, ty)
			}
		}
		if r.Event.Action != k.String() || strings.ToLower(r.Event.Action) != r.Event.Action {
			t.Errorf("%s: action %q", k, r.Event.Action)
		}
	}
}
