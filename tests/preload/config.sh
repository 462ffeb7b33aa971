#!/bin/sh
# SPDX-License-Identifier: MIT
# config.sh LIB PROG — OFFHEAP_CONF and offheap_config_get() (PROG:
# ph_config_get NAME=VALUE..., which checks the effective values):
#   - OFFHEAP_CONF="name:value,..." sets what the variables set, with the
#     same validation; a variable set on its own wins;
#   - a bad entry or an unknown name in OFFHEAP_CONF costs one stderr line;
#   - OFFHEAP_POOL_SIZE that is not a whole number of slabs: the pool is
#     never more than asked, and one line says what the pool and the slab
#     became;
#   - OFFHEAP_VERBOSE's line carries the version and every setting.
set -u
lib="$1"; prog="$2"; version="${3:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-config-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# LINES [VAR=VALUE...] -- [NAME=VALUE...]: run PROG, want LINES warning
# lines on stderr (statistics a setting asks for aside).
run() {
    want=$1; shift
    envs=""
    while [ "$1" != "--" ]; do envs="$envs $1"; shift; done
    shift
    # shellcheck disable=SC2086
    env $envs LD_PRELOAD="$lib" "$prog" "$@" >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc -eq 0 ] || fail "[$envs ] exit $rc: $(cat "$work/out")"
    lines=$(grep -c '^liboffheap: ' "$work/err")
    [ "$lines" -eq "$want" ] || fail "[$envs ] $lines stderr line(s), want $want: $(cat "$work/err")"
    echo "---$envs:"; cat "$work/err"
}

# Defaults.
run 0 -- pool_size=1073741824 slab_size=1048576 retain=67108864 on_exhaust=enomem exclude= verbose=0 stats=0 \
    stats_signal=none stats_fd=2 stats_interval=0ms check=0 huge_pages=0 dormant=1 fault_mmap=0
# The issue's example.
run 0 OFFHEAP_CONF=pool_size:256M,slab_size:2M,check:1,stats:json -- \
    pool_size=268435456 slab_size=2097152 check=1 stats=json
# Every kind of value, names in any case; exclude's words separated by ':'.
run 0 "OFFHEAP_CONF=Retain:0,on_exhaust:fallback,EXCLUDE:libfoo:libbar,stats_signal:usr2,stats_fd:1,stats_interval:2m,dormant:0,huge_pages:0,stats:1" -- \
    retain=0 on_exhaust=fallback exclude=libfoo:libbar stats_signal=USR2 stats_fd=1 stats_interval=120000ms dormant=0 \
    huge_pages=0 stats=text
# A variable set on its own wins over OFFHEAP_CONF, in either order.
run 0 OFFHEAP_POOL_SIZE=128M OFFHEAP_CONF=pool_size:256M,slab_size:2M -- pool_size=134217728 slab_size=2097152
run 0 OFFHEAP_CONF=pool_size:256M OFFHEAP_POOL_SIZE=128M -- pool_size=134217728
# A bad variable keeps OFFHEAP_CONF's value, and says so.
run 1 OFFHEAP_CONF=pool_size:256M OFFHEAP_POOL_SIZE=banana -- pool_size=268435456
grep -q "OFFHEAP_POOL_SIZE='banana'.*using pool_size:256M from OFFHEAP_CONF" "$work/err" || fail "bad variable over OFFHEAP_CONF: $(cat "$work/err")"
# Bad entries: one line each, the rest applies.
run 2 OFFHEAP_CONF=pool_size:banana,slabsize:2M,stats:json -- pool_size=1073741824 slab_size=1048576 stats=json
grep -q "OFFHEAP_CONF: pool_size:'banana' is not a size" "$work/err" || fail "bad value: $(cat "$work/err")"
grep -q "OFFHEAP_CONF: 'slabsize' is not a liboffheap setting" "$work/err" || fail "unknown name: $(cat "$work/err")"
run 1 OFFHEAP_CONF=stats_signal:TERM -- stats_signal=none
grep -q "refused: SIGTERM" "$work/err" || fail "OFFHEAP_CONF stats_signal:TERM: $(cat "$work/err")"
run 1 OFFHEAP_CONF=check -- check=0
run 0 OFFHEAP_STATS_SIGNAL=rtmin+3 -- stats_signal=RTMIN+3
run 0 OFFHEAP_STATS_INTERVAL=1500ms -- stats_interval=1500ms

# The pool is never larger than asked; one line says what it became.
run 1 OFFHEAP_POOL_SIZE=1000K -- pool_size=917504 slab_size=131072
grep -q "OFFHEAP_POOL_SIZE=1000K is not a whole number of 1M slabs.*7 slabs of 128K, a pool of 896K" "$work/err" ||
    fail "1000K: $(cat "$work/err")"
run 1 OFFHEAP_POOL_SIZE=1500K OFFHEAP_SLAB_SIZE=2M -- pool_size=1441792 slab_size=131072
run 1 OFFHEAP_POOL_SIZE=1500K OFFHEAP_SLAB_SIZE=1M -- pool_size=1048576 slab_size=1048576
grep -q "OFFHEAP_POOL_SIZE=1500K is not a whole number of 1M slabs (OFFHEAP_SLAB_SIZE): the pool is 1 slab, 1M" "$work/err" ||
    fail "1500K of 1M slabs: $(cat "$work/err")"
run 1 OFFHEAP_CONF=pool_size:1500K -- pool_size=1441792 slab_size=131072
grep -q "^liboffheap: OFFHEAP_CONF pool_size=1500K is not a whole number" "$work/err" || fail "OFFHEAP_CONF pool_size: $(cat "$work/err")"
run 1 OFFHEAP_POOL_SIZE=1536K -- pool_size=1572864 slab_size=524288
grep -q "1536K is not a whole number of 1M slabs (the default slab size): using 3 slabs of 512K, a pool of 1536K" "$work/err" ||
    fail "1536K: $(cat "$work/err")"
run 0 OFFHEAP_POOL_SIZE=3M OFFHEAP_SLAB_SIZE=1M -- pool_size=3145728 slab_size=1048576

# OFFHEAP_VERBOSE: the version and the settings.
run 1 OFFHEAP_VERBOSE=1 OFFHEAP_DORMANT=0 OFFHEAP_CONF=stats_interval:10s --
grep -q "^liboffheap: config: version=$version pool_size=1073741824 .*stats_interval=10000ms" "$work/err" ||
    fail "OFFHEAP_VERBOSE: $(cat "$work/err")"

if [ $fails -ne 0 ]; then echo "config: $fails failure(s)"; exit 1; fi
echo "config: all checks passed"
