#!/bin/sh
# SPDX-License-Identifier: MIT
# A program compiled with an offheap_pool.h of another inline ABI version
# must not link against this library (offheap_pool_inline.h, "Versioning").
# The headers are copied with OFFHEAP_POOL_ABI_ changed to the next version;
# the same program must link with the real headers and fail with them, on
# the versioned slow-path name.
# Usage: pool_abi_mismatch.sh CC SRCDIR LIBDIR [SANITIZE]
# SANITIZE: meson's b_sanitize ("none" or e.g. "address,undefined"); the
# program is linked with the same sanitizers as the library.
set -eu
cc=$1 src=$2 lib=$3 san=${4:-none}
cflags=-O2
[ "$san" = none ] || cflags="$cflags -fsanitize=$san"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/prog.c" <<'C'
#include <offheap_pool.h>
int main(void)
{
    offheap_pool *p;
    if (offheap_pool_create(&p, NULL)) return 1;
    void *b = offheap_pool_alloc(p, 64);
    offheap_pool_destroy(p);
    return b == NULL;
}
C
ver=$(sed -n 's/^#define OFFHEAP_POOL_ABI_ \([0-9][0-9]*\)$/\1/p' "$src/include/offheap_pool_inline.h")
[ -n "$ver" ] || { echo "FAIL: no OFFHEAP_POOL_ABI_ in offheap_pool_inline.h"; exit 1; }
next=$((ver + 1))

if ! "$cc" $cflags -I"$src/include" "$tmp/prog.c" -o "$tmp/ok" -L"$lib" -loffheap_pool 2>"$tmp/ok.err"; then
    echo "FAIL: the program does not link with the real headers:"; cat "$tmp/ok.err"; exit 1
fi
LD_LIBRARY_PATH=$lib "$tmp/ok" || { echo "FAIL: the program linked with the real headers fails"; exit 1; }
echo "ok: links and runs with ABI version $ver"

mkdir "$tmp/inc"
cp "$src/include/offheap_pool.h" "$src/include/offheap_version.h" "$tmp/inc/"
sed "s/^#define OFFHEAP_POOL_ABI_ $ver\$/#define OFFHEAP_POOL_ABI_ $next/" \
    "$src/include/offheap_pool_inline.h" > "$tmp/inc/offheap_pool_inline.h"
if "$cc" $cflags -I"$tmp/inc" "$tmp/prog.c" -o "$tmp/bad" -L"$lib" -loffheap_pool 2>"$tmp/bad.err"; then
    echo "FAIL: a program built with ABI version $next headers links against a version $ver library"
    exit 1
fi
if ! grep -q "offheap_pool_alloc_slow_v${next}_" "$tmp/bad.err"; then
    echo "FAIL: the link failed, but not on offheap_pool_alloc_slow_v${next}_:"; cat "$tmp/bad.err"; exit 1
fi
echo "ok: ABI version $next headers fail to link: undefined offheap_pool_alloc_slow_v${next}_"
