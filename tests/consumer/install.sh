#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh MESON BUILD SRCDIR VERSION PREFIX LIBDIR INCLUDEDIR BINDIR MANDIR CC CXX
#
# `meson install --destdir` of this build into a scratch directory, then:
#   - exactly the expected files are installed (libraries, the four headers,
#     offheap-run, both .pc files, the CMake package, both man pages);
#   - the man pages format without a groff warning;
#   - with PKG_CONFIG_PATH alone (the .pc files are relocatable: no sysroot),
#     a C program using the Pool and the markers and a C++17 program using
#     offheap.hpp build against the tree and run, plain and under the
#     installed offheap-run, which finds the installed liboffheap.so itself;
#     `pkg-config --variable=preload offheap-preload` names that library;
#   - with CMake, find_package(offheap 0.1) in the moved tree gives
#     offheap::pool, offheap::headers and OFFHEAP_PRELOAD; the version file
#     accepts and refuses the right versions.
# Exit 77 (skip) only when cmake is missing and everything else passed.
set -u
meson=$1 build=$2 src=$3 version=$4 prefix=$5 libdir=$6 includedir=$7 bindir=$8 mandir=$9
shift 9
cc=$1 cxx=$2

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/dest"
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

under() { # a configured directory, inside the destdir
    case "$1" in /*) echo "$dest$1" ;; *) echo "$dest$prefix/$1" ;; esac
}
rel() { # a configured directory, relative to the prefix (for the file list)
    case "$1" in "$prefix"/*) echo "${1#"$prefix"/}" ;; *) echo "$1" ;; esac
}

"$meson" install -C "$build" --no-rebuild --destdir "$dest" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; echo "FAIL: meson install --destdir"; exit 1; }

L=$(under "$libdir") I=$(under "$includedir") B=$(under "$bindir") M=$(under "$mandir")

# ---- the file list ----------------------------------------------------------
lr=$(rel "$libdir") ir=$(rel "$includedir") br=$(rel "$bindir") mr=$(rel "$mandir")
cat >"$work/want" <<EOF
$br/offheap-run
$ir/offheap.h
$ir/offheap.hpp
$ir/offheap_pool.h
$ir/offheap_pool_inline.h
$ir/offheap_version.h
$lr/cmake/offheap/offheapConfig.cmake
$lr/cmake/offheap/offheapConfigVersion.cmake
$lr/liboffheap.so
$lr/liboffheap_pool.so
$lr/liboffheap_pool.so.0
$lr/liboffheap_pool.so.$version
$lr/pkgconfig/offheap-preload.pc
$lr/pkgconfig/offheap.pc
$mr/man1/offheap-run.1
$mr/man3/offheap.3
EOF
sort -o "$work/want" "$work/want"
(cd "$dest$prefix" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$work/got"
if ! cmp -s "$work/want" "$work/got"; then
    fail "installed files differ from the expected list (- expected, + installed):"
    diff "$work/want" "$work/got" | sed -n 's/^</  -/p; s/^>/  +/p'
fi
[ -x "$B/offheap-run" ] || fail "offheap-run is not executable"
grep -q "^configured_libdir='@" "$B/offheap-run" && fail "offheap-run was installed unconfigured"
for h in offheap.h offheap.hpp offheap_pool.h offheap_pool_inline.h offheap_version.h; do
    cmp -s "$src/include/$h" "$I/$h" || fail "$h differs from include/$h"
done

# ---- man pages ----------------------------------------------------------------
if command -v groff >/dev/null 2>&1; then
    for page in "$M/man3/offheap.3" "$M/man1/offheap-run.1"; do
        out=$(groff -man -ww -z "$page" 2>&1)
        [ -z "$out" ] || fail "groff warns about $(basename "$page"): $out"
        groff -man -Tascii -P-bcou "$page" 2>/dev/null | grep -q "SEE ALSO" || fail "$(basename "$page") does not format"
    done
else
    echo "note: groff not installed, man pages not formatted"
fi

# ---- pkg-config, with PKG_CONFIG_PATH only -------------------------------------
export PKG_CONFIG_PATH="$L/pkgconfig"
flags=$(pkg-config --cflags --libs offheap) || fail "pkg-config offheap"
case "$flags" in *"$dest"*) ;; *) fail "pkg-config offheap does not point into the installed tree: $flags" ;; esac
preload=$(pkg-config --variable=preload offheap-preload) || fail "pkg-config --variable=preload offheap-preload"
[ "$(readlink -f "$preload")" = "$(readlink -f "$L/liboffheap.so")" ] ||
    fail "offheap-preload's preload variable is '$preload', not the installed $L/liboffheap.so"
[ "$(pkg-config --variable=preload offheap)" = "$preload" ] || fail "offheap.pc's preload variable differs"
pkg-config --libs offheap-preload | grep -q -- "-loffheap\b" || fail "offheap-preload.pc: no -loffheap"

cp "$src/tests/consumer/install/pool_user.c" "$src/tests/consumer/install/guard_user.cc" "$work/"
# shellcheck disable=SC2046 # word splitting of pkg-config's output is intended
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/pool_user" "$work/pool_user.c" \
    $(pkg-config --cflags --libs offheap) 2>"$work/cc.err" || fail "cc with pkg-config offheap: $(cat "$work/cc.err")"
# shellcheck disable=SC2046
"$cxx" -std=c++17 -Wall -Wextra -Werror -o "$work/guard_user" "$work/guard_user.cc" \
    $(pkg-config --cflags offheap-preload) 2>"$work/cxx.err" ||
    fail "c++ with pkg-config offheap-preload: $(cat "$work/cxx.err")"

expect() { # expect WHAT WANT command...
    what=$1 want=$2
    shift 2
    out=$("$@" 2>"$work/err")
    rc=$?
    [ $rc -eq 0 ] || { fail "$what: exit $rc: $(cat "$work/err")"; return; }
    case "$out" in *"$want"*) ;; *) fail "$what: want '$want' in: $out" ;; esac
}
absent="loaded 0 depth 0 owned 0 after 0"
present="loaded 1 depth 1 owned 1 after 0"
expect "pool_user plain" "pool ok" env LD_LIBRARY_PATH="$L" "$work/pool_user"
expect "pool_user plain" "$absent" env LD_LIBRARY_PATH="$L" "$work/pool_user"
expect "pool_user under the installed offheap-run" "$present" env LD_LIBRARY_PATH="$L" "$B/offheap-run" "$work/pool_user"
expect "pool_user with LD_PRELOAD from pkg-config" "$present" env LD_LIBRARY_PATH="$L" LD_PRELOAD="$preload" "$work/pool_user"
expect "guard_user plain" "$absent" "$work/guard_user"
expect "guard_user under the installed offheap-run" "$present" "$B/offheap-run" "$work/guard_user"

# ---- CMake ------------------------------------------------------------------------
# The installed tree is moved first: the package finds itself from its own
# location.
if ! command -v cmake >/dev/null 2>&1; then
    [ $fails -eq 0 ] || { echo "install: $fails failure(s)"; exit 1; }
    echo "install: cmake not installed: the CMake package was not tried (scripts/setup.sh installs cmake)"
    exit 77
fi
mv "$dest" "$work/moved"
moved="$work/moved$prefix"
mkdir "$work/cm"
cp "$src/tests/consumer/install/CMakeLists.txt" "$work/pool_user.c" "$work/guard_user.cc" "$work/cm/"
gen=""
command -v ninja >/dev/null 2>&1 && gen="-GNinja"
if cmake -S "$work/cm" -B "$work/cm/b" $gen -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_CXX_COMPILER="$cxx" >"$work/cmake.log" 2>&1 &&
    cmake --build "$work/cm/b" >>"$work/cmake.log" 2>&1; then
    vars="$work/cm/b/offheap-vars.txt"
    cpreload=$(sed -n 's/^OFFHEAP_PRELOAD=//p' "$vars")
    crun=$(sed -n 's/^OFFHEAP_RUN=//p' "$vars")
    grep -qx "OFFHEAP_VERSION=$version" "$vars" || fail "OFFHEAP_VERSION: $(cat "$vars")"
    case "$cpreload" in "$work/moved"*) ;; *) fail "OFFHEAP_PRELOAD is not in the moved tree: $cpreload" ;; esac
    [ -f "$cpreload" ] || fail "OFFHEAP_PRELOAD $cpreload does not exist"
    [ -x "$crun" ] || fail "OFFHEAP_RUN $crun is not an executable"
    expect "cmake pool_user plain" "pool ok" "$work/cm/b/pool_user"
    expect "cmake pool_user plain" "$absent" "$work/cm/b/pool_user"
    expect "cmake pool_user with LD_PRELOAD=OFFHEAP_PRELOAD" "$present" env LD_PRELOAD="$cpreload" "$work/cm/b/pool_user"
    expect "cmake guard_user under OFFHEAP_RUN" "$present" "$crun" "$work/cm/b/guard_user"
else
    fail "cmake find_package(offheap): $(tail -20 "$work/cmake.log")"
fi

# The version file: same major (and minor while 0.x) and not newer.
vfile="$moved/$(rel "$libdir")/cmake/offheap/offheapConfigVersion.cmake"
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
for case in "$version:TRUE" ":TRUE" "$major.$minor:TRUE" "$major.$((minor + 1)):FALSE" "$((major + 1)).0:FALSE"; do
    ask=${case%:*} want=${case##*:}
    # find_package sets these; an empty version is find_package(offheap).
    cat >"$work/ver.cmake" <<EOF
cmake_minimum_required(VERSION 3.13)
set(PACKAGE_FIND_VERSION "$ask")
if(NOT PACKAGE_FIND_VERSION STREQUAL "")
  string(REPLACE "." ";" _parts "$ask.0.0")
  list(GET _parts 0 PACKAGE_FIND_VERSION_MAJOR)
  list(GET _parts 1 PACKAGE_FIND_VERSION_MINOR)
endif()
set(CMAKE_SIZEOF_VOID_P 8)
include("$vfile")
message("compatible=\${PACKAGE_VERSION_COMPATIBLE}")
EOF
    got=$(cmake -P "$work/ver.cmake" 2>&1)
    [ "$got" = "compatible=$want" ] || fail "offheapConfigVersion asked for '$ask': $got, want $want"
done

if [ $fails -ne 0 ]; then
    echo "install: $fails failure(s)"
    exit 1
fi
echo "install: all checks passed"
