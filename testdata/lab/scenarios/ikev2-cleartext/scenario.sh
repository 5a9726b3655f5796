# shellcheck shell=bash
DESCRIPTION="IKEv2 tunnel 10.1.0.1 <-> 10.2.0.1 as in ikev2-tunnel (ESP AES-CBC-128/HMAC-SHA2-256-128), light traffic through it, then 5 UDP datagrams from 10.1.0.1 to 10.2.0.1:9999 sent around the tunnel in clear text (a policy violation a capture on the link must show), then alice deletes the IKE SA."

# CLEARTEXT_PACKETS is what a policy check on bob's link must report as violations.
CLEARTEXT_PACKETS=5

# cleartext FROM SRC DST VIA N: N UDP datagrams SRC -> DST:9999 routed
# straight onto the link via VIA instead of into the tunnel (a rule before
# the lab's pref 100 rule), then the detour is removed.
cleartext() {
	local from=$1 src=$2 dst=$3 via=$4 n=$5 i
	mark "cleartext $from $src -> $dst x$n"
	ip -n "$(ns "$from")" route add "$dst" via "$via" dev lab0 src "$src" table 101
	ip -n "$(ns "$from")" rule add pref 50 to "$dst" lookup 101
	for ((i = 1; i <= n; i++)); do
		ip netns exec "$(ns "$from")" bash -c "printf 'cleartext %d\n' $i >/dev/udp/$dst/9999" ||
			die "cleartext datagram $i failed"
	done
	ip -n "$(ns "$from")" rule del pref 50 to "$dst" lookup 101
	ip -n "$(ns "$from")" route del "$dst" table 101
}

steps() {
	initiate alice net
	snapshot before
	both_ways 10.1.0.1 10.2.0.1 "${LIGHT[@]}"
	cleartext alice 10.1.0.1 10.2.0.1 198.51.100.2 "$CLEARTEXT_PACKETS"
	settle 1
	snapshot after
	terminate_ike alice ike
	settle 1
}
