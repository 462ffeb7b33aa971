#!/bin/sh
# SPDX-License-Identifier: MIT
# bad_env.sh LIB PROG [ARGS...] (PROG: ph_envprobe) — every OFFHEAP_* variable with a bad value
# (and OFFHEAP_CONF with a bad entry) costs exactly one stderr line naming
# the variable, and PROG (a
# self-checking program) still runs correctly with the default.  Valid
# values print nothing.
set -u
lib="$1"; shift
fails=0
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# Drop whatever the caller exported.
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

check() { # VAR VALUE LINES  (LINES: lines expected on stderr)
    var=$1 val=$2 want=$3; shift 3
    env "$var=$val" LD_PRELOAD="$lib" "$@" >"$out" 2>"$err"
    rc=$?
    lines=$(wc -l <"$err")
    if [ "$rc" -ne 0 ]; then
        echo "FAIL: $var='$val': program exited $rc"; fails=$((fails + 1))
    fi
    if [ "$lines" -ne "$want" ]; then
        echo "FAIL: $var='$val': $lines stderr line(s), want $want"; fails=$((fails + 1))
    fi
    if [ "$want" -eq 1 ] && ! grep -qF "$var" "$err"; then
        echo "FAIL: $var='$val': the stderr line does not name $var"; fails=$((fails + 1))
    fi
    if ! grep -q "all checks passed" "$out"; then
        echo "FAIL: $var='$val': the program did not report success"; fails=$((fails + 1))
    fi
    case "$var" in
    OFFHEAP_POOL_SIZE|OFFHEAP_SLAB_SIZE)
        if [ "$want" -eq 1 ] && ! grep -q "pool_reserved=1073741824 slab_size=1048576" "$out"; then
            echo "FAIL: $var='$val': the defaults (1G pool, 1M slabs) are not in force: $(grep pool_ "$out")"
            fails=$((fails + 1))
        fi ;;
    esac
    echo "--- $var='$val' (rc $rc):"; cat "$err"
}

# Bad values: one line each.
check OFFHEAP_POOL_SIZE banana 1 "$@"
check OFFHEAP_POOL_SIZE '' 1 "$@"
check OFFHEAP_POOL_SIZE 12Q 1 "$@"
check OFFHEAP_POOL_SIZE 1 1 "$@"
check OFFHEAP_POOL_SIZE 99999999999999999999G 1 "$@"
check OFFHEAP_POOL_SIZE -1G 1 "$@"
check OFFHEAP_SLAB_SIZE 3M 1 "$@"
check OFFHEAP_SLAB_SIZE 1K 1 "$@"
check OFFHEAP_SLAB_SIZE huge 1 "$@"
check OFFHEAP_RETAIN lots 1 "$@"
check OFFHEAP_ON_EXHAUST explode 1 "$@"
check OFFHEAP_ON_EXHAUST ENOMEM! 1 "$@"
check OFFHEAP_VERBOSE maybe 1 "$@"
check OFFHEAP_STATS loud 1 "$@"
check OFFHEAP_STATS_SIGNAL SIGFOO 1 "$@"
check OFFHEAP_STATS_SIGNAL 9 1 "$@"
check OFFHEAP_STATS_SIGNAL 15 1 "$@"
check OFFHEAP_STATS_SIGNAL TERM 1 "$@"
check OFFHEAP_STATS_INTERVAL soon 1 "$@"
check OFFHEAP_CONF pool_size:banana 1 "$@"
check OFFHEAP_CONF poolsize:1G 1 "$@"
check OFFHEAP_STATS_FD abc 1 "$@"
check OFFHEAP_STATS_FD -1 1 "$@"
check OFFHEAP_CHECK sure 1 "$@"
check OFFHEAP_HUGE_PAGES always 1 "$@"
check OFFHEAP_DORMANT sometimes 1 "$@"
check OFFHEAP_FAULT_MMAP x 1 "$@"
check OFFHEAP_FAULT_FALLBACK x 1 "$@"
# A misspelt name is reported too.
check OFFHEAP_POOLSIZE 1G 1 "$@"
# Good values: silent.
check OFFHEAP_POOL_SIZE 2G 0 "$@"
check OFFHEAP_POOL_SIZE 512MiB 0 "$@"
check OFFHEAP_SLAB_SIZE 2M 0 "$@"
check OFFHEAP_RETAIN 0 0 "$@"
check OFFHEAP_ON_EXHAUST fallback 0 "$@"
check OFFHEAP_CHECK 0 0 "$@"
check OFFHEAP_DORMANT 0 0 "$@"
check OFFHEAP_DORMANT off 0 "$@"
check OFFHEAP_STATS_SIGNAL USR2 0 "$@"
check OFFHEAP_STATS_SIGNAL sigusr1 0 "$@"
check OFFHEAP_STATS_INTERVAL 10s 0 "$@"
check OFFHEAP_CONF pool_size:2G,slab_size:2M 0 "$@"
check OFFHEAP_EXCLUDE libfoo:libbar 0 "$@"

if [ "$fails" -ne 0 ]; then
    echo "bad_env: $fails failure(s)"
    exit 1
fi
echo "bad_env: all checks passed"
