# shellcheck shell=bash
DESCRIPTION="IKEv2 through a real NAT: alice (192.168.77.2) sits behind a third namespace that masquerades her as 198.51.100.100 with UDP ports remapped to 40000-40999 (iptables MASQUERADE). NAT-T moves IKE to 4500 after IKE_SA_INIT, ESP travels in UDP. IKE AES-CBC-192/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/MODP-3072, ESP AES-CBC-256/HMAC-SHA1-96. alice sends NAT-T keepalives (RFC 3948 §2.3) after 2 s without outbound packets and DPD (empty INFORMATIONAL) after 5 s without inbound ones; the run idles 8 s between two rounds of traffic. The capture is on bob's side of the NAT. Then alice deletes the IKE SA."
TOPOLOGY=nat
CHARON_EXTRA_alice="keep_alive = 2s"
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	settle 8
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
