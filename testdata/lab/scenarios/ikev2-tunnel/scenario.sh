# shellcheck shell=bash
DESCRIPTION="IKEv2 with PSK, one tunnel-mode CHILD SA from IKE_AUTH. IKE AES-CBC-256/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048, ESP AES-CBC-128/HMAC-SHA2-256-128. The traffic mix both ways, then alice deletes the IKE SA (its CHILD SA goes with it)."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	terminate_ike alice ike
	settle 1
}
