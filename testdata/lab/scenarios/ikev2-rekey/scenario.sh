# shellcheck shell=bash
DESCRIPTION="IKEv2 rekeying by timers on alice only (rand_time 0): the CHILD SA every 10 s (CREATE_CHILD_SA with PFS ECP-256, the old SA deleted by an explicit Delete), the IKE SA after 25 s (CREATE_CHILD_SA for the IKE SA; the CHILD SAs move to the new IKE SA, the old one is deleted). IKE AES-CBC-256/HMAC-SHA2-512-256/PRF-HMAC-SHA2-512/MODP-2048, ESP AES-GCM-128 (16-byte ICV). The traffic mix both ways before the first CHILD rekey, after it, after the second, and after the IKE rekey; then alice deletes the IKE SA. About 30 s."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	wait_events alice child-rekey 1 20
	settle 1.5
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	wait_events alice child-rekey 2 20
	settle 1.5
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	wait_events alice ike-rekey 1 20
	settle 1.5
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
