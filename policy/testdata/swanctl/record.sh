#!/usr/bin/env bash
# Regenerates the verbatim `swanctl --list-conns` samples beside each *.conf
# here and in lab/: one strongSwan 5.9 charon (kernel-libipsec, as in
# /work/shared/LAB-NOTES.md) in a private network namespace, each file loaded
# with `swanctl --load-conns --file` (which unloads the previous file's
# connections), then listed; charon's cfg-level-2 dump of each loaded
# connection is kept beside it. Needs root and strongswan-charon/-swanctl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=pol-rec-$$
w=$(mktemp -d)
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir -p "$w/run"
cat >"$w/strongswan.conf" <<CONF
charon {
  load = random nonce openssl sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
  install_routes = no
  port = 0
  port_nat_t = 0
  i_dont_care_about_security_and_use_aggressive_mode_psk = yes
  filelog {
    cfg {
      path = $w/charon.log
      default = -1
      cfg = 2
      flush_line = yes
    }
  }
  syslog { daemon { default = -1 } }
  plugins { vici { socket = unix://$w/charon.vici } }
}
CONF
printf 'swanctl {\n  load = pem pkcs1 x509 pubkey random nonce openssl\n}\n' >"$w/swanctl.conf"
STRONGSWAN_CONF="$w/strongswan.conf" ip netns exec "$ns" unshare -m --propagation private \
	sh -c "mount --bind '$w/run' /run && exec /usr/lib/ipsec/charon" >"$w/charon.out" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$w/charon.vici" ] && break; sleep 0.1; done
sw() { STRONGSWAN_CONF="$w/swanctl.conf" swanctl "$@" --uri "unix://$w/charon.vici"; }
for f in "$here"/*.conf "$here"/lab/*.conf; do
	out=${f%.conf}.list-conns.txt
	: >"$w/charon.log"
	sw --load-conns --file "$f" >"$w/load.out" 2>&1 || { cat "$w/load.out" >&2; exit 1; }
	# charon's own reading of the file (cfg level 2): the oracle for proposals,
	# modes and actions, since --list-conns does not print them.
	sleep 0.5
	grep -v 'vici client' "$w/charon.log" >"${f%.conf}.charon-cfg.log" || true
	sw --list-conns >"$out"
	sw --list-conns --pretty >"${f%.conf}.list-conns-pretty.txt"
	echo "$(basename "$f"): $(grep -c '' "$out") lines" >&2
done
