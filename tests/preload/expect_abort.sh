#!/bin/sh
# SPDX-License-Identifier: MIT
# expect_abort.sh PATTERN PROGRAM [ARGS...] — PROGRAM must die of SIGABRT and
# its stderr must contain PATTERN (grep -E).
set -u
pattern="$1"; shift
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$@" 2>"$err" >/dev/null
rc=$?
status=0
if [ "$rc" -ne 134 ]; then
    echo "FAIL: $* exited with status $rc, want 134 (SIGABRT)" >&2
    status=1
fi
if ! grep -Eq "$pattern" "$err"; then
    echo "FAIL: stderr of $* lacks /$pattern/" >&2
    status=1
fi
echo "--- stderr of $*:"; cat "$err"
[ "$status" -eq 0 ] && echo "expect_abort: ok"
exit "$status"
