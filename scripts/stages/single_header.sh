# Sourced by scripts/dev test. Generates the single header (scripts/dev single-header) and compiles
# the quickstart example against that one file alone, with the strict flags a user may have, under
# g++ and clang++; then runs the binary far enough to prove it links and starts (its argument parse).
stage_single_header() {
  local out="$ROOT/build/single-header"
  mkdir -p "$out"
  bash "$ROOT/scripts/single-header" >"$out/svcres.hpp" || { FAILED=$((FAILED + 1)); return 1; }
  # The quickstart includes <svcres/svcres.hpp>: a directory holding only the generated file.
  local inc="$out/include/svcres"
  rm -rf "$out/include"; mkdir -p "$inc"
  cp "$out/svcres.hpp" "$inc/svcres.hpp"
  local rc=0 cxx
  for cxx in g++ clang++; do
    compile_one() {
      "$cxx" -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror -I"$out/include" \
        "$ROOT/examples/quickstart/main.cpp" -o "$out/quickstart-$cxx" -pthread >"$out/log-$cxx.txt" 2>&1 &&
        ! grep -q '#include "svcres/' "$out/svcres.hpp" &&
        { "$out/quickstart-$cxx" x.local 1.2.3.4:bad; [ $? -eq 2 ]; } >/dev/null 2>&1
    }
    count_check compile_one || { say "  quickstart against the single header failed with $cxx:"; head -20 "$out/log-$cxx.txt"; rc=1; }
  done
  say "  $(wc -l <"$out/svcres.hpp") lines, $(grep -c '^// ---- ' "$out/svcres.hpp") headers"
  return $rc
}
stage single-header stage_single_header
