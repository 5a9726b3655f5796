# shellcheck shell=bash
DESCRIPTION="IKEv2 (AES-CBC-256/HMAC-SHA2-384-192/PRF-HMAC-SHA2-384/ECP-384), ESP AES-CBC-192/HMAC-SHA2-256-128. The traffic mix both ways; then bob deletes the CHILD SA (INFORMATIONAL with a Delete payload) while the IKE SA stays; alice creates it again with CREATE_CHILD_SA; the traffic mix both ways through the new SA; then alice deletes the IKE SA."
steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	terminate_child bob net
	settle 1
	initiate alice net
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	snapshot after
	terminate_ike alice ike
	settle 1
}
