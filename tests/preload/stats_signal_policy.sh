#!/bin/sh
# SPDX-License-Identifier: MIT
# stats_signal_policy.sh LIB PROBE — OFFHEAP_STATS_SIGNAL refuses the
# signals whose default action a user relies on (one stderr line saying
# why; the signal keeps its default action: SIGTERM still kills) and accepts
# USR1, USR2, WINCH, URG and the real-time signals, by name in any case,
# with or without SIG, or by number (the signal then prints the statistics
# and the process goes on).  PROBE (ph_signal_probe) sends itself a signal.
set -u
lib="$1"; probe="$2"
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-sigpol-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Linux's numbers (x86-64 and arm64 alike); glibc's SIGRTMIN is 34.
num() {
    case "$1" in
    HUP) echo 1 ;; INT) echo 2 ;; QUIT) echo 3 ;; USR1) echo 10 ;; USR2) echo 12 ;; PIPE) echo 13 ;;
    TERM) echo 15 ;; WINCH) echo 28 ;; RTMIN) echo 34 ;;
    esac
}

# VALUE SIGNAL-SENT: refused, so the signal kills the probe by default.
refused() {
    val=$1 sig=$2 n=$(num "$2")
    OFFHEAP_STATS_SIGNAL="$val" LD_PRELOAD="$lib" "$probe" "$n" >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq $((128 + n)) ] || fail "OFFHEAP_STATS_SIGNAL=$val: SIG$sig did not kill the process (exit $rc, stdout '$(cat "$work/out")')"
    [ "$(grep -c 'OFFHEAP_STATS_SIGNAL' "$work/err")" -eq 1 ] || fail "OFFHEAP_STATS_SIGNAL=$val: not one line naming it: $(cat "$work/err")"
    grep -q "refused: SIG$sig" "$work/err" || fail "OFFHEAP_STATS_SIGNAL=$val: the line does not say SIG$sig is refused: $(cat "$work/err")"
    grep -q 'liboffheap stats' "$work/err" && fail "OFFHEAP_STATS_SIGNAL=$val: statistics printed"
    echo "refused $val: $(head -1 "$work/err")"
}

# VALUE SIGNAL-SENT: accepted, so the signal prints statistics.
accepted() {
    val=$1 n=$2
    OFFHEAP_STATS_SIGNAL="$val" LD_PRELOAD="$lib" "$probe" "$n" >"$work/out" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 0 ] && grep -q survived "$work/out" || fail "OFFHEAP_STATS_SIGNAL=$val: the process died (exit $rc)"
    grep -q '^liboffheap stats: .* reason signal$' "$work/err" || fail "OFFHEAP_STATS_SIGNAL=$val: no statistics: $(cat "$work/err")"
    grep -q 'OFFHEAP_STATS_SIGNAL' "$work/err" && fail "OFFHEAP_STATS_SIGNAL=$val: a warning: $(cat "$work/err")"
}

refused 15 TERM
refused TERM TERM
refused sigterm TERM
refused 2 INT
refused Int INT
refused HUP HUP
refused SIGPIPE PIPE
refused 3 QUIT
accepted USR1 "$(num USR1)"
accepted usr1 "$(num USR1)"
accepted SigUsr2 "$(num USR2)"
accepted "$(num USR2)" "$(num USR2)"
accepted winch "$(num WINCH)"
rtmin=$(num RTMIN)
accepted RTMIN+1 $((rtmin + 1))
accepted "$((rtmin + 2))" $((rtmin + 2))

if [ $fails -ne 0 ]; then echo "stats_signal_policy: $fails failure(s)"; exit 1; fi
echo "stats_signal_policy: all checks passed"
