#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh — judge one battery program under liboffheap (issue 12, item 4).
#
#   run.sh [--mode default|check|both] [--timeout SECONDS] [--requests N]
#          --preload /path/to/liboffheap.so -- PROGRAM [ARGS...]
#
# Runs PROGRAM without the preload (the reference), then with
# LD_PRELOAD=liboffheap.so and no OFFHEAP_* variable (mode default) and/or
# with OFFHEAP_CHECK=1 as the only one (mode check).  Every run is under a
# timeout.  A run fails when it
#   - does not end in time                       -> "hang"
#   - dies of a signal                           -> "crash (SIGxxx)"
#   - exits with a status other than 0           -> "exit N"
#   - prints anything else than the reference    -> "wrong output"
#   - (check mode) has a check-mode report on stderr: "use after scope" or a
#     global "points into a scope"               -> "check report"
# Prints one "verdict:" line per mode, the evidence, and the closing
# "N passed, N failed"; exits 0 when every mode passed, 1 otherwise.
# BATTERY_TIMEOUT (default 60) and BATTERY_REQUESTS (passed as the program's
# argv[1] by --requests, else the program's default) may be set by hand.
set -u
mode=both
preload=""
tmo=${BATTERY_TIMEOUT:-60}
requests=""
while [ "$#" -gt 0 ]; do
    case "$1" in
    --mode) mode="$2"; shift 2 ;;
    --preload) preload="$2"; shift 2 ;;
    --timeout) tmo="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
    esac
done
if [ "$#" -eq 0 ] || [ -z "$preload" ]; then
    echo "usage: run.sh [--mode default|check|both] [--timeout S] [--requests N] --preload LIB -- PROGRAM [ARGS]" >&2
    exit 2
fi
case "$mode" in
default | check) modes=$mode ;;
both) modes="default check" ;;
*) echo "run.sh: unknown mode '$mode'" >&2; exit 2 ;;
esac
if [ ! -r "$preload" ]; then
    echo "run.sh: $preload is missing" >&2
    exit 2
fi
[ -n "$requests" ] && set -- "$@" "$requests"

# A clean environment: no OFFHEAP_* setting from the caller, no other
# preload, no core files.
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done
unset LD_PRELOAD
ulimit -c 0 2>/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$1")

signame() {
    case "$1" in
    4) echo SIGILL ;; 6) echo SIGABRT ;; 7) echo SIGBUS ;; 8) echo SIGFPE ;;
    9) echo SIGKILL ;; 11) echo SIGSEGV ;; 15) echo SIGTERM ;; *) echo "signal $1" ;;
    esac
}

# describe RC OUT ERR: the way a run ended, "" when it ended well.
describe_end() {
    if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then
        echo "hang (no end within ${tmo}s)"
    elif [ "$1" -gt 128 ]; then
        echo "crash ($(signame $(($1 - 128))))"
    elif [ "$1" -ne 0 ]; then
        echo "exit $1"
    fi
}

# Reference: the program alone.
( exec timeout -k 5 "$tmo" "$@" ) >"$tmp/ref.out" 2>"$tmp/ref.err" </dev/null
rc=$?
how=$(describe_end "$rc")
if [ -n "$how" ]; then
    echo "verdict: $name reference FAIL $how (without liboffheap: the program itself is broken)"
    echo "--- stderr:"; head -n 40 "$tmp/ref.err"
    echo "0 passed, 1 failed"
    exit 1
fi
reflines=$(wc -l <"$tmp/ref.out")

passed=0
failed=0
for m in $modes; do
    if [ "$m" = check ]; then
        ( exec env LD_PRELOAD="$preload" OFFHEAP_CHECK=1 timeout -k 5 "$tmo" "$@" ) \
            >"$tmp/$m.out" 2>"$tmp/$m.err" </dev/null
    else
        ( exec env LD_PRELOAD="$preload" timeout -k 5 "$tmo" "$@" ) \
            >"$tmp/$m.out" 2>"$tmp/$m.err" </dev/null
    fi
    rc=$?
    kinds=""
    how=$(describe_end "$rc")
    [ -n "$how" ] && kinds="$how"
    if ! cmp -s "$tmp/ref.out" "$tmp/$m.out"; then
        lines=$(wc -l <"$tmp/$m.out")
        first=$(diff "$tmp/ref.out" "$tmp/$m.out" | sed -n '1s/^\([0-9]*\).*/\1/p')
        kinds="${kinds:+$kinds, }wrong output ($lines of $reflines lines, first difference at line ${first:-?})"
    fi
    reports=""
    if grep -q 'liboffheap: use after scope' "$tmp/$m.err"; then
        reports="use after scope"
    fi
    if grep -q 'liboffheap: global .* points into a scope' "$tmp/$m.err"; then
        reports="${reports:+$reports + }global pointer into a scope"
    fi
    if [ -n "$reports" ]; then
        # Reported in default mode too (cannot happen there, but say so).
        kinds="${kinds:+$kinds, }check report ($reports)"
    fi
    if [ -z "$kinds" ]; then
        echo "verdict: $name $m PASS ($reflines lines)"
        passed=$((passed + 1))
    else
        echo "verdict: $name $m FAIL $kinds"
        failed=$((failed + 1))
        if ! cmp -s "$tmp/ref.out" "$tmp/$m.out"; then
            echo "--- first differing lines (< reference, > $m):"
            diff "$tmp/ref.out" "$tmp/$m.out" >"$tmp/diff"
            grep -m 3 '^<' "$tmp/diff" | cut -c 1-300
            grep -m 3 '^>' "$tmp/diff" | cut -c 1-300
        fi
    fi
    if [ -s "$tmp/$m.err" ]; then
        echo "--- stderr of the $m run (first 60 lines):"
        head -n 60 "$tmp/$m.err"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
