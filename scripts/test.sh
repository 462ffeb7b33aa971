#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh — build and run every test suite, as CI does:
#   1. build/       release-like build: all suites (unit, concurrent, preload,
#                   check, stress, fuzz, examples, bench smoke)
#   2. build-assert/ the same suites with the internal invariants checked
#                   (-Dassertions=true: OH_ASSERT, core/invariant.h)
#   3. build-asan/  ASan+UBSan: every suite that does not preload
#   4. build-tsan/  TSan: the concurrent suites
#   5. valgrind:    the explicit-API unit suite under memcheck
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

run() { echo "+ $*"; "$@"; }

section() { printf '\n=== %s ===\n' "$1"; }

section "build (debugoptimized)"
[ -d build/meson-private ] || run meson setup build
run ninja -C build -j"$jobs"
section "tests (build)"
run meson test -C build --num-processes "$jobs" --print-errorlogs --no-suite bench-long

if [ "${1:-}" = "--quick" ]; then exit 0; fi

section "assertions on (every suite)"
[ -d build-assert/meson-private ] || run meson setup build-assert -Dassertions=true -Dbench=false
run ninja -C build-assert -j"$jobs"
run meson test -C build-assert --num-processes "$jobs" --print-errorlogs --no-suite bench-long

section "ASan + UBSan (suites that do not preload)"
[ -d build-asan/meson-private ] || run meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false -Dexamples=false
run ninja -C build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run meson test -C build-asan --num-processes "$jobs" --print-errorlogs

section "TSan (concurrent suites)"
[ -d build-tsan/meson-private ] || run meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbench=false -Dexamples=false
run ninja -C build-tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1 run meson test -C build-tsan --suite concurrent --num-processes "$jobs" --print-errorlogs

section "valgrind memcheck (explicit API)"
run meson test -C build --setup valgrind --suite unit --no-suite preload --no-suite no-valgrind --num-processes "$jobs" --print-errorlogs

section "all test steps passed"
