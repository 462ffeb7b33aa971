/* SPDX-License-Identifier: MIT */
/*
 * fallback.h — everything outside scopes goes to jemalloc.
 *
 * Our malloc/free shadow jemalloc's exported ones, so a plain call would
 * come back to us.  Two safe ways in, both jemalloc's own code:
 *   - its non-standard API (mallocx, dallocx, rallocx, sallocx), which can
 *     never resolve to us; in jemalloc 5.3 these take no fast path
 *     (callgrind: ~93 instructions per malloc+free pair against ~30);
 *   - its exported malloc/free/calloc/realloc, looked up once with
 *     dlsym on jemalloc's own handle (fallback.c), never on a hot path.
 * The table starts on the first (safe before our constructor runs) and is
 * switched to the second by oh_fb_bind().  With fault injection armed it
 * stays on the first, which honours oh_fault_hit().
 *
 * malloc(3)'s contract on top: errno ENOMEM on failure.  Sizes pass
 * through unchanged: outside scopes a program gets jemalloc's own size
 * classes, including its 8-byte class (8-byte aligned, all C requires of a
 * block that small; every larger block is 16-byte aligned), exactly as
 * under jemalloc alone and as when the program bypasses us (plt.h).
 * Rounding tiny requests up to 16, as glibc does, cost 3 instructions on
 * every malloc.  The *allocx calls take no size 0: oh_fb_size().
 */
#ifndef OH_FALLBACK_H
#define OH_FALLBACK_H

#include "core/fault.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_fb_table {
    void *(*malloc)(size_t n);
    void *(*calloc)(size_t count, size_t n); /* count 1 */
    void *(*realloc)(void *p, size_t n);     /* p != NULL, n > 0 */
    void (*free)(void *p);                   /* p may be NULL */
};

extern struct oh_fb_table oh_fb;

/* Switch to jemalloc's exported fast paths (preload constructor).  True
 * when the table now holds them. */
bool oh_fb_bind(void);

/* A size the *allocx API accepts (not 0), 16-byte aligned in jemalloc's
 * size classes (the aligned and C++ paths keep glibc's 16 for every block). */
static inline size_t oh_fb_size(size_t n)
{
    return n < 16 ? 16 : n;
}

static inline void *oh_fb_malloc(size_t n)
{
    return oh_fb.malloc(n);
}

static inline void *oh_fb_calloc(size_t n)
{
    return oh_fb.calloc(1, n);
}

/* jemalloc's exported realloc returns NULL for impossible sizes without
 * setting errno. */
static inline void *oh_fb_realloc(void *p, size_t n)
{
    void *q = oh_fb.realloc(p, n);
    if (__builtin_expect(q == NULL, 0)) errno = ENOMEM;
    return q;
}

static inline void oh_fb_free(void *p)
{
    oh_fb.free(p);
}

/* align: a power of two.  Rare: stays on mallocx. */
static inline void *oh_fb_aligned(size_t n, size_t align)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), MALLOCX_ALIGN(align));
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static inline size_t oh_fb_usable(void *p)
{
    return sallocx(p, 0);
}

#pragma GCC visibility pop

#endif
