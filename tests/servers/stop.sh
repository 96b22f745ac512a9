#!/usr/bin/env bash
# stop.sh SERVER RUNDIR: stops the server start.sh started (by the pid it recorded), TERM then KILL.
# Runs as a FIXTURES_CLEANUP test, so it also runs when tests failed; it succeeds when nothing is left.
set -uo pipefail
server="$1"; run="$2"
pidfile="$run/$server/svcres.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  # NSD forks workers and dnsmasq a child per TCP connection: signal the children of the recorded
  # pid first, while they are still its children.
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
fi
rm -f "$pidfile"
echo "$server stopped"
