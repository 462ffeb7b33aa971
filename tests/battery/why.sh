#!/bin/sh
# SPDX-License-Identifier: MIT
# why.sh — say why a battery program fails under liboffheap (by hand; no
# meson test runs it).
#
#   why.sh [--gdb] [--default] /path/to/liboffheap.so PROGRAM [ARGS...]
#
# Runs PROGRAM with LD_PRELOAD and OFFHEAP_CHECK=1 and condenses check mode's
# reports to one line each, with the first frames of the block's
# allocation backtrace:
#   GLOBAL <symbol or offset> in <object> -> <size>-byte block from f0 < f1 < f2
#   USE-AFTER-SCOPE <read|write> -> <size>-byte block from f0 < f1 < f2
# --gdb     also run it under gdb and print the backtrace of the first
#           SIGSEGV/SIGBUS/SIGABRT: where the dead memory was touched;
# --default do that (and the run) in default mode, without OFFHEAP_CHECK.
set -u
gdb=0
check=1
while [ "$#" -gt 0 ]; do
    case "$1" in
    --gdb) gdb=1; shift ;;
    --default) check=0; shift ;;
    *) break ;;
    esac
done
[ "$#" -ge 2 ] || { echo "usage: why.sh [--gdb] [--default] LIB PROGRAM [ARGS]" >&2; exit 2; }
lib=$1; shift
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
if [ "$check" -eq 1 ]; then export OFFHEAP_CHECK=1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( LD_PRELOAD="$lib" exec timeout -k 5 60 "$@" ) >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
echo "status $rc, $(wc -l <"$tmp/out") lines of output"
awk '
function flush() {
    if (kind != "") print kind " -> " blk " from " frames
    kind = ""; blk = "?"; frames = ""; nf = 0
}
/^liboffheap: global / {
    flush()
    line = $0
    sub(/^liboffheap: global /, "", line)
    where = line; sub(/ points into.*/, "", where)
    sub(/^at 0x[0-9a-f]+ \(unnamed, offset /, "+", where); sub(/\) in /, " in ", where)
    sub(/ in .*\//, " in ", where)
    kind = "GLOBAL " where (line ~ /has ended/ ? " (scope ended)" : "")
    next
}
/^liboffheap: use after scope: / {
    flush()
    split($0, a, " "); kind = "USE-AFTER-SCOPE " a[5]
    next
}
/^liboffheap:   0x[0-9a-f]+ is .*-byte block/ {
    if (match($0, /[0-9]+-byte block/)) blk = substr($0, RSTART, RLENGTH)
    next
}
/^liboffheap:     #[0-9]/ {
    if (nf < 4) {
        f = $4; o = $5; gsub(/[()]/, "", o); m = split(o, p, "/"); o = p[m]
        sub(/\+0x[0-9a-f]+$/, "", f)
        frames = frames (nf ? " < " : "") f " (" o ")"
        nf++
    }
    next
}
END { flush() }
' "$tmp/err" | sort | uniq -c | sort -rn
other=$(grep -v '^liboffheap:' "$tmp/err" | head -n 5)
[ -n "$other" ] && { echo "other stderr:"; echo "$other"; }
if [ "$gdb" -eq 1 ]; then
    echo "--- gdb: first fatal signal"
    env LD_PRELOAD="$lib" timeout -k 5 120 gdb -q -batch -nx \
        -ex 'set pagination off' -ex 'set confirm off' \
        -ex 'handle SIGSEGV stop print' -ex 'handle SIGBUS stop print' -ex 'handle SIGABRT stop print' \
        -ex 'handle SIGPIPE nostop noprint' -ex 'run' -ex 'bt 14' -ex 'info threads' --args "$@" 2>&1 </dev/null |
        grep -E '^(#|Thread|Program|\*| +[0-9]+ +Thread)' | head -n 30
fi
