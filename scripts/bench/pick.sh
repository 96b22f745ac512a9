#!/usr/bin/env bash
# Pick-path benchmark: every policy, 1 and 2 threads, with and without a republishing writer, and
# two locking baselines. $1 = release build dir (scripts/dev bench passes build/release).
set -euo pipefail
BUILD="${1:?usage: pick.sh BUILD_DIR}"
cmake --build "$BUILD" --target bench_pick >/dev/null
"$BUILD/bench/pick/bench_pick"
