#!/usr/bin/env bash
# start.sh SERVER RUNDIR PROBE: starts one test DNS server (nsd, knot, unbound, dnsmasq) on
# 127.0.0.1 with its configuration generated into RUNDIR/SERVER, then waits until it answers a real
# query (PROBE sends one) for up to 10 s. Ports come from ports.sh (15300-15399 belong to the resolver
# tests). A leftover instance from an earlier run is stopped first. Exit 0 only when the server answers.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="$1"; run="$2"; probe="$3"
# shellcheck source=ports.sh
source "$here/ports.sh"
dir="$run/$server"
[ -x "$probe" ] || { echo "probe $probe is not built"; exit 1; }
bash "$here/stop.sh" "$server" "$run" >/dev/null 2>&1
mkdir -p "$dir"
find_bin() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }

port_var="PORT_${server^^}"; port="${!port_var}"
render() {  # template -> file
  sed -e "s|@DIR@|$dir|g" -e "s|@ZONES@|$here/zones|g" -e "s|@PORT@|$port|g" \
      -e "s|@NSD_PORT@|$PORT_NSD|g" -e "s|@RECORDS@|$here/dnsmasq-records.conf|g" "$1" > "$2"
}

case "$server" in
  nsd)
    bin="$(find_bin nsd)"; [ -n "$bin" ] || { echo "nsd not installed (apt-get install nsd)"; exit 1; }
    render "$here/conf/nsd.conf.in" "$dir/nsd.conf"
    "$bin" -d -c "$dir/nsd.conf" >"$dir/out.log" 2>&1 &
    ;;
  knot)
    bin="$(find_bin knotd)"; [ -n "$bin" ] || { echo "knotd not installed (apt-get install knot)"; exit 1; }
    mkdir -p "$dir/db"
    render "$here/conf/knot.conf.in" "$dir/knot.conf"
    "$bin" -c "$dir/knot.conf" >"$dir/out.log" 2>&1 &
    ;;
  unbound)
    bin="$(find_bin unbound)"; [ -n "$bin" ] || { echo "unbound not installed (apt-get install unbound)"; exit 1; }
    render "$here/conf/unbound.conf.in" "$dir/unbound.conf"
    "$bin" -d -c "$dir/unbound.conf" >"$dir/out.log" 2>&1 &
    ;;
  dnsmasq)
    bin="$(find_bin dnsmasq)"; [ -n "$bin" ] || { echo "dnsmasq not installed (apt-get install dnsmasq-base)"; exit 1; }
    render "$here/conf/dnsmasq.conf.in" "$dir/dnsmasq.conf"
    "$bin" --keep-in-foreground --conf-file="$dir/dnsmasq.conf" >"$dir/out.log" 2>&1 &
    ;;
  *) echo "unknown server $server"; exit 2 ;;
esac
pid=$!
echo "$pid" > "$dir/svcres.pid"

for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$server exited during start-up:"; cat "$dir/out.log"; exit 1
  fi
  if "$probe" "$port" user-service.local 33; then
    echo "$server answers on 127.0.0.1:$port (pid $pid)"
    exit 0
  fi
  sleep 0.1
done
echo "$server did not answer on 127.0.0.1:$port within 10 s:"; cat "$dir/out.log"
bash "$here/stop.sh" "$server" "$run"
exit 1
