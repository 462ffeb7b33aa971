#!/bin/sh
# SPDX-License-Identifier: MIT
# rpath_dlopen.sh LIB PROG — PROG finds its plugins through its own
# DT_RUNPATH; that must keep working under the preload.  LD_LIBRARY_PATH
# (which meson sets for tests) is removed so only the RUNPATH can find them.
set -u
lib="$1"; prog="$2"
unset LD_LIBRARY_PATH LD_PRELOAD
readelf -d "$prog" 2>/dev/null | grep -Eq 'RUNPATH|RPATH' || { echo "SKIP: $prog has no RUNPATH"; exit 77; }
"$prog" || { echo "FAIL: even without the preload"; exit 1; }
LD_PRELOAD="$lib" "$prog"
