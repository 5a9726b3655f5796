# shellcheck shell=bash
DESCRIPTION="Loss and rekeys under continuous traffic: IKEv2 (AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048) across a router (routed topology), ESP AES-CBC-128/HMAC-SHA2-256-128 without PFS. Two UDP streams run at once, alice to bob 640 datagrams of 40 bytes (68-byte inner packets) and bob to alice 600 of 24 bytes (52-byte inner packets), one every 8 ms each; meanwhile alice rekeys the CHILD SA, then the IKE SA (the CHILD SA moves to the new IKE SA), then bob rekeys the CHILD SA. Both directions pass the router's relay, which only forwards (and logs every ESP packet) here; after it, iptables drops every 10th ESP packet towards bob (statistic nth, every 10, packet 4: the 5th, 15th, 25th, ... of alice's packets leaving the relay), before the capture point on bob's link. How the packets split between the SAs of the tunnel depends on timing; the totals do not. Then alice deletes the IKE SA."
TOPOLOGY=routed
PATH_DROP_EVERY=10
PATH_DROP_PACKET=4
COUNTS_SPLIT_BY_TIMING=1
STREAM_A=(-icmp 0 -tcp-chunks 0 -udp-sizes 40 -udp-each 640 -gap 8ms)
STREAM_B=(-icmp 0 -tcp-chunks 0 -udp-sizes 24 -udp-each 600 -gap 8ms)
steps() {
	initiate alice net
	snapshot before
	traffic_start alice 10.1.0.1 10.2.0.1 "${STREAM_A[@]}"
	traffic_start bob 10.2.0.1 10.1.0.1 "${STREAM_B[@]}"
	settle 1
	rekey_child alice net
	wait_events alice child-rekey 1 10
	settle 0.8
	rekey_ike alice ike
	wait_events alice ike-rekey 1 10
	settle 0.8
	rekey_child bob net
	wait_events bob child-rekey 2 10
	traffic_wait
	settle 0.5
	snapshot after
	terminate_ike alice ike
	settle 1
}
