# shellcheck shell=bash
DESCRIPTION="IKEv1 Main Mode (AES-CBC-256/HMAC-SHA2-256/MODP-2048), ESP AES-CBC-128/HMAC-SHA1-96, Quick Mode rekeys started by bob (swanctl --rekey) between rounds of traffic, and an expiry: child-1, created by alice with a life time of 20 s and no rekey timer (alice.conf), is rekeyed by bob into child-2 and, kept by IKEv1 after its rekey, expires 20 s after its creation (alice closes it and sends a Delete). child-2 carries two rounds, is rekeyed by bob into child-3, which carries the last round; both are alive when alice deletes the ISAKMP SA. Only child-1 can expire: once it is up alice reloads her connection without the short life time (alice-rekeyed.conf), and alice, the responder of bob's rekeys, gives the SAs they create the configuration's default lifetimes (an hour). So what the recording holds does not depend on how long a step takes, except that bob's first rekey must come within 20 s of child-1 (the scenario fails otherwise). The traffic mix both ways through child-1, the light mix twice through child-2 and once through child-3. About 22 s."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	load_conns alice alice-rekeyed.conf
	rekey_child bob net
	# Both daemons installed child-2 (IKEv1 installs both directions at once).
	wait_both 'CHILD_SA net\{[0-9]+\} established with SPIs' 2 30
	! grep -q 'closing expired CHILD_SA' "$W/alice/charon.log" || die "child-1 expired before bob rekeyed it: the first round took more than its 20 s life time"
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	rekey_child bob net
	wait_both 'CHILD_SA net\{[0-9]+\} established with SPIs' 3 30
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	wait_log alice 'closing expired CHILD_SA' 30
	snapshot after
	terminate_ike alice ike
	settle 1
}
