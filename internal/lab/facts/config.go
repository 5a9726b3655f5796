package facts

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"ipsecmon/internal/lab/vicimsg"
)

// PeerConfig is what a peer was configured with: its connections as its
// daemon listed them after loading (VICI list-conns) and the lines the
// scenario added to charon's section of strongswan.conf (NAT-T keepalive
// interval, Aggressive Mode PSK acceptance). Proposals are not listed by
// list-conns; what was negotiated is in ike_sas[].suite and child_sas[].suite.
type PeerConfig struct {
	Peer          string       `json:"peer"`
	CharonOptions []string     `json:"charon_options"`
	Connections   []ConnConfig `json:"connections"`
}

// ConnConfig is one connection (swanctl.conf connections.<name>).
type ConnConfig struct {
	Name    string `json:"name"`
	Version string `json:"version"` // IKEv1, IKEv2
	// DPDDelaySeconds: interval of liveness checks when nothing arrives
	// from the peer (RFC 3706 for IKEv1, RFC 7296 §2.4); 0 = off.
	DPDDelaySeconds   int           `json:"dpd_delay_s"`
	RekeyTimeSeconds  int           `json:"rekey_time_s"`
	ReauthTimeSeconds int           `json:"reauth_time_s"`
	Children          []ChildConfig `json:"children"`
}

// ChildConfig is one CHILD SA configuration of a connection.
type ChildConfig struct {
	Name             string   `json:"name"`
	Mode             string   `json:"mode"`
	RekeyTimeSeconds int      `json:"rekey_time_s"`
	DPDAction        string   `json:"dpd_action"`
	CloseAction      string   `json:"close_action"`
	LocalTS          []string `json:"local_ts"`
	RemoteTS         []string `json:"remote_ts"`
}

// ReadCharonOptions reads the lab's <peer>-charon-options.txt (one line each).
func ReadCharonOptions(r io.Reader) ([]string, error) {
	out := []string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func connConfigs(evs []vicimsg.Event) ([]ConnConfig, error) {
	out := []ConnConfig{}
	for _, e := range evs {
		if e.Name != "list-conn" {
			continue
		}
		for _, name := range e.Data.Subs() {
			c := e.Data.Sub(name)
			cc := ConnConfig{Name: name, Version: c.Str("version"), Children: []ChildConfig{}}
			var err error
			if cc.DPDDelaySeconds, err = optSeconds(c, "dpd_delay"); err != nil {
				return nil, fmt.Errorf("connection %s: %w", name, err)
			}
			if cc.RekeyTimeSeconds, err = optSeconds(c, "rekey_time"); err != nil {
				return nil, fmt.Errorf("connection %s: %w", name, err)
			}
			if cc.ReauthTimeSeconds, err = optSeconds(c, "reauth_time"); err != nil {
				return nil, fmt.Errorf("connection %s: %w", name, err)
			}
			ch := c.Sub("children")
			for _, cn := range ch.Subs() {
				x := ch.Sub(cn)
				k := ChildConfig{Name: cn, Mode: strings.ToLower(x.Str("mode")), DPDAction: x.Str("dpd_action"),
					CloseAction: x.Str("close_action"), LocalTS: x.List("local-ts"), RemoteTS: x.List("remote-ts")}
				if k.RekeyTimeSeconds, err = optSeconds(x, "rekey_time"); err != nil {
					return nil, fmt.Errorf("connection %s child %s: %w", name, cn, err)
				}
				cc.Children = append(cc.Children, k)
			}
			sort.Slice(cc.Children, func(i, j int) bool { return cc.Children[i].Name < cc.Children[j].Name })
			out = append(out, cc)
		}
	}
	return out, nil
}

// optSeconds reads a number of seconds that list-conns omits when 0.
func optSeconds(s *vicimsg.Section, key string) (int, error) {
	v := s.Str(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s = %q: %w", key, v, err)
	}
	return n, nil
}

func (b *builder) config() error {
	for _, p := range PeerNames {
		pc, ok := b.in.Config[p]
		if !ok {
			continue
		}
		b.f.Config = append(b.f.Config, pc)
	}
	return nil
}
