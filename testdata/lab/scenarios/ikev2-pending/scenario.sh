# shellcheck shell=bash
DESCRIPTION="A negotiation left pending: IKEv2 (AES-CBC-128/HMAC-SHA1-96/PRF-HMAC-SHA1/MODP-2048) with one CHILD SA net (ESP AES-CBC-128/HMAC-SHA2-256-128) and the traffic mix both ways; then bob's charon is frozen (SIGSTOP) and alice starts a second CHILD SA (net2) with CREATE_CHILD_SA. The request gets no answer; the capture ends 5.5 s later, after one retransmission, with the exchange still pending. Both daemons are then killed without a Delete, so the capture has no teardown. bob's counters are listed before he is frozen."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	signal_peer bob STOP
	initiate_nowait alice net2
	settle 5.5
}
finish() {
	snapshot_peer alice after-pending
	signal_peer bob KILL
	signal_peer alice KILL
}
