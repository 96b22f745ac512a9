#!/usr/bin/env bash
# DNS parse benchmark: svcres against c-ares, ldns and libknot on the captured corpus, full decode.
# $1 = a release build dir (scripts/dev bench passes build/release). Prints:
#   RESULT parse instr_per_msg=X cares=Y ldns=Z knot=W allocs=N ns_per_msg=... (peers' ns too)
#   RESULT footprint parse_text=BYTES
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:?usage: parse.sh BUILD_DIR}"
CORPUS="$ROOT/tests/data/corpus"
cmake --build "$BUILD" --target bench_parse footprint_parse >/dev/null || { echo "bench_parse build failed"; exit 1; }
BIN="$BUILD/bench/parse/bench_parse"
FOOT="$BUILD/bench/parse/footprint_parse"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
msgs=$(ls "$CORPUS"/*.bin | wc -l)

# Wall time per message (Google Benchmark, real time per corpus pass / messages).
"$BIN" "$CORPUS" --benchmark_format=csv --benchmark_min_time=0.5 2>/dev/null > "$tmp/gb.csv"
ns() { awk -F, -v n="\"parse/$1\"" -v m="$msgs" '$1==n {printf "%.0f", $3/m}' "$tmp/gb.csv"; }

# Instructions per message: callgrind counts only inside bench_run_<lib> (--toggle-collect); the
# loop-only pass bench_run_none is subtracted as the baseline.
N=10
instr() {
  valgrind --tool=callgrind --toggle-collect="bench_run_$1" --callgrind-out-file="$tmp/cg.$1" \
    "$BIN" "$CORPUS" --run "$1" "$N" >/dev/null 2>&1 || { echo 0; return; }
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.$1"
}
base=$(instr none)
per_msg() { echo $(( ($(instr "$1") - base) / (N * msgs) )); }
sv=$(per_msg svcres); ca=$(per_msg cares); ld=$(per_msg ldns); kn=$(per_msg knot)
allocs=$("$BIN" "$CORPUS" --allocs | sed -E 's/.*allocs=([0-9]+).*/\1/')

echo "parse: $msgs corpus messages, full decode; ns/msg svcres=$(ns svcres) cares=$(ns cares) ldns=$(ns ldns) knot=$(ns knot)"
echo "RESULT parse instr_per_msg=$sv cares=$ca ldns=$ld knot=$kn allocs=$allocs ns_per_msg=$(ns svcres) cares_ns=$(ns cares) ldns_ns=$(ns ldns) knot_ns=$(ns knot)"

# Footprint: bytes of text in svcres symbols of a static -Os program that only parses (the entry
# function into which svcres inlines, plus any out-of-line svcres:: functions).
text=0
while read -r size kind _; do
  case "$kind" in T|t|W|w) text=$((text + 16#$size)) ;; esac
done < <(nm --size-sort -C "$FOOT" | grep svcres)
echo "RESULT footprint parse_text=$text"
