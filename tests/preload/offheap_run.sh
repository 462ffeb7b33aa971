#!/bin/sh
# SPDX-License-Identifier: MIT
# offheap_run.sh SCRIPT LIB PROBE — scripts/offheap-run: runs a command with
# the preload (PROBE, ph_envprobe, checks it really is loaded), prints stats
# with --stats/--stats-json, maps each option to its OFFHEAP_* variable,
# keeps an existing LD_PRELOAD, makes a relative --lib absolute, and fails
# cleanly on bad usage.
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
run=$(abs "$1"); lib=$(abs "$2"); probe=$(abs "$3")
fails=0
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-run-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The probe proves the preload is active (it exits 1 otherwise).
sh "$run" --lib "$lib" --stats "$probe" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] || fail "--lib --stats probe: exit $rc: $(cat "$work/err")"
grep -q "all checks passed" "$work/out" || fail "probe did not run under the preload"
grep -q '^liboffheap stats:' "$work/err" || fail "--stats printed no stats on stderr"
grep -Eq '^  scopes +200$' "$work/err" || fail "--stats: scopes is not 200: $(grep scopes "$work/err")"

sh "$run" --lib "$lib" --stats-json "$probe" >/dev/null 2>"$work/err"
grep -Eq '^\{"liboffheap":\{"version":"[0-9]+\.[0-9]+\.[0-9]+","pid":[0-9]+,.*,"scopes":200,' "$work/err" ||
    fail "--stats-json: $(cat "$work/err")"

# Options become variables.
sh "$run" --lib "$lib" --pool-size 64M --slab-size 2M --retain 8M --on-exhaust fallback --exclude libfoo \
    --stats-signal USR2 --stats-interval 10s --conf check:1,verbose:0 --check -- env >"$work/env" 2>"$work/err"
for kv in OFFHEAP_POOL_SIZE=64M OFFHEAP_SLAB_SIZE=2M OFFHEAP_RETAIN=8M OFFHEAP_ON_EXHAUST=fallback \
    OFFHEAP_EXCLUDE=libfoo OFFHEAP_STATS_SIGNAL=USR2 OFFHEAP_CHECK=1 OFFHEAP_STATS_INTERVAL=10s \
    OFFHEAP_CONF=check:1,verbose:0; do
    grep -qx "$kv" "$work/env" || fail "options did not set $kv"
done
grep -q "^LD_PRELOAD=/.*liboffheap.so$" "$work/env" || fail "LD_PRELOAD: $(grep LD_PRELOAD "$work/env")"
[ -s "$work/err" ] && fail "valid options printed on stderr: $(cat "$work/err")"

# The options reach the library: the probe sees a 64M pool of 2M slabs.
sh "$run" --lib "$lib" --pool-size 64M --slab-size 2M "$probe" >"$work/out" 2>&1
grep -q "pool_reserved=67108864 slab_size=2097152" "$work/out" || fail "--pool-size/--slab-size not in force: $(cat "$work/out")"

# --conf reaches the library; an option set on its own wins over it.
sh "$run" --lib "$lib" --conf pool_size:32M,slab_size:2M --pool-size 64M "$probe" >"$work/out" 2>&1
grep -q "pool_reserved=67108864 slab_size=2097152" "$work/out" || fail "--conf with --pool-size: $(cat "$work/out")"
sh "$run" --lib "$lib" --stats-interval >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--stats-interval without a value: exit $rc, want 2"
sh "$run" --help | grep -q -- '--stats-interval T' || fail "--help does not list --stats-interval"
sh "$run" --help | grep -q -- '--conf STRING' || fail "--help does not list --conf"

# --verbose prints the effective configuration, options included.
sh "$run" --lib "$lib" --verbose --pool-size 64M --slab-size 2M --on-exhaust fallback --exclude libfoo \
    "$probe" >/dev/null 2>"$work/err"
[ -s "$work/err" ] || fail "--verbose printed nothing"
for kv in pool_size=67108864 slab_size=2097152 on_exhaust=fallback exclude=libfoo; do
    grep -q "$kv" "$work/err" || fail "--verbose: '$kv' not in: $(cat "$work/err")"
done

# A relative --lib becomes absolute; an existing LD_PRELOAD is kept.
libdir=$(dirname "$lib"); libbase=$(basename "$lib")
(cd "$libdir" && LD_PRELOAD=/nonexistent-keep.so sh "$run" --lib "$libbase" sh -c 'echo "$LD_PRELOAD"') \
    >"$work/lp" 2>/dev/null
case "$(cat "$work/lp")" in
/*liboffheap.so:/nonexistent-keep.so) ;;
*) fail "relative --lib / existing LD_PRELOAD: LD_PRELOAD='$(cat "$work/lp")'" ;;
esac

# The exit status and the arguments pass through.
sh "$run" --lib "$lib" sh -c 'exit 42'
[ $? -eq 42 ] || fail "the command's exit status is not passed through"
out=$(sh "$run" --lib "$lib" printf '%s|' "a b" "--stats" "")
[ "$out" = "a b|--stats||" ] || fail "arguments mangled: '$out'"

# Bad usage.
sh "$run" --lib "$lib" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no command: exit $rc, want 2"
sh "$run" --bogus true >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc, want 2"
grep -q "unknown option --bogus" "$work/err" || fail "unknown option not named: $(cat "$work/err")"
sh "$run" --lib "$work/missing.so" true >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 127 ] || fail "missing library: exit $rc, want 127"
sh "$run" --lib >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--lib without a value: exit $rc, want 2"

# Every option --help lists is in the man page (scripts/ and man/ sit side
# by side in the source tree).
man=$(dirname "$run")/../man/offheap-run.1
if [ -f "$man" ]; then
    for o in $(sh "$run" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p'); do
        # As troff writes it: each - as \-, in a .B/.BI/.BR line.
        OPT=$(printf '%s' "$o" | sed 's/-/\\-/g') awk '$1 ~ /^\.B/ && $2 == ENVIRON["OPT"] { f = 1 } END { exit !f }' \
            "$man" || fail "offheap-run $o is not in man/offheap-run.1"
    done
fi

if [ $fails -ne 0 ]; then
    echo "offheap_run: $fails failure(s)"
    exit 1
fi
echo "offheap_run: all checks passed"
