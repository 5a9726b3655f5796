#!/usr/bin/env bash
# Live capture acceptance: ipsecmon capturing live, checked against sources
# other than ipsecmon (the daemons' facts and listings, tshark, libpcap's and
# the kernel's counters, /proc). `make live-check` runs it (root).
#
#   testdata/lab/live-check.sh [-k] [-o OUTDIR]
#
#   -o OUTDIR  keep the outputs there (default: a temporary directory, removed)
#   -k         keep the temporary directory (it holds keys; the lab's are throwaway)
#
# 1. Lab (items 7.1, 7.4, 7.5, 6.4): the ikev2-rekey and ikev2-child-delete
#    scenarios run (side by side) with live-hooks.sh: three live ipsecmon
#    instances in bob's namespace on bob's link from before the first IKE
#    message to after teardown (keyless stats with --metrics-listen, keyless
#    sas, keyed sas with keys by SIGHUP), and `ipsecmon check --host
#    live:vici` over one round (ikev2-rekey: round 4, after the IKE SA
#    rekey; ikev2-child-delete: round 2, through the SA created after bob's
#    Delete). In ikev2-rekey the keyed instance gets child-3's keys only
#    after round 3 (child-3 carries rounds 3 and 4). Each recording must have
#    the committed recording's facts (the hooks change nothing) and pass
#    the tshark verification; then `ipsecmon-lab livecheck lab` compares.
# 2. Replay (item 7.2): 200,000 packets over 400 SAs (internal/benchgen),
#    replayed REPLAY_LOOPS times as fast as libpcap injects them into a veth;
#    ipsecmon captures on the other end with --immediate --buffer-size 256KiB (the kernel
#    drops), tcpdump counts with its own libpcap, ipsecmon-lab rss samples
#    ipsecmon's VmRSS every 100 ms; `ipsecmon-lab livecheck replay` compares.
#
# 3. Flood (issue 12): FLOOD_PAIRS spoofed ESP SA pairs between two hosts
#    (ipsecmon-lab stress-gen pairs), replayed FLOOD_LOOPS times at
#    FLOOD_RATE frames/s into the same veth, twice: to a plain `stats -i`,
#    then to `watch --metrics-listen -w` whose /metrics is scraped every
#    second. Both get SIGTERM a second after the replay; `ipsecmon-lab
#    livecheck flood` compares their drops, watch's refresh lines, the
#    scrapes, the -w file and the time to exit.
# 4. Rate (issue 18): the highest rate without a drop that tcpdump -w
#    /dev/null and ipsecmon stats -i (keyless, and keyed on the keyed
#    benchgen capture) sustain at ipsecmon's default kernel buffer (32 MiB,
#    RATE_BUFFER_KIB), side by side: 200,000-packet bursts replayed into the
#    same veth at doubling rates from RATE_START, then RATE_STEPS bisection
#    steps (`ipsecmon-lab liverate`). Reported with each capturer's CPU, its
#    run-queue wait and what limited it (the replay tool, the capturer's
#    CPU, the machine's other load, or the kernel's delivery), and for
#    ipsecmon where its CPU goes (capture, decode, verification, analysis,
#    runtime) by CPU profiles of 4 more bursts at its best rate; a trial
#    that cannot run fails the check, a rate does not.
# 5. Fleet (issue 19): the ikev2-rekey scenario once more with
#    fleet-hooks.sh: an exporter in each gateway's namespace (alice and bob,
#    keyless stats -i lab0 --metrics-listen --events), forwarded to this
#    namespace's loopback (ipsecmon-lab nsproxy), and a real Prometheus
#    server (Debian's prometheus, config and data in the work directory,
#    scraping both every second, with contrib/prometheus/ipsecmon.rules.yml).
#    The event logs are moved away after round 2 and the exporters get
#    SIGHUP. `ipsecmon-lab livecheck fleet` checks with PromQL over the HTTP
#    API that fleet-wide sums equal the sums of both /stats.json at every
#    quiet moment, that the tunnel's series go on across the daemons'
#    rekeys, that the rules loaded and evaluated, that scrapes taken during
#    traffic pass promtool check metrics, and that the event logs hold every
#    event. About 65 s.
#
# About 3 minutes on 2 cores (plus building). Everything it starts is
# stopped and every namespace it creates is removed, on any exit.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
# scenario:late round:check round (live-hooks.sh)
SCENARIOS=(ikev2-rekey:3:4 ikev2-child-delete:0:2)
REPLAY_LOOPS=${REPLAY_LOOPS:-10}
REPLAY_BUFFER=${REPLAY_BUFFER:-256KiB}
RSS_WARMUP=${RSS_WARMUP:-4s}
RSS_BOUND=${RSS_BOUND:-4MiB}
FLOOD_PAIRS=${FLOOD_PAIRS:-50000}
FLOOD_LOOPS=${FLOOD_LOOPS:-8}
FLOOD_RATE=${FLOOD_RATE:-100000}
RATE_START=${RATE_START:-50000}
RATE_STEPS=${RATE_STEPS:-2}
RATE_BUFFER_KIB=${RATE_BUFFER_KIB:-32768}
# Loopback ports of the fleet step: Prometheus, and the forwarders to the
# gateways' exporters.
FLEET_PROM_PORT=${FLEET_PROM_PORT:-29090}
FLEET_PORT_alice=${FLEET_PORT_alice:-29477}
FLEET_PORT_bob=${FLEET_PORT_bob:-29478}
OUT=""
KEEP=0
usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts o:kh opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	k) KEEP=1 ;;
	*) usage ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "live-check: needs root (namespaces, capture)" >&2; exit 1; }
need=()
for t in tshark tcpdump curl prometheus; do command -v "$t" >/dev/null || need+=("$t"); done
if [ ${#need[@]} -gt 0 ]; then
	echo "live-check: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

WORK=$(mktemp -d /tmp/ipsecmon-live.XXXXXX)
chmod 700 "$WORK"
[ -n "$OUT" ] || OUT=$WORK/out
mkdir -p "$OUT"
declare -a PIDS=() NETNS=()
LAB_PID=""
on_exit() {
	local rc=$? p
	trap - EXIT INT TERM
	set +e
	# run.sh cleans up its scenario (namespaces, daemons, live instances).
	[ -z "$LAB_PID" ] || { kill -TERM "$LAB_PID" 2>/dev/null; wait "$LAB_PID" 2>/dev/null; }
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
	if [ "$KEEP" = 1 ]; then echo "live-check: kept $WORK" >&2; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "live-check: interrupted" >&2; exit 130' INT TERM
log() { printf '%s live-check: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
nap() { sleep "$1" & wait $! || true; }

t0=$(date +%s)
BIN=$WORK/bin
mkdir -p "$BIN"
(cd "$REPO" && go build -o "$BIN/ipsecmon" ./cmd/ipsecmon && go build -o "$BIN/ipsecmon-lab" ./cmd/ipsecmon-lab)
log "built in $(($(date +%s) - t0))s"

# ---- 1. the lab, with live instances beside it ----
t1=$(date +%s)
mkdir -p "$OUT/live"
names=()
for s in "${SCENARIOS[@]}"; do
	IFS=: read -r name late check <<<"$s"
	names+=("$name")
	export "LIVE_LATE_ROUND_${name//-/_}=$late" "LIVE_CHECK_ROUND_${name//-/_}=$check"
done
LAB_HOOKS=$LAB_DIR/live-hooks.sh LIVE_OUT=$OUT/live LIVE_IPSECMON=$BIN/ipsecmon \
	"$LAB_DIR/run.sh" -o "$OUT/rec" "${names[@]}" &
LAB_PID=$!
wait "$LAB_PID" || { LAB_PID=""; log "a lab scenario failed"; exit 1; }
LAB_PID=""
log "lab scenarios with live instances in $(($(date +%s) - t1))s"
status=0
for s in "${SCENARIOS[@]}"; do
	IFS=: read -r name late check <<<"$s"
	echo "== $name"
	"$BIN/ipsecmon-lab" compare "$REPO/testdata/pcaps/lab/$name" "$OUT/rec/$name" || status=1
	"$BIN/ipsecmon-lab" verify "$OUT/rec/$name" || status=1
	"$BIN/ipsecmon-lab" livecheck lab -rec "$OUT/rec/$name" -live "$OUT/live/$name" -ipsecmon "$BIN/ipsecmon" \
		-late "$late" -check "$check" || status=1
done

echo "== replay"
# ---- 2. replay into a veth, faster than ipsecmon reads ----
t2=$(date +%s)
R=$OUT/replay
mkdir -p "$R"
TX=lvc-$$-tx RX=lvc-$$-rx
for n in "$TX" "$RX"; do
	ip netns add "$n"
	NETNS+=("$n")
	# No IPv6 (router solicitations, MLD): the link carries only the replay.
	ip netns exec "$n" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	ip -n "$n" link set lo up
done
ip -n "$TX" link add tx0 type veth peer name rx0 netns "$RX"
ip -n "$TX" link set tx0 up
ip -n "$RX" link set rx0 up
"$BIN/ipsecmon-lab" benchgen -o "$WORK/bench.pcap" >/dev/null

# tcpdump: libpcap's own count of what reached rx0 (a 256 MiB buffer, 128-byte snap).
ip netns exec "$RX" tcpdump -i rx0 -n -B 262144 -s 128 -w /dev/null 2>"$R/tcpdump.stderr" &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
ip netns exec "$RX" "$BIN/ipsecmon" stats -i rx0 --immediate --buffer-size "$REPLAY_BUFFER" -q -o json \
	--metrics-listen 127.0.0.1:9477 >"$R/stats.json" 2>"$R/stats.stderr" &
IPSECMON=$! # ip netns exec execs ipsecmon: the same PID
PIDS+=("$IPSECMON")
for ((i = 0; i < 100; i++)); do
	grep -q 'listening on' "$R/tcpdump.stderr" && grep -q 'metrics on' "$R/stats.stderr" && break
	nap 0.05
done
grep -q 'metrics on' "$R/stats.stderr" || { log "ipsecmon did not start: $(cat "$R/stats.stderr")"; exit 1; }
grep -q 'listening on' "$R/tcpdump.stderr" || { log "tcpdump did not start: $(cat "$R/tcpdump.stderr")"; exit 1; }
"$BIN/ipsecmon-lab" rss -pid "$IPSECMON" -every 100ms -o "$R/rss.txt" &
RSS=$!
PIDS+=("$RSS")
rx() { ip netns exec "$RX" cat /sys/class/net/rx0/statistics/rx_packets; }
echo "rx_packets_before $(rx)" >"$R/netdev.txt"
ip netns exec "$TX" "$BIN/ipsecmon-lab" replay -i tx0 -loops "$REPLAY_LOOPS" -o "$R/replay.json" "$WORK/bench.pcap"
echo "rx_packets_after $(rx)" >>"$R/netdev.txt"
# Let ipsecmon empty its buffer: its frame count stops moving.
frames() { ip netns exec "$RX" curl -sf --max-time 2 http://127.0.0.1:9477/stats.json | grep -o '"frames":[0-9]*,"captured' | grep -o '[0-9]*' || true; }
last=-1
for ((i = 0; i < 40; i++)); do
	nap 0.5
	now=$(frames)
	[ "$now" = "$last" ] && break
	last=$now
done
kill -INT "$IPSECMON"
rc=0
wait "$IPSECMON" || rc=$?
echo "$rc" >"$R/stats.rc"
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true
wait "$RSS" || true
PIDS=()
log "replay in $(($(date +%s) - t2))s"
"$BIN/ipsecmon-lab" livecheck replay -dir "$R" -warmup "$RSS_WARMUP" -rss-bound "$RSS_BOUND" || status=1

echo "== flood"
# ---- 3. spoofed SA pairs: watch and its metrics must not stall the capture ----
t3=$(date +%s)
F=$OUT/flood
"$BIN/ipsecmon-lab" stress-gen -scenario pairs -n "$FLOOD_PAIRS" -ethernet -o "$WORK/flood.pcap" >/dev/null
flood_run() { # NAME IPSECMON-ARGS...
	local d=$F/$1 p s t k e rc=0
	shift
	mkdir -p "$d"
	ip netns exec "$RX" "$BIN/ipsecmon" "$@" -i rx0 -q -o json >"$d/out" 2>"$d/err" &
	p=$!
	PIDS+=("$p")
	nap 1 # libpcap open, metrics listening
	if [ -n "$SCRAPE" ]; then
		(while kill -0 "$p" 2>/dev/null; do
			s=$(date +%s.%N)
			c=$(ip netns exec "$RX" curl -s -o /dev/null -w '%{http_code}' --max-time 30 "http://$SCRAPE/metrics" || true)
			echo "$s $(date +%s.%N) $c"
			sleep 1
		done >"$d/scrapes.txt") &
		PIDS+=($!)
		(sleep 3; stat -c %s "$F/watch.pcapng" 2>/dev/null || echo 0) >"$d/wsize.txt" &
	fi
	ip netns exec "$TX" "$BIN/ipsecmon-lab" replay -i tx0 -rate "$FLOOD_RATE" -loops "$FLOOD_LOOPS" -o "$d/replay.json" "$WORK/flood.pcap"
	nap 1
	t=$(date +%s.%N)
	echo "$t" >"$d/term.txt"
	kill -TERM "$p"
	wait "$p" || rc=$?
	e=$(date +%s.%N)
	awk -v e="$e" -v t="$t" -v rc="$rc" 'BEGIN { printf "%.3f %d\n", e - t, rc }' >"$d/exit.txt"
	wait
}
SCRAPE="" flood_run stats stats
SCRAPE=127.0.0.1:9478 flood_run watch watch --interval 1s --metrics-listen 127.0.0.1:9478 -w "$F/watch.pcapng"
PIDS=()
rm -f "$F/watch.pcapng" # only its size mattered
log "flood in $(($(date +%s) - t3))s"
"$BIN/ipsecmon-lab" livecheck flood -dir "$F" -interval 1s -exit-in 5s || status=1
echo "== rate"
# ---- 4. the highest lossless rate, tcpdump and ipsecmon side by side ----
t4=$(date +%s)
"$BIN/ipsecmon-lab" benchgen -o "$WORK/keyed.pcap" -keys "$WORK/keyed-keys.txt" >/dev/null
mkdir -p "$OUT/rate"
"$BIN/ipsecmon-lab" liverate -tx "$TX" -rx "$RX" -ipsecmon "$BIN/ipsecmon" -buffer-kib "$RATE_BUFFER_KIB" \
	-start "$RATE_START" -steps "$RATE_STEPS" -capture "$WORK/bench.pcap" \
	-keyed "$WORK/keyed.pcap" -keys "$WORK/keyed-keys.txt" -o "$OUT/rate" || status=1
log "rate in $(($(date +%s) - t4))s"
echo "== fleet"
# ---- 5. a fleet: one exporter per gateway, a real Prometheus scraping both ----
fleet_step() {
	local t4 FL=$OUT/fleet P=$WORK/prometheus prom port i
	t4=$(date +%s)
	mkdir -p "$FL" "$P/data"
	for port in "$FLEET_PROM_PORT" "$FLEET_PORT_alice" "$FLEET_PORT_bob"; do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
			log "fleet: 127.0.0.1:$port is taken (set FLEET_PROM_PORT, FLEET_PORT_alice, FLEET_PORT_bob)"
			return 1
		fi
	done
	cat >"$P/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 900ms
		  evaluation_interval: 1s
		rule_files:
		  - $REPO/contrib/prometheus/ipsecmon.rules.yml
		scrape_configs:
		  - job_name: ipsecmon
		    static_configs:
		      - targets: ['127.0.0.1:$FLEET_PORT_alice']
		        labels: {gateway: alice}
		      - targets: ['127.0.0.1:$FLEET_PORT_bob']
		        labels: {gateway: bob}
	EOF
	prometheus --config.file "$P/prometheus.yml" --storage.tsdb.path "$P/data" \
		--web.listen-address "127.0.0.1:$FLEET_PROM_PORT" --log.level warn 2>"$P/stderr" &
	prom=$!
	PIDS+=("$prom")
	for ((i = 0; i < 100; i++)); do
		curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$FLEET_PROM_PORT/-/ready" && break
		kill -0 "$prom" 2>/dev/null || break
		nap 0.1
	done
	curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$FLEET_PROM_PORT/-/ready" ||
		{ log "fleet: prometheus did not start: $(tail -5 "$P/stderr")"; return 1; }
	LAB_HOOKS=$LAB_DIR/fleet-hooks.sh FLEET_OUT=$FL FLEET_IPSECMON=$BIN/ipsecmon \
		FLEET_PORT_alice=$FLEET_PORT_alice FLEET_PORT_bob=$FLEET_PORT_bob \
		"$LAB_DIR/run.sh" -o "$OUT/fleet-rec" ikev2-rekey &
	LAB_PID=$!
	wait "$LAB_PID" || { LAB_PID=""; log "fleet: the lab scenario failed"; return 1; }
	LAB_PID=""
	log "fleet: scenario with two exporters and Prometheus in $(($(date +%s) - t4))s"
	"$BIN/ipsecmon-lab" livecheck fleet -dir "$FL" -rec "$OUT/fleet-rec/ikev2-rekey" \
		-prometheus "http://127.0.0.1:$FLEET_PROM_PORT" -ipsecmon "$BIN/ipsecmon" \
		-rules "$REPO/contrib/prometheus/ipsecmon.rules.yml" || return 1
	kill -TERM "$prom"
	wait "$prom" || true
	log "fleet in $(($(date +%s) - t4))s"
}
fleet_step || status=1
log "done in $(($(date +%s) - t0))s: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status
