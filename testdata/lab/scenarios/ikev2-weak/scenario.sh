# shellcheck shell=bash
DESCRIPTION="Weak but still negotiable suites (for a crypto audit): IKEv2 with IKE 3DES/HMAC-MD5-96/PRF-HMAC-MD5/MODP-1024; CHILD SA net from IKE_AUTH with ESP 3DES/HMAC-MD5-96 (no Diffie-Hellman of its own); CHILD SA net2 by CREATE_CHILD_SA with ESP AES-CBC-128/HMAC-MD5-96 and PFS MODP-768. The traffic mix both ways through net, the light mix through net2, then alice deletes the IKE SA."
steps() {
	initiate alice net
	initiate alice net2
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	both_ways 10.1.1.1 10.2.1.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
