# Sourced by scripts/dev test. The endpoint table and the balancers on AArch64 (Lambda on Graviton):
# cross-compiles the table and balance tests (unit and stress) with aarch64-linux-gnu-g++, static,
# and runs them under qemu-aarch64. This proves the AArch64 build (ldar/stlr or LSE atomics, the
# lock-free static_asserts) and runs the stress tests on it; note that qemu on an x86 host executes
# with the host's stronger ordering, so real Graviton reorderings are argued in the header's
# memory-order comments rather than reproduced here.
# Build dir: build/h-lb-arm64. Stress length: SVCRES_STRESS_MS (default here 1000 ms).
stage_arm64_table() {
  local cxx out qemu
  cxx="$(command -v aarch64-linux-gnu-g++ || true)"
  qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
  if [ -z "$cxx" ] || [ -z "$qemu" ]; then
    say "  needs g++-aarch64-linux-gnu and qemu-user-static"; FAILED=$((FAILED + 1)); return 1
  fi
  out="$ROOT/build/h-lb-arm64"
  mkdir -p "$out"
  local flags="-std=c++17 -O2 -Wall -Wextra -Wpedantic -Werror -pthread -static -I$ROOT/include -I$ROOT/tests/support"
  local log="$ROOT/build/log-arm64-table.txt"
  : >"$log"
  # Catch2's main, once.
  if [ ! -f "$out/catch_main.o" ] || [ "$ROOT/tests/support/catch_main.cpp" -nt "$out/catch_main.o" ]; then
    "$cxx" $flags -c "$ROOT/tests/support/catch_main.cpp" -o "$out/catch_main.o" >>"$log" 2>&1 \
      || { tail -20 "$log"; FAILED=$((FAILED + 1)); return 1; }
  fi
  local rc=0 name srcs
  arm64_build_run() {  # name sources...
    local name="$1"; shift
    if ! "$cxx" $flags "$@" "$out/catch_main.o" -o "$out/$name" >>"$log" 2>&1; then
      say "  $name: cross-compile failed, see $log"; return 1
    fi
    SVCRES_STRESS_MS="${SVCRES_STRESS_MS:-1000}" "$qemu" "$out/$name" >>"$log" 2>&1 \
      || { say "  $name failed under $qemu, see $log"; return 1; }
  }
  count_check arm64_build_run table_test "$ROOT/tests/table/endpoint_table_test.cpp" || rc=1
  count_check arm64_build_run table_stress_test "$ROOT/tests/table/endpoint_table_stress_test.cpp" || rc=1
  count_check arm64_build_run balance_test "$ROOT"/tests/balance/{policies_test,maglev_test,outlier_test,custom_policy_test}.cpp || rc=1
  count_check arm64_build_run balance_stress_test "$ROOT/tests/balance/balance_stress_test.cpp" || rc=1
  grep -E "^(All tests passed|test cases:)" "$log" | sed 's/^/  arm64: /'
  return $rc
}
stage arm64 stage_arm64_table
