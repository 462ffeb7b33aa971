#!/bin/sh
# SPDX-License-Identifier: MIT
# offheap_run_more.sh SCRIPT CONFIGURED LIB LIBDIR — offheap-run beyond
# tests/preload/offheap_run.sh: SCRIPT is scripts/offheap-run, CONFIGURED
# the copy meson configured into the build directory (with the install's
# LIBDIR), LIB the built liboffheap.so.
#   - --help and -h: usage on stdout, status 0, nothing on stderr; bad usage:
#     a message and the usage line on stderr, nothing on stdout, status 2;
#   - --stats-fd N, --huge-pages, --dormant 0|1 set their variables and
#     reach the library (--verbose prints them; the statistics go to fd N);
#     bad values of --stats-fd and --dormant are usage errors;
#   - the library search, each layout in a scratch directory: next to the
#     script (a build directory), the source tree (scripts/ and build/), an
#     install tree at the configured libdir, an install tree at
#     lib/<multiarch triplet> for an unconfigured script, pkg-config's
#     preload variable, a symbolic link to the script; and when nothing is
#     found, status 127 and a message naming every place looked at.
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
run=$(abs "$1") conf=$(abs "$2") lib=$(abs "$3") libdir=$4
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-run-more-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
# The search may ask pkg-config: only the scratch module may answer.
export PKG_CONFIG_LIBDIR="$work/no-pc"

# ---- help and usage errors ----------------------------------------------------
for h in --help -h; do
    sh "$run" $h >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc -eq 0 ] || fail "$h: exit $rc, want 0"
    grep -q "^usage: offheap-run" "$work/out" || fail "$h: no usage on stdout"
    for opt in --stats-fd --huge-pages --dormant --lib --check; do
        grep -q -- "$opt" "$work/out" || fail "$h: $opt not in the usage"
    done
    [ -s "$work/err" ] && fail "$h wrote on stderr: $(cat "$work/err")"
done
for bad in "--bogus true" "--stats-fd" "--stats-fd x true" "--stats-fd -1 true" "--dormant 2 true" \
    "--dormant yes true" "--dormant" ""; do
    # shellcheck disable=SC2086 # the words of $bad are the arguments
    sh "$run" --lib "$lib" $bad >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc -eq 2 ] || fail "'$bad': exit $rc, want 2"
    [ -s "$work/out" ] && fail "'$bad' wrote on stdout: $(cat "$work/out")"
    grep -q "^offheap-run: " "$work/err" || fail "'$bad': no message on stderr"
    grep -q "^usage: offheap-run" "$work/err" || fail "'$bad': no usage line on stderr"
done

# ---- the new options -------------------------------------------------------------
sh "$run" --lib "$lib" --stats-fd 7 --huge-pages --dormant 0 -- env >"$work/env" 2>"$work/err"
for kv in OFFHEAP_STATS_FD=7 OFFHEAP_HUGE_PAGES=1 OFFHEAP_DORMANT=0; do
    grep -qx "$kv" "$work/env" || fail "options did not set $kv"
done
sh "$run" --lib "$lib" --dormant 1 -- env | grep -qx OFFHEAP_DORMANT=1 || fail "--dormant 1"
sh "$run" --lib "$lib" --verbose --huge-pages --dormant 0 --stats-fd 3 true 3>/dev/null 2>"$work/err"
for kv in huge_pages=1 dormant=0 stats_fd=3; do
    grep -q "$kv" "$work/err" || fail "--verbose: '$kv' not in force: $(cat "$work/err")"
done
sh "$run" --lib "$lib" --stats --stats-fd 3 true 3>"$work/stats" 2>"$work/err"
grep -q '^liboffheap stats:' "$work/stats" || fail "--stats-fd 3: no statistics on fd 3"
grep -q 'liboffheap stats' "$work/err" && fail "--stats-fd 3: statistics still on stderr"

# ---- the library search ----------------------------------------------------------
# preload_of SCRIPT: the LD_PRELOAD it sets for a command (empty on failure).
preload_of() { sh "$@" sh -c 'echo "$LD_PRELOAD"' 2>"$work/err"; }
same() { [ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]; }

# Next to the script: meson's configured copy in the build directory.
got=$(preload_of "$conf")
same "$got" "$(dirname "$conf")/liboffheap.so" || fail "build directory: LD_PRELOAD='$got' $(cat "$work/err")"

# A source tree: scripts/offheap-run and build/liboffheap.so.
mkdir -p "$work/src/scripts" "$work/src/build"
cp "$run" "$work/src/scripts/offheap-run"
cp "$lib" "$work/src/build/liboffheap.so"
got=$(preload_of "$work/src/scripts/offheap-run")
[ "$got" = "$work/src/build/liboffheap.so" ] || fail "source tree: LD_PRELOAD='$got' $(cat "$work/err")"

# An install tree at the configured libdir (relative to the prefix).
case "$libdir" in
/*) ;;
*)
    mkdir -p "$work/inst/bin" "$work/inst/$libdir"
    cp "$conf" "$work/inst/bin/offheap-run"
    cp "$lib" "$work/inst/$libdir/liboffheap.so"
    got=$(preload_of "$work/inst/bin/offheap-run")
    [ "$got" = "$work/inst/$libdir/liboffheap.so" ] || fail "install tree: LD_PRELOAD='$got' $(cat "$work/err")"
    # Through a symbolic link elsewhere (as /usr/local/bin/x -> ../opt/...).
    mkdir "$work/links"
    ln -s "$work/inst/bin/offheap-run" "$work/links/offheap-run"
    got=$(preload_of "$work/links/offheap-run")
    [ "$got" = "$work/inst/$libdir/liboffheap.so" ] || fail "symbolic link: LD_PRELOAD='$got' $(cat "$work/err")"
    ;;
esac

# An unconfigured script in an install tree with a multiarch libdir.
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)
if [ -n "$triplet" ]; then
    mkdir -p "$work/multi/bin" "$work/multi/lib/$triplet"
    cp "$run" "$work/multi/bin/offheap-run"
    cp "$lib" "$work/multi/lib/$triplet/liboffheap.so"
    got=$(preload_of "$work/multi/bin/offheap-run")
    [ "$got" = "$work/multi/lib/$triplet/liboffheap.so" ] || fail "lib/$triplet: LD_PRELOAD='$got' $(cat "$work/err")"
else
    echo "note: no multiarch triplet on this system; lib/<triplet> not tried"
fi

# Nothing near the script: pkg-config's preload variable.
mkdir -p "$work/alone/bin" "$work/pc" "$work/elsewhere"
cp "$run" "$work/alone/bin/offheap-run"
cp "$lib" "$work/elsewhere/liboffheap.so"
# shellcheck disable=SC2016 # ${...} is pkg-config's syntax
printf 'prefix=%s\nlibdir=${prefix}\npreload=${libdir}/liboffheap.so\n\nName: offheap-preload\nDescription: test\nVersion: 0\n' \
    "$work/elsewhere" >"$work/pc/offheap-preload.pc"
if command -v pkg-config >/dev/null 2>&1; then
    got=$(PKG_CONFIG_LIBDIR="$work/pc" preload_of "$work/alone/bin/offheap-run")
    [ "$got" = "$work/elsewhere/liboffheap.so" ] || fail "pkg-config: LD_PRELOAD='$got' $(cat "$work/err")"
fi

# Nowhere: 127, and the message lists where it looked.
out=$(sh "$work/alone/bin/offheap-run" true 2>&1)
rc=$?
[ $rc -eq 127 ] || fail "not found: exit $rc, want 127"
for place in "$work/alone/bin/liboffheap.so" "$work/alone/bin/../build/liboffheap.so" \
    "$work/alone/bin/../lib64/liboffheap.so" "$work/alone/bin/../lib/liboffheap.so" "pkg-config"; do
    case "$out" in *"$place"*) ;; *) fail "not found: '$place' not in the message: $out" ;; esac
done
case "$out" in *"--lib"*) ;; *) fail "not found: the message does not mention --lib: $out" ;; esac

if [ $fails -ne 0 ]; then
    echo "offheap_run_more: $fails failure(s)"
    exit 1
fi
echo "offheap_run_more: all checks passed"
