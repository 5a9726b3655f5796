# shellcheck shell=bash
DESCRIPTION="Reordering on the path: IKEv2 (AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-256) across a router (routed topology), ESP AES-GCM-128. Two UDP streams at once, 300 datagrams of 40 bytes each way (68-byte inner packets), one every 8 ms. The router's relay holds alice's ESP packets with sequence numbers 12, 37, 62, ... (every 25th, at 12) until 2 later packets of the same SPI have passed them, and the one with sequence number 150 until 20 later ones have passed (all within a 32-packet replay window, RFC 4303 §3.4.3), so that they reach bob's link after higher sequence numbers. Bob's direction is not relayed. Then alice deletes the IKE SA."
TOPOLOGY=routed
RELAY_HOLD=(every=25,at=12,for=2 seq=150,for=20)
RELAY_MAX_HOLD=3s
STREAM=(-icmp 0 -tcp-chunks 0 -udp-sizes 40 -udp-each 300 -gap 8ms)
steps() {
	initiate alice net
	snapshot before
	traffic_start alice 10.1.0.1 10.2.0.1 "${STREAM[@]}"
	traffic_start bob 10.2.0.1 10.1.0.1 "${STREAM[@]}"
	traffic_wait
	settle 0.5
	snapshot after
	terminate_ike alice ike
	settle 1
}
