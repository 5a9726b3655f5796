# shellcheck shell=bash
# Hooks for testdata/lab/live-check.sh (see hook in lib.sh): live ipsecmon
# processes beside a lab scenario, in bob's namespace on bob's link (the
# interface tcpdump records), started before the first IKE message and
# stopped with SIGINT after teardown. Everything goes to $LIVE_OUT/$SCEN;
# the Go side (ipsecmon-lab livecheck lab) compares it afterwards.
#
# Environment: LIVE_OUT, LIVE_IPSECMON (the ipsecmon binary) and
#   LIVE_LATE_ROUND  the keyed instance gets no new keys before this round
#                    (so an SA made since runs unverified) and gets them
#                    by SIGHUP after it (item 3); 0: never late
#   LIVE_CHECK_ROUND `ipsecmon check --host live:vici` runs from the
#                    start of this round to its end (item 5), or over the
#                    rounds A-B (from the start of A to the end of B, across
#                    what happens between them); 0: no check
#   LIVE_LATE_ROUND_<scenario>, LIVE_CHECK_ROUND_<scenario> (dashes as
#                    underscores) override them for one scenario
#
# Instances (their metrics servers on bob's loopback identify them and tell
# that the capture is open):
#   stats  stats -i lab0, no keys, --metrics-listen :9477 (scraped at each round's end)
#   sas    sas -i lab0, no keys
#   keyed  sas -i lab0 -k live-keys.txt, keys reloaded by SIGHUP
#   check  check -i lab0 -k check-keys.txt --host live:vici=bob's socket

: "${LIVE_OUT:?}" "${LIVE_IPSECMON:?}"
live_setting() {
	local per="$1_${SCEN//-/_}" all=$1
	echo "${!per:-${!all:-0}}"
}
LIVE_LATE_ROUND=$(live_setting LIVE_LATE_ROUND)
LIVE_CHECK_ROUND=$(live_setting LIVE_CHECK_ROUND)
LIVE_CHECK_FROM=${LIVE_CHECK_ROUND%-*}
LIVE_CHECK_TO=${LIVE_CHECK_ROUND#*-}
LO=$LIVE_OUT/$SCEN
LIVE_ME=198.51.100.2
declare -A LIVE_PID=() LIVE_PORT=([stats]=9477 [sas]=9478 [keyed]=9479 [check]=9480)
LIVE_RELOADS=0

# live_start NAME ARGS...: one ipsecmon in bob's namespace, capturing on lab0.
live_start() {
	local name=$1; shift
	ip netns exec "$(ns bob)" "$LIVE_IPSECMON" "$@" -i lab0 -q -o json --me "$LIVE_ME" \
		--metrics-listen "127.0.0.1:${LIVE_PORT[$name]}" >"$LO/$name.json" 2>"$LO/$name.stderr" &
	LIVE_PID[$name]=$!
	LAB_PIDS+=("$!")
	wait_metrics "${LIVE_PID[$name]}" "$LO/$name.stderr" "live ipsecmon $name"
}

# live_stop NAME: SIGINT, as an operator's Ctrl-C; the exit status is kept.
live_stop() {
	local name=$1
	[ -n "${LIVE_PID[$name]:-}" ] || return 0
	stop_int "${LIVE_PID[$name]}" "$LO/$name.rc"
	LIVE_PID[$name]=""
}

# live_reload WHY: write the keys negotiated so far and SIGHUP the keyed
# instance; wait until it says it reloaded.
live_reload() {
	local why=$1 i
	"$LAB_BIN" keys -work "$W" -scenario "$SCEN" -topology "$TOPOLOGY" -o "$LO/live-keys.txt" 2>>"$LO/keys.stderr" ||
		die "live keys: $(tail -3 "$LO/keys.stderr")"
	LIVE_RELOADS=$((LIVE_RELOADS + 1))
	kill -HUP "${LIVE_PID[keyed]}"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'SIGHUP: reloaded' "$LO/keyed.stderr")" -ge "$LIVE_RELOADS" ] && break
		sleep 0.02
	done
	[ "$(grep -c 'SIGHUP: reloaded' "$LO/keyed.stderr")" -ge "$LIVE_RELOADS" ] || die "live keyed instance did not reload: $(tail -3 "$LO/keyed.stderr")"
	# Which SAs the instance has keys for from now on, and since when.
	printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" "$why" "$(grep -o 'spi=0x[0-9a-f]*' "$LO/live-keys.txt" | cut -d= -f2 | tr '\n' ' ')" >>"$LO/reloads.log"
}

# live_scrape TAG: /tunnels.json, /stats.json, /sas.json, /metrics,
# /stats.json, /sas.json, /tunnels.json (numbered 0 to 6) of the stats
# instance, in that order, while no traffic flows. libpcap
# delivers packets in blocks (up to its 100 ms read timeout later), so the
# figures are first given time to settle: two /stats.json 250 ms apart equal.
live_scrape() {
	local tag=$1 path n=-1 i
	local url="http://127.0.0.1:${LIVE_PORT[stats]}/stats.json"
	for ((i = 0; i < 20; i++)); do
		ip netns exec "$(ns bob)" curl -sSf --max-time 5 "$url" -o "$LO/settle-a" 2>>"$LO/curl.stderr" || die "curl /stats.json"
		sleep 0.25
		ip netns exec "$(ns bob)" curl -sSf --max-time 5 "$url" -o "$LO/settle-b" 2>>"$LO/curl.stderr" || die "curl /stats.json"
		cmp -s "$LO/settle-a" "$LO/settle-b" && break
	done
	for path in tunnels.json stats.json sas.json metrics stats.json sas.json tunnels.json; do
		n=$((n + 1))
		ip netns exec "$(ns bob)" curl -sSf --max-time 5 "http://127.0.0.1:${LIVE_PORT[stats]}/$path" \
			-o "$LO/scrape-$tag-$n-${path%.json}" 2>>"$LO/curl.stderr" || die "curl /$path: $(tail -1 "$LO/curl.stderr")"
	done
}

hook_capture-start() {
	rm -rf "$LO"
	mkdir -p "$LO"
	# The keyed instance starts with a key file that names no SA.
	(umask 077 && printf '# no SA negotiated yet\n' >"$LO/live-keys.txt")
	live_start stats stats
	live_start sas sas
	live_start keyed sas -k "$LO/live-keys.txt"
}

hook_initiated() {
	[ "$((ROUND + 1))" = "$LIVE_LATE_ROUND" ] || live_reload "initiated-$1-$2"
}

hook_round-start() {
	[ "$1" = "$LIVE_LATE_ROUND" ] || live_reload "round-start-$1"
	if [ "$1" = "$LIVE_CHECK_FROM" ]; then
		(umask 077 && cp "$LO/live-keys.txt" "$LO/check-keys.txt")
		live_start check check -k "$LO/check-keys.txt" --host "live:vici=$W/bob/charon.vici"
	fi
}

hook_round-end() {
	live_scrape "round$1"
	[ "$1" != "$LIVE_LATE_ROUND" ] || live_reload "round-end-$1"
	[ "$1" != "$LIVE_CHECK_TO" ] || live_stop check
}

hook_capture-end() {
	live_scrape end
	live_stop stats
	live_stop sas
	live_stop keyed
	live_stop check
}
