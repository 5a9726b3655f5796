# shellcheck shell=bash
DESCRIPTION="Traffic one way only, peer dead: the ikev2-oneway configuration (dpd_delay 2 s on alice, 30 s on bob; alice retransmits after 1 s, then 2 s later, then 4 s later: retransmit_timeout 1, retransmit_base 2). alice sends 80 UDP datagrams of 100 bytes (128-byte inner packets) to bob, one every 100 ms; bob sends nothing through the tunnel. About 3 s into the stream bob's charon is frozen (SIGSTOP, after his counters are listed): alice's ESP packets keep arriving on bob's link, but her next liveness check (DPD) gets no answer and is retransmitted twice before the capture ends, about 1 s after the stream. No teardown is captured (both daemons are then killed)."
CHARON_EXTRA_alice="retransmit_timeout = 1
  retransmit_base = 2
  retransmit_tries = 3"
COUNTS_SPLIT_BY_TIMING=1
STREAM=(-icmp 0 -tcp-chunks 0 -udp-sizes 100 -udp-each 80 -gap 100ms)
steps() {
	initiate alice net
	snapshot before
	traffic_start alice 10.1.0.1 10.2.0.1 "${STREAM[@]}"
	settle 3
	snapshot_peer bob after
	signal_peer bob STOP
	traffic_wait
	settle 0.5
}
finish() {
	snapshot_peer alice after
	signal_peer bob KILL
	signal_peer alice KILL
}
