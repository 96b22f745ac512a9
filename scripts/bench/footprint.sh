#!/usr/bin/env bash
# Code size of svcres in the quickstart (resolver + endpoint table + P2C + service + metrics), built
# the way a size-conscious Lambda would be: static, -Os, sections garbage-collected.
#   footprint.sh RELEASE_BUILD_DIR      (the dir only hosts the outputs; the build is done here)
# Prints
#   RESULT footprint full_text=B svcres_symbols=N main_text=B binary_text=B
# full_text = text of every svcres:: function and of main (where the compiler inlined the rest of
# the library), from nm sizes; binary_text = the whole executable's .text (libc included), from size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/build/release}/footprint"
mkdir -p "$OUT"
CXX="${CXX:-g++}"
"$CXX" -std=c++17 -Os -DNDEBUG -fno-exceptions -fno-rtti -ffunction-sections -fdata-sections \
  -I"$ROOT/include" "$ROOT/examples/quickstart/main.cpp" -o "$OUT/quickstart-os" \
  -static -pthread -Wl,--gc-sections -Wl,-Map="$OUT/quickstart-os.map" 2>"$OUT/build.log" ||
  { cat "$OUT/build.log"; exit 1; }
# Text symbols (t, T, W) with their sizes, demangled. Constructor and destructor variants (C1/C2,
# D1/D2) often share one address: each address is counted once.
nm -C -S --size-sort "$OUT/quickstart-os" | awk '$3 ~ /^[tTwW]$/' >"$OUT/symbols.txt"
svcres_bytes=$(awk 'function hex(s,  i, v, c) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v } { name=""; for (i = 4; i <= NF; i++) name = name " " $i } name ~ /svcres::/ && !seen[$1]++ { s += hex($2); n++ } END { printf "%d %d", s, n }' "$OUT/symbols.txt")
main_bytes=$(awk 'function hex(s,  i, v, c) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v } $4 == "main" { s += hex($2) } END { print s + 0 }' "$OUT/symbols.txt")
read -r sv_b sv_n <<<"$svcres_bytes"
binary_text=$(size -A "$OUT/quickstart-os" | awk '$1 == ".text" { print $2 }')
full=$((sv_b + main_bytes))
echo "largest svcres functions:"
awk 'function hex(s,  i, v, c) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c } return v } { name=""; for (i = 4; i <= NF; i++) name = name " " $i } name ~ /svcres::/ { printf "%8d %s\n", hex($2), substr(name, 1, 110) }' "$OUT/symbols.txt" | sort -rn | head -8 || true  # head closing the pipe early is not a failure
echo "RESULT footprint full_text=$full svcres_symbols=$sv_n main_text=$main_bytes binary_text=$binary_text target_max=24576"
