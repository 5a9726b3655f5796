# shellcheck shell=bash
DESCRIPTION="A negotiation left pending: IKEv2 (AES-CBC-128/HMAC-SHA1-96/PRF-HMAC-SHA1/MODP-2048) with one CHILD SA net (ESP AES-CBC-128/HMAC-SHA2-256-128) and the traffic mix both ways; then bob's charon is frozen (SIGSTOP) and alice starts a second CHILD SA (net2) with CREATE_CHILD_SA. The request gets no answer; the capture ends 0.5 s after its first retransmission (4 s later), with the exchange still pending. Both daemons are then killed without a Delete, so the capture has no teardown. bob's counters are listed before he is frozen."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	signal_peer bob STOP
	initiate_nowait alice net2
	# The request's first retransmission (after 4 s), then the end.
	wait_log alice 'retransmit 1 of request' 30
	settle 0.5
}
finish() {
	snapshot_peer alice after-pending
	signal_peer bob KILL
	signal_peer alice KILL
}
