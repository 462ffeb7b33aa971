#!/bin/sh
# SPDX-License-Identifier: MIT
# stats_signal.sh LIB PROG — PROG (ph_stats_signal) sends itself 40 SIGUSR1
# with OFFHEAP_STATS_SIGNAL=USR1: it must finish (no deadlock in the
# handler) and most signals must print a report on stderr.
set -u
lib="$1"; prog="$2"
err=$(mktemp); trap 'rm -f "$err"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
OFFHEAP_STATS_SIGNAL=USR1 LD_PRELOAD="$lib" "$prog" 2>"$err"
rc=$?
n=$(grep -c '^liboffheap stats:' "$err")
status=0
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; grep -v '^  ' "$err" | head; status=1; }
# Signals can merge while one is pending: most, not all, must be seen.
if [ "$n" -lt 10 ] || [ "$n" -gt 40 ]; then echo "FAIL: $n stats reports for 40 signals"; status=1; fi
echo "stats_signal: $n reports for 40 signals"
exit $status
