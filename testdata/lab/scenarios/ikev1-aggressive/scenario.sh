# shellcheck shell=bash
DESCRIPTION="IKEv1 Aggressive Mode with PSK (3DES/HMAC-SHA2-256/MODP-2048), one Quick Mode for a tunnel-mode CHILD SA with ESP AES-CBC-192/HMAC-SHA2-512-256. The traffic mix both ways, then alice deletes the ISAKMP SA. strongSwan sends the third Aggressive Mode message and the first Quick Mode message back to back; when bob handles them out of order alice retransmits the Quick Mode message (an identical datagram) about 4 s later."
CHARON_EXTRA_bob="i_dont_care_about_security_and_use_aggressive_mode_psk = yes"
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	terminate_ike alice ike
	settle 1
}
