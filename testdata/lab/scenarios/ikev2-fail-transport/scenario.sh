# shellcheck shell=bash
DESCRIPTION="A failed CHILD negotiation: alice asks for a transport-mode CHILD SA (host) in IKE_AUTH; bob's strongSwan selects the proposal but its userspace ESP (libipsec) cannot install transport mode, so bob answers NO_PROPOSAL_CHOSEN and the IKE SA stays up without a CHILD SA. alice then creates a tunnel-mode CHILD SA (net) with CREATE_CHILD_SA, the traffic mix both ways goes through it, and alice deletes the IKE SA. IKE AES-CBC-128/HMAC-SHA2-256-128/PRF-HMAC-SHA2-256/MODP-2048, ESP AES-CBC-256/HMAC-SHA2-256-128."
steps() {
	initiate_fail alice host
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1
	snapshot after
	terminate_ike alice ike
	settle 1
}
