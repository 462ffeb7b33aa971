#!/bin/sh
# SPDX-License-Identifier: MIT
# stats_fd.sh LIB — OFFHEAP_STATS=1 writes the report to stderr as it was
# at start, and never into a file the program itself put on some
# descriptor (a script's `exec 3>file`, a dup2 onto a low fd); a report
# that cannot be written (the descriptor is not open, or the program
# closed it) is said to be lost, once, on stderr.
set -u
lib="$1"
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-statsfd-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if command -v bash >/dev/null 2>&1; then
    for fd in 3 4 5 9; do
        OFFHEAP_STATS=1 LD_PRELOAD="$lib" bash -c "exec $fd>'$work/f$fd'; echo data >&$fd; exit 0" 2>"$work/err$fd"
        [ "$(cat "$work/f$fd")" = data ] || fail "bash exec $fd>file: the file holds: $(head -3 "$work/f$fd" | tr '\n' '|')"
        grep -q '^liboffheap stats:' "$work/err$fd" || fail "bash exec $fd>file: no stats on stderr"
    done
fi
if command -v perl >/dev/null 2>&1; then
    OFFHEAP_STATS=1 LD_PRELOAD="$lib" perl -MPOSIX -e '
        open(my $f, ">", $ARGV[0]) or die; POSIX::dup2(fileno($f), 3) or die;
        POSIX::write(3, "user data\n", 10); exit 0' "$work/p3" 2>"$work/perr"
    [ "$(cat "$work/p3")" = "user data" ] || fail "perl dup2(file, 3): the file holds: $(head -3 "$work/p3" | tr '\n' '|')"
    grep -q '^liboffheap stats:' "$work/perr" || fail "perl dup2(file, 3): no stats on stderr"
fi
# OFFHEAP_STATS_FD names another descriptor.
OFFHEAP_STATS=1 OFFHEAP_STATS_FD=7 LD_PRELOAD="$lib" perl -e 'exit 0' 7>"$work/s7" 2>"$work/e7"
grep -q '^liboffheap stats:' "$work/s7" || fail "OFFHEAP_STATS_FD=7: no stats on fd 7"
grep -q '^liboffheap stats:' "$work/e7" && fail "OFFHEAP_STATS_FD=7: stats on stderr too"

# A descriptor that is not open: one line on stderr says the statistics
# are lost (before, nothing did).
OFFHEAP_STATS=1 OFFHEAP_STATS_FD=7 LD_PRELOAD="$lib" perl -e 'exit 0' 7>&- 2>"$work/e7c"
[ "$(wc -l <"$work/e7c")" -eq 1 ] && grep -q 'statistics not written: OFFHEAP_STATS_FD=7 is not open' "$work/e7c" ||
    fail "OFFHEAP_STATS_FD=7 not open: stderr: $(cat "$work/e7c")"
# The program closes every descriptor (as daemons do), ours too: one line.
if command -v perl >/dev/null 2>&1; then
    OFFHEAP_STATS=1 OFFHEAP_STATS_FD=7 LD_PRELOAD="$lib" perl -MPOSIX -e 'POSIX::close($_) for 3 .. 4095; exit 0' \
        7>"$work/s7c" 2>"$work/e7d"
    [ "$(wc -l <"$work/e7d")" -eq 1 ] && grep -q 'statistics not written: OFFHEAP_STATS_FD=7 (kept as descriptor [0-9]*) was closed' "$work/e7d" ||
        fail "descriptor closed by the program: stderr: $(cat "$work/e7d")"
    [ -s "$work/s7c" ] && fail "descriptor closed by the program: something reached fd 7: $(cat "$work/s7c")"
    # With stderr closed as well: nothing to say it on, and no harm.
    OFFHEAP_STATS=1 OFFHEAP_STATS_FD=7 LD_PRELOAD="$lib" perl -MPOSIX -e 'POSIX::close($_) for 3 .. 4095; exit 0' \
        7>"$work/s7d" 2>&-
    [ $? -eq 0 ] || fail "descriptor and stderr closed: the program failed"
fi

if [ $fails -ne 0 ]; then echo "stats_fd: $fails failure(s)"; exit 1; fi
echo "stats_fd: all checks passed"
