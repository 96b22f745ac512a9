# Sourced by scripts/dev test. The Lambda deployment packages: builds both static bootstraps with
# examples/lambda_runtime/package.sh, then runs the end-to-end test (built by the gcc stage) against
# the static x86_64 binary and, under qemu-aarch64, the arm64 one: Runtime API stand-in, NSD and
# HTTP backends on loopback, exactly as the native bootstrap is tested.
stage_lambda_arm64() {
  local out="${SVCRES_LAMBDA_OUT:-$ROOT/build/lambda-stage}"
  local test_bin="${SVCRES_LAMBDA_TEST_BIN:-$ROOT/build/dev/tests/lambda/lambda_e2e_test}"
  local log="$ROOT/build/log-lambda-arm64.txt"
  if ! SVCRES_LAMBDA_OUT="$out" bash "$ROOT/examples/lambda_runtime/package.sh" "$ROOT" >"$log" 2>&1; then
    tail -20 "$log"; FAILED=$((FAILED + 1)); return 1
  fi
  grep '^RESULT' "$log"
  if [ ! -x "$test_bin" ]; then
    say "  $test_bin missing (the gcc stage builds it)"; FAILED=$((FAILED + 1)); return 1
  fi
  local qemu
  qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
  [ -n "$qemu" ] || { say "  qemu-aarch64 not installed (qemu-user-static)"; FAILED=$((FAILED + 1)); return 1; }
  local rc=0
  lambda_e2e() {  # label bootstrap [emulator]
    SVCRES_LAMBDA_RUN_DIR="$out/run-$1" SVCRES_LAMBDA_BOOTSTRAP="$2" SVCRES_LAMBDA_EMULATOR="${3:-}" \
      "$test_bin" >>"$log" 2>&1
  }
  mkdir -p "$out/run-x86_64" "$out/run-arm64"
  count_check lambda_e2e x86_64 "$out/x86_64/bootstrap" || { say "  static x86_64 bootstrap failed, see $log"; rc=1; }
  count_check lambda_e2e arm64 "$out/arm64/bootstrap" "$qemu" || { say "  arm64 bootstrap under qemu failed, see $log"; rc=1; }
  grep '^RESULT lambda_cold_start' "$log"
  return $rc
}
stage lambda-arm64 stage_lambda_arm64
