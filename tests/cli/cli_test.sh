#!/usr/bin/env bash
# Runs the svcres binary and checks what it prints: resolve against `svcres serve` on loopback,
# the pick distribution, zone errors with file:line, bad arguments, and replies from a misbehaving
# server (bad_dns.py, on a kernel-chosen loopback port).
#   cli_test.sh SVCRES_BINARY ZONE_FILE PORT
set -uo pipefail
BIN="$1"; ZONE="$2"; PORT="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; fails=0; checks=0
BAD_PIDS=()
cleanup() {
  [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null
  for p in "${BAD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT

check() {  # description command... ; command must succeed
  local what="$1"; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1" 2>/dev/null; }  # quiet: the first wait may run before serve.out exists

"$BIN" serve "$ZONE" --port "$PORT" --multivalue 8 --for 110 >"$tmp/serve.out" 2>&1 &
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

check "resolve NAME @: the missing server named" bash -c "'$BIN' resolve x.local @ >'$tmp/at.out' 2>&1; test \$? -eq 2 && grep -q \"server after '@' is missing\" '$tmp/at.out'"

# Misbehaving servers. BAD_PORT: the port of a fresh bad_dns.py answering each query with MODES.
start_bad() {  # MODES
  local pf="$tmp/bad.$1.port"
  python3 "$HERE/bad_dns.py" "$1" "$pf" &
  BAD_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
  BAD_PORT="$(cat "$pf" 2>/dev/null)"
}
start_bad echo,good
"$BIN" resolve x.local "@127.0.0.1:$BAD_PORT" >"$tmp/echo.out" 2>&1
rc=$?
check "echoed query (QR=0) ignored, the real answer printed" bash -c "test $rc -eq 0 && grep -q 'flags: qr aa rd; QUERY: 1, ANSWER: 1,' '$tmp/echo.out' && grep -qE '^x\.local\.\s+60\s+IN\s+A\s+127\.0\.0\.9$' '$tmp/echo.out'"
check "echoed query reported" has "$tmp/echo.out" "^;; ignored 1 reply from 127\.0\.0\.1:$BAD_PORT: not a response \(QR=0\)$"
start_bad wrongid,good
"$BIN" resolve x.local "@127.0.0.1:$BAD_PORT" >"$tmp/wrongid.out" 2>&1
rc=$?
check "wrong-ID reply ignored, the real answer printed" bash -c "test $rc -eq 0 && grep -q 'ANSWER: 1,' '$tmp/wrongid.out' && grep -qE '^;; ignored 1 reply from .*: wrong ID \(expected [0-9]+, got [0-9]+\)$' '$tmp/wrongid.out'"
start_bad wrongq,good
"$BIN" resolve x.local "@127.0.0.1:$BAD_PORT" -t A >"$tmp/wrongq.out" 2>&1
rc=$?
check "reply to another question ignored" bash -c "test $rc -eq 0 && grep -q 'ANSWER: 1,' '$tmp/wrongq.out' && grep -q '^;; ignored 1 reply from .*: answers another question' '$tmp/wrongq.out'"
start_bad echo
"$BIN" resolve x.local "@127.0.0.1:$BAD_PORT" --timeout-ms 1000 >"$tmp/echo-only.out" 2>&1
rc=$?
check "only an echo: exit 1, timed out, the echo named" bash -c "test $rc -eq 1 && grep -q 'no answer from 127\.0\.0\.1:$BAD_PORT over UDP: timed out; ignored 1 reply from 127\.0\.0\.1:$BAD_PORT: not a response (QR=0)' '$tmp/echo-only.out' && ! grep -q HEADER '$tmp/echo-only.out'"
start_bad garbage
"$BIN" pick x.local -t A --port 80 -n 2 "@127.0.0.1:$BAD_PORT" --timeout-ms 1000 >"$tmp/pick-garbage.out" 2>&1
rc=$?
check "pick against garbage: the ignored replies named" bash -c "test $rc -eq 1 && grep -qE 'no endpoint picked for x\.local: timed out; ignored [0-9]+ repl(y|ies) from 127\.0\.0\.1:$BAD_PORT: not a response \(QR=0\)' '$tmp/pick-garbage.out'"
start_bad malformed
"$BIN" resolve x.local "@127.0.0.1:$BAD_PORT" >"$tmp/malformed.out" 2>&1
rc=$?
check "resolve: a matching reply that does not parse" bash -c "test $rc -eq 1 && grep -q 'the reply from 127\.0\.0\.1:$BAD_PORT does not parse: record counts exceed message size' '$tmp/malformed.out'"
"$BIN" pick x.local -t A --port 80 -n 2 "@127.0.0.1:$BAD_PORT" --timeout-ms 3000 >"$tmp/pick-malformed.out" 2>&1
rc=$?
check "pick: the same reason as resolve" bash -c "test $rc -eq 1 && grep -q 'no endpoint picked for x\.local: the reply from 127\.0\.0\.1:$BAD_PORT does not parse: record counts exceed message size' '$tmp/pick-malformed.out'"

# pick -t A/AAAA needs a port: A records carry none.
port_case() {  # args... : exit 2, the sentence names --port
  "$BIN" pick api-service.local "$@" -n 1 "@127.0.0.1:$PORT" >"$tmp/port.out" 2>&1
  local rc=$?
  [ $rc -eq 2 ] && grep -q "needs --port P" "$tmp/port.out" && grep -q "^usage:" "$tmp/port.out"
}
check "pick -t A without --port: usage error" port_case -t A
check "pick -t A --port 0: usage error" port_case -t A --port 0
check "pick -t AAAA without --port: usage error" port_case -t AAAA

# CNAME and other data at one name (RFC 1034 §3.6.2), two CNAMEs (RFC 2181 §10.1).
zone_case() {  # name text expected-regex
  printf '%b' "$2" >"$tmp/$1.zone"
  "$BIN" serve "$tmp/$1.zone" --port "$PORT" --for 1 >"$tmp/$1.out" 2>&1
  local rc=$?
  [ $rc -eq 1 ] && grep -qE -- "$3" "$tmp/$1.out"
}
head='$ORIGIN c.\n$TTL 60\n@ IN SOA ns. host. 1 2 3 4 5\n'
check "CNAME after other data: zone error at its line" zone_case cname1 "${head}www IN A 127.0.0.1\nWWW IN CNAME web\nweb IN A 127.0.0.2\n" \
  "cname1\.zone:5: CNAME at WWW\.c\., which already has A data \(line 4\)"
check "other data after a CNAME: zone error at its line" zone_case cname2 "${head}www IN CNAME web\nweb IN A 127.0.0.2\nwww IN TXT \"x\"\n" \
  "cname2\.zone:6: TXT record at www\.c\., which has a CNAME \(line 4\)"
check "two CNAMEs at one name: zone error" zone_case cname3 "${head}a IN CNAME web\na IN CNAME www\nweb IN A 127.0.0.2\n" \
  "cname3\.zone:5: a second CNAME at a\.c\. \(the first is at line 4\)"
check "CNAME at the apex beside the SOA: zone error" zone_case cname4 "${head}@ IN CNAME web.c.\nweb IN A 127.0.0.2\n" \
  "cname4\.zone:4: CNAME at c\., which already has SOA data \(line 3\)"

# Bytes that are not printable are written \DDD (RFC 1035 §5.1) wherever a name or input is shown.
"$BIN" resolve "$(printf 'a\nb.local')" "@127.0.0.1:$PORT" >"$tmp/nl.out" 2>&1
check "newline in NAME: one header line, \\010" bash -c "grep -qF '; <<>> svcres resolve <<>> a\\010b.local. A @127.0.0.1:$PORT' '$tmp/nl.out' && grep -qF ';a\\010b.local.' '$tmp/nl.out' && ! grep -q '^b\.local' '$tmp/nl.out'"
"$BIN" pick "$(printf 'nx\001\nx.local')" -n 1 "@127.0.0.1:$PORT" >"$tmp/nlpick.out" 2>&1
check "pick error names the name escaped" bash -c "grep -qF 'no endpoint picked for nx\\001\\010x.local: name does not exist' '$tmp/nlpick.out' && test \$(wc -l <'$tmp/nlpick.out') -eq 1"
"$BIN" resolve "$(printf 'a\tb')..x" "@127.0.0.1:$PORT" >"$tmp/badnl.out" 2>&1
check "bad NAME shown escaped" bash -c "grep -qF \"bad NAME 'a\\009b..x'\" '$tmp/badnl.out'"
start_bad good
"$BIN" pick "$(printf 'a\001b.local')" -t A --port 80 -n 2 "@127.0.0.1:$BAD_PORT" >"$tmp/ctlpick.out" 2>&1
# The label value is the name as shown, a\001b.local, in Prometheus text escaping (backslash doubled).
check "pick metrics label with the name escaped" has "$tmp/ctlpick.out" '^svcres_requests_total\{service="a\\\\001b\.local"\} 2$'
printf '$ORIGIN n.\n$TTL 60\n@ IN SOA ns. host. 1 2 3 4 5\nx IN A 1.2\0003.4\n' >"$tmp/nul.zone"
"$BIN" serve "$tmp/nul.zone" --port "$PORT" >"$tmp/nul.out" 2>&1
check "NUL in a zone line: the message is whole, the byte escaped" bash -c "grep -qF \"nul.zone:4: bad IPv4 address '1.2\\0003.4'\" '$tmp/nul.out'"

# Error texts that name the real cause.
"$BIN" serve "$tmp" --port "$PORT" >"$tmp/dir.out" 2>&1
rc=$?
check "serve DIRECTORY: says it is a directory" bash -c "test $rc -eq 1 && grep -qF 'cannot read zone file $tmp: it is a directory' '$tmp/dir.out'"
"$BIN" serve "$ZONE" --origin bad..x --port "$PORT" >"$tmp/origin.out" 2>&1
rc=$?
check "bad --origin: blamed on the option" bash -c "test $rc -eq 2 && grep -qF \"bad --origin 'bad..x'\" '$tmp/origin.out' && ! grep -q 'local.zone' '$tmp/origin.out'"
printf '; nothing but a comment\n' >"$tmp/empty.zone"
"$BIN" serve "$tmp/empty.zone" --port "$PORT" >"$tmp/empty.out" 2>&1
check "zone without records: no line blamed" has "$tmp/empty.out" "empty\.zone: the zone has no records$"

# Names longer than 253 characters are refused, never cut (RFC 1035 §2.3.4).
l63="$(printf 'a%.0s' $(seq 63))"
n254="$l63.$l63.$l63.$(printf 'b%.0s' $(seq 56)).local"
n253="$l63.$l63.$l63.$(printf 'b%.0s' $(seq 55)).local"
long_case() {  # command name : exit 2, the limit named
  "$BIN" "$1" "$2" -n 1 "@127.0.0.1:$PORT" >"$tmp/long.out" 2>&1
  local rc=$?
  [ $rc -eq 2 ] && grep -q "at most 253" "$tmp/long.out"
}
check "resolve: 254-character NAME is a usage error" bash -c "'$BIN' resolve '$n254' '@127.0.0.1:$PORT' >'$tmp/long.out' 2>&1; test \$? -eq 2 && grep -q 'at most 253' '$tmp/long.out'"
check "pick: 254-character NAME is a usage error" long_case pick "$n254"
# 253 characters and a final dot: refused (a Service that keeps 253 bytes) or resolved whole.
"$BIN" pick "$n253." -n 1 "@127.0.0.1:$PORT" >"$tmp/dot253.out" 2>&1
rc=$?
check "pick: 253 characters plus a final dot, never cut" bash -c "(test $rc -eq 2 && grep -q 'at most 253' '$tmp/dot253.out') || grep -qF 'no endpoint picked for $n253.: name does not exist' '$tmp/dot253.out'"
"$BIN" pick "$n253" -n 1 "@127.0.0.1:$PORT" >"$tmp/ok253.out" 2>&1
check "pick: 253 characters resolved as written" has "$tmp/ok253.out" "no endpoint picked for $n253: name does not exist"

echo "cli: $((checks - fails)) of $checks checks passed"
[ $fails -eq 0 ]
