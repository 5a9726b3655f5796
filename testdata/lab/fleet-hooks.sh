# shellcheck shell=bash
# Hooks for live-check.sh's fleet step (see hook in lib.sh): one ipsecmon
# exporter in each gateway's namespace (alice and bob, each on its own end
# of the lab link, keyless, --events to a file), and a forwarder from this
# namespace's loopback to each (ipsecmon-lab nsproxy), which a Prometheus
# server started by live-check.sh scrapes every second. Everything goes to
# $FLEET_OUT; `ipsecmon-lab livecheck fleet` checks it with PromQL
# afterwards, while Prometheus still runs.
#
# Environment: FLEET_OUT, FLEET_IPSECMON (the ipsecmon binary),
#   FLEET_PORT_alice, FLEET_PORT_bob: the loopback ports Prometheus scrapes
#   FLEET_HUP_ROUND: after this round the event logs are moved away and the
#                    exporters get SIGHUP (logrotate's create mode)
#   FLEET_QUIET_ROUNDS: the rounds after which the figures are compared
#                    (each takes about 3 s). ikev2-rekey runs on alice's
#                    timers: CHILD SA rekeys 10 s and 20 s in, the IKE SA's
#                    at 25 s, the next CHILD SA rekey at 30 s. Rounds 1 and 2
#                    end seconds before the next rekey; after round 3 the
#                    IKE rekey would fall inside the wait (its messages
#                    changing the figures), and after round 4 the wait
#                    would delay the teardown past the 30 s rekey. The end
#                    (after the teardown, nothing more to rekey) is always
#                    compared.
#
# Files: PEER.stderr, PEER.rc, PEER.json (final stats), PEER-events.jsonl
# (.1: before the SIGHUP), quiet-TAG-PEER-{stats-a,stats-b,tunnels}.json
# and quiet-TAG.times ("t1 t2": settled at t1, unchanged at t2), during
# traffic busy-N-K-PEER-{stats-a.json,metrics,stats-b.json}, landing.html,
# capture.times ("start end").

: "${FLEET_OUT:?}" "${FLEET_IPSECMON:?}" "${FLEET_PORT_alice:?}" "${FLEET_PORT_bob:?}"
FLEET_HUP_ROUND=${FLEET_HUP_ROUND:-2}
FLEET_QUIET_ROUNDS=${FLEET_QUIET_ROUNDS:-1 2}
declare -A FLEET_PID=()
FLEET_BUSY_MAX=${FLEET_BUSY_MAX:-10}
FLEET_BUSY_PIDS=()
FLEET_EXPORTER=127.0.0.1:9477

fleet_now() { date +%s.%N; }

# fleet_get PEER PATH FILE: one GET from the exporter, inside its namespace.
fleet_get() {
	ip netns exec "$(ns "$1")" curl -sSf --max-time 5 "http://$FLEET_EXPORTER/$2" -o "$3" 2>>"$FLEET_OUT/curl.stderr" ||
		die "fleet: curl $1 /$2: $(tail -1 "$FLEET_OUT/curl.stderr")"
}

# fleet_start PEER: the exporter on the peer's end of the link, and the
# forwarder Prometheus scrapes.
fleet_start() {
	local peer=$1 me port
	me=$(ip -n "$(ns "$peer")" -4 -o addr show dev lab0 | awk '{print $4}' | cut -d/ -f1)
	ip netns exec "$(ns "$peer")" "$FLEET_IPSECMON" stats -i lab0 -q -o json --me "$me" \
		--metrics-listen "$FLEET_EXPORTER" --events "$FLEET_OUT/$peer-events.jsonl" \
		>"$FLEET_OUT/$peer.json" 2>"$FLEET_OUT/$peer.stderr" &
	FLEET_PID[$peer]=$!
	LAB_PIDS+=("$!")
	port=FLEET_PORT_$peer
	"$LAB_BIN" nsproxy -listen "127.0.0.1:${!port}" -netns "$(ns "$peer")" -to "$FLEET_EXPORTER" 2>"$FLEET_OUT/$peer-nsproxy.stderr" &
	LAB_PIDS+=("$!")
	wait_metrics "${FLEET_PID[$peer]}" "$FLEET_OUT/$peer.stderr" "fleet: ipsecmon in $peer"
}

fleet_stop() {
	local peer=$1
	[ -n "${FLEET_PID[$peer]:-}" ] || return 0
	stop_int "${FLEET_PID[$peer]}" "$FLEET_OUT/$peer.rc"
	FLEET_PID[$peer]=""
}

# fleet_quiet TAG: while no traffic flows, both exporters' /stats.json and
# /tunnels.json once settled (t1), and /stats.json again after two of
# Prometheus's 1 s scrapes (t2): the checker queries Prometheus at t2.
fleet_quiet() {
	local tag=$1 peer i t1
	for peer in alice bob; do
		for ((i = 0; i < 20; i++)); do
			fleet_get "$peer" stats.json "$FLEET_OUT/settle-a"
			sleep 0.25
			fleet_get "$peer" stats.json "$FLEET_OUT/settle-b"
			cmp -s "$FLEET_OUT/settle-a" "$FLEET_OUT/settle-b" && break
		done
	done
	t1=$(fleet_now)
	for peer in alice bob; do
		fleet_get "$peer" stats.json "$FLEET_OUT/quiet-$tag-$peer-stats-a.json"
		fleet_get "$peer" tunnels.json "$FLEET_OUT/quiet-$tag-$peer-tunnels.json"
	done
	sleep 2.2
	echo "$t1 $(fleet_now)" >"$FLEET_OUT/quiet-$tag.times"
	for peer in alice bob; do
		fleet_get "$peer" stats.json "$FLEET_OUT/quiet-$tag-$peer-stats-b.json"
	done
}

# fleet_busy N: in the background during round N's traffic, each
# exporter's /stats.json, /metrics, /stats.json, over and over (at most
# FLEET_BUSY_MAX times each) until round-end: the checker lints the scrapes
# with promtool and wants the frame count to move around at least one
# (a round's traffic lasts about a second, a loaded machine may take as
# long to run one curl).
fleet_busy() {
	local n=$1 peer
	rm -f "$FLEET_OUT/busy.stop"
	FLEET_BUSY_PIDS=()
	for peer in alice bob; do
		(
			k=0
			while [ ! -e "$FLEET_OUT/busy.stop" ] && [ "$k" -lt "$FLEET_BUSY_MAX" ]; do
				k=$((k + 1))
				fleet_get "$peer" stats.json "$FLEET_OUT/busy-$n-$k-$peer-stats-a.json"
				fleet_get "$peer" metrics "$FLEET_OUT/busy-$n-$k-$peer-metrics"
				sleep 0.1
				fleet_get "$peer" stats.json "$FLEET_OUT/busy-$n-$k-$peer-stats-b.json"
			done
		) &
		FLEET_BUSY_PIDS+=("$!")
		LAB_PIDS+=("$!")
	done
}

hook_capture-start() {
	mkdir -p "$FLEET_OUT"
	fleet_start alice
	fleet_start bob
	fleet_get bob "" "$FLEET_OUT/landing.html"
	echo "$(fleet_now)" >"$FLEET_OUT/capture.start"
}

hook_round-start() {
	fleet_busy "$1"
}

hook_round-end() {
	# The round's busy scrapes first (their own failures are the checker's
	# to find: a file missing).
	local p
	touch "$FLEET_OUT/busy.stop"
	for p in "${FLEET_BUSY_PIDS[@]}"; do
		wait "$p" || true
	done
	FLEET_BUSY_PIDS=()
	case " $FLEET_QUIET_ROUNDS " in
	*" $1 "*) fleet_quiet "round$1" ;;
	esac
	if [ "$1" = "$FLEET_HUP_ROUND" ]; then
		for p in alice bob; do
			mv "$FLEET_OUT/$p-events.jsonl" "$FLEET_OUT/$p-events.jsonl.1"
			kill -HUP "${FLEET_PID[$p]}"
		done
		echo "$(fleet_now)" >"$FLEET_OUT/hup.time"
	fi
}

hook_capture-end() {
	fleet_quiet end
	echo "$(cat "$FLEET_OUT/capture.start") $(fleet_now)" >"$FLEET_OUT/capture.times"
	fleet_stop alice
	fleet_stop bob
}
