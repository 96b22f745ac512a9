#!/usr/bin/env bash
# Resolver benchmark: starts its own NSD on 127.0.0.1 (port 15310, the resolver's range), runs
# bench_resolve from the release build dir given as $1, stops NSD whatever happens.
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
"$bin" "$SVCRES_PORT_NSD"
