# shellcheck shell=bash
DESCRIPTION="IKEv1 Main Mode with PSK (AES-CBC-128/HMAC-SHA1/MODP-2048), then two Quick Modes for two tunnel-mode CHILD SAs with different suites: net (ESP AES-GCM-256 with a 16-byte ICV, no PFS) and net2 (ESP 3DES/HMAC-SHA2-384-192 with PFS MODP-1024). The traffic mix both ways through each, then alice deletes the ISAKMP SA (strongSwan sends a Delete for each CHILD SA first)."
steps() {
	initiate alice net
	initiate alice net2
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	both_ways 10.1.1.1 10.2.1.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
