#!/usr/bin/env bash
# Resolution under loss: svcres, c-ares 1.18 and glibc resolve SRV names of local.zone through the
# chaos relay (tests/support/chaos_relay.hpp) in front of a real NSD, at 0, 10, 30 and 50 % loss each
# way, plus 5 % duplicated and 5 % reordered datagrams each way, every lookup with a 2 s budget.
# Runs bench_chaos from the release build dir given as $1 and prints, per loss rate and library,
#   RESULT chaos loss=L impl=svcres|svcres_rtx|cares|glibc success=S p50_ms=.. p99_ms=.. packets_per_lookup=P overruns=O
# success: share of lookups with a complete answer within 2 s; p50/p99: latency of those answers;
# packets_per_lookup: queries the library sent (counted at the relay); overruns: calls that returned
# more than 50 ms after the budget.
#
# Resolver options, the same for all three, from ONE resolv.conf written below:
#   nameserver 127.0.0.1 / options timeout:1 attempts:2 edns0
# Two tries of 1 s is the most that fits 2 s in glibc's schedule (with one server res_send waits
# `timeout` per try, 1 s + 1 s: its longest calls here take 2.00x s); svcres and c-ares double the
# wait on the second try (1 s + 2 s), so their own schedules need the budget cut: svcres through
# LookupFlags::deadline, c-ares by ares_cancel() from our event loop at 2 s; glibc cannot be cut.
# c-ares 1.18 reads the servers from the file (ARES_OPT_RESOLVCONF) but ignores its options line
# (ares_save_options still reports 5000 ms and 4 tries), so bench_chaos passes the file's timeout and
# attempts through ares_init_options and prints what each library ended up with.
#
# Isolation (so that glibc never reads the machine's /etc/resolv.conf and nothing leaves loopback):
# the whole run happens inside `unshare -mn` (new mount and network namespaces: root only), with lo
# brought up, that resolv.conf bind-mounted on /etc/resolv.conf, NSD on 127.0.0.1:15310 and the
# relay on 127.0.0.1:53 of the private namespace; glibc's res_ninit and c-ares read that file.
# Without unshare the bench runs on the shared loopback under the port lock, relay on 15312, and
# glibc's server list is overwritten after res_ninit and before any query (printed when so).
# SVCRES_CHAOS_LOOKUPS / SVCRES_CHAOS_WORKERS change the sample (defaults 360 and 24: about 2.5 minutes).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:?usage: chaos.sh RELEASE_BUILD_DIR}" && pwd)"
bin="$BUILD/bench/chaos/bench_chaos"
probe="$BUILD/bench/chaos/svcres_bench_probe"
run="$BUILD/bench/chaos/run"
conf="$run/resolv.conf"
lookups="${SVCRES_CHAOS_LOOKUPS:-360}"
workers="${SVCRES_CHAOS_WORKERS:-24}"

inner() {  # $1: relay port; NSD and the bench, NSD stopped whatever happens
  export SVCRES_PORT_NSD=15310
  trap 'bash "$ROOT/tests/servers/stop.sh" nsd "$run" >/dev/null' EXIT
  bash "$ROOT/tests/servers/start.sh" nsd "$run" "$probe" || exit 1
  "$bin" --upstream "$SVCRES_PORT_NSD" --listen "$1" --resolv-conf "$conf" --lookups "$lookups" --workers "$workers"
}

if [ "${SVCRES_CHAOS_IN_NAMESPACE:-}" = 1 ]; then
  ip link set lo up || exit 1
  mount --bind "$conf" /etc/resolv.conf || exit 1
  echo "chaos: private network and mount namespace; /etc/resolv.conf here is: $(tr '\n' ';' < /etc/resolv.conf)"
  inner 53
  exit $?
fi

[ -x "$bin" ] || { echo "bench_chaos not built in $BUILD (needs libc-ares-dev)"; exit 1; }
mkdir -p "$run"
g++ -std=c++17 -O2 -o "$probe" "$ROOT/tests/servers/probe.cpp" || exit 1
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2 edns0\n' > "$conf"
if unshare -mn true 2>/dev/null; then
  SVCRES_CHAOS_IN_NAMESPACE=1 unshare -mn bash "${BASH_SOURCE[0]}" "$BUILD"
else
  echo "chaos: unshare -mn not permitted (not root?): shared loopback under the port lock"
  ( flock 9; inner 15312 ) 9>/tmp/svcres-ports.lock
fi
