# shellcheck shell=bash
DESCRIPTION="Traffic one way only, peer alive: IKEv2 (AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/ECP-256), ESP AES-CBC-128/HMAC-SHA1-96, dpd_delay 2 s on alice (30 s on bob, so that his never fires in the recording). alice sends 80 UDP datagrams of 100 bytes (128-byte inner packets) to bob, one every 100 ms; bob sends nothing through the tunnel. With nothing arriving from bob, alice checks his liveness every 2 s (DPD: an empty INFORMATIONAL exchange), and bob answers; bob sends no DPD. Then alice deletes the IKE SA."
STREAM=(-icmp 0 -tcp-chunks 0 -udp-sizes 100 -udp-each 80 -gap 100ms)
steps() {
	initiate alice net
	snapshot before
	traffic alice 10.1.0.1 10.2.0.1 "${STREAM[@]}"
	settle 0.5
	snapshot after
	terminate_ike alice ike
	settle 1
}
