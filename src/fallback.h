/* SPDX-License-Identifier: MIT */
/*
 * fallback.h — everything outside scopes goes to jemalloc, and only through
 * its non-standard entry points: Debian's libjemalloc also exports plain
 * malloc/free, which would resolve back to our own interposed symbols.
 * jemalloc's *allocx calls return NULL without setting errno and take no
 * size 0: these wrappers add malloc(3)'s contract.
 */
#ifndef OH_FALLBACK_H
#define OH_FALLBACK_H

#include "fault.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stddef.h>

static inline void *oh_fb_malloc(size_t n)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(n ? n : 1, 0);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static inline void *oh_fb_calloc(size_t n)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(n ? n : 1, MALLOCX_ZERO);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

/* align: a power of two. */
static inline void *oh_fb_aligned(size_t n, size_t align)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(n ? n : 1, MALLOCX_ALIGN(align));
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static inline void *oh_fb_realloc(void *p, size_t n)
{
    void *q = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : rallocx(p, n ? n : 1, 0);
    if (__builtin_expect(q == NULL, 0)) errno = ENOMEM;
    return q;
}

static inline void oh_fb_free(void *p)
{
    dallocx(p, 0);
}

static inline size_t oh_fb_usable(void *p)
{
    return sallocx(p, 0);
}

#endif
