// Package facts is the ground truth the lab records beside each capture:
// what two strongSwan daemons negotiated, installed, counted and deleted,
// taken from the daemons themselves (charon's log, VICI events, swanctl
// --list-sas) and never from ipsecmon. facts.json holds no keys; the keys go
// to the key files (package keytables). The schema is documented in
// testdata/pcaps/lab/README.md.
package facts

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"ipsecmon/internal/lab/traffic"
)

// Schema is the version of the facts.json layout.
const Schema = 1

// Facts is one recorded scenario.
type Facts struct {
	Schema      int    `json:"schema"`
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
	StrongSwan  string `json:"strongswan"`
	Topology    string `json:"topology"`
	// CountsSplitByTiming: traffic flowed while SAs were rekeyed, so how
	// many packets each SA of a tunnel carried depends on timing; the
	// tunnels' totals do not (Compare checks only those).
	CountsSplitByTiming bool         `json:"counts_split_by_timing,omitempty"`
	Capture             Capture      `json:"capture"`
	Peers               []Peer       `json:"peers"`
	IKESAs              []IKESA      `json:"ike_sas"`
	ChildSAs            []ChildSA    `json:"child_sas"`
	SPIs                []SPI        `json:"spis"`
	Traffic             []Traffic    `json:"traffic"`
	Negotiations        Negotiations `json:"negotiations"`
	Failed              []Failure    `json:"failed"`
	Pending             []Pending    `json:"pending"`
	// Retransmits are IKE messages a daemon sent again before the end of
	// the capture: the capture holds them twice (tshark cannot decrypt an
	// IKEv1 retransmission, since it chains the CBC IV from the previous
	// message). Timing decides some of them, so Compare ignores this list.
	Retransmits []Retransmit `json:"retransmits"`
	// Tunnels are the CHILD SA lineages (an SA and its rekeyed successors)
	// with the daemons' counters summed per direction.
	Tunnels []Tunnel `json:"tunnels"`
	// Path is what the lab injected between the peers (routed topology only).
	Path *Path `json:"path,omitempty"`
	// Config is what each peer was configured with (VICI list-conns and
	// the scenario's strongswan.conf additions).
	Config []PeerConfig `json:"config,omitempty"`
	// Liveness: each peer's liveness checks (DPD) and NAT-T keepalives
	// before the end of the capture, from its log.
	Liveness []Liveness `json:"liveness,omitempty"`
	// Signals the lab sent to a daemon before the end of the capture
	// (ikev2-pending and ikev2-dead freeze bob with SIGSTOP).
	Signals []Signal `json:"signals,omitempty"`
}

// Retransmit is one IKE message sent again.
type Retransmit struct {
	Peer      string    `json:"peer"`
	IKESA     string    `json:"ike_sa"`
	Kind      string    `json:"kind"` // "request" or "response"
	Exchange  string    `json:"exchange,omitempty"`
	MessageID uint32    `json:"message_id"`
	Time      time.Time `json:"time"`
}

// Capture describes capture.pcap and the tunnel-device captures beside it.
type Capture struct {
	File  string    `json:"file"`
	Link  string    `json:"link"` // where tcpdump ran
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Tunnels are tcpdump's recordings of each peer's libipsec TUN device,
	// running over the same interval as the link capture.
	Tunnels []TunnelCapture `json:"tunnels,omitempty"`
}

// TunnelCapture is one peer's recording of its tunnel device: the inner IP
// packets the host sent into the tunnel (source address one of the peer's
// own inner addresses) and those libipsec delivered from it, link type raw
// IP (LINKTYPE_RAW: each record starts with the IP header).
type TunnelCapture struct {
	Peer     string `json:"peer"`
	File     string `json:"file"`
	Device   string `json:"device"`
	LinkType string `json:"link_type"`
}

// TunnelFile is the name of a peer's tunnel-device recording.
func TunnelFile(peer string) string { return peer + "-ipsec0.pcap" }

// Peer is one of the two strongSwan daemons.
type Peer struct {
	Name string `json:"name"`
	// Address is the peer's own outer address; LinkAddress is how it
	// appears on the captured link (differs behind the NAT).
	Address     string   `json:"address"`
	LinkAddress string   `json:"link_address"`
	Inner       []string `json:"inner"` // local traffic selectors of its CHILD SAs
}

// Endpoint is an IKE endpoint as seen on the captured link.
type Endpoint struct {
	Peer string `json:"peer"`
	Addr string `json:"addr"`
	Port int    `json:"port"`
}

// IKESuite is the negotiated IKE proposal; names are ipsecmon's canonical
// algorithm names (algo package), DH groups strongSwan's in lower case.
type IKESuite struct {
	Enc        string `json:"enc"`
	EncKeyBits int    `json:"enc_key_bits"`
	Integ      string `json:"integ"`
	PRF        string `json:"prf"`
	DHGroup    string `json:"dh_group"`
}

// Deletion says how an SA ended.
type Deletion struct {
	Time time.Time `json:"time"`
	// Reason: "delete" (a Delete payload), "expiry" (hard lifetime; IKEv1
	// still sends a Delete), "with-ike-sa" (IKEv2: closed implicitly when
	// its IKE SA was deleted), "rekey" (an IKE SA replaced by a rekey).
	Reason        string `json:"reason"`
	By            string `json:"by,omitempty"` // the peer that started it
	DeletePayload bool   `json:"delete_payload"`
}

// IKESA is an IKEv1 ISAKMP SA or an IKEv2 IKE SA.
type IKESA struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	// Exchange: IKEv1 "main" or "aggressive"; IKEv2 "IKE_SA_INIT", or
	// "CREATE_CHILD_SA" for an SA created by rekeying another.
	Exchange    string    `json:"exchange"`
	SPIi        string    `json:"spi_i"` // IKEv1: initiator cookie
	SPIr        string    `json:"spi_r"` // IKEv1: responder cookie
	Initiator   Endpoint  `json:"initiator"`
	Responder   Endpoint  `json:"responder"`
	NATT        bool      `json:"udp_encap"` // IKE moved to port 4500 (RFC 3947, RFC 7296 §2.23)
	Suite       IKESuite  `json:"suite"`
	Auth        string    `json:"auth"`
	Established time.Time `json:"established"`
	Replaces    string    `json:"replaces,omitempty"`
	ReplacedBy  string    `json:"replaced_by,omitempty"`
	Deleted     *Deletion `json:"deleted,omitempty"` // nil: alive at the end of the capture
}

// ChildSuite is the negotiated CHILD SA proposal.
type ChildSuite struct {
	Enc        string `json:"enc"`
	EncKeyBits int    `json:"enc_key_bits"`
	Integ      string `json:"integ"`
	ESN        bool   `json:"esn"`
	PFSGroup   string `json:"pfs_group,omitempty"`
}

// PeerSPIs are a CHILD SA's SPIs as one peer names them.
type PeerSPIs struct {
	In  string `json:"in"`
	Out string `json:"out"`
}

// Selectors are one peer's traffic selectors.
type Selectors struct {
	Local  []string `json:"local"`
	Remote []string `json:"remote"`
}

// ChildSA is a CHILD SA (IKEv1: the SA pair of a Quick Mode).
type ChildSA struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	IKESA string `json:"ike_sa"` // the IKE SA that negotiated it
	// MovedTo is the IKE SA that owned it last, when an IKE SA rekey moved
	// it to the new IKE SA (RFC 7296 §2.18).
	MovedTo    string               `json:"moved_to,omitempty"`
	Protocol   string               `json:"protocol"`
	Mode       string               `json:"mode"`
	UDPEncap   bool                 `json:"udp_encap"`
	Exchange   string               `json:"exchange"` // IKE_AUTH, CREATE_CHILD_SA or QUICK_MODE
	MessageID  uint32               `json:"message_id"`
	Initiator  string               `json:"initiator"` // peer that started the exchange
	SPIs       map[string]PeerSPIs  `json:"spis"`
	Suite      ChildSuite           `json:"suite"`
	Selectors  map[string]Selectors `json:"selectors"`
	Created    time.Time            `json:"created"`
	Replaces   string               `json:"replaces,omitempty"`
	ReplacedBy string               `json:"replaced_by,omitempty"`
	Deleted    *Deletion            `json:"deleted,omitempty"` // nil: alive at the end of the capture
}

// Counter is one daemon's count for one SPI.
type Counter struct {
	Side    string `json:"side"` // "in" or "out" at that peer
	Packets uint64 `json:"packets"`
	// Bytes as the daemon counts them: libipsec counts the inner
	// (plaintext) IP packet length in both directions.
	Bytes  uint64 `json:"bytes"`
	Source string `json:"source"` // the observation the figure comes from
}

// SPI is one direction of a CHILD SA on the captured link.
type SPI struct {
	SPI      string             `json:"spi"` // 0x%08x
	Protocol string             `json:"protocol"`
	Src      string             `json:"src"`
	Dst      string             `json:"dst"`
	SrcPort  int                `json:"src_port,omitempty"` // UDP encapsulation (RFC 3948)
	DstPort  int                `json:"dst_port,omitempty"`
	From     string             `json:"from"` // sending peer
	Child    string             `json:"child"`
	Counters map[string]Counter `json:"counters"`
	// Sent is what the sender sent on the SPI: its own outbound counter,
	// or, with a path relay, what the relay forwarded (charon's last
	// reading of an SA closed while traffic flowed can miss the packets
	// sent after it; libipsec reports 0 for an outbound SA replaced by a
	// rekey its host initiated).
	Sent Amount `json:"sent"`
	// Path is what the lab's path did to this SPI's packets (routed
	// topology only).
	Path *SPIPath `json:"path,omitempty"`
	// Uncounted: what the sender sent less what the path dropped
	// less the receiver's inbound count (absent when 0): packets that
	// reached the receiver's host after its daemon last read the SA's
	// counters. charon reads them when it closes an SA, just before
	// removing it; a packet arriving then is delivered or, once the SA is
	// gone, discarded, but not counted either way. In the lab this happens
	// around IKEv2 CHILD SA rekeys: the rekey's initiator closes its old
	// inbound SA as soon as the rekey completes, while the responder sends
	// on the old SA until the initiator's Delete reaches it.
	Uncounted *Amount `json:"uncounted_by_receiver,omitempty"`
}

// To is the receiving peer of the SPI.
func (s SPI) To() string {
	for p := range s.Counters {
		if p != s.From {
			return p
		}
	}
	return ""
}

// Amount counts packets and their inner bytes.
type Amount struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Traffic is one run of the lab's traffic generator.
type Traffic struct {
	Seq int `json:"seq"`
	traffic.Report
}

// Negotiations are totals over the capture.
type Negotiations struct {
	IKECompleted int `json:"ike_completed"` // IKE SAs established, rekeys included
	IKERekeyed   int `json:"ike_rekeyed"`
	IKEDeleted   int `json:"ike_deleted"`
	// ChildCompleted counts key additions: every CHILD SA established,
	// the one created with IKE_AUTH and rekeys included.
	ChildCompleted int            `json:"child_completed"`
	ChildCreated   int            `json:"child_created"`
	ChildRekeyed   int            `json:"child_rekeyed"`
	ChildDeleted   map[string]int `json:"child_deleted"` // by Deletion.Reason
	ChildAliveEnd  int            `json:"child_alive_at_end"`
	Failed         int            `json:"failed"`
	Pending        int            `json:"pending"` // key negotiations among pending (INFORMATIONAL requests aside)
}

// Failure is a CHILD SA negotiation that failed.
type Failure struct {
	IKESA     string `json:"ike_sa"`
	Exchange  string `json:"exchange"`
	MessageID uint32 `json:"message_id"`
	Initiator string `json:"initiator"`
	Child     string `json:"child,omitempty"` // the initiator's CHILD SA config name
	Notify    string `json:"notify"`          // as the initiator received it
	// ResponderReasons are the responder's own log lines explaining it.
	ResponderReasons []string  `json:"responder_reasons,omitempty"`
	Time             time.Time `json:"time"`
}

// Pending is an exchange started before the end of the capture and not
// answered by then.
type Pending struct {
	IKESA       string    `json:"ike_sa"`
	Exchange    string    `json:"exchange"`
	MessageID   uint32    `json:"message_id"`
	Initiator   string    `json:"initiator"`
	Child       string    `json:"child,omitempty"`
	Sent        time.Time `json:"sent"`
	Retransmits int       `json:"retransmits"` // before the end of the capture
}

// Read loads a facts.json file.
func Read(path string) (*Facts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f Facts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %d, this program reads %d", path, f.Schema, Schema)
	}
	return &f, nil
}

// Write stores f as indented JSON.
func Write(path string, f *Facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
