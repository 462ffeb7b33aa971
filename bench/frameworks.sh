#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# frameworks.sh — the framework servers (examples/evhttp-server, mhd-server,
# uv-server; http-server on request) under load with wrk, on every allocator,
# in one command.
#
#   bench/frameworks.sh [-d SECONDS] [-r ROUNDS] [-c CONNECTIONS] [-t WRK_THREADS]
#                       [-s "SERVER ..."] [-a "CONFIG ..."] [-e SERVER=VAR=VALUE[,VAR=VALUE]]...
#                       [-b BUILD_DIR] [-o OUT_DIR]
#
#   -d  seconds per wrk run (default 10)         -r  rounds (default 3)
#   -c  wrk connections (default 32)             -t  wrk threads (default 2)
#   -s  servers (default "evhttp-server mhd-server uv-server"; http-server too)
#   -a  configurations (default "glibc jemalloc mimalloc tcmalloc offheap offheap-check
#       offheap-escape offheap-escape-check"):
#         glibc          no LD_PRELOAD
#         jemalloc       LD_PRELOAD=libjemalloc.so.2 (Debian's)
#         mimalloc       LD_PRELOAD=libmimalloc.so.2
#         tcmalloc       LD_PRELOAD=libtcmalloc_minimal.so.4
#         offheap        LD_PRELOAD=BUILD_DIR/liboffheap.so, no OFFHEAP_* setting
#         offheap-check  the same with OFFHEAP_CHECK=1
#         offheap-escape, offheap-escape-check
#                        the same, the server started with --escape (what the
#                        framework keeps after the handler is allocated
#                        between OFFHEAP_ESCAPE_BEGIN/END; not for http-server)
#   -e  extra environment for the offheap configurations of one server, e.g.
#         -e evhttp-server=OFFHEAP_EXCLUDE=libevent   (shown in the table)
#   -b  build directory (default build)          -o  output directory
#                                                    (default bench/out/frameworks-<stamp>)
#
# Each run starts the server (--port 0, 127.0.0.1 only, its default 2
# threads) under one configuration, checks one POST /orders answer, loads it
# with `wrk -t -c -d --latency --timeout 2s -s examples/http-server/post.lua`
# (a 40-item order, ~3 KB of JSON) on http://127.0.0.1:PORT/orders, checks
# the same answer again, reads the server's peak RSS (VmHWM in
# /proc/PID/status) and stops it with SIGTERM (SIGKILL after 5 s: "hung").
# A run whose server died, hung, answered wrongly or gave wrk socket errors
# or non-2xx answers is marked failed and left out of the medians.
# Rounds are interleaved: every configuration once per round, in order.
#
# Output: OUT_DIR/runs.tsv (one line per run), OUT_DIR/logs/ (wrk and server
# output of every run), and one markdown table per server on stdout (also
# OUT_DIR/report.md): median requests/s, p50 and p99 latency, peak RSS, and
# each as a ratio to the best peer (glibc, jemalloc, mimalloc, tcmalloc;
# requests/s: higher is better, the others lower).  Server and wrk share the
# machine's cores: read the ratios, not the absolute figures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
SECS=10 ROUNDS=3 CONNS=32 WTHREADS=2
SERVERS="evhttp-server mhd-server uv-server"
CONFIGS="glibc jemalloc mimalloc tcmalloc offheap offheap-check offheap-escape offheap-escape-check"
BUILD=$root/build
OUT=""
declare -A EXTRA=()
while getopts "d:r:c:t:s:a:e:b:o:h" opt; do
    case $opt in
    d) SECS=$OPTARG ;; r) ROUNDS=$OPTARG ;; c) CONNS=$OPTARG ;; t) WTHREADS=$OPTARG ;;
    s) SERVERS=$OPTARG ;; a) CONFIGS=$OPTARG ;; b) BUILD=$(cd "$OPTARG" && pwd) ;; o) OUT=$OPTARG ;;
    e) EXTRA[${OPTARG%%=*}]=${OPTARG#*=} ;;
    *) sed -n '4,25p' "$0"; exit 2 ;;
    esac
done
[ -n "$OUT" ] || OUT=$root/bench/out/frameworks-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs"
command -v wrk > /dev/null || { echo "frameworks.sh: wrk not found (scripts/setup.sh installs it)" >&2; exit 1; }
command -v curl > /dev/null || { echo "frameworks.sh: curl not found" >&2; exit 1; }

MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR=/usr/lib/$MULTIARCH
declare -A LIB=([glibc]="" [jemalloc]=$LIBDIR/libjemalloc.so.2 [mimalloc]=$LIBDIR/libmimalloc.so.2
                [tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4 [offheap]=$BUILD/liboffheap.so
                [offheap-check]=$BUILD/liboffheap.so [offheap-escape]=$BUILD/liboffheap.so
                [offheap-escape-check]=$BUILD/liboffheap.so)
for c in $CONFIGS; do
    [ -n "${LIB[$c]+x}" ] || { echo "frameworks.sh: unknown configuration $c" >&2; exit 2; }
    if [ -n "${LIB[$c]}" ] && [ ! -f "${LIB[$c]}" ]; then
        echo "frameworks.sh: $c: ${LIB[$c]} missing (scripts/setup.sh; ninja -C build)" >&2; exit 1
    fi
done
for s in $SERVERS; do
    [ -x "$BUILD/examples/$s/$s" ] || { echo "frameworks.sh: $BUILD/examples/$s/$s not built" >&2; exit 1; }
done
LUA=$root/examples/http-server/post.lua
# The body post.lua sends, for the answer check (same generator as count.sh).
BODY=$OUT/body.json
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
} > "$BODY"

pid=""
# Never leave a server behind, whatever fails.
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; true' EXIT

ms() { # wrk's "1.23ms" / "456.00us" / "1.20s" -> milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n;
        else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# probe PORT -> the answer to one POST /orders ("" on failure)
probe() {
    curl -s --max-time 5 -H 'Content-Type: application/json' --data-binary @"$BODY" \
        "http://127.0.0.1:$1/orders" || true
}

EXPECT='{"customer":"wrk \"load\" test","items":40,"quantity":120,"total":5668.5,"max_price":99.9,'

# run SERVER CONFIG ROUND -> one line of runs.tsv
run() {
    local s=$1 cfg=$2 r=$3 tag="$1.$2.$3" env=() args=() status=ok why=""
    local log=$OUT/logs/$tag
    if [ -n "${LIB[$cfg]}" ]; then env+=("LD_PRELOAD=${LIB[$cfg]}"); fi
    if [[ $cfg == *-check ]]; then env+=(OFFHEAP_CHECK=1); fi
    if [[ $cfg == *-escape* ]]; then
        [ "$s" = http-server ] && return 0 # no --escape there
        args+=(--escape)
    fi
    if [[ $cfg == offheap* ]] && [ -n "${EXTRA[$s]:-}" ]; then
        IFS=, read -r -a more <<< "${EXTRA[$s]}"
        env+=("${more[@]}")
    fi
    # A clean environment for the server: no OFFHEAP_* from ours.
    env -u OFFHEAP_CHECK -u OFFHEAP_EXCLUDE -u OFFHEAP_STATS -u OFFHEAP_VERBOSE \
        ${env[@]+"${env[@]}"} "$BUILD/examples/$s/$s" --port 0 ${args[@]+"${args[@]}"} > "$log.server" 2>&1 &
    pid=$!
    local i=0 port=""
    while [ -z "$port" ]; do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log.server" 2>/dev/null || true)
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
            status=fail why="did not start"; break
        fi
        [ -n "$port" ] || sleep 0.05
    done
    local rps=0 p50=0 p99=0 hwm=0 errs=0 non2xx=0
    if [ $status = ok ]; then
        case $cfg in offheap*) grep -q "preload loaded" "$log.server" || { status=fail why="preload not loaded"; } ;; esac
        local a0 a1
        a0=$(probe "$port")
        [[ $a0 == *"$EXPECT"* ]] || { status=fail why="wrong answer before the load: ${a0:0:80}"; }
        wrk -t"$WTHREADS" -c"$CONNS" -d"${SECS}s" --timeout 2s --latency -s "$LUA" \
            "http://127.0.0.1:$port/orders" > "$log.wrk" 2>&1 || true
        rps=$(awk '/^Requests\/sec/ {print $2}' "$log.wrk")
        p50=$(ms "$(awk '$1 == "50%" {print $2}' "$log.wrk")")
        p99=$(ms "$(awk '$1 == "99%" {print $2}' "$log.wrk")")
        errs=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$log.wrk")
        non2xx=$(awk '/Non-2xx/ {print $5}' "$log.wrk")
        errs=${errs:-0} non2xx=${non2xx:-0} rps=${rps:-0}
        if kill -0 $pid 2>/dev/null; then
            a1=$(probe "$port")
            if [ -z "$a1" ]; then
                [ $status = ok ] && status=fail why="no answer after the load"
            elif [ "$a1" != "$a0" ]; then
                [ $status = ok ] && status=fail why="answer after the load differs: ${a1:0:80}"
            fi
            hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
        else
            status=fail why="server died during the load"
        fi
        if [ $status = ok ] && [ "$errs" != 0 ]; then status=fail why="wrk socket errors: $errs"; fi
        if [ $status = ok ] && [ "$non2xx" != 0 ]; then status=fail why="non-2xx answers: $non2xx"; fi
    fi
    # Stop: SIGTERM, 5 s, then SIGKILL.
    kill -TERM $pid 2>/dev/null || true
    i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    if kill -0 $pid 2>/dev/null; then
        kill -KILL $pid 2>/dev/null || true
        [ $status = ok ] && status=fail
        why="${why:+$why; }hung (no exit 5 s after SIGTERM)"
    fi
    local rc=0
    { wait $pid; } 2>/dev/null || rc=$?
    pid=""
    if [ $rc -gt 128 ] && [[ $why != *hung* ]]; then
        status=fail why="${why:+$why; }killed by signal $((rc - 128))"
    fi
    local extra="-"
    [[ $cfg == offheap* ]] && [ -n "${EXTRA[$s]:-}" ] && extra=${EXTRA[$s]}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$cfg" "$r" "$status" "$rps" "$p50" \
        "$p99" "$hwm" "$extra" "${why:--}" >> "$OUT/runs.tsv"
    printf '[%s] %-14s %-14s round %s: %-4s %10s req/s  p50 %8s ms  p99 %8s ms  VmHWM %7s KiB  %s\n' \
        "$(date +%H:%M:%S)" "$s" "$cfg" "$r" "$status" "$rps" "$p50" "$p99" "$hwm" "${why}" >&2
}

printf 'server\tconfig\tround\tstatus\trps\tp50_ms\tp99_ms\tvmhwm_kib\tenv\tnote\n' > "$OUT/runs.tsv"
{
    echo "# Framework servers under wrk"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
         "$(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at start."
    echo "wrk -t$WTHREADS -c$CONNS -d${SECS}s --latency, POST /orders (40 items, ~3 KB), 127.0.0.1;"\
         "$ROUNDS interleaved rounds, medians of the runs that passed; server and wrk share the cores."
} > "$OUT/header.md"
for s in $SERVERS; do
    for r in $(seq 1 "$ROUNDS"); do
        for cfg in $CONFIGS; do run "$s" "$cfg" "$r"; done
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/header.md"

python3 - "$OUT" << 'EOF' | tee "$OUT/report.md"
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/runs.tsv"), delimiter="\t"))
print(open(out + "/header.md").read())
PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
servers = list(dict.fromkeys(r["server"] for r in rows))
for s in servers:
    mine = [r for r in rows if r["server"] == s]
    configs = list(dict.fromkeys(r["config"] for r in mine))
    med = {}
    for c in configs:
        ok = [r for r in mine if r["config"] == c and r["status"] == "ok"]
        runs = [r for r in mine if r["config"] == c]
        notes = sorted({r["note"] for r in runs if r["status"] != "ok"})
        env = runs[0]["env"]
        if ok:
            m = {k: statistics.median(float(r[k]) for r in ok)
                 for k in ("rps", "p50_ms", "p99_ms", "vmhwm_kib")}
        else:
            m = None
        med[c] = (m, len(ok), len(runs), notes, env)
    peers = [med[c][0] for c in PEERS if c in med and med[c][0]]
    best = {}
    if peers:
        best["rps"] = max(p["rps"] for p in peers)
        for k in ("p50_ms", "p99_ms", "vmhwm_kib"):
            best[k] = min(p[k] for p in peers)
    def ratio(m, k):
        if not m or k not in best or best[k] == 0:
            return "–"
        return "%.2f" % (m[k] / best[k])
    print("\n## %s\n" % s)
    print("| configuration | runs ok | requests/s | p50 ms | p99 ms | peak RSS MiB "
          "| req/s ÷ best peer | p50 ÷ best | p99 ÷ best | RSS ÷ best |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in configs:
        m, nok, n, notes, env = med[c]
        name = c + ("" if env in ("-", "") else " (%s)" % env)
        if m:
            print("| %s | %d/%d | %.0f | %.2f | %.2f | %.1f | %s | %s | %s | %s |" % (
                name, nok, n, m["rps"], m["p50_ms"], m["p99_ms"], m["vmhwm_kib"] / 1024,
                ratio(m, "rps"), ratio(m, "p50_ms"), ratio(m, "p99_ms"), ratio(m, "vmhwm_kib")))
        else:
            print("| %s | 0/%d | failed | | | | | | | |" % (name, n))
    failed = [(c, med[c][3]) for c in configs if med[c][3]]
    for c, notes in failed:
        print("\n%s: failed runs: %s" % (c, "; ".join(notes)))
print("\nRaw runs: %s/runs.tsv; wrk and server logs: %s/logs/" % (out, out))
EOF
