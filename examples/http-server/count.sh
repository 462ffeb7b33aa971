#!/bin/sh
# SPDX-License-Identifier: MIT
# count.sh SERVER PRELOAD_LIB [N1] [N2]
# Instructions per request, deterministic (unlike wrk on a shared machine):
# runs the server under callgrind (which keeps the program's own malloc),
# sends N1 and then, in a second run, N2 identical 40-item orders over one
# keep-alive connection with curl (127.0.0.1 only), and prints
# (Ir(N2) - Ir(N1)) / (N2 - N1) for glibc, jemalloc alone and the preload.
set -eu
server=$1
preload=$2
n1=${3:-200}
n2=${4:-600}
tmp=$(mktemp -d)
pid=""
# Never leave a server behind, whatever fails (set -e exits early).
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
jemalloc=""
for cand in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2; do
  [ -f "$cand" ] && jemalloc=$cand && break
done

# The order post.lua sends.
{
  printf '{"customer":"wrk \\"load\\" test","items":['
  i=1
  while [ $i -le 40 ]; do
    [ $i -gt 1 ] && printf ','
    printf '{"sku":%d,"qty":%d,"price":%d.%d,"note":"fragile, keep upright"}' \
      $((1000 + i)) $((i % 7)) $((i * 37 % 1000 / 10)) $((i * 37 % 10))
    i=$((i + 1))
  done
  printf '],"meta":{"channel":"web","gift":false}}'
} > "$tmp/body.json"

irefs() { # $1 = LD_PRELOAD value, $2 = requests -> prints Ir of the whole server run
  rm -f "$tmp/out" "$tmp/err"
  if [ -n "$1" ]; then
    LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$server" --port 0 \
      > "$tmp/out" 2> "$tmp/err" &
  else
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$server" --port 0 \
      > "$tmp/out" 2> "$tmp/err" &
  fi
  pid=$!
  i=0
  while ! grep -q listening "$tmp/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && { echo "server did not start" >&2; kill $pid; exit 1; }
    sleep 0.1
  done
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out")
  : > "$tmp/curl.cfg"
  k=0
  while [ $k -lt "$2" ]; do
    printf 'url = "http://127.0.0.1:%s/orders"\noutput = "/dev/null"\n' "$port" >> "$tmp/curl.cfg"
    k=$((k + 1))
  done
  curl -s --max-time 300 -H 'Content-Type: application/json' --data-binary @"$tmp/body.json" \
    -K "$tmp/curl.cfg"
  kill -TERM $pid
  wait $pid || true
  pid=""
  grep -q "served $2 requests" "$tmp/out" || { echo "server served: $(cat "$tmp/out")" >&2; exit 1; }
  sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$tmp/err" | tr -d ,
}

echo "http-server under callgrind: instructions per request, ($n2 - $n1 requests), one keep-alive connection"
for cfg in "glibc:" "jemalloc:$jemalloc" "preload:$preload"; do
  name=${cfg%%:*}
  lib=${cfg#*:}
  [ "$name" = jemalloc ] && [ -z "$lib" ] && continue
  a=$(irefs "$lib" "$n1")
  b=$(irefs "$lib" "$n2")
  echo "$name: Ir($n1) $a, Ir($n2) $b, per request $(( (b - a) / (n2 - n1) ))"
done
