#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# main.sh — the main job: set up, build, and run real programs under the
# preload with statistics printed.
#   1. python3 (outside scopes: runs exactly as under jemalloc) — stats show
#      the traffic went to the heap and no scope was used;
#   2. a request loop that parses JSON documents with a real library
#      (jansson) inside offheap_scope_begin/end, with no free walk at all —
#      stats show the blocks served and released by scope ends and the
#      flat resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d build/meson-private ] || meson setup build >/dev/null
ninja -C build >/dev/null
echo "== python3 under liboffheap (no scopes) =="
scripts/offheap-run --lib build/liboffheap.so --stats /usr/bin/python3 -c '
import json, collections
docs = [json.dumps({"id": i, "tags": ["t%d" % (i % 7)] * 5, "v": i * 0.5}) for i in range(20000)]
c = collections.Counter(t for d in docs for t in json.loads(d)["tags"])
print("parsed", len(docs), "documents; most common tag:", c.most_common(1)[0])'
echo
echo "== scoped JSON request loop (jansson) under liboffheap =="
scripts/offheap-run --lib build/liboffheap.so --stats build/examples/json-requests/json-requests 50000
