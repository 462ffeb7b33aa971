#!/bin/sh
# SPDX-License-Identifier: MIT
# expect.sh — run a program under check mode and judge how it ended.
#
#   expect.sh [--signal N | --exit N] [--grep PATTERN]... [--absent PATTERN]...
#             [--stdout PATTERN] -- PROGRAM [ARGS...]
#
# --signal N   the program must die of signal N (SIGSEGV is 11);
# --exit N     it must exit with status N (default 0);
# --grep P     its stderr must match P (grep -E), each one;
# --absent P   its stderr must not match P;
# --stdout P   its stdout must match P.
# The caller sets LD_PRELOAD and OFFHEAP_CHECK.  Prints "1 passed, 0 failed"
# or the reasons and "0 passed, 1 failed".
set -u
want_sig=""; want_exit=0; greps=""; absents=""; outpat=""
nl='
'
while [ "$#" -gt 0 ]; do
    case "$1" in
    --signal) want_sig="$2"; shift 2 ;;
    --exit) want_exit="$2"; shift 2 ;;
    --grep) greps="$greps$2$nl"; shift 2 ;;
    --absent) absents="$absents$2$nl"; shift 2 ;;
    --stdout) outpat="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
    esac
done
err=$(mktemp); out=$(mktemp)
trap 'rm -f "$err" "$out"' EXIT
# A subshell runs the program so that the shell's report of its death (if
# any) stays out of the captured stderr; 128+N is death by signal N.
( "$@" >"$out" 2>"$err" )
rc=$?
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
if [ -n "$want_sig" ]; then
    [ "$rc" -eq $((128 + want_sig)) ] || fail "$* ended with status $rc, want death by signal $want_sig ($((128 + want_sig)))"
else
    [ "$rc" -eq "$want_exit" ] || fail "$* exited with status $rc, want $want_exit"
fi
IFS="$nl"
for p in $greps; do
    grep -Eq -- "$p" "$err" || fail "stderr lacks /$p/"
done
for p in $absents; do
    if grep -Eq -- "$p" "$err"; then fail "stderr has /$p/ and must not"; fi
done
if [ -n "$outpat" ]; then
    grep -Eq -- "$outpat" "$out" || fail "stdout lacks /$outpat/"
fi
unset IFS
echo "--- stdout of $*:"; cat "$out"
echo "--- stderr of $*:"; cat "$err"
if [ "$status" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit "$status"
