# Sourced by scripts/dev test. Runs `svcres demo` (built by the gcc stage in build/dev) and requires
# exit 0, i.e. every step's check held, within 20 s of wall time.
stage_demo() {
  local bin="${SVCRES_DEMO_BIN:-$ROOT/build/dev/examples/svcres/svcres}"
  local log="$ROOT/build/log-demo.txt"
  if [ ! -x "$bin" ]; then
    say "  $bin missing (the gcc stage builds it)"; FAILED=$((FAILED + 1)); return 1
  fi
  local t0 t1 rc
  t0=$(date +%s%N)
  timeout 60 "$bin" demo >"$log" 2>&1
  rc=$?
  t1=$(date +%s%N)
  local ms=$(( (t1 - t0) / 1000000 ))
  grep -E '^\[' "$log"
  tail -1 "$log"
  echo "RESULT demo wall_ms=$ms exit=$rc"
  demo_ok() { [ "$rc" -eq 0 ] && [ "$ms" -lt 20000 ]; }
  count_check demo_ok || { say "  demo failed (exit $rc, $ms ms), see $log"; return 1; }
}
stage demo stage_demo
