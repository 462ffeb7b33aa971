/* SPDX-License-Identifier: MIT */
/*
 * scope_fast.h — the inline in-scope allocation path, compiled into each
 * exported function of the preload.  Steps: a size compare, two code-range
 * compares on the caller, a bounds check, two stores (cursor, header) and a
 * counter; everything else (new slab, large blocks, excluded libraries,
 * check mode) is oh_scope_alloc_slow().
 */
#ifndef OH_SCOPE_FAST_H
#define OH_SCOPE_FAST_H

#include "scope.h"
#include "thread.h"

#include <string.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

static inline void *oh_scope_alloc_fast(struct oh_thread *t, size_t n, bool zero, void *ra)
{
    if (__builtin_expect(n < oh_small_max && !oh_caller_runtime(ra) && !oh_rt_extra, 1)) {
        size_t total = (n + 8 + 15) & ~(size_t)15;
        char *h = t->cur;
        if (__builtin_expect(total <= (uintptr_t)t->end - (uintptr_t)h, 1)) {
            t->cur = h + total;
            *(uint64_t *)(void *)h = total - 8;
            OH_STAT_ADD(t, blocks, 1);
            if (zero && h + 8 < t->clean) memset(h + 8, 0, total - 8);
            return h + 8;
        }
    }
    return oh_scope_alloc_slow(t, n, zero, ra);
}

#pragma GCC visibility pop

#endif
