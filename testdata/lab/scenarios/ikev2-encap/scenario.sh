# shellcheck shell=bash
DESCRIPTION="IKEv2 with forced UDP encapsulation (encap = yes on both peers: NAT-D payloads are faked, so IKE moves to port 4500 with IKE_AUTH and ESP is sent in UDP, RFC 3948). IKE AES-GCM-128 (16-byte ICV)/PRF-HMAC-SHA2-384/ECP-256, ESP NULL encryption with HMAC-SHA1-96. The traffic mix both ways, then bob deletes the IKE SA."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	terminate_ike bob ike
	settle 1
}
