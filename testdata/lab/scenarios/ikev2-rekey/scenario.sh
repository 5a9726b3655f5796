# shellcheck shell=bash
DESCRIPTION="IKEv2 rekeying, each rekey started by alice (swanctl --rekey) between rounds of traffic: the CHILD SA twice (CREATE_CHILD_SA with PFS ECP-256, the old SA deleted by an explicit Delete), then the IKE SA (CREATE_CHILD_SA for the IKE SA; the CHILD SA moves to the new IKE SA, the old one is deleted). No rekey timers: the daemons' default lifetimes are hours, so what the recording holds does not depend on how long a step takes. Each round starts once both daemons have switched to the new SA (the responder sends on the old one until the initiator's Delete arrives). IKE AES-CBC-256/HMAC-SHA2-512-256/PRF-HMAC-SHA2-512/MODP-2048, ESP AES-GCM-128 (16-byte ICV). The traffic mix both ways before the first CHILD rekey, after it, after the second, and after the IKE rekey; then alice deletes the IKE SA."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	rekey_child alice net
	# Both daemons send on the new SA (bob from alice's Delete of the old one).
	wait_both 'outbound CHILD_SA net\{[0-9]+\} established' 1 30
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	rekey_child alice net
	wait_both 'outbound CHILD_SA net\{[0-9]+\} established' 2 30
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	rekey_ike alice ike
	# Both daemons deleted the old IKE SA.
	wait_both 'IKE_SA deleted' 1 30
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
