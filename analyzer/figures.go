package analyzer

import "encoding/json"

// Figure is one statistic: a number, or "the input cannot tell" (null in
// JSON, n/a in tables). A figure that is a sum over SAs may be Partial: the
// number covers only what is known and Note says what was left out.
type Figure struct {
	Value uint64
	Known bool
	Note  string
	// Inferred: not Known, but Value is what the cleartext headers suggest
	// (e.g. IKEv2 exchanges completed without keys). JSON still says null
	// for the figure itself and reports the inference separately.
	Inferred bool
}

func known(v uint64) Figure { return Figure{Value: v, Known: true} }

// MarshalJSON writes the value or null.
func (f Figure) MarshalJSON() ([]byte, error) {
	if !f.Known {
		return []byte("null"), nil
	}
	return json.Marshal(f.Value)
}

// UnmarshalJSON reads a value or null.
func (f *Figure) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Figure{}
		return nil
	}
	f.Known = true
	return json.Unmarshal(b, &f.Value)
}

// Stat indexes the Quick Mode Statistics, in the IP Security Monitor's order.
type Stat int

const (
	ActiveSAs Stat = iota
	OffloadedSAs
	PendingKeyOps
	KeyAdditions
	KeyDeletions
	Rekeys
	ActiveTunnels
	BadSPIPackets
	NotDecrypted
	NotAuthenticated
	ReplayDetected
	ConfidentialSent
	ConfidentialReceived
	AuthenticatedSent
	AuthenticatedReceived
	TransportSent
	TransportReceived
	TunnelSent
	TunnelReceived
	OffloadedSent
	OffloadedReceived
	NumStats
)

// StatNames holds each statistic's display name and JSON key.
var StatNames = [NumStats]struct{ Display, Key string }{
	{"Active Security Associations", "active_security_associations"},
	{"Offloaded Security Associations", "offloaded_security_associations"},
	{"Pending Key Operations", "pending_key_operations"},
	{"Key Additions", "key_additions"},
	{"Key Deletions", "key_deletions"},
	{"Rekeys", "rekeys"},
	{"Active Tunnels", "active_tunnels"},
	{"Bad SPI Packets", "bad_spi_packets"},
	{"Packets Not Decrypted", "packets_not_decrypted"},
	{"Packets Not Authenticated", "packets_not_authenticated"},
	{"Packets With Replay Detection", "packets_with_replay_detection"},
	{"Confidential Bytes Sent", "confidential_bytes_sent"},
	{"Confidential Bytes Received", "confidential_bytes_received"},
	{"Authenticated Bytes Sent", "authenticated_bytes_sent"},
	{"Authenticated Bytes Received", "authenticated_bytes_received"},
	{"Transport Bytes Sent", "transport_bytes_sent"},
	{"Transport Bytes Received", "transport_bytes_received"},
	{"Bytes Sent In Tunnels", "bytes_sent_in_tunnels"},
	{"Bytes Received In Tunnels", "bytes_received_in_tunnels"},
	{"Offloaded Bytes Sent", "offloaded_bytes_sent"},
	{"Offloaded Bytes Received", "offloaded_bytes_received"},
}
