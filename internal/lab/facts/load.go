package facts

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"ipsecmon/internal/lab/charonlog"
	"ipsecmon/internal/lab/traffic"
	"ipsecmon/internal/lab/vicimsg"
)

// The lab's two peers; LinkPeer sits on the captured link, so its view of
// addresses and ports is the one on the wire.
const (
	Initiator = "alice"
	LinkPeer  = "bob"
)

// PeerNames are the peers in the order facts list them.
var PeerNames = []string{Initiator, LinkPeer}

// Snapshot is one `swanctl --list-sas --raw` output.
type Snapshot struct {
	Peer     string
	Tag      string // before, after, round1, ...
	File     string
	Messages []vicimsg.RawMessage
}

// Input is everything a lab run left in its work directory.
type Input struct {
	Scenario, Description, Topology string
	StrongSwan                      string
	Logs                            map[string]*charonlog.Log
	Events                          map[string][]vicimsg.Event
	Snapshots                       []Snapshot
	Traffic                         []traffic.Report
	CaptureStart, CaptureEnd        time.Time
	// Tunnels are the peers whose tunnel device was recorded (TunnelFile).
	Tunnels []string
	// Relay and Filter: the routed topology's relay log and the router's
	// packet filter with counters (nil without that topology).
	Relay  *RelayLog
	Filter []FilterRule
	// Config per peer, when the run listed the daemons' connections.
	Config map[string]PeerConfig
	// Signals the lab sent to the daemons (steps.log), in order.
	Signals []Signal
}

// errNoEnd: steps.log lacks a capture mark (a running scenario has no end yet).
var errNoEnd = errors.New("no capture-start/capture-end marks")

var (
	reSnapshot = regexp.MustCompile(`^(alice|bob)-list-sas-(.+)-raw\.txt$`)
	reVersion  = regexp.MustCompile(`Starting IKE charon daemon \((strongSwan [^,]+),`)
)

// Load reads a lab work directory (see testdata/lab/scenario.sh).
func Load(dir, scenario, description, topology string) (*Input, error) {
	return load(dir, scenario, description, topology, time.Time{})
}

// LoadRunning reads the work directory of a scenario that is still running:
// steps.log has no capture-end mark yet, so what happened until now counts,
// as if the capture had ended now. The live checks use it to take the keys
// of the SAs negotiated so far (charon flushes every log line).
func LoadRunning(dir, scenario, topology string, now time.Time) (*Input, error) {
	return load(dir, scenario, "", topology, now)
}

func load(dir, scenario, description, topology string, now time.Time) (*Input, error) {
	in := &Input{Scenario: scenario, Description: description, Topology: topology,
		Logs: map[string]*charonlog.Log{}, Events: map[string][]vicimsg.Event{}, Config: map[string]PeerConfig{}}
	for _, p := range PeerNames {
		path := filepath.Join(dir, p, "charon.log")
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		lines, err := charonlog.Parse(f, path)
		f.Close()
		if err != nil && !errors.Is(err, charonlog.ErrTruncated) {
			return nil, err
		}
		for _, l := range lines {
			if m := reVersion.FindStringSubmatch(l.Text); m != nil {
				in.StrongSwan = m[1]
				break
			}
		}
		lg, err := charonlog.Analyze(lines, path)
		if err != nil {
			return nil, err
		}
		in.Logs[p] = lg

		evPath := filepath.Join(dir, p+"-vici-events.jsonl")
		ef, err := os.Open(evPath)
		if err != nil {
			return nil, err
		}
		evs, err := vicimsg.ReadEvents(ef, evPath)
		ef.Close()
		if err != nil {
			return nil, err
		}
		in.Events[p] = evs
		if err := loadConfig(dir, p, in); err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(dir, TunnelFile(p))); err == nil {
			in.Tunnels = append(in.Tunnels, p)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		m := reSnapshot.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		msgs, err := vicimsg.ParseRaw(f, path)
		f.Close()
		if err != nil {
			return nil, err
		}
		in.Snapshots = append(in.Snapshots, Snapshot{Peer: m[1], Tag: m[2], File: e.Name(), Messages: msgs})
	}
	tfiles, _ := filepath.Glob(filepath.Join(dir, "traffic", "*.json"))
	sort.Strings(tfiles)
	for _, p := range tfiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var r traffic.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		in.Traffic = append(in.Traffic, r)
	}
	if err := loadPath(dir, in); err != nil {
		return nil, err
	}
	if in.Signals, err = readSignals(filepath.Join(dir, "steps.log")); err != nil {
		return nil, err
	}
	in.CaptureStart, in.CaptureEnd, err = readSteps(filepath.Join(dir, "steps.log"))
	if errors.Is(err, errNoEnd) && !now.IsZero() && !in.CaptureStart.IsZero() && in.CaptureEnd.IsZero() {
		in.CaptureEnd, err = now, nil
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// loadConfig reads <peer>-list-conns.jsonl and <peer>-charon-options.txt
// when the run wrote them.
func loadConfig(dir, peer string, in *Input) error {
	lp := filepath.Join(dir, peer+"-list-conns.jsonl")
	f, err := os.Open(lp)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	evs, err := vicimsg.ReadEvents(f, lp)
	f.Close()
	if err != nil {
		return err
	}
	pc := PeerConfig{Peer: peer}
	if pc.Connections, err = connConfigs(evs); err != nil {
		return fmt.Errorf("%s: %w", lp, err)
	}
	op := filepath.Join(dir, peer+"-charon-options.txt")
	g, err := os.Open(op)
	if err != nil {
		return err
	}
	pc.CharonOptions, err = ReadCharonOptions(g)
	g.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	in.Config[peer] = pc
	return nil
}

// loadPath reads relay.jsonl and router-iptables.txt when the run had them.
func loadPath(dir string, in *Input) error {
	rp := filepath.Join(dir, "relay.jsonl")
	f, err := os.Open(rp)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	in.Relay, err = ReadRelayLog(f, rp)
	f.Close()
	if err != nil {
		return err
	}
	ip := filepath.Join(dir, "router-iptables.txt")
	g, err := os.Open(ip)
	if err != nil {
		return err
	}
	defer g.Close()
	in.Filter, err = ReadIptablesSave(g, ip)
	return err
}

// readSteps finds the capture-start and capture-end marks of steps.log
// ("<RFC 3339 UTC time> <step>" per line).
func readSteps(path string) (start, end time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return start, end, err
	}
	defer f.Close()
	return ParseSteps(f, path)
}

var reSignal = regexp.MustCompile(`^signal (alice|bob) charon ([A-Z]+)$`)

// readSignals finds the "signal PEER charon SIG" marks of steps.log
// (lib.sh signal_peer).
func readSignals(path string) ([]Signal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Signal
	for i, l := range strings.Split(string(b), "\n") {
		ts, step, ok := strings.Cut(l, " ")
		m := reSignal.FindStringSubmatch(step)
		if !ok || m == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		out = append(out, Signal{Peer: m[1], Signal: m[2], Time: t})
	}
	return out, nil
}

// ParseSteps reads the lab's steps.log; name is used in errors.
func ParseSteps(r io.Reader, name string) (start, end time.Time, err error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		ts, step, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		t, perr := time.Parse(time.RFC3339Nano, ts)
		if perr != nil {
			return start, end, fmt.Errorf("%s:%d: %w", name, n, perr)
		}
		switch step {
		case "capture-start":
			start = t
		case "capture-end":
			end = t
		}
	}
	if err := sc.Err(); err != nil {
		return start, end, fmt.Errorf("%s:%d: %w", name, n, err)
	}
	if start.IsZero() || end.IsZero() {
		return start, end, fmt.Errorf("%s: %w", name, errNoEnd)
	}
	if end.Before(start) {
		return start, end, fmt.Errorf("%s: capture-end before capture-start", name)
	}
	return start, end, nil
}
