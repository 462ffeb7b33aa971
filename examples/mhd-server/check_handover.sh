#!/bin/sh
# SPDX-License-Identifier: MIT
# check_handover.sh CLIENT SERVER PRELOAD — the mhd server hands each order
# answer's text (jansson's json_dumps, allocated inside the handler's
# scope) to MHD_create_response_from_buffer(MHD_RESPMEM_MUST_FREE), which
# frees it after sending, after the scope ended.  Default mode protects it
# (the late free starts an audit that moves that call site to the heap);
# check mode, whose job is to name such handovers, must report it with the
# block's allocation backtrace.  The answers sent before the audit may be
# poisoned in check mode, so the client's verdict is not used here.
set -u
client=$1 server=$2 preload=$3
out=$(HTTP_TEST_PRELOAD="$preload" HTTP_TEST_SERVER_ENV=OFFHEAP_CHECK=1 \
      "$client" --threads 2 --timeout 150 "$server" 200 2>&1)
status=0
for pat in 'late free: .* is freed at MHD_destroy_response' 'the block was allocated at:' 'json_dumps\+0x' \
           'api_orders\+0x' 'the scope began at on_request\+0x'; do
    if ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        echo "missing in the output: $pat"
        status=1
    fi
done
if printf '%s\n' "$out" | grep -q 'use after scope'; then
    echo "check mode faulted instead of reporting the handover"
    status=1
fi
[ $status -eq 0 ] || printf '%s\n' "$out" | tail -40
[ $status -eq 0 ] && echo "mhd-server: check mode names the MUST_FREE handover"
exit $status
