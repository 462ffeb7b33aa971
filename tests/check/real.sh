#!/bin/sh
# SPDX-License-Identifier: MIT
# real.sh LIB PROGRAM — real programs under check mode must print exactly
# what they print without liboffheap.
#   sort       sort(1) of 20000 lines (no scopes: check mode must not get in
#              the way of a plain program)
#   python     python3 running a JSON workload, each request in a scope
#              opened through ctypes (real scopes, real check mode)
#   <path>     a scope-using program, run with its arguments as given
set -eu
lib="$1"; shift
what="$1"; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$what" in
sort)
    seq 1 20000 | awk '{ print ($1 * 7919) % 20011, "line", $1 }' >"$tmp/in"
    set -- sort -n "$tmp/in"
    ;;
python)
    py=$(command -v python3) || { echo "python3 missing: skipped"; exit 77; }
    # pyenv shims run several programs: resolve the real interpreter.
    py=$("$py" -c 'import sys; print(sys.executable)')
    cat >"$tmp/work.py" <<'PY'
import ctypes, json
lib = ctypes.CDLL(None)
begin = getattr(lib, "offheap_scope_begin", None)
end = getattr(lib, "offheap_scope_end", None)
def work(i):
    text = json.dumps({"id": i, "items": [str(k) * (k % 40) for k in range(300)],
                       "name": "request %d" % i})
    data = json.loads(text)
    words = sorted(set(text.split('"')))
    return "%08x:%d:%d" % (sum(text.encode()) * 2654435761 % 2**32, len(data["items"]), len(words))
out = []
for i in range(300):
    if begin: begin()
    r = work(i)
    if end: end()
    out.append(r)
print(len(out), out[0], out[-1], sum(len(r) for r in out))
PY
    set -- "$py" "$tmp/work.py"
    ;;
*)
    set -- "$what" "$@"
    ;;
esac
"$@" >"$tmp/plain"
LD_PRELOAD="$lib" OFFHEAP_CHECK=1 OFFHEAP_STATS=1 OFFHEAP_STATS_FD=3 "$@" >"$tmp/check" 2>"$tmp/err" 3>"$tmp/stats" || {
    echo "FAIL: $* under check mode exited with status $?"; cat "$tmp/err"; exit 1; }
if ! cmp -s "$tmp/plain" "$tmp/check"; then
    echo "FAIL: $* prints differently under check mode"
    diff "$tmp/plain" "$tmp/check" | head -20
    exit 1
fi
if grep -q "liboffheap" "$tmp/err"; then
    echo "FAIL: $* under check mode printed liboffheap diagnostics:"; cat "$tmp/err"; exit 1
fi
echo "--- $*: same output ($(wc -l <"$tmp/plain") lines) under check mode"
grep -E "^ *(scopes|scope_blocks) " "$tmp/stats" || true
echo "1 passed, 0 failed"
