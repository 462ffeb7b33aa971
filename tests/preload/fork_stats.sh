#!/bin/sh
# SPDX-License-Identifier: MIT
# fork_stats.sh LIB PROG — PROG (ph_fork_stats) forks a child that exits
# through exit(): with OFFHEAP_STATS=json each process writes one report,
# with its own pid, the program's name, the version and a time, and its
# own figures (the child 7 scopes, the parent 105), never the parent's
# again.  The same in text.
set -u
lib="$1"; prog="$2"; version="${3:-}"
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-forkstats-XXXXXX")
trap 'rm -rf "$work"' EXIT
for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

OFFHEAP_STATS=json OFFHEAP_STATS_FD=3 LD_PRELOAD="$lib" "$prog" >"$work/out" 2>"$work/err" 3>"$work/json"
rc=$?
[ $rc -eq 0 ] || fail "exit $rc: $(cat "$work/out" "$work/err")"
parent=$(sed -n 's/^parent //p' "$work/out"); child=$(sed -n 's/^child //p' "$work/out")
[ -n "$parent" ] && [ -n "$child" ] || fail "no pids in: $(cat "$work/out")"
[ "$(wc -l <"$work/json")" -eq 2 ] || fail "$(wc -l <"$work/json") reports, want 2: $(cat "$work/json")"
pl=$(grep "\"pid\":$parent," "$work/json"); cl=$(grep "\"pid\":$child," "$work/json")
[ -n "$pl" ] || fail "no report with the parent's pid $parent"
[ -n "$cl" ] || fail "no report with the child's pid $child"
case "$pl" in *'"scopes":105,'*) ;; *) fail "parent's report: $pl" ;; esac
case "$cl" in *'"scopes":7,'*) ;; *) fail "child's report (the parent's figures again?): $cl" ;; esac
case "$cl" in *'"threads":1,'*) ;; *) fail "child's report: threads: $cl" ;; esac
case "$cl" in *'"names":[{"name":"req","scopes":1,'*) ;; *) fail "child's report: names: $cl" ;; esac
case "$pl" in *'"names":[{"name":"req","scopes":2,'*) ;; *) fail "parent's report: names: $pl" ;; esac
for l in "$pl" "$cl"; do
    case "$l" in
    '{"liboffheap":{"version":"'"$version"*'","pid":'*',"program":"ph_fork_stats","time":"20'[0-9][0-9]-[01][0-9]-[0-3][0-9]T*Z'","unix_ms":'*',"reason":"exit",'*) ;;
    *) fail "report header: $l" ;;
    esac
done

# Text: the same, one report per process.
OFFHEAP_STATS=1 LD_PRELOAD="$lib" "$prog" >"$work/out" 2>"$work/err"
parent=$(sed -n 's/^parent //p' "$work/out"); child=$(sed -n 's/^child //p' "$work/out")
grep -q "^liboffheap stats: version $version.* pid $parent program ph_fork_stats time .*Z reason exit\$" "$work/err" ||
    fail "text: no parent header: $(grep '^liboffheap' "$work/err")"
grep -q "^liboffheap stats: version $version.* pid $child program ph_fork_stats time .*Z reason exit\$" "$work/err" ||
    fail "text: no child header: $(grep '^liboffheap' "$work/err")"
[ "$(grep -c '^  scopes  *7$' "$work/err")" -eq 1 ] && [ "$(grep -c '^  scopes  *105$' "$work/err")" -eq 1 ] ||
    fail "text: scopes lines: $(grep '^  scopes ' "$work/err")"

if [ $fails -ne 0 ]; then echo "fork_stats: $fails failure(s)"; exit 1; fi
echo "fork_stats: all checks passed"
