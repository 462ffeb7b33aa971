#!/bin/sh
# SPDX-License-Identifier: MIT
# real_programs.sh LIB NAME — run a real program nobody here wrote with and
# without LD_PRELOAD=LIB and require identical output (stdout, stderr and
# exit status), then once more with OFFHEAP_STATS=1 and require the stats
# on stderr.  NAME: python3 git sqlite3 perl gcc sort.  Exits 77 (skip)
# when the program is not installed.
#
# Outputs that legitimately differ run to run are made deterministic at the
# source (PYTHONHASHSEED, PERL_HASH_SEED, fixed git dates and identity)
# rather than filtered, so the diff is of everything the program printed.
set -u
lib="$1"
name="$2"
case "$lib" in /*) ;; *) lib="$(pwd)/$lib" ;; esac
[ -f "$lib" ] || { echo "FAIL: $lib not found"; exit 1; }
command -v "$name" >/dev/null 2>&1 || { echo "SKIP: $name is not installed"; exit 77; }

for v in $(env | sed -n 's/^\(OFFHEAP_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD
work=$(mktemp -d "${TMPDIR:-/tmp}/offheap-real-XXXXXX")
trap 'rm -rf "$work"' EXIT
export LC_ALL=C TZ=UTC HOME="$work/home"
mkdir -p "$HOME"

# One workload per program.  $1 is a fresh directory to work in; output on
# stdout/stderr.
wl_python3() {
    cat >"$1/w.py" <<'PY'
import hashlib, json, threading, collections
d = {f"key{i}": {"n": i, "sq": i * i, "s": str(i)[::-1], "l": list(range(i % 7))} for i in range(20000)}
text = json.dumps(d, sort_keys=True)
back = json.loads(text)
assert back == d
print("json bytes", len(text), hashlib.sha256(text.encode()).hexdigest())
counts = collections.Counter(v["s"][-1] for v in back.values())
print(sorted(counts.items()))
results = [0] * 8
def work(k):
    acc = {}
    for i in range(k, 100000, 8):
        acc[i % 1009] = acc.get(i % 1009, 0) + i
    results[k] = sum(acc.values()) + len(acc)
threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", results, sum(results))
words = " ".join(str(i * 7919 % 10007) for i in range(50000)).split()
print("set", len(set(words)), "sorted head", sorted(words)[:5])
PY
    PYTHONHASHSEED=0 python3 "$1/w.py"
}

wl_git() {
    (
        cd "$1" || exit 1
        export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=t@example.org \
            GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=t@example.org \
            GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
        git init -q -b main repo && cd repo || exit 1
        i=0
        while [ $i -lt 200 ]; do echo "line $i $(( i * 31 % 97 ))" >>a.txt; i=$((i + 1)); done
        mkdir -p src && seq 1 500 >src/n.txt
        git add . && git commit -q -m "first commit"
        sed -i 's/line 1/LINE ONE/' a.txt && seq 500 -1 1 >src/n.txt && echo new >b.txt
        git add . && git commit -q -m "second commit"
        git checkout -q -b topic && echo topic >>b.txt && git commit -qam "topic"
        git checkout -q main && git merge -q --no-ff -m "merge topic" topic
        git log --stat --format='%H %an %ad %s' --date=iso
        git show --format='%H' HEAD~1 | head -60
        git diff HEAD~2 HEAD --numstat
        git rev-list --count HEAD
        git gc -q 2>&1
        git fsck --full 2>&1
        git cat-file -p HEAD
    )
}

wl_sqlite3() {
    sqlite3 "$1/t.db" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t(k, v) SELECT 'k' || (x * 7919 % 1000), x * x % 10007 FROM c;
CREATE INDEX t_k ON t(k);
CREATE TABLE u AS SELECT k, count(*) AS n, sum(v) AS s FROM t GROUP BY k;
SELECT count(*), sum(v), min(k), max(k) FROM t;
SELECT k, n, s FROM u ORDER BY s DESC LIMIT 5;
SELECT t.k, count(*) FROM t JOIN u ON t.k = u.k WHERE u.n > 49 GROUP BY t.k ORDER BY t.k LIMIT 5;
SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY v DESC LIMIT 20);
UPDATE t SET v = v + 1 WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
VACUUM;
SELECT count(*), sum(v) FROM t;
PRAGMA integrity_check;
SQL
}

wl_perl() {
    PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 perl -e '
        use strict; use warnings;
        my %h;
        for my $i (0 .. 80000) { my $k = "w" . ($i * 7919 % 20011); $h{$k} .= chr(97 + $i % 26); }
        my $n = 0; my %len;
        for my $k (sort keys %h) { $n++ if $h{$k} =~ /^(a|e)[b-z]{2,}?e/; $len{length $h{$k}}++; }
        print "keys ", scalar(keys %h), " matched $n\n";
        print join(",", map { "$_=$len{$_}" } sort { $a <=> $b } keys %len), "\n";
        my $text = join(" ", map { "item$_ value" . ($_ * 13 % 101) } 1 .. 30000);
        (my $t2 = $text) =~ s/item(\d+) value(\d+)/$2:$1/g;
        my @m = ($t2 =~ /\b(\d{2}):(\d+)\b/g);
        print "pairs ", scalar(@m), " first @m[0..5]\n";
        my @sorted = sort { $a->[1] <=> $b->[1] or $a->[0] cmp $b->[0] } map { [$_, length $h{$_}] } keys %h;
        print "min $sorted[0][0] max $sorted[-1][0]\n";
        printf "split %d join %d\n", scalar(split /\s+/, $text), length(join "-", reverse split //, substr($text, 0, 1000));
    '
}

wl_gcc() {
    cat >"$1/p.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    enum { N = 100000 };
    int *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) v[i] = (i * 7919) % 100003;
    qsort(v, N, sizeof *v, cmp);
    long s = 0;
    for (int i = 0; i < N; i += 1000) s += v[i];
    char *t = strdup("compiled under the preload");
    printf("%s: %ld %d %d\n", t, s, v[0], v[N - 1]);
    free(t);
    free(v);
    return 0;
}
C
    gcc -O2 -Wall -Wextra -o "$1/p" "$1/p.c" && "$1/p"
    echo 'int f(int x) { return x * 2 }' >"$1/bad.c"
    gcc -c -o "$1/bad.o" "$1/bad.c" >"$1/bad.log" 2>&1
    st=$?
    sed "s|$1/||g" "$1/bad.log"
    echo "bad.c status: $st"
}

wl_sort() {
    sort "$work/input" | md5sum
    sort -n -k2 "$work/input" | head -5
    sort -u -t, -k3,3 "$work/input" | wc -l
    sort -r --parallel=2 -S 1M "$work/input" | tail -3
}

# Input for sort, generated without the preload.
if [ "$name" = sort ]; then
    awk 'BEGIN { for (i = 0; i < 200000; i++) printf "w%d %d,%d,%d\n", (i * 7919) % 100003, (i * 31) % 1009, i % 7, i % 1013 }' \
        >"$work/input"
fi

type "wl_$name" >/dev/null 2>&1 || { echo "FAIL: unknown program $name"; exit 1; }

run() { # TAG [VAR=VALUE...]
    tag=$1; shift
    mkdir -p "$work/$tag"
    # Everything the workload runs (the program, and the small tools around
    # it) inherits the preload.
    (
        for kv in "$@"; do export "$kv"; done
        "wl_$name" "$work/$tag"
    ) >"$work/$tag.out" 2>"$work/$tag.err"
    echo $? >"$work/$tag.rc"
    # The work directory's name differs between runs.
    sed -i "s|$work/$tag|WORK|g" "$work/$tag.out" "$work/$tag.err"
}

run plain
run preload LD_PRELOAD="$lib"
run stats LD_PRELOAD="$lib" OFFHEAP_STATS=1

status=0
if [ "$(cat "$work/plain.rc")" -ne 0 ]; then
    echo "FAIL: $name exits $(cat "$work/plain.rc") even without the preload:"; cat "$work/plain.err"; status=1
fi
for f in rc out err; do
    if ! diff -u "$work/plain.$f" "$work/preload.$f" >"$work/diff.$f"; then
        echo "FAIL: $name: $f differs with LD_PRELOAD=$lib:"; head -40 "$work/diff.$f"; status=1
    fi
done
# Workloads that send a tool's stderr to stdout also get its stats there.
strip_stats() { grep -v -E '^liboffheap stats: |^  [a-z_]+ +[0-9]+$|^    name ' "$1"; }
if ! strip_stats "$work/stats.out" | diff -u "$work/plain.out" - >"$work/diff.stats"; then
    echo "FAIL: $name: stdout differs with OFFHEAP_STATS=1 (stats lines aside):"; head -40 "$work/diff.stats"; status=1
fi
nstats=$(grep -c '^liboffheap stats:' "$work/stats.err")
if [ "$nstats" -lt 1 ]; then
    echo "FAIL: $name: OFFHEAP_STATS=1 printed no stats on stderr:"; head -20 "$work/stats.err"; status=1
fi
# The program's own allocations went through the preload.
grep -Eq '^  fallback_allocs +[1-9]' "$work/stats.err" ||
    { echo "FAIL: $name: no stats report counts a single allocation (fallback_allocs)"; status=1; }
echo "$name: $(wc -l <"$work/plain.out") lines of output, $nstats stats report(s) with OFFHEAP_STATS=1"
if [ $status -eq 0 ]; then
    echo "real_programs $name: identical with and without the preload"
fi
exit $status
