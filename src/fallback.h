/* SPDX-License-Identifier: MIT */
/*
 * fallback.h — everything outside scopes goes to jemalloc, and only through
 * its non-standard entry points: Debian's libjemalloc also exports plain
 * malloc/free, which would resolve back to our own interposed symbols.
 * jemalloc's *allocx calls return NULL without setting errno and take no
 * size 0: these wrappers add malloc(3)'s contract.  Requests under 16
 * bytes are rounded up to 16: jemalloc's 8-byte class is only 8-byte
 * aligned, and glibc promises 16 (MALLOC_ALIGNMENT) for every block.
 */
#ifndef OH_FALLBACK_H
#define OH_FALLBACK_H

#include "fault.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stddef.h>

/* Smallest request that is 16-byte aligned in jemalloc's size classes. */
static inline size_t oh_fb_size(size_t n)
{
    return n < 16 ? 16 : n;
}

static inline void *oh_fb_malloc(size_t n)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), 0);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static inline void *oh_fb_calloc(size_t n)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), MALLOCX_ZERO);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

/* align: a power of two. */
static inline void *oh_fb_aligned(size_t n, size_t align)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), MALLOCX_ALIGN(align));
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static inline void *oh_fb_realloc(void *p, size_t n)
{
    void *q = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : rallocx(p, oh_fb_size(n), 0);
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
