#!/bin/sh
# SPDX-License-Identifier: MIT
# header_warnings.sh COMPILER LANG STD INCLUDEDIR SOURCE FLAGS... — compile
# SOURCE (header_use.c) as LANG (c or c++) in standard STD with FLAGS and
# -Werror -O2 against INCLUDEDIR: offheap.h and offheap.hpp must give no
# warning.  77 (skip) when the compiler is not installed (scripts/setup.sh
# installs clang).
set -u
compiler=$1 lang=$2 std=$3 inc=$4 source=$5
shift 5
if ! command -v "$compiler" >/dev/null 2>&1; then
    echo "$compiler not installed"
    exit 77
fi
out=$("$compiler" -x "$lang" -std="$std" -O2 -Werror "$@" -I"$inc" -c "$source" -o /dev/null 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "$out"
    echo "FAIL: $compiler -x $lang -std=$std $* (exit $rc)"
    exit 1
fi
echo "header_warnings: $compiler -std=$std $*: clean"
