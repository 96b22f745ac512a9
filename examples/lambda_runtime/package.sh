#!/usr/bin/env bash
# package.sh [REPO_ROOT]: builds the Lambda deployment packages, function.zip with `bootstrap` at its
# root, for x86_64 (g++) and arm64 (Debian's aarch64-linux-gnu-g++, for provided.al2023 on Graviton).
# The binaries are fully static: provided.al2023 has its own glibc, and a static bootstrap neither
# depends on its version nor pays for dynamic loading at cold start. (Static glibc is safe here
# because the bootstrap never calls getaddrinfo/NSS: svcres resolves DNS itself.)
#
#   SVCRES_LAMBDA_OUT    output folder (default REPO_ROOT/build/lambda); zips in OUT/<arch>/function.zip
#   SVCRES_LAMBDA_ARCHS  which to build (default "x86_64 arm64")
# Prints one line per architecture: RESULT lambda_zip arch=... zip_bytes=... bootstrap_bytes=...
set -euo pipefail
root="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
out="${SVCRES_LAMBDA_OUT:-$root/build/lambda}"
archs="${SVCRES_LAMBDA_ARCHS:-x86_64 arm64}"
command -v zip >/dev/null || { echo "package.sh needs zip (apt-get install zip)" >&2; exit 1; }

flags=(-std=c++17 -O2 -DNDEBUG -Wall -Wextra -Wpedantic -Werror -pthread -static -s
       -ffunction-sections -fdata-sections -Wl,--gc-sections
       -I"$root/include" -I"$root/examples")
rc=0
for arch in $archs; do
  case "$arch" in
    x86_64) cxx="${CXX_X86_64:-g++}" ;;
    arm64) cxx="${CXX_ARM64:-aarch64-linux-gnu-g++}" ;;
    *) echo "unknown architecture $arch (x86_64 or arm64)" >&2; exit 2 ;;
  esac
  if ! command -v "$cxx" >/dev/null; then
    echo "package.sh: $cxx not found; for arm64 install g++-aarch64-linux-gnu" >&2
    rc=1; continue
  fi
  dir="$out/$arch"
  mkdir -p "$dir"
  "$cxx" "${flags[@]}" "$root/examples/lambda_runtime/bootstrap.cpp" -o "$dir/bootstrap"
  chmod 755 "$dir/bootstrap"
  # -X: no extra file attributes; -j: bootstrap at the root of the archive; zip keeps the mode bits.
  (cd "$dir" && rm -f function.zip && zip -q -9 -X -j function.zip bootstrap)
  zip_bytes=$(stat -c %s "$dir/function.zip")
  bin_bytes=$(stat -c %s "$dir/bootstrap")
  echo "packaged $dir/function.zip ($arch, $(file -b "$dir/bootstrap" 2>/dev/null | cut -d, -f1-2 || true))"
  echo "RESULT lambda_zip arch=$arch zip_bytes=$zip_bytes bootstrap_bytes=$bin_bytes"
done
exit $rc
