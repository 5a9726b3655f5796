# shellcheck shell=bash
DESCRIPTION="IKEv1 Main Mode (AES-CBC-256/HMAC-SHA2-256/MODP-2048) with Quick Mode rekeying by timers on alice only: rekey after 14 s, life time 22 s, rand_time 0 (ESP AES-CBC-128/HMAC-SHA1-96). IKEv1 keeps a rekeyed CHILD SA until its life time ends, so the first SA expires 8 s after its rekey (alice sends a Delete) while the second is itself rekeyed at 28 s and still alive when alice deletes the ISAKMP SA. The traffic mix both ways before the first rekey, after it, after the expiry and after the second rekey (each round has 6 s or more before the next timer fires, so that a loaded machine does not move a timer into a round). About 32 s."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	wait_events alice child-rekey 1 25
	settle 1.5
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	wait_log alice 'closing expired CHILD_SA|CHILD_SA .* expired' 25
	settle 1
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	wait_events alice child-rekey 2 25
	settle 1.5
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
