#!/bin/sh
# SPDX-License-Identifier: MIT
# bench.sh SERVER PRELOAD_LIB [SECONDS] [CONNECTIONS] [THREADS] [ROUNDS]
# Load the http-server example with wrk on 127.0.0.1 (nothing else, ever)
# for a bounded time: on glibc's malloc, on jemalloc alone (LD_PRELOAD of
# Debian's libjemalloc.so.2, when present: liboffheap's fallback heap,
# without scopes) and with the liboffheap preload; print requests/s,
# latency and the server's RSS.  ROUNDS repeats the three runs (default 1).
set -eu
server=$1
preload=$2
secs=${3:-5}
conns=${4:-32}
threads=${5:-2}
rounds=${6:-1}
jemalloc=""
for cand in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2; do
  [ -f "$cand" ] && jemalloc=$cand && break
done
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pid=""
# Never leave a server behind, whatever fails (set -e exits early).
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT

run() { # $1 = label, $2 = LD_PRELOAD value ('' for none)
  rm -f "$tmp/out"
  if [ -n "$2" ]; then
    LD_PRELOAD=$2 "$server" --port 0 > "$tmp/out" 2>&1 &
  else
    "$server" --port 0 > "$tmp/out" 2>&1 &
  fi
  pid=$!
  i=0
  while ! grep -q listening "$tmp/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "server did not start"; cat "$tmp/out"; kill $pid; exit 1; }
    sleep 0.05
  done
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out")
  if [ "$2" = "$preload" ] && ! grep -q "preload loaded" "$tmp/out"; then
    echo "the preload $preload did not load:"; cat "$tmp/out"; exit 1
  fi
  rss0=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$here/post.lua" \
      "http://127.0.0.1:$port/orders" > "$tmp/wrk"
  rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
  hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
  stats=$(curl -s --max-time 5 "http://127.0.0.1:$port/stats" || true)
  kill -TERM $pid
  wait $pid || true
  pid=""
  rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk")
  lat=$(awk '/^    Latency/ {print $2}' "$tmp/wrk")
  p99=$(awk '/^ +99%/ {print $2}' "$tmp/wrk")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$tmp/wrk")
  printf '%-16s %10s req/s  latency avg %-8s p99 %-8s  RSS idle %6s KiB, after %6s KiB, peak %6s KiB  non-2xx %s\n' \
    "$1" "$rps" "$lat" "$p99" "$rss0" "$rss" "$hwm" "${non2xx:-0}"
  echo "  stats: $stats"
  [ -n "${VERBOSE:-}" ] && sed 's/^/  | /' "$tmp/wrk"; true
}

echo "http-server: wrk -t$threads -c$conns -d${secs}s, POST /orders (~3 KB JSON, 40 items), 127.0.0.1"
echo "machine: $(nproc) cores, $(uname -r); server and wrk share the cores"
r=0
while [ $r -lt "$rounds" ]; do
  r=$((r + 1))
  run "malloc (glibc)" ""
  [ -n "$jemalloc" ] && run "jemalloc only" "$jemalloc"
  run "offheap preload" "$preload"
done
