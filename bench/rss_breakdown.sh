#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# rss_breakdown.sh — where a framework server's resident memory goes, under
# jemalloc alone and under liboffheap, mapping by mapping (bench/RESULTS.md,
# "Where the preload's RSS goes").
#
#   bench/rss_breakdown.sh [-s SERVER] [-d SECONDS] [-b BUILD_DIR]
#
#   -s  examples server (default evhttp-server)   -d  seconds of wrk (default 4)
#   -b  build directory (default build)
#
# Each run starts the server (--port 0, 127.0.0.1), loads it with wrk -t2
# -c32 (examples/http-server/post.lua), then reads /proc/PID/status (VmHWM)
# and /proc/PID/smaps while it still runs: resident KiB per object file,
# anonymous mappings summed, and for liboffheap the pool's reservation (the
# mapping of more than 1 GiB: slabs and side tables) on its own line.  The
# table shows both columns and their difference.  Needs wrk.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
SERVER=evhttp-server SECS=4 BUILD=$root/build
while getopts "s:d:b:h" opt; do
    case $opt in
    s) SERVER=$OPTARG ;; d) SECS=$OPTARG ;; b) BUILD=$OPTARG ;;
    *) sed -n '3,17p' "$0"; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "rss_breakdown: wrk is not installed" >&2; exit 2; }
JE=$(ldconfig -p | awk '/libjemalloc\.so\.2 / {print $NF; exit}')
[ -n "$JE" ] || { echo "rss_breakdown: libjemalloc.so.2 not found" >&2; exit 2; }
prog=$BUILD/examples/$SERVER/$SERVER
[ -x "$prog" ] || { echo "rss_breakdown: $prog is not built" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NAME PRELOAD: $tmp/NAME.tsv (KiB, mapping) and $tmp/NAME.hwm
measure() {
    local name=$1 pre=$2 port="" pid i
    env -u OFFHEAP_CHECK -u OFFHEAP_VERBOSE LD_PRELOAD="$pre" "$prog" --port 0 > "$tmp/$name.log" 2>&1 &
    pid=$!
    for i in $(seq 200); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "rss_breakdown: $SERVER did not start under $name" >&2; kill $pid; exit 1; }
    wrk -t2 -c32 -d"${SECS}s" -s "$root/examples/http-server/post.lua" "http://127.0.0.1:$port/orders" > /dev/null
    awk '/^VmHWM/ {print $2}' /proc/$pid/status > "$tmp/$name.hwm"
    # Mapping headers name the file (or nothing: anonymous); Rss lines follow.
    local range perms off dev inode path key lo hi
    while read -r range perms off dev inode path; do
        case $range in
        Rss:) printf '%s\t%s\n' "$perms" "$key" ;;
        *-*)
            case $perms in ????) ;; *) continue ;; esac
            lo=${range%-*} hi=${range#*-}
            if [ -n "$path" ]; then
                key=$path
            elif [ ${#hi} -le 12 ] && [ $((16#$hi - 16#$lo)) -gt 1073741824 ]; then
                key="[liboffheap pool reservation]"
            else
                key="[other anonymous]"
            fi ;;
        esac
    done < /proc/$pid/smaps | awk -F'\t' '{ rss[$2] += $1 } END { for (n in rss) if (rss[n] > 0) printf "%d\t%s\n", rss[n], n }' \
        > "$tmp/$name.tsv"
    kill $pid
    wait $pid 2>/dev/null || true
}

measure jemalloc "$JE"
measure liboffheap "$BUILD/liboffheap.so"

printf '%s under wrk for %s s: resident KiB by mapping\n\n' "$SERVER" "$SECS"
printf '| mapping | jemalloc | liboffheap | difference |\n|---|---:|---:|---:|\n'
cut -f2 "$tmp/jemalloc.tsv" "$tmp/liboffheap.tsv" | sort -u | while IFS= read -r m; do
    a=$(awk -F'\t' -v m="$m" '$2 == m {print $1}' "$tmp/jemalloc.tsv")
    b=$(awk -F'\t' -v m="$m" '$2 == m {print $1}' "$tmp/liboffheap.tsv")
    printf '| %s | %s | %s | %+d |\n' "${m##*/}" "${a:-0}" "${b:-0}" $(( ${b:-0} - ${a:-0} ))
done
a=$(cat "$tmp/jemalloc.hwm") b=$(cat "$tmp/liboffheap.hwm")
printf '| **peak RSS (VmHWM)** | %s | %s | %+d |\n' "$a" "$b" $((b - a))
