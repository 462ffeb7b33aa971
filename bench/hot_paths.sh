#!/bin/sh
# SPDX-License-Identifier: MIT
# hot_paths.sh PRELOAD.so [PROGRAM] — instructions per call of malloc, free,
# offheap_scope_begin and offheap_scope_end in and out of scopes, under
# PRELOAD (bench/hot_paths.c; callgrind counts are deterministic).  Give two
# builds' liboffheap.so in turn to compare them.
set -eu
pre=$1
prog=${2:-$(dirname "$0")/../build/bench/hot_paths}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
LD_PRELOAD="$pre" valgrind --tool=callgrind -q --callgrind-out-file="$out" "$prog" >/dev/null
python3 - "$out" <<'PY'
import re, sys, collections
names, calls = {}, collections.defaultdict(lambda: [0, 0])
def name(s):
    m = re.match(r'\((\d+)\)(?: (.*))?', s)
    if not m: return s
    if m.group(2): names[m.group(1)] = m.group(2)
    return names.get(m.group(1), s)
fn = cfn = None; pending = None
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('fn='): fn = name(line[3:])
    elif line.startswith('cfn='): cfn = name(line[4:])
    elif line.startswith('calls='): pending = int(line[6:].split()[0])
    elif pending is not None and line and (line[0].isdigit() or line[0] in '+-*'):
        c = calls[(fn, cfn)]; c[0] += pending; c[1] += int(line.split()[1]); pending = None
print('| path | calls | instructions per call |')
print('|---|---:|---:|')
for caller, callee, label in [('in_scope', 'malloc', 'malloc in a scope'), ('in_scope', 'free', 'free of a scope block'),
                              ('in_scope', 'offheap_scope_begin', 'offheap_scope_begin'),
                              ('in_scope', 'offheap_scope_end', 'offheap_scope_end'),
                              ('outside', 'malloc', 'malloc outside scopes (with jemalloc)'),
                              ('outside', 'free', 'free outside scopes (with jemalloc)')]:
    n, ir = calls.get((caller, callee), (0, 0))
    print(f'| {label} | {n} | {ir / n:.2f} |' if n else f'| {label} | 0 | - |')
PY
