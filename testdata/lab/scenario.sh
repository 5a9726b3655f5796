#!/usr/bin/env bash
# Runs one lab scenario: scenario.sh NAME WORKDIR OUTDIR
# (run.sh calls it; it needs LAB_BIN, the built cmd/ipsecmon-lab).
# The recording goes to OUTDIR/NAME only when everything succeeded.
set -euo pipefail
SCEN=$1
W=$2
OUT=$3
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${LAB_BIN:?LAB_BIN must point to the ipsecmon-lab binary}"
[ -f "$LAB_DIR/scenarios/$SCEN/scenario.sh" ] || { echo "no scenario $SCEN" >&2; exit 2; }

TOPOLOGY=direct
DESCRIPTION=""
CHARON_EXTRA=""
CHARON_EXTRA_alice=""
CHARON_EXTRA_bob=""
# Routed topology: the relay's hold rules and the packet filter's drop rule
# (see start_relay in lib.sh).
RELAY_HOLD=()
RELAY_MAX_HOLD=500ms
PATH_DROP_EVERY=""
PATH_DROP_PACKET=0
# 1: traffic runs across rekeys or into a frozen peer, so how packets split
# between the SAs of a tunnel, and the daemons' readings, depend on timing
# (compare then checks the tunnels' sent totals).
COUNTS_SPLIT_BY_TIMING=0
# finish runs after the capture stopped; scenarios may replace it.
finish() {
	signal_peer alice TERM
	signal_peer bob TERM
}
# shellcheck source=/dev/null
source "$LAB_DIR/scenarios/$SCEN/scenario.sh"
# shellcheck source=lib.sh
source "$LAB_DIR/lib.sh"
# Optional hooks (see hook in lib.sh), e.g. testdata/lab/live-hooks.sh.
if [ -n "${LAB_HOOKS:-}" ]; then
	# shellcheck source=/dev/null
	source "$LAB_HOOKS"
fi
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

rm -rf "$W"
mkdir -p "$W"
: >"$W/steps.log"
mark "scenario $SCEN"
start=$(date +%s)
setup_topology
start_charon alice
start_charon bob
inner_routes alice 10.2.0.0/16
inner_routes bob 10.1.0.0/16
start_servers
start_capture
hook capture-start
steps
stop_capture
stop_relay
hook capture-end
finish
# The recorders end when their daemon closes the VICI socket.
for peer in alice bob; do
	pid=${RECORDER_PID[$peer]:-}
	[ -n "$pid" ] || continue
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done
mark "scenario end"

PARTIAL=$OUT/$SCEN.new
rm -rf "$PARTIAL"
"$LAB_BIN" extract -work "$W" -scenario "$SCEN" -description "$DESCRIPTION" -topology "$TOPOLOGY" \
	-split-by-timing="$([ "$COUNTS_SPLIT_BY_TIMING" = 1 ] && echo true || echo false)" -o "$OUT/$SCEN.new" ||
	die "extract failed (work directory $W)"
rm -rf "$OUT/$SCEN"
mv "$OUT/$SCEN.new" "$OUT/$SCEN"
PARTIAL=""
log "recorded in $(($(date +%s) - start))s -> $OUT/$SCEN"
