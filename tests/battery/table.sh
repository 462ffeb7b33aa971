#!/bin/sh
# SPDX-License-Identifier: MIT
# table.sh BUILD_DIR — the README's "Scope safety" table: each battery
# program once under the preload (default mode, 300 requests), with
# OFFHEAP_LEARN=1 and OFFHEAP_STATS=json, as one markdown row: what the
# rescue decided and what it cost.  Measures; asserts nothing (the battery
# tests do).
set -u
b=$1
lib="$b/liboffheap.so"
echo "| library | blocks scoped | routed by caller | rescues | rescue ms | kept MiB | routed to the heap |"
echo "|---|---:|---:|---:|---:|---:|---|"
for p in "$b"/tests/battery/battery_*; do
    [ -x "$p" ] && [ -f "$p" ] || continue
    n=$(basename "$p" | sed 's/^battery_//; s/_mt$/-mt/; s/_/-/g')
    err=$(env -u OFFHEAP_CHECK OFFHEAP_LEARN=1 OFFHEAP_STATS=json LD_PRELOAD="$lib" "$p" 2>&1 >/dev/null)
    json=$(printf '%s\n' "$err" | grep '"liboffheap"' | tail -1)
    f() { printf '%s\n' "$json" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
    libs=$(printf '%s\n' "$err" | sed -n 's/.*OFFHEAP_EXCLUDE=//p' | sed 's/(nothing.*)//')
    sites=$(f sites_routed)
    routed=${libs:-}
    [ "${sites:-0}" -gt 0 ] && routed="${routed:+$routed, }$sites call site(s)"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(f scope_blocks)" "$(f routed_by_caller)" "$(f rescues)" \
        "$(awk "BEGIN{printf \"%.1f\", $(f rescue_ns)/1e6}")" "$(awk "BEGIN{printf \"%.1f\", $(f pinned_bytes)/1048576}")" \
        "${routed:-nothing (scoped)}"
done
