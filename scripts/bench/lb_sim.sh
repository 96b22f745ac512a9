#!/usr/bin/env bash
# LB simulation (virtual time): Linkerd 2016 and tower PR #76 scenarios, every policy, with and
# without ejection. $1 = release build dir. Writes the latency CDF SVGs next to the binary.
set -euo pipefail
BUILD="${1:?usage: lb_sim.sh BUILD_DIR}"
cmake --build "$BUILD" --target bench_lb_sim >/dev/null
"$BUILD/bench/lb_sim/bench_lb_sim" "$BUILD/bench/lb_sim"
