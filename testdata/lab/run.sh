#!/usr/bin/env bash
# The strongSwan lab: records every scenario (or the ones named) with two real
# charon daemons in network namespaces of their own.
#
#   testdata/lab/run.sh [-o OUTDIR] [-j JOBS] [-k] [scenario ...]
#
#   -o OUTDIR  where recordings go (default testdata/pcaps/lab); each scenario
#              is replaced only when it was recorded successfully
#   -j JOBS    scenarios run at the same time (default 4; each has its own
#              namespaces, so they do not interfere)
#   -k         keep the work directory (charon logs, which hold keys and the PSK)
#   -l         list the scenarios and exit
#
# Needs root on Debian/Ubuntu; installs strongSwan (strongswan-charon
# libcharon-extra-plugins libstrongswan-standard-plugins strongswan-swanctl),
# tcpdump and iptables with apt when missing; Go must be on PATH (to build
# cmd/ipsecmon-lab).
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LAB_DIR/../.." && pwd)
OUTDIR=$REPO/testdata/pcaps/lab
JOBS=4
KEEP=0
usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
all_scenarios() { for d in "$LAB_DIR"/scenarios/*/; do basename "$d"; done; }
while getopts o:j:klh opt; do
	case $opt in
	o) OUTDIR=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	k) KEEP=1 ;;
	l) all_scenarios; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then SCENARIOS=("$@"); else mapfile -t SCENARIOS < <(all_scenarios); fi
for s in "${SCENARIOS[@]}"; do
	[ -f "$LAB_DIR/scenarios/$s/scenario.sh" ] || { echo "run.sh: no scenario '$s' (try -l)" >&2; exit 2; }
done

[ "$(id -u)" = 0 ] || { echo "run.sh: the lab needs root (network namespaces, charon, tcpdump)" >&2; exit 1; }

need=()
[ -x /usr/lib/ipsec/charon ] || need+=(strongswan-charon)
[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || need+=(libcharon-extra-plugins)
# openssl and gcm plugins (3DES, AES-GCM, NULL, ECP); only a Recommends of libstrongswan.
[ -f /usr/lib/ipsec/plugins/libstrongswan-openssl.so ] || need+=(libstrongswan-standard-plugins)
command -v swanctl >/dev/null || need+=(strongswan-swanctl)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v iptables >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
command -v unshare >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
	echo "run.sh: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's package starts a charon of its own; the lab's daemons run in
# their own namespaces and /run, so that one does no harm and is left alone.
command -v go >/dev/null || { echo "run.sh: Go is needed to build cmd/ipsecmon-lab" >&2; exit 1; }

WORK=$(mktemp -d /tmp/ipsecmon-lab.XXXXXX)
chmod 700 "$WORK"
declare -A PID_OF=()
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	for s in "${!PID_OF[@]}"; do
		kill -TERM "${PID_OF[$s]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then
		echo "run.sh: work directory kept: $WORK (charon logs hold keys and the lab PSK)" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

export LAB_BIN=$WORK/ipsecmon-lab
(cd "$REPO" && go build -o "$LAB_BIN" ./cmd/ipsecmon-lab)
mkdir -p "$OUTDIR"

t0=$(date +%s)
declare -A RC=()
running=0
reap() {
	local s
	for s in "${!PID_OF[@]}"; do
		if ! kill -0 "${PID_OF[$s]}" 2>/dev/null; then
			if wait "${PID_OF[$s]}"; then RC[$s]=0; else RC[$s]=$?; fi
			unset "PID_OF[$s]"
			running=$((running - 1))
		fi
	done
}
for s in "${SCENARIOS[@]}"; do
	while [ "$running" -ge "$JOBS" ]; do
		sleep 0.2
		reap
	done
	echo "run.sh: starting $s" >&2
	"$LAB_DIR/scenario.sh" "$s" "$WORK/$s" "$OUTDIR" >"$WORK/$s.out" 2>&1 &
	PID_OF[$s]=$!
	running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
	sleep 0.2
	reap
done

failed=0
for s in "${SCENARIOS[@]}"; do
	if [ "${RC[$s]}" = 0 ]; then
		echo "run.sh: ok      $s: $(tail -1 "$WORK/$s.out")" >&2
	else
		failed=1
		echo "run.sh: FAILED  $s (exit ${RC[$s]}):" >&2
		tail -15 "$WORK/$s.out" | sed 's/^/    /' >&2
	fi
done
echo "run.sh: ${#SCENARIOS[@]} scenarios in $(($(date +%s) - t0))s" >&2
exit $failed
