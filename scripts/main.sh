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
# It installs only what this needs (below; scripts/setup.sh installs what
# the tests and benchmarks need too) and builds in build-main/ without the
# tests and benchmarks, so build/ stays the test build of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(
  build-essential meson ninja-build pkg-config   # the build
  libjemalloc-dev libunwind-dev                  # the preload (libunwind: check-mode backtraces)
  libjansson-dev python3                         # the two programs run below
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "main: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -d build-main/meson-private ] || meson setup build-main -Dtests=disabled -Dbench=false >/dev/null
ninja -C build-main >/dev/null
echo "== python3 under liboffheap (no scopes) =="
scripts/offheap-run --lib build-main/liboffheap.so --stats /usr/bin/python3 -c '
import json, collections
docs = [json.dumps({"id": i, "tags": ["t%d" % (i % 7)] * 5, "v": i * 0.5}) for i in range(20000)]
c = collections.Counter(t for d in docs for t in json.loads(d)["tags"])
print("parsed", len(docs), "documents; most common tag:", c.most_common(1)[0])'
echo
echo "== scoped JSON request loop (jansson) under liboffheap =="
scripts/offheap-run --lib build-main/liboffheap.so --stats build-main/examples/json-requests/json-requests 50000
