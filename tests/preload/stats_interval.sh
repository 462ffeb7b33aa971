#!/bin/sh
# SPDX-License-Identifier: MIT
# stats_interval.sh LIB PROG — OFFHEAP_STATS_INTERVAL (PROG:
# ph_stats_interval): one JSON line per interval on OFFHEAP_STATS_FD from
# the first scope on, none before; each process of a fork reports its own
# lines; the reporting thread neither delays exit, nor keeps a process
# whose main thread called pthread_exit() alive, nor takes the program's
# signals.
set -u
lib="$1"; prog="$2"
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-interval-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
now_ms() { date +%s%3N; }

# run INTERVAL MODE MS [VAR=VALUE...]: lines in $work/lines, status in $rc,
# elapsed milliseconds in $took.
run() {
    interval=$1 mode=$2 ms=$3; shift 3
    t0=$(now_ms)
    env "$@" OFFHEAP_STATS_INTERVAL="$interval" OFFHEAP_STATS_FD=3 LD_PRELOAD="$lib" "$prog" "$mode" "$ms" \
        >"$work/out" 2>"$work/err" 3>"$work/lines"
    rc=$?
    took=$(($(now_ms) - t0))
    pid=$(sed -n 's/^pid //p' "$work/out")
}

run 200ms run 1300
[ $rc -eq 0 ] || fail "run: exit $rc: $(cat "$work/err")"
n=$(grep -c '"reason":"interval"' "$work/lines")
[ "$n" -ge 4 ] && [ "$n" -le 8 ] || fail "run: $n interval lines in 1.3 s at 200ms"
bad=$(grep -cv '^{"liboffheap":{"version":"[0-9.]*","pid":'"$pid"',"program":"ph_stats_interval","time":"[0-9T:.-]*Z","unix_ms":[0-9]*,"reason":"interval",.*"names":\[{"name":"tick",.*\]}}$' "$work/lines")
[ "$bad" -eq 0 ] || fail "run: $bad malformed line(s): $(head -2 "$work/lines")"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$work/lines" <<'PY' || fail "run: the lines are not JSON objects with growing scope counts"
import json, sys
prev = -1
for line in open(sys.argv[1]):
    d = json.loads(line)["liboffheap"]
    assert d["scopes"] > prev, (d["scopes"], prev)
    prev = d["scopes"]
PY
fi
[ -s "$work/err" ] && fail "run: stderr: $(cat "$work/err")"
echo "run: $n lines in 1.3 s"

# No scope, no thread, no line.
run 200ms idle 700
[ $rc -eq 0 ] && [ ! -s "$work/lines" ] || fail "idle: exit $rc, lines: $(cat "$work/lines")"

# Exit is not delayed by a long interval.
run 1h run 100
[ $rc -eq 0 ] && [ "$took" -lt 3000 ] || fail "exit with a 1h interval: exit $rc after $took ms"
# With OFFHEAP_STATS=json too, the exit report comes last.
run 200ms run 500 OFFHEAP_STATS=json
[ "$(tail -1 "$work/lines" | grep -c '"reason":"exit"')" -eq 1 ] || fail "exit report: $(tail -1 "$work/lines")"

# Fork: the child reports its own lines, with its own pid and figures.
run 200ms fork 1100
[ $rc -eq 0 ] || fail "fork: exit $rc: $(cat "$work/out" "$work/err")"
child=$(sed -n 's/^child //p' "$work/out")
np=$(grep -c "\"pid\":$pid," "$work/lines"); nc=$(grep -c "\"pid\":$child," "$work/lines")
[ "$np" -ge 3 ] && [ "$nc" -ge 3 ] || fail "fork: $np parent and $nc child lines"
echo "fork: $np parent lines, $nc child lines"

# main calls pthread_exit(): the process ends when its last thread does.
run 200ms pthread_exit 600
[ $rc -eq 0 ] && [ "$took" -lt 3000 ] || fail "pthread_exit: exit $rc after $took ms (kept alive?)"
echo "pthread_exit: ended after $took ms"

# The program's signals are its own.
run 200ms sigwait 400
[ $rc -eq 0 ] || fail "sigwait: exit $rc (SIGUSR1 landed on the reporting thread?)"

if [ $fails -ne 0 ]; then echo "stats_interval: $fails failure(s)"; exit 1; fi
echo "stats_interval: all checks passed"
