#!/bin/sh
# SPDX-License-Identifier: MIT
# configure.sh MESON SRCDIR — the build configures without the test and
# check-mode dependencies.  pkg-config is given a directory holding every
# .pc file of the system except Criterion's (and, in the last case,
# libunwind's), so those look uninstalled; then (configure only, no build):
#   - the default (-Dtests=auto) configures, the summary says the tests are
#     off because Criterion is missing, and nothing under tests/ is defined;
#     libunwind is found there: -DOH_HAVE_LIBUNWIND=1, backtraces YES;
#   - -Dtests=enabled fails and names criterion;
#   - -Dtests=disabled configures even with Criterion installed;
#   - without libunwind, -Dlibunwind=auto configures, the summary says
#     check-mode backtraces are off and OH_HAVE_LIBUNWIND is not defined,
#     and -Dlibunwind=enabled fails.
set -u
meson=$1 src=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-configure-XXXXXX")
trap 'rm -rf "$work"' EXIT
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# hide DIR PATTERN...: DIR holds links to every system .pc file but those
# matching a PATTERN.
hide() {
    dir=$1
    shift
    mkdir -p "$dir"
    for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
        for pc in "$d"/*.pc; do
            [ -f "$pc" ] || continue
            name=$(basename "$pc")
            skip=0
            for pat in "$@"; do
                # shellcheck disable=SC2254 # $pat is a glob
                case "$name" in $pat) skip=1 ;; esac
            done
            [ $skip -eq 1 ] || [ -e "$dir/$name" ] || ln -s "$pc" "$dir/$name"
        done
    done
}
hide "$work/pc-nocriterion" 'criterion.pc'
hide "$work/pc-bare" 'criterion.pc' 'libunwind*.pc'

# setup NAME PCDIR OPTIONS...: configure in $work/NAME; output in $work/NAME.log
setup() {
    name=$1 pcdir=$2
    shift 2
    PKG_CONFIG_LIBDIR=$pcdir "$meson" setup "$work/$name" "$src" -Dbench=false -Dexamples=false "$@" \
        >"$work/$name.log" 2>&1
}
summary_line() { grep -E "^ +$2 +:" "$work/$1.log" | head -n 1 | sed "s/.*: *//"; }
# Meson itself may look for cmake modules: keep its caches out of $HOME.
export HOME="$work"

if setup auto "$work/pc-nocriterion"; then
    line=$(summary_line auto tests)
    [ "$line" = "NO (Criterion not found)" ] || fail "-Dtests=auto without Criterion: summary says tests '$line'"
    grep -q "liboffheap.so (preload) *: YES" "$work/auto.log" || fail "no Features summary: $(tail -25 "$work/auto.log")"
    line=$(summary_line auto 'check-mode backtraces \(libunwind\)')
    [ "$line" = "YES" ] || fail "with libunwind: summary says backtraces '$line'"
    "$meson" introspect "$work/auto" --targets >"$work/targets-auto.json"
    grep -q "OH_HAVE_LIBUNWIND=1" "$work/targets-auto.json" || fail "with libunwind: no -DOH_HAVE_LIBUNWIND=1"
    tests=$("$meson" introspect "$work/auto" --tests)
    [ "$tests" = "[]" ] || fail "-Dtests=auto without Criterion still defines tests: $(echo "$tests" | head -c 300)"
else
    fail "-Dtests=auto without Criterion does not configure: $(tail -20 "$work/auto.log")"
fi

if setup enabled "$work/pc-nocriterion" -Dtests=enabled; then
    fail "-Dtests=enabled without Criterion configured"
else
    grep -qi "criterion" "$work/enabled.log" || fail "-Dtests=enabled failed without naming criterion: $(tail -5 "$work/enabled.log")"
fi

if setup disabled "$work/pc-nocriterion" -Dtests=disabled; then
    line=$(summary_line disabled tests)
    [ "$line" = "NO (-Dtests=disabled)" ] || fail "-Dtests=disabled: summary says tests '$line'"
    grep -q "criterion" "$work/disabled.log" && fail "-Dtests=disabled still looked for criterion"
else
    fail "-Dtests=disabled does not configure: $(tail -20 "$work/disabled.log")"
fi

if setup nounwind "$work/pc-bare"; then
    line=$(summary_line nounwind 'check-mode backtraces \(libunwind\)')
    [ "$line" = "NO" ] || fail "without libunwind: summary says backtraces '$line'"
    "$meson" introspect "$work/nounwind" --targets >"$work/targets.json"
    grep -q "OH_HAVE_LIBUNWIND" "$work/targets.json" && fail "without libunwind: OH_HAVE_LIBUNWIND is still defined"
else
    fail "-Dlibunwind=auto without libunwind does not configure: $(tail -20 "$work/nounwind.log")"
fi
if setup unwind_enabled "$work/pc-bare" -Dlibunwind=enabled; then
    fail "-Dlibunwind=enabled without libunwind configured"
fi

if [ $fails -ne 0 ]; then
    echo "configure: $fails failure(s)"
    exit 1
fi
echo "configure: all checks passed"
