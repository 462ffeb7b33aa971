#!/bin/sh
# SPDX-License-Identifier: MIT
# cost.sh LIB MACRO_REQUEST [ROUNDS] [THREADS] — the check mode's cost on
# the request-loop benchmark (bench/macro_request.c): runs it under
# LD_PRELOAD=LIB with and without OFFHEAP_CHECK=1, interleaved, ROUNDS times
# (default 5), and prints the medians of requests per second (wall) and per
# CPU-second, and their ratios.  A measurement, not a test: the machine's
# load moves the wall-clock figure; the CPU-time figure is the steadier one.
set -eu
lib="$1"; prog="$2"; rounds="${3:-5}"; threads="${4:-1}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
    for mode in normal check; do
        if [ "$mode" = check ]; then c=1; else c=0; fi
        LD_PRELOAD="$lib" OFFHEAP_CHECK=$c "$prog" --threads "$threads" --require-preload >"$tmp/out" 2>&1
        awk '/RESULT request .* req_per_s /{print $NF > "'"$tmp/$mode.wall.$i"'"}
             /RESULT request .* req_per_cpu_s /{print $NF > "'"$tmp/$mode.cpu.$i"'"}' "$tmp/out"
    done
    i=$((i + 1))
done
median() { cat "$tmp"/$1.* | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
nw=$(median normal.wall); cw=$(median check.wall); nc=$(median normal.cpu); cc=$(median check.cpu)
echo "threads=$threads rounds=$rounds"
echo "normal: $nw req/s wall, $nc req/CPU-s"
echo "check:  $cw req/s wall, $cc req/CPU-s"
awk -v a="$nw" -v b="$cw" -v c="$nc" -v d="$cc" 'BEGIN { printf "check-mode cost: %.2fx (wall), %.2fx (CPU time)\n", a / b, c / d }'
