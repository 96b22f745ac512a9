#!/usr/bin/env bash
# Resolver benchmark: starts its own NSD on 127.0.0.1 (port 15310, the resolver's range), runs
# bench_resolve from the release build dir given as $1, stops NSD whatever happens. When valgrind
# is installed it also counts the instructions of one cache hit: two callgrind runs of the hit
# loop (N and N + 20000 hits), the difference divided by 20000, so start-up and the warming
# query cancel out. Prints
#   RESULT resolve qps=X cares_qps=Y glibc_qps=Z cache_hit_ns=H tcp_fallback_us=T cares_ratio=Q
#   RESULT resolve_cache_hit instructions=I
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$(cd "${1:?usage: resolve.sh RELEASE_BUILD_DIR}" && pwd)"  # absolute: NSD runs from the zone folder
bin="$BUILD/bench/resolve/bench_resolve"
probe="$BUILD/bench/resolve/svcres_bench_probe"
[ -x "$bin" ] || { echo "bench_resolve not built in $BUILD (needs libc-ares-dev)"; exit 1; }
run="$BUILD/bench/resolve/run"
mkdir -p "$run"
g++ -std=c++17 -O2 -o "$probe" "$ROOT/tests/servers/probe.cpp" || exit 1
export SVCRES_PORT_NSD=15310
trap 'bash "$ROOT/tests/servers/stop.sh" nsd "$run" >/dev/null' EXIT
bash "$ROOT/tests/servers/start.sh" nsd "$run" "$probe" || exit 1
"$bin" "$SVCRES_PORT_NSD" || exit 1

command -v valgrind >/dev/null || { echo "valgrind not installed: no instruction count for the cache hit"; exit 0; }
instructions() {  # total instructions of `bench_resolve PORT --hits $1` under callgrind
  local out="$run/callgrind.$1"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$SVCRES_PORT_NSD" --hits "$1" >/dev/null 2>&1 ||
    return 1
  awk '/^totals:/ { print $2 }' "$out"
}
base=$(instructions 1000) && more=$(instructions 21000) || { echo "callgrind run failed"; exit 1; }
echo "RESULT resolve_cache_hit instructions=$(( (more - base) / 20000 ))"
