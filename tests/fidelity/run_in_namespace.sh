#!/usr/bin/env bash
# run_in_namespace.sh PROGRAM [ARGS...]: runs PROGRAM in a private mount and network namespace with
# loopback up and an empty resolv.conf of its own bind-mounted over /etc/resolv.conf; the path of
# that file is in $SVCRES_FIDELITY_RESOLV_CONF. Nothing outside the namespace sees either: the
# machine's /etc/resolv.conf is never read or written, and no packet leaves the namespace.
# Exit 77 (ctest SKIP_RETURN_CODE) when namespaces cannot be made here.
set -uo pipefail
skip() { echo "SKIPPED: $*"; exit 77; }
command -v unshare >/dev/null || skip "unshare(1) is not installed"
command -v ip >/dev/null || skip "ip(8) is not installed"
unshare -mn true 2>/dev/null || skip "unshare -mn is not permitted here (needs root, or user namespaces)"
[ -e /etc/resolv.conf ] || skip "/etc/resolv.conf does not exist, so there is nothing to mount over"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/resolv.conf"
unshare -mn --propagation private bash -c '
  set -e
  ip link set lo up
  mount --bind "$1" /etc/resolv.conf
  export SVCRES_FIDELITY_RESOLV_CONF="$1"
  shift
  "$@"' _ "$tmp/resolv.conf" "$@"
