#!/bin/sh
# SPDX-License-Identifier: MIT
# learn.sh OFFHEAP_RUN PROGRAM LIBRARY [SITES [RESCUES]] — what the rescue learns from a real
# library, as a user sees it: `offheap-run --learn --stats-json` on PROGRAM
# (a battery program whose LIBRARY keeps lazily built state) must print the
# OFFHEAP_EXCLUDE line naming LIBRARY, and the statistics must show the
# rescue at work (a scan, a library routed, memory kept alive) and then
# quiet (no scan in steady state); the output
# must be the same as without the preload; and `offheap-run --no-rescue`
# must turn the rescue off (no scan in its statistics).  SITES (grep -E):
# the call sites routed alone, which OFFHEAP_EXCLUDE cannot name, must be
# listed on the line after it and match; without SITES there is no such
# line.  RESCUES: the most judged scopes in the 40 (default 2: the first
# use, and one more at most).
set -u
run=$1 prog=$2 lib=$3 sites=${4:-} most=${5:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
status=0
fail() { echo "FAIL: $*"; status=1; }

"$prog" 40 > "$tmp/ref.out" 2>/dev/null || fail "$prog without the preload exited $?"
"$run" --learn --stats-json "$prog" 40 > "$tmp/out" 2> "$tmp/err" || fail "$prog under offheap-run exited $?"
cmp -s "$tmp/ref.out" "$tmp/out" || fail "the output differs from the run without the preload"
grep -Eq "liboffheap: learned: OFFHEAP_EXCLUDE=([^ ]*:)?$lib" "$tmp/err" || fail "no OFFHEAP_EXCLUDE line naming $lib"
if [ -n "$sites" ]; then
    grep -Eq "liboffheap: learned: [0-9]+ call site\(s\) routed alone, which OFFHEAP_EXCLUDE cannot name.*$sites" \
        "$tmp/err" || fail "no line listing the call sites routed alone (matching '$sites')"
elif grep -q "routed alone, which OFFHEAP_EXCLUDE cannot name" "$tmp/err"; then
    fail "call sites listed as routed alone, none expected"
fi
json=$(grep '"liboffheap"' "$tmp/err" | tail -1)
field() { printf '%s\n' "$json" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
[ "$(field rescues)" -ge 1 ] 2>/dev/null || fail "rescues is '$(field rescues)', want >= 1"
[ "$(field libraries_routed)" -ge 1 ] 2>/dev/null || fail "libraries_routed is '$(field libraries_routed)', want >= 1"
[ "$(field pinned_runs)" -ge 1 ] 2>/dev/null || fail "pinned_runs is '$(field pinned_runs)', want >= 1"
# Steady state runs no rescue: once judged, every site is known.
[ "$(field rescues)" -le "$most" ] 2>/dev/null || fail "rescues is '$(field rescues)' in 40 scopes, want <= $most (steady state)"

"$run" --no-rescue --stats-json "$prog" 1 > /dev/null 2> "$tmp/err0"
json=$(grep '"liboffheap"' "$tmp/err0" | tail -1)
[ "$(field rescues)" = 0 ] || fail "with --no-rescue, rescues is '$(field rescues)', want 0"

[ $status -ne 0 ] && { echo "--- stderr"; cat "$tmp/err"; }
[ $status -eq 0 ] && echo "learn: $lib is learned and routed, the output is unchanged"
exit $status
