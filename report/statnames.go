package report

import (
	"fmt"

	"ipsecmon/analyzer"
)

// StatNames holds each statistic's display name (the IP Security Monitor's
// wording) and JSON key.
var StatNames = [analyzer.NumStats]struct{ Display, Key string }{
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

// ikeNeeds is what each IKE lifecycle figure needs the decrypted
// negotiations for.
var ikeNeeds = map[analyzer.Stat]string{
	analyzer.PendingKeyOps: "telling pending negotiations",
	analyzer.KeyAdditions:  "counting completed negotiations",
	analyzer.KeyDeletions:  "seeing Delete payloads",
	analyzer.Rekeys:        "telling rekeys",
}

// transitKind is what each byte figure counts, for its note on the SAs
// between other hosts it leaves out.
var transitKind = map[analyzer.Stat]string{
	analyzer.ConfidentialSent: "ESP", analyzer.ConfidentialReceived: "ESP",
	analyzer.AuthenticatedSent: "AH", analyzer.AuthenticatedReceived: "AH",
	analyzer.TransportSent: "transport-mode", analyzer.TransportReceived: "transport-mode",
	analyzer.TunnelSent: "tunnel-mode", analyzer.TunnelReceived: "tunnel-mode",
}

// NoteText words why statistic s is missing or partial ("" when it is whole).
func NoteText(s analyzer.Stat, f analyzer.Figure) string {
	switch f.Why {
	case analyzer.WhyTransit:
		return fmt.Sprintf("excludes %d bytes of %d %s SAs between other hosts", f.N, f.M, transitKind[s])
	case analyzer.WhyModeNeedsKeys:
		return "the mode of ESP SAs is not visible without keys"
	case analyzer.WhyUnknownMode:
		return fmt.Sprintf("excludes %d bytes of %d SAs of unknown mode (ESP whose packets were not decrypted)", f.N, f.M)
	case analyzer.WhyNoneMine:
		return fmt.Sprintf("no SA has an endpoint in --me: excludes %d bytes of %d SAs between other hosts", f.N, f.M)
	case analyzer.WhyModeNoKeyMatches:
		return "the mode of ESP SAs needs their keys: no usable key given is for them"
	case analyzer.WhyModeKeysFailed:
		return fmt.Sprintf("the mode of ESP SAs is not visible: the keys given for %d of them decrypted none of their packets (wrong keys?)", f.N)
	case analyzer.WhyModeKeysUnusable:
		return fmt.Sprintf("the mode of ESP SAs is not visible: the key entries for %d of them hold no usable keys (see the warnings)", f.N)
	case analyzer.WhyUnknownModePairs:
		return fmt.Sprintf("excludes %d SA pairs of unknown mode", f.N)
	case analyzer.WhyOffload:
		return "offload happens in the NIC and is not visible on the wire"
	case analyzer.WhyBadSPINeedsSAList:
		return "needs an authoritative list of SAs (ip xfrm state, --complete-keys) or the decrypted IKE negotiations"
	case analyzer.WhyNeedsKeys:
		return "needs keys"
	case analyzer.WhyNotInspected:
		return fmt.Sprintf("%d accepted packets (of %d SAs without keys, or cut by the snap length) were not inspected", f.N, f.M)
	case analyzer.WhyIKEUnreadable:
		return fmt.Sprintf("needs the IKE negotiations; none of the capture's %d IKE messages could be read (see events)", f.N)
	case analyzer.WhyNoIKE:
		return "needs the IKE negotiations; the capture has no IKE message"
	case analyzer.WhyIKEInferred:
		return fmt.Sprintf("%d inferred from the cleartext IKE headers; %s needs the decrypted negotiations", f.N, ikeNeeds[s])
	case analyzer.WhyIKENeedsKeys:
		return ikeNeeds[s] + " needs the decrypted IKE negotiations (give IKE keys with --keys)"
	case analyzer.WhyIKEUndecrypted:
		return fmt.Sprintf("%d SAs seen and not known to have ended; %d encrypted IKE messages (Delete payloads among them?) need IKE keys", f.N, f.M)
	case analyzer.WhyUnannouncedExpiries:
		return "excludes pairs whose hard lifetime ran out unannounced: the lifetimes of Quick Modes read from their headers only need IKE keys"
	case analyzer.WhyUnseenHalves:
		return fmt.Sprintf("includes %d SAs of negotiated pairs whose SPI the capture does not show (the offer that carried it was not captured)", f.N)
	}
	return ""
}
