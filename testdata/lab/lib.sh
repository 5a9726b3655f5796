# shellcheck shell=bash
# Functions for one lab scenario (sourced by scenario.sh). Everything a
# scenario creates -- namespaces, processes, files -- is recorded here so that
# cleanup removes exactly that and nothing else.
#
# Topologies (addresses exist only inside the scenario's namespaces):
#   direct: alice lab0 198.51.100.1/24 <-> bob lab0 198.51.100.2/24
#   nat:    alice lab0 192.168.77.2/24 <-> nat lab0 192.168.77.1/24
#           nat lab1 198.51.100.100/24 <-> bob lab0 198.51.100.2/24
#           (iptables MASQUERADE in the nat namespace, UDP ports remapped)
#   routed: alice lab0 203.0.113.1/24 <-> router lab0 203.0.113.254/24
#           router lab1 198.51.100.254/24 <-> bob lab0 198.51.100.2/24
#           (UDP 4500 datagrams both ways go through the path relay on the
#           router's TUN device relay0; alice's then pass an optional
#           iptables DROP)
# Inner (protected) addresses sit on lo: alice 10.1.0.1 10.1.1.1, bob 10.2.0.1 10.2.1.1.
# The capture is always taken on bob's lab0, the link next to the responder.

: "${LAB_DIR:?}" "${LAB_BIN:?}" "${SCEN:?}" "${W:?}"

NS_PREFIX="ipsl-$$"
declare -a LAB_NETNS=() LAB_PIDS=()
declare -A CHARON_PID=() RECORDER_PID=() SERVE_PID=() STOPPED=()
declare -a CAPTURE_PIDS=() CAPTURE_ERR=()
RELAY_PID=""
TRAFFIC_SEQ=0

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S.%3N)" "$SCEN" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# mark records a step with the time, for facts (capture start/end) and for people.
mark() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" "$*" >>"$W/steps.log"; }

ns() { echo "$NS_PREFIX-$1"; }

# nap sleeps in the background: bash runs a TERM trap at once during
# `wait`, but only after a foreground sleep ends.
nap() {
	sleep "$1" &
	wait $! || true
}

add_netns() {
	local n; n=$(ns "$1")
	ip netns add "$n"
	LAB_NETNS+=("$n")
	# No IPv6 (router solicitations, MLD) and no reverse-path filter: the
	# capture holds only what the scenario sends.
	ip netns exec "$n" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
	ip -n "$n" link set lo up
}

# veth A IFA B IFB: a veth pair created directly inside the two namespaces.
veth() {
	ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns "$3")"
	ip -n "$(ns "$1")" link set "$2" up
	ip -n "$(ns "$3")" link set "$4" up
}

setup_topology() {
	case "$TOPOLOGY" in
	direct)
		add_netns alice; add_netns bob
		veth alice lab0 bob lab0
		ip -n "$(ns alice)" addr add 198.51.100.1/24 dev lab0
		ip -n "$(ns bob)" addr add 198.51.100.2/24 dev lab0
		;;
	nat)
		add_netns alice; add_netns nat; add_netns bob
		veth alice lab0 nat lab0
		veth nat lab1 bob lab0
		ip -n "$(ns alice)" addr add 192.168.77.2/24 dev lab0
		ip -n "$(ns alice)" route add default via 192.168.77.1
		ip -n "$(ns nat)" addr add 192.168.77.1/24 dev lab0
		ip -n "$(ns nat)" addr add 198.51.100.100/24 dev lab1
		ip -n "$(ns bob)" addr add 198.51.100.2/24 dev lab0
		ip netns exec "$(ns nat)" sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
		# A real (kernel) NAT: source address and UDP ports rewritten, as a
		# home router does, so that NAT-T (RFC 3947/3948) has something to detect.
		ip netns exec "$(ns nat)" iptables -t nat -A POSTROUTING -o lab1 -p udp -j MASQUERADE --to-ports 40000-40999
		ip netns exec "$(ns nat)" iptables -t nat -A POSTROUTING -o lab1 -j MASQUERADE
		;;
	routed)
		add_netns alice; add_netns router; add_netns bob
		veth alice lab0 router lab0
		veth router lab1 bob lab0
		ip -n "$(ns alice)" addr add 203.0.113.1/24 dev lab0
		ip -n "$(ns alice)" route add default via 203.0.113.254
		ip -n "$(ns router)" addr add 203.0.113.254/24 dev lab0
		ip -n "$(ns router)" addr add 198.51.100.254/24 dev lab1
		ip -n "$(ns bob)" addr add 198.51.100.2/24 dev lab0
		ip -n "$(ns bob)" route add 203.0.113.0/24 via 198.51.100.254
		ip netns exec "$(ns router)" sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
		start_relay
		;;
	*) die "unknown topology $TOPOLOGY" ;;
	esac
	ip -n "$(ns alice)" addr add 10.1.0.1/32 dev lo
	ip -n "$(ns alice)" addr add 10.1.1.1/32 dev lo
	ip -n "$(ns bob)" addr add 10.2.0.1/32 dev lo
	ip -n "$(ns bob)" addr add 10.2.1.1/32 dev lo
}

# start_relay: the path relay (ipsecmon-lab relay) on the router's TUN
# device relay0, with the scenario's RELAY_HOLD rules for alice's packets,
# and routing rules that send every datagram to UDP port 4500 (ESP, and IKE
# after NAT-T's port change) through it, both ways; the relay logs every ESP
# packet it forwards. Packets the relay writes back arrive from relay0, so
# the rules do not match them again and the main table forwards them on.
# A rule counts alice's ESP packets leaving the relay; with PATH_DROP_EVERY
# another drops every PATH_DROP_EVERY-th of them (the nth counter starts at
# 0: packet PATH_DROP_PACKET of each group is dropped). Both rules carry
# comments so that extract finds their counters in iptables-save -c.
start_relay() {
	local r; r=$(ns router)
	local args=() h i
	for h in "${RELAY_HOLD[@]}"; do args+=(-hold "$h"); done
	ip netns exec "$r" "$LAB_BIN" relay -tun relay0 -o "$W/relay.jsonl" -max-hold "$RELAY_MAX_HOLD" -hold-dst 198.51.100.2 "${args[@]}" 2>"$W/relay.stderr" &
	RELAY_PID=$!
	LAB_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		grep -q '^relaying on' "$W/relay.stderr" 2>/dev/null && break
		kill -0 "$RELAY_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^relaying on' "$W/relay.stderr" || die "relay did not start: $(cat "$W/relay.stderr")"
	ip -n "$r" link set relay0 up
	ip -n "$r" route add default dev relay0 table 200
	ip -n "$r" rule add pref 100 iif lab0 ipproto udp dport 4500 lookup 200
	ip -n "$r" rule add pref 101 iif lab1 ipproto udp dport 4500 lookup 200
	# ESP in UDP (RFC 3948): port 4500 and a non-zero SPI where IKE has its
	# zero non-ESP marker; the 1-byte NAT-T keepalive is too short to match.
	local esp=(-i relay0 -o lab1 -p udp --dport 4500 -m u32 --u32 "0>>22&0x3C@8=1:0xffffffff")
	ip netns exec "$r" iptables -A FORWARD "${esp[@]}" -m comment --comment ipsecmon-lab-esp
	if [ -n "${PATH_DROP_EVERY:-}" ]; then
		ip netns exec "$r" iptables -A FORWARD "${esp[@]}" -m statistic --mode nth --every "$PATH_DROP_EVERY" \
			--packet "${PATH_DROP_PACKET:-0}" -m comment --comment ipsecmon-lab-drop -j DROP
	fi
}

# stop_relay: the relay releases what it holds and ends; the router's
# packet filter counters are saved for extract.
stop_relay() {
	[ -n "${RELAY_PID:-}" ] || return 0
	ip netns exec "$(ns router)" iptables-save -c -t filter >"$W/router-iptables.txt"
	kill -TERM "$RELAY_PID" 2>/dev/null || true
	wait "$RELAY_PID" 2>/dev/null || true
	RELAY_PID=""
}

# Inner traffic goes to libipsec's TUN device. Our own rule (before charon's
# table 220) adds `quickack 1` so that TCP acknowledges every segment at once
# and the lab's packet counts do not depend on delayed-ACK timing, and
# `rto_min 10s` so that they do not depend on the machine's load either: a
# round trip through both daemons took up to 0.3 s at a load average of 19,
# more than the default 200 ms minimum retransmission timeout, and TCP then
# retransmitted a chunk or an answer (a tail loss probe after 2 RTTs plus
# the minimum) and the receiver acknowledged the duplicate with a D-SACK:
# two packets more than the mix has. Only the SYN keeps its fixed 1 s
# timeout (RFC 6298 §2.1); traffic() fails when any segment was retransmitted.
inner_routes() {
	local peer=$1 remote=$2
	ip -n "$(ns "$peer")" rule add pref 100 to "$remote" lookup 100
	ip -n "$(ns "$peer")" route add "$remote" dev ipsec0 quickack 1 rto_min 10s table 100
}

write_charon_conf() {
	local peer=$1 dir="$W/$1"
	mkdir -p "$dir/run" "$dir/swanctl"
	local extra_var="CHARON_EXTRA_${peer}"
	cat >"$dir/strongswan.conf" <<EOF
charon {
  load = random nonce openssl sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  port = 500
  port_nat_t = 4500
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  ${CHARON_EXTRA:-}
  ${!extra_var:-}
  filelog {
    lab {
      path = $dir/charon.log
      time_format = %Y-%m-%dT%H:%M:%S
      time_add_ms = yes
      ike_name = yes
      append = no
      flush_line = yes
      default = 1
      ike = 4
      chd = 4
      mgr = 2
      cfg = 2
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
  plugins {
    vici {
      socket = unix://$dir/charon.vici
    }
  }
}
EOF
	printf 'swanctl {\n  load = pem pkcs1 x509 pubkey random nonce openssl\n}\n' >"$dir/swanctl-strongswan.conf"
	cp "$LAB_DIR/scenarios/$SCEN/$peer.conf" "$dir/swanctl/swanctl.conf"
}

start_charon() {
	local peer=$1 dir="$W/$1" extra_var="CHARON_EXTRA_$1"
	write_charon_conf "$peer"
	# charon insists on /var/run/charon.pid: give each daemon its own /run.
	# TZ=UTC: charon logs local time without a zone; steps.log is UTC.
	TZ=UTC STRONGSWAN_CONF="$dir/strongswan.conf" ip netns exec "$(ns "$peer")" \
		unshare -m --propagation private sh -c "mount --bind '$dir/run' /run && exec /usr/lib/ipsec/charon" \
		>"$dir/charon.stdout" 2>&1 &
	CHARON_PID[$peer]=$!
	LAB_PIDS+=("$!")
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$dir/charon.vici" ] && ip -n "$(ns "$peer")" link show ipsec0 >/dev/null 2>&1 && break
		kill -0 "${CHARON_PID[$peer]}" 2>/dev/null || die "charon ($peer) exited: $(tail -3 "$dir/charon.stdout" "$dir/charon.log" 2>/dev/null)"
		sleep 0.1
	done
	[ -S "$dir/charon.vici" ] || die "charon ($peer) did not open its VICI socket"
	# Event recorder first, so that no up/down event is missed.
	"$LAB_BIN" events -socket "$dir/charon.vici" -o "$W/$peer-vici-events.jsonl" 2>"$dir/events.stderr" &
	RECORDER_PID[$peer]=$!
	LAB_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		grep -q recorder-start "$W/$peer-vici-events.jsonl" 2>/dev/null && break
		sleep 0.1
	done
	grep -q recorder-start "$W/$peer-vici-events.jsonl" || die "VICI event recorder ($peer) did not start: $(cat "$dir/events.stderr")"
	sw "$peer" --load-all --file "$dir/swanctl/swanctl.conf" >"$dir/load.out" 2>&1 || die "swanctl --load-all ($peer): $(grep -v 'opening directory' "$dir/load.out")"
	# The loaded configuration as the daemon reports it, and what the
	# scenario added to strongswan.conf (facts: config).
	"$LAB_BIN" conns -socket "$dir/charon.vici" -o "$W/$peer-list-conns.jsonl" 2>"$dir/conns.stderr" || die "list-conns ($peer): $(cat "$dir/conns.stderr")"
	printf '%s\n' "${CHARON_EXTRA:-}" "${!extra_var:-}" | grep -v '^$' >"$W/$peer-charon-options.txt" || true
}

# sw PEER ARGS...: swanctl against that peer's daemon.
sw() {
	local peer=$1; shift
	STRONGSWAN_CONF="$W/$peer/swanctl-strongswan.conf" timeout 30 swanctl "$@" --uri "unix://$W/$peer/charon.vici"
}

start_servers() {
	local peer addrs
	for peer in alice bob; do
		case $peer in alice) addrs=10.1.0.1,10.1.1.1 ;; bob) addrs=10.2.0.1,10.2.1.1 ;; esac
		ip netns exec "$(ns "$peer")" "$LAB_BIN" serve -addrs "$addrs" 2>"$W/$peer/serve.stderr" &
		SERVE_PID[$peer]=$!
		LAB_PIDS+=("$!")
	done
}

# capture_start PEER IFACE FILE [FILTER]: a capture in PEER's namespace
# (ipsecmon-lab capture: libpcap with tcpdump's snapshot length, like
# tcpdump -U -w, with a larger buffer), waited for until it listens. Its
# PID goes to CAPTURE_PIDS. Stopped by stop_capture, it writes every packet the kernel
# had captured before the stop, which tcpdump does not (see capture.go).
capture_start() {
	local peer=$1 ifc=$2 file=$3 filter=${4:-} err
	err="$W/capture-$peer-$ifc.stderr"
	ip netns exec "$(ns "$peer")" "$LAB_BIN" capture -i "$ifc" -w "$file" ${filter:+-f "$filter"} 2>"$err" &
	CAPTURE_PIDS+=("$!")
	CAPTURE_ERR+=("$err")
	LAB_PIDS+=("$!")
	wait_said "$!" "$err" 'listening on' 200 || die "capture on $peer $ifc did not start: $(cat "$err")"
}

# start_capture: the link capture on bob's lab0 (capture.pcap) and, on
# both peers, the tunnel device ipsec0 (libipsec's TUN: the inner packets
# the host sent into the tunnel and those it received from it, link type
# raw IP), <peer>-ipsec0.pcap.
start_capture() {
	capture_start bob lab0 "$W/capture.pcap" "not arp"
	capture_start alice ipsec0 "$W/alice-ipsec0.pcap"
	capture_start bob ipsec0 "$W/bob-ipsec0.pcap"
	mark capture-start
}

# stop_capture ends the recordings at the capture-end mark. Facts count
# what the daemons logged before the mark, the capture must hold exactly
# the packets they sent before it: so the running daemons are frozen
# (SIGSTOP) around the mark, nothing is sent between the mark and the
# captures' stop, and each capture, stopped, writes every packet the kernel
# had handed it. Daemons the scenario itself froze stay frozen. The freeze
# is no signal of the scenario (facts: signals): it ends after the capture.
stop_capture() {
	local p peer rc=0 frozen=()
	for peer in alice bob; do
		p=${CHARON_PID[$peer]:-}
		[ -n "$p" ] && [ -z "${STOPPED[$peer]:-}" ] || continue
		kill -STOP "$p" 2>/dev/null && frozen+=("$p")
	done
	mark "freeze charon for the capture's end"
	nap 0.3 # datagrams the daemons sent before the freeze reach the capture
	mark capture-end
	for p in "${CAPTURE_PIDS[@]}"; do
		kill -INT "$p" 2>/dev/null || true
	done
	for p in "${CAPTURE_PIDS[@]}"; do
		wait "$p" || rc=1
	done
	for p in "${frozen[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
	done
	[ "$rc" = 0 ] || die "a capture failed: $(cat "${CAPTURE_ERR[@]}")"
	CAPTURE_PIDS=()
	CAPTURE_ERR=()
}

# hook NAME ARGS...: runs hook_NAME when a file named by $LAB_HOOKS (sourced
# by scenario.sh) defines it; without LAB_HOOKS nothing happens. Hooks run in
# the scenario's shell, synchronously, at quiet moments (no traffic in
# flight), so they can start and stop processes beside the lab (recording
# them in LAB_PIDS for cleanup) and look at the daemons. They must be quick:
# the rekey scenarios run on timers. The points are:
#   capture-start          tcpdump listens; no IKE message sent yet
#   initiated PEER CHILD   a CHILD SA (and maybe its IKE SA) is up, no traffic yet
#   round-start N          before round N of traffic (both_ways)
#   round-end N            round N done and both daemons listed
#   capture-end            tcpdump stopped after teardown; daemons still running
hook() {
	declare -F "hook_$1" >/dev/null || return 0
	"hook_$1" "${@:2}"
}

# ---- steps used by the scenarios ----

# initiate PEER CHILD: start a CHILD SA (and its IKE SA if needed) and wait for it.
initiate() {
	mark "initiate $1 child $2"
	sw "$1" --initiate --child "$2" --timeout 20 >>"$W/$1/swanctl.out" 2>&1 || die "initiate $2 from $1 failed: $(tail -5 "$W/$1/swanctl.out")"
	hook initiated "$1" "$2"
}

# initiate_fail PEER CHILD: a negotiation that is meant to fail.
initiate_fail() {
	mark "initiate (expected to fail) $1 child $2"
	if sw "$1" --initiate --child "$2" --timeout 20 >>"$W/$1/swanctl.out" 2>&1; then
		die "initiate $2 from $1 succeeded but should fail"
	fi
}

# initiate_nowait PEER CHILD: start a negotiation without waiting for it.
initiate_nowait() {
	mark "initiate (no wait) $1 child $2"
	sw "$1" --initiate --child "$2" --timeout 1 >>"$W/$1/swanctl.out" 2>&1 || true
}

terminate_ike() {
	mark "terminate $1 ike $2"
	sw "$1" --terminate --ike "$2" --timeout 20 >>"$W/$1/swanctl.out" 2>&1 || die "terminate IKE SA $2 from $1 failed"
}

terminate_child() {
	mark "terminate $1 child $2"
	sw "$1" --terminate --child "$2" --timeout 20 >>"$W/$1/swanctl.out" 2>&1 || die "terminate CHILD SA $2 from $1 failed"
}

# load_conns PEER FILE: replace PEER's connections with the scenario's FILE
# (swanctl --load-conns; CHILD SAs already up keep their configuration).
load_conns() {
	mark "load $1 connections $2"
	cp "$LAB_DIR/scenarios/$SCEN/$2" "$W/$1/swanctl/$2"
	sw "$1" --load-conns --file "$W/$1/swanctl/$2" >>"$W/$1/swanctl.out" 2>&1 || die "swanctl --load-conns $2 ($1): $(tail -3 "$W/$1/swanctl.out")"
}

rekey_child() {
	mark "rekey $1 child $2"
	sw "$1" --rekey --child "$2" >>"$W/$1/swanctl.out" 2>&1 || die "rekey CHILD SA $2 from $1 failed"
}

rekey_ike() {
	mark "rekey $1 ike $2"
	sw "$1" --rekey --ike "$2" >>"$W/$1/swanctl.out" 2>&1 || die "rekey IKE SA $2 from $1 failed"
}

# snapshot TAG: both daemons' SA lists, human and raw (VICI) form.
snapshot() {
	local peer
	quiesce
	mark "snapshot $1"
	for peer in alice bob; do
		[ -n "${CHARON_PID[$peer]:-}" ] || continue
		snapshot_peer "$peer" "$1"
	done
}

snapshot_peer() {
	sw "$1" --list-sas >"$W/$1-list-sas-$2.txt" 2>&1 || die "swanctl --list-sas ($1)"
	sw "$1" --list-sas --raw >"$W/$1-list-sas-$2-raw.txt" 2>&1 || die "swanctl --list-sas --raw ($1)"
}

# traffic FROM SRC DST [send flags]: the known mix from one inner address to another.
traffic() {
	local from=$1 src=$2 dst=$3; shift 3
	TRAFFIC_SEQ=$((TRAFFIC_SEQ + 1))
	mkdir -p "$W/traffic"
	local out; out=$(printf '%s/traffic/%02d-%s.json' "$W" "$TRAFFIC_SEQ" "$from")
	mark "traffic $from $src -> $dst"
	ip netns exec "$(ns "$from")" "$LAB_BIN" send -from "$from" -src "$src" -dst "$dst" -o "$out" "$@" 2>"$out.stderr" ||
		die "traffic $src -> $dst failed: $(cat "$out.stderr")"
	quiesce
	! grep -h 'retransmitted' "$W"/alice/serve.stderr "$W"/bob/serve.stderr || die "a TCP server retransmitted"
}

# quiesce waits until no packet of the traffic is in flight, so that the
# daemons' counters read next equal what crossed the link. send returns
# when it has read the server's FIN (ICMP replies and TCP answers were
# awaited before); its acknowledgement, the last packet of a run, may still
# be between the two daemons. The server's end of the connection stays in
# LAST-ACK until that acknowledgement arrives, i.e. until the receiving
# daemon decrypted (and counted) it; the datagrams sent before the TCP
# transfer arrived before its first answer. So: no TCP socket of either
# peer in a state that waits for a packet (stream traffic has none).
quiesce() {
	local peer i busy
	for ((i = 0; i < 400; i++)); do
		busy=""
		for peer in alice bob; do
			[ -n "${CHARON_PID[$peer]:-}" ] && [ -z "${STOPPED[$peer]:-}" ] || continue
			if [ -n "$(ip netns exec "$(ns "$peer")" ss -Htn state syn-sent state syn-recv state fin-wait-1 state closing state last-ack)" ]; then
				busy="$busy $peer"
			fi
		done
		[ -z "$busy" ] && return 0
		nap 0.05
	done
	die "TCP connections of$busy still waiting for a packet after 20 s: $(ip netns exec "$(ns alice)" ss -tn; ip netns exec "$(ns bob)" ss -tn)"
}

# traffic_start FROM SRC DST [send flags]: traffic in the background (e.g.
# a stream both ways at once, or across a rekey); traffic_wait waits for
# every such run and fails when one did.
declare -a TRAFFIC_PIDS=()
traffic_start() {
	local from=$1 src=$2 dst=$3; shift 3
	TRAFFIC_SEQ=$((TRAFFIC_SEQ + 1))
	mkdir -p "$W/traffic"
	local out; out=$(printf '%s/traffic/%02d-%s.json' "$W" "$TRAFFIC_SEQ" "$from")
	mark "traffic start $from $src -> $dst"
	ip netns exec "$(ns "$from")" "$LAB_BIN" send -from "$from" -src "$src" -dst "$dst" -o "$out" "$@" 2>"$out.stderr" &
	TRAFFIC_PIDS+=("$!")
	LAB_PIDS+=("$!")
}

traffic_wait() {
	local p failed=0
	for p in "${TRAFFIC_PIDS[@]}"; do
		wait "$p" || failed=1
	done
	TRAFFIC_PIDS=()
	mark "traffic done"
	[ "$failed" = 0 ] || die "background traffic failed: $(cat "$W"/traffic/*.stderr)"
}

# The traffic mix (ipsecmon-lab send flags): MIX for the first round of a
# scenario, LIGHT for later rounds, to keep captures small. An 18-byte UDP
# payload makes a 46-byte inner packet: with the 2-byte ESP trailer that is
# a multiple of the AES, 3DES and GCM alignment, so the ESP padding is empty
# (a case tshark 4.0 may leave unchecked; the verifier then checks it itself).
MIX=(-icmp 2 -icmp-size 56 -udp-sizes 18,300,1000 -udp-each 2 -tcp-chunks 5 -tcp-chunk 500)
LIGHT=(-icmp 1 -icmp-size 56 -udp-sizes 64,700 -udp-each 1 -tcp-chunks 2 -tcp-chunk 300)
ROUND=0

# both_ways A_ADDR B_ADDR [send flags]: the mix from alice to bob, then
# back, then both daemons' counters (libipsec resets the counters of an
# outbound SA replaced by an IKEv2 rekey, and IKEv1 SAs that expire leave no
# VICI event: a listing after every round keeps the figures).
both_ways() {
	local a=$1 b=$2; shift 2
	[ $# -gt 0 ] || set -- "${MIX[@]}"
	hook round-start $((ROUND + 1))
	traffic alice "$a" "$b" "$@"
	traffic bob "$b" "$a" "$@"
	ROUND=$((ROUND + 1))
	local peer
	for peer in alice bob; do
		[ -n "${CHARON_PID[$peer]:-}" ] || continue
		sw "$peer" --list-sas --raw >"$W/$peer-list-sas-round$ROUND-raw.txt" 2>&1 || die "swanctl --list-sas --raw ($peer)"
	done
	hook round-end "$ROUND"
}

# count_events PEER NAME: events of that name recorded so far.
count_events() {
	grep -c "\"event\":\"$2\"" "$W/$1-vici-events.jsonl" 2>/dev/null || true
}

# wait_events PEER NAME COUNT TIMEOUT_S: wait until PEER has recorded COUNT such events.
wait_events() {
	local peer=$1 name=$2 want=$3 limit=$4 i
	mark "wait $peer $name >= $want"
	for ((i = 0; i < limit * 10; i++)); do
		[ "$(count_events "$peer" "$name")" -ge "$want" ] && return 0
		nap 0.1
	done
	die "timed out after ${limit}s waiting for $want $name events on $peer (have $(count_events "$peer" "$name"))"
}

# wait_log PEER REGEX TIMEOUT_S: wait for a line in a charon log.
wait_log() {
	local peer=$1 re=$2 limit=$3 i
	mark "wait $peer log /$re/"
	for ((i = 0; i < limit * 10; i++)); do
		grep -qE "$re" "$W/$peer/charon.log" && return 0
		nap 0.1
	done
	die "timed out after ${limit}s waiting for /$re/ in $peer's log"
}

# wait_both REGEX COUNT TIMEOUT_S: wait until both daemons' logs have COUNT
# lines matching REGEX (e.g. both switched to a rekey's new SA: the step
# after does not depend on how long either took).
wait_both() {
	local re=$1 want=$2 limit=$3 i peer ok
	mark "wait both /$re/ x$want"
	for ((i = 0; i < limit * 10; i++)); do
		ok=1
		for peer in alice bob; do
			[ "$(grep -cE "$re" "$W/$peer/charon.log")" -ge "$want" ] || ok=0
		done
		[ "$ok" = 1 ] && return 0
		nap 0.1
	done
	die "timed out after ${limit}s waiting for $want lines /$re/ in both logs (alice $(grep -cE "$re" "$W/alice/charon.log"), bob $(grep -cE "$re" "$W/bob/charon.log"))"
}

# settle: let in-flight exchanges finish.
settle() { nap "${1:-1}"; }

# signal_peer PEER SIG: STOP freezes a daemon (its peer's requests then go
# unanswered), CONT resumes it, TERM/KILL end it.
signal_peer() {
	local peer=$1 sig=$2
	[ -n "${CHARON_PID[$peer]:-}" ] || return 0
	mark "signal $peer charon $sig"
	kill "-$sig" "${CHARON_PID[$peer]}" 2>/dev/null || true
	case $sig in
	STOP) STOPPED[$peer]=1 ;;
	CONT) STOPPED[$peer]="" ;;
	TERM | KILL | INT)
		[ "$sig" = KILL ] || kill -CONT "${CHARON_PID[$peer]}" 2>/dev/null || true
		wait "${CHARON_PID[$peer]}" 2>/dev/null || true
		CHARON_PID[$peer]=""
		;;
	esac
}

# wait_metrics PID STDERR WHAT: wait (up to 5 s) until an ipsecmon started
# in the background says its metrics server listens, which also tells that
# its capture is open; die with its stderr if it exits or does not say so.
wait_metrics() {
	wait_said "$1" "$2" 'metrics on' 100 || die "$3 did not start: $(cat "$2")"
}

# wait_said PID FILE TEXT TRIES: wait, TRIES times 50 ms at most, until FILE
# (a background process's stderr) holds TEXT; fails at once when PID exits
# first, or when the time is up.
wait_said() {
	local pid=$1 file=$2 text=$3 tries=$4 i
	for ((i = 0; i < tries; i++)); do
		grep -q "$text" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# stop_int PID RCFILE: SIGINT, as an operator's Ctrl-C; the exit status is
# written to RCFILE.
stop_int() {
	local pid=$1 rcf=$2 rc=0
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	echo "$rc" >"$rcf"
}

# ---- cleanup: only what this scenario created ----
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	local p
	for p in "${LAB_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${LAB_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${LAB_NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null
	done
	# A recording interrupted while being written is not kept.
	[ -z "${PARTIAL:-}" ] || rm -rf "$PARTIAL"
	return $rc
}
