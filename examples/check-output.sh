#!/bin/sh
# SPDX-License-Identifier: MIT
# check-output.sh PROGRAM [ARGS...] -- PATTERN...
# Run PROGRAM, require its exit status to be $EXPECT_STATUS (default 0) and
# every extended regex PATTERN to match some line of its standard output.
# Used by the examples' tests.
set -u
prog=$1; shift
args=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do args="$args $1"; shift; done
[ $# -gt 0 ] && shift
expect=${EXPECT_STATUS:-0}
out=$("$prog" $args)
rc=$?
if [ "$rc" -ne "$expect" ]; then
  echo "$prog exited with status $rc, expected $expect"
  echo "$out"
  exit 1
fi
echo "$out"
status=0
for pat in "$@"; do
  if ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
    echo "missing in output: $pat"
    status=1
  fi
done
exit $status
