#!/usr/bin/env bash
# Runs the svcres binary and checks what it prints: resolve against `svcres serve` on loopback,
# the pick distribution, zone errors with file:line, and bad arguments.
#   cli_test.sh SVCRES_BINARY ZONE_FILE PORT
set -uo pipefail
BIN="$1"; ZONE="$2"; PORT="$3"
tmp="$(mktemp -d)"; fails=0; checks=0
cleanup() { [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

check() {  # description command... ; command must succeed
  local what="$1"; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1"; }

"$BIN" serve "$ZONE" --port "$PORT" --multivalue 8 --for 60 >"$tmp/serve.out" 2>&1 &
SERVE_PID=$!
for _ in $(seq 50); do has "$tmp/serve.out" "^serving" && break; sleep 0.1; done
check "serve starts" has "$tmp/serve.out" "^serving [0-9]+ records of local\. on 127\.0\.0\.1:$PORT"

"$BIN" resolve user-service.local "@127.0.0.1:$PORT" -t SRV >"$tmp/srv.out" 2>&1
check "resolve SRV exits 0" test $? -eq 0
check "resolve SRV header" has "$tmp/srv.out" "status: NOERROR"
check "resolve SRV flags" has "$tmp/srv.out" "flags: qr aa rd; QUERY: 1, ANSWER: 3,"
check "resolve SRV records" test "$(grep -cE '^user-service\.local\.\s+60\s+IN\s+SRV\s+1 1 8080 [0-9a-f]{32}\.user-service\.local\.$' "$tmp/srv.out")" -eq 3
check "resolve SRV additional A" has "$tmp/srv.out" "^59434eb62dbca2ee0fd2d7ca83f889ae\.user-service\.local\.\s+60\s+IN\s+A\s+127\.0\.2\.12$"
check "resolve prints timing" has "$tmp/srv.out" "^;; Query time: [0-9.]+ ms"

"$BIN" resolve nosuch.local "@127.0.0.1:$PORT" >"$tmp/nx.out" 2>&1
check "NXDOMAIN with SOA in authority" bash -c "grep -q 'status: NXDOMAIN' '$tmp/nx.out' && grep -A1 'AUTHORITY SECTION' '$tmp/nx.out' | grep -qE '^local\.\s+30\s+IN\s+SOA'"
"$BIN" resolve api-service.local "@127.0.0.1:$PORT" -t SRV >"$tmp/nodata.out" 2>&1
check "NODATA: NOERROR, no answer, SOA" bash -c "grep -q 'status: NOERROR' '$tmp/nodata.out' && grep -q 'ANSWER: 0, AUTHORITY: 1' '$tmp/nodata.out'"
"$BIN" resolve order-service.local "@127.0.0.1:$PORT" -t SRV --tcp >"$tmp/tcp.out" 2>&1
check "multivalue caps at 8, over TCP" bash -c "grep -q 'ANSWER: 8,' '$tmp/tcp.out' && grep -q '(TCP)' '$tmp/tcp.out'"
"$BIN" resolve batch-worker.local "@127.0.0.1:$PORT" -t SRV --noedns >"$tmp/tc.out" 2>&1
check "512-byte UDP limit: TC, then TCP" bash -c "grep -q 'Truncated over UDP, retried over TCP' '$tmp/tc.out' && grep -q '(TCP)' '$tmp/tc.out' && grep -q 'ANSWER: 8,' '$tmp/tc.out'"
"$BIN" resolve batch-worker.local "@127.0.0.1:$PORT" -t A >"$tmp/a.out" 2>&1
check "A answer" has "$tmp/a.out" "^batch-worker\.local\.\s+60\s+IN\s+A\s+127\.0\.4\."

"$BIN" pick user-service.local -n 3000 --policy rr "@127.0.0.1:$PORT" >"$tmp/rr.out" 2>&1
check "pick rr exits 0" test $? -eq 0
check "pick rr: exactly 1000 each" test "$(grep -cE '^127\.0\.2\.1[012]:8080\s+1\s+1\s+1000\s+33\.3%' "$tmp/rr.out")" -eq 3
check "pick prints metrics" has "$tmp/rr.out" '^svcres_requests_total\{service="user-service.local"\} 3000$'
"$BIN" pick user-service.local -n 6000 --policy p2c "@127.0.0.1:$PORT" >"$tmp/p2c.out" 2>&1
check "pick p2c: three endpoints, each 25-42 %" bash -c "awk '/^127\.0\.2\./ { n++; if (\$4 < 1500 || \$4 > 2520) bad=1 } END { exit !(n == 3 && !bad) }' '$tmp/p2c.out'"
"$BIN" pick api-service.local -t A --port 8080 -n 100 --policy random "@127.0.0.1:$PORT" >"$tmp/api.out" 2>&1
check "pick A records with --port" test "$(grep -cE '^127\.0\.1\.1[01]:8080 ' "$tmp/api.out")" -eq 2
"$BIN" pick nosuch.local -n 5 "@127.0.0.1:$PORT" >"$tmp/pnx.out" 2>&1
rc=$?
check "pick of a missing name: exit 1, error in words" bash -c "test $rc -eq 1 && grep -q 'name does not exist' '$tmp/pnx.out'"

printf '$ORIGIN bad.\n$TTL 60\n@ IN SOA ns. host. 1 2 3 4 5\nok IN A 127.0.0.1\nbroken IN A 300.1.2.3\n' >"$tmp/bad.zone"
"$BIN" serve "$tmp/bad.zone" --port "$PORT" >"$tmp/badzone.out" 2>&1
rc=$?
check "bad zone exits non-zero" test $rc -eq 1
check "bad zone names file:line" has "$tmp/badzone.out" "bad\.zone:5: bad IPv4 address '300\.1\.2\.3'"
printf '$ORIGIN m.\n$TTL 60\n@ IN SOA ( ns. host.\n 1 2 3 4 5 ) ; multi-line\nx IN TXT "a \\"q\\"" b\ny 30 IN MX 10 x\n' >"$tmp/mx.zone"
"$BIN" serve "$tmp/mx.zone" --port "$PORT" >"$tmp/mx.out" 2>&1
check "unsupported type reported at its line" has "$tmp/mx.out" "mx\.zone:6: record type MX is not supported"

usage_case() {  # args... : must exit 2 with a usage message
  "$BIN" "$@" >"$tmp/u.out" 2>&1
  local rc=$?
  [ $rc -eq 2 ] && grep -q "^usage:" "$tmp/u.out"
}
check "no arguments" usage_case
check "unknown command" usage_case frobnicate
check "pick without name" usage_case pick
check "pick -n not a number" usage_case pick x.local -n abc
check "pick -n missing value" usage_case pick x.local -n
check "pick unknown policy" usage_case pick x.local --policy fastest
check "resolve unknown type" usage_case resolve x.local -t BOGUS
check "resolve bad server" usage_case resolve x.local @999.1.1.1
check "resolve bad name" usage_case resolve "$(printf 'a%.0s' $(seq 70)).local"
check "serve without file" usage_case serve
check "serve port out of range" usage_case serve "$ZONE" --port 70000
check "unknown option" usage_case resolve x.local --frob

"$BIN" resolve x.local "@127.0.0.1:1" >"$tmp/refused.out" 2>&1
rc=$?
check "no server: exit 1, error in words" bash -c "test $rc -eq 1 && grep -qE 'no answer from 127\.0\.0\.1:1 over UDP: (connection refused|timed out)' '$tmp/refused.out'"

echo "cli: $((checks - fails)) of $checks checks passed"
[ $fails -eq 0 ]
