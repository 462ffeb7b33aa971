#!/bin/sh
# SPDX-License-Identifier: MIT
# warm_syscalls.sh LIB WARM — a begin/end pair that fits in the thread's
# warm slab makes no system call: after the warm-up pair (whose end runs
# the rescue; warm.c marks that point with getppid()), 200000 such pairs
# make exactly as many system calls as none.  Skipped (77) without strace.
set -u
lib="$1"; prog="$2"
command -v strace >/dev/null 2>&1 || { echo "SKIP: strace is not installed"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-warm-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
count() { # N -> number of system calls
    strace -f -qq -o "$work/trace.$1" env LD_PRELOAD="$lib" "$prog" "$1" || { echo "FAIL: warm $1 exited $?"; exit 1; }
    # Only what the program did after its warm-up pair (its getppid()).
    sed -n '/getppid()/,$p' "$work/trace.$1" | grep -vc '^$'
}
if ! strace -f -qq -o /dev/null true 2>/dev/null; then echo "SKIP: strace cannot trace here"; exit 77; fi
a=$(count 0)
b=$(count 200000)
echo "system calls: $a with no pairs, $b with 200000 pairs"
if [ "$b" -ne "$a" ]; then
    echo "FAIL: warm begin/end pairs made $((b - a)) system calls:"
    diff "$work/trace.0" "$work/trace.200000" | head -20
    exit 1
fi
echo "warm_syscalls: all checks passed"
