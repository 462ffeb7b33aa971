/* SPDX-License-Identifier: MIT */
/*
 * scope_fast.h — the inline in-scope allocation path, compiled into each
 * exported function of the preload.  Steps: a size compare that also
 * routes (thread.h `route`), a lookup of the caller in the thread's cache
 * of return addresses already judged to allocate in scopes, a bounds
 * check, two stores (cursor, header) and a counter: malloc is 21
 * instructions from entry to return in a scope and 4 outside one (gcc 12
 * -O3).  Everything else (a caller seen for the first time, a new slab,
 * blocks that do not fit, check mode) is oh_scope_alloc_slow().
 *
 * The cache holds only verdicts "scoped".  Code ranges are only ever added
 * (dlopen of an excluded library), at addresses no cached caller could
 * have come from unless an unloaded object's code was mapped there again.
 */
#ifndef OH_SCOPE_FAST_H
#define OH_SCOPE_FAST_H

#include "scope/block.h"
#include "scope/check.h"
#include "scope/rescue.h"
#include "scope/scope.h"
#include "scope/thread.h"

#include <string.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* The cache slot of a return address: bits 3..7 used as a byte offset,
 * which saves the shift a bit index would need. */
static inline uintptr_t *oh_ra_slot(struct oh_thread *t, const void *ra)
{
    return (uintptr_t *)(void *)((char *)t->ok_ra + ((uintptr_t)ra & (31u * sizeof(uintptr_t))));
}

/* What the slow path stores in a slot for a caller it judged: the address
 * itself, or in check mode its complement, which the inline path never
 * matches, so every allocation reaches the slow path that records it (and
 * the inline path needs no test for check mode, no call, no stack frame). */
static inline uintptr_t oh_ra_key(const void *ra)
{
    return (uintptr_t)ra ^ (oh_check_on ? UINTPTR_MAX : 0);
}

/* n < t->route says the thread is routed to its scope and n + 23 cannot
 * overflow.  A block of any size that fits in the bump slab is cut from
 * it; one that does not takes the slow path (a new slab, or a run of its
 * own when it is a quarter slab or more). */
static inline void *oh_scope_alloc_fast(struct oh_thread *t, size_t n, bool zero, void *ra)
{
    if (__builtin_expect(n < t->route && *oh_ra_slot(t, ra) == (uintptr_t)ra, 1)) {
        size_t span = oh_block_span(n);
        char *h = t->cur;
        if (__builtin_expect(span <= (uintptr_t)t->end - (uintptr_t)h, 1)) {
            t->cur = h + span;
            void *p = oh_block_set(h, span);
            OH_STAT_HOT_INC(t, blocks);
            if (zero && (char *)p < t->clean) memset(p, 0, span - OH_BLOCK_HDR);
            return p;
        }
    }
    return oh_scope_alloc_slow(n, zero, ra);
}

/* free() of pool block p by code at ra: the memory is the scope's to
 * release, so in a scope this only counts.  Outside one it may be a free
 * of a dead block, which tells something about the freeing code
 * (rescue.h); the thread may also not have joined the registry yet. */
static inline void oh_scope_free(const void *p, void *ra)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(!t->route, 0)) {
        oh_scope_free_outside(p, ra);
        return;
    }
    OH_STAT_HOT_INC(t, frees_ignored);
    if (__builtin_expect(t->probation, 0)) oh_rescue_record_free(t, p);
}

#pragma GCC visibility pop

#endif
