#!/bin/sh
# SPDX-License-Identifier: MIT
# readme_install.sh SRCDIR — README's install commands, run as written.
#
# Takes the first ```sh block after the line of README.md that names this
# script, and runs it in a scratch copy of the source tree (every top-level
# entry a symbolic link, no build directories) with HOME pointing at a
# scratch directory: the block installs to $HOME/.local.  Then: everything
# meson installed went under $HOME/.local, the libraries, headers, .pc files,
# CMake package, man pages and offheap-run are there, and the installed
# offheap-run finds the installed liboffheap.so and runs a program with it.
set -u
src=$(cd "$1" && pwd)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-readme-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD DESTDIR MESON_INSTALL_DESTDIR_PREFIX

block=$(awk '/readme_install\.sh/ { armed = 1; next }
             armed && /^```sh/ { inside = 1; next }
             inside && /^```/ { exit }
             inside { print }' "$src/README.md")
if [ -z "$block" ]; then
    echo "FAIL: no \`\`\`sh block after the line naming readme_install.sh in README.md"
    exit 1
fi
echo "README's install block:"
echo "$block" | sed 's/^/    /'

mkdir "$work/src" "$work/home"
for entry in "$src"/* "$src"/.clang-format; do
    name=$(basename "$entry")
    case "$name" in build | build-* | .git) continue ;; esac
    [ -e "$entry" ] && ln -s "$entry" "$work/src/$name"
done

(cd "$work/src" && HOME="$work/home" sh -eu -c "$block") >"$work/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -30 "$work/log"
    echo "FAIL: README's install block exited $rc"
    exit 1
fi

local_prefix="$work/home/.local"
[ -d "$work/src/build-install" ] || fail "the block did not configure build-install/"
# meson install says "Installing <file> to <dir>" for every file.
grep '^Installing ' "$work/log" | sed 's/.* to //' | sort -u >"$work/dirs"
[ -s "$work/dirs" ] || fail "meson install installed nothing"
while read -r dir; do
    case "$dir" in "$local_prefix"/*) ;; *) fail "installed outside \$HOME/.local: $dir" ;; esac
done <"$work/dirs"

for f in liboffheap.so liboffheap_pool.so.0 offheap.h offheap.hpp offheap_pool.h offheap_pool_inline.h offheap_version.h \
    offheap.pc offheap-preload.pc offheapConfig.cmake offheapConfigVersion.cmake offheap.3 offheap-run.1; do
    [ -n "$(find "$local_prefix" -name "$f")" ] || fail "$f was not installed under \$HOME/.local"
done
run="$local_prefix/bin/offheap-run"
if [ -x "$run" ]; then
    # shellcheck disable=SC2016 # expanded by the inner sh
    out=$("$run" --verbose sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"' 2>"$work/err")
    case "$out" in "LD_PRELOAD=$local_prefix"/*/liboffheap.so) ;; *) fail "installed offheap-run: '$out'" ;; esac
    grep -q "pool_size" "$work/err" || fail "installed offheap-run --verbose: the library said nothing: $(cat "$work/err")"
else
    fail "no executable $run"
fi

if [ $fails -ne 0 ]; then
    echo "readme_install: $fails failure(s)"
    exit 1
fi
echo "readme_install: all checks passed"
