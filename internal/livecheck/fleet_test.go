package livecheck

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

func TestSelector(t *testing.T) {
	for _, tt := range []struct {
		s    series
		want string
	}{
		{series{"ipsecmon_rekeys_total", ""}, "ipsecmon_rekeys_total"},
		{series{"ipsecmon_tunnel_bytes_total", "direction=sent"}, `ipsecmon_tunnel_bytes_total{direction="sent"}`},
		{series{"ipsecmon_ike_messages_total", labelsOf("version", "2")}, `ipsecmon_ike_messages_total{version="2"}`},
	} {
		if got := selector(tt.s); got != tt.want {
			t.Errorf("selector(%v) = %s, want %s", tt.s, got, tt.want)
		}
	}
}

// A tunnel's identity leaves out what changes with the direction or the
// target, and keeps what a rekey must not change.
func TestIdentity(t *testing.T) {
	a := model.LabelSet{"__name__": "ipsecmon_tunnel_accepted_packets_total", "direction": "sent", "instance": "127.0.0.1:29477",
		"job": "ipsecmon", "gateway": "bob", "local": "198.51.100.2", "remote": "198.51.100.1", "protocol": "esp"}
	b := a.Clone()
	b["__name__"], b["direction"] = "ipsecmon_tunnel_rekeys_total", ""
	delete(b, "direction")
	if identity(a) != identity(b) || identity(a) != "local=198.51.100.2,protocol=esp,remote=198.51.100.1" {
		t.Errorf("identities %q and %q", identity(a), identity(b))
	}
	c := a.Clone()
	c["spi"] = "0x1"
	if identity(c) == identity(a) {
		t.Error("an spi label does not change the identity")
	}
}

// Event log lines are compared on kind, SPI and source; a line that is not
// schema version 1 JSON is a problem.
func TestEventKeys(t *testing.T) {
	in := `{"schema_version":1,"event":{"action":"sa_added"},"ipsec":{"spi":"0x00000001"},"source":{"ip":"192.0.2.1"}}
{"schema_version":1,"event":{"action":"rekey"}}
{"schema_version":2,"event":{"action":"x"}}
{"half
`
	keys, probs, err := eventKeys([]byte(in), "f")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, "|") != "sa_added 0x00000001 192.0.2.1|rekey  |x  " {
		t.Errorf("keys %q", keys)
	}
	if len(probs) != 2 || !strings.Contains(probs[0], "line 3: schema_version 2") || !strings.Contains(probs[1], "line 4") {
		t.Errorf("problems %q", probs)
	}
}
