#!/usr/bin/env bash
# Resolver benchmark: starts its own NSD on 127.0.0.1 (port 15310, the resolver's range), runs
# bench_resolve from the release build dir given as $1, stops NSD whatever happens. When valgrind
# is installed it also counts the instructions of one cache hit: two callgrind runs of the hit
# loop (N and N + 20000 hits), the difference divided by 20000, so start-up and the warming
# query cancel out. The cost of an uncached query: CPU from bench_resolve (each side's thread CPU
# time, user + system, per query, median of its rounds) and system calls counted with `strace -c -f`
# over `bench_resolve PORT --only SIDE N` for N = 200 and N = 2200 (the difference divided by 2000,
# so set-up and warm-up cancel out; strace slows the runs, not the counts). Prints
#   RESULT resolve qps=X cares_qps=Y glibc_qps=Z cache_hit_ns=H tcp_fallback_us=T cares_ratio=Q
#          cpu_us=C cares_cpu_us=C glibc_cpu_us=C syscalls=S cares_syscalls=S glibc_syscalls=S
#   RESULT resolve_cache_hit instructions=I
# (one line for the first RESULT) and, per side, the system calls per query by name.
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
out="$("$bin" "$SVCRES_PORT_NSD")" || { echo "$out"; exit 1; }
result="$(grep '^RESULT resolve ' <<<"$out")"
grep -v '^RESULT resolve ' <<<"$out"

# strace -c summary -> "name calls" lines (the total as "total N").
syscall_table() {
  awk '/^-+ / { section++; next } section == 1 && NF >= 5 { print $NF, $4 } section == 2 && $NF == "total" { print "total", $4 }' "$1"
}
# System calls per query of one side: two strace runs, the difference per name over 2000 queries.
per_query_syscalls() {  # $1: svcres|cares|glibc; prints "TOTAL name=x.x ..." or fails
  local small="$run/strace.$1.200" big="$run/strace.$1.2200"
  strace -c -f -o "$small" "$bin" "$SVCRES_PORT_NSD" --only "$1" 200 >/dev/null 2>&1 &&
    strace -c -f -o "$big" "$bin" "$SVCRES_PORT_NSD" --only "$1" 2200 >/dev/null 2>&1 || return 1
  awk 'FNR == NR { base[$1] = $2; next }
       { d = ($2 - base[$1]) / 2000; if ($1 == "total") total = d; else if (d >= 0.05) list = list sprintf(" %s=%.1f", $1, d) }
       END { printf "%.1f%s\n", total, list }' <(syscall_table "$small") <(syscall_table "$big")
}
if command -v strace >/dev/null; then
  fields=""
  for side in svcres cares glibc; do
    counts="$(per_query_syscalls "$side")" || { echo "strace run of $side failed"; exit 1; }
    echo "system calls per uncached query, $side: ${counts#* } (total ${counts%% *})"
    name=syscalls; [ "$side" = svcres ] || name="${side}_syscalls"
    fields="$fields $name=${counts%% *}"
  done
  echo "$result$fields"
else
  echo "strace not installed: no system-call counts"
  echo "$result"
fi

command -v valgrind >/dev/null || { echo "valgrind not installed: no instruction count for the cache hit"; exit 0; }
instructions() {  # total instructions of `bench_resolve PORT --hits $1` under callgrind
  local out="$run/callgrind.$1"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$SVCRES_PORT_NSD" --hits "$1" >/dev/null 2>&1 ||
    return 1
  awk '/^totals:/ { print $2 }' "$out"
}
base=$(instructions 1000) && more=$(instructions 21000) || { echo "callgrind run failed"; exit 1; }
echo "RESULT resolve_cache_hit instructions=$(( (more - base) / 20000 ))"
