/* SPDX-License-Identifier: MIT */
/*
 * malloc_glibc.c — the malloc family glibc's manual ("Replacing malloc")
 * asks a replacement to provide, exported from liboffheap.so.
 *
 * Each entry point reads one thread-local word (oh_self.route).  Zero — the
 * case for every thread outside a scope — sends the call straight to
 * jemalloc's *allocx API; nonzero sends it to the scope engine together with
 * the caller's return address.  free/realloc/malloc_usable_size recognise
 * pool pointers by a range check, so they accept any pointer from any entry
 * point, on any thread, in or out of a scope.
 *
 * glibc contracts kept: ENOMEM on failure; calloc/reallocarray overflow
 * checks; malloc(0) returns a unique pointer; realloc(p, 0) frees p and
 * returns NULL (glibc's behaviour); free never changes errno; posix_memalign
 * returns EINVAL without touching errno; aligned_alloc/memalign/valloc/
 * pvalloc as glibc 2.36 defines them.
 */
#include "preload.h"

#include "core/os.h"
#include "core/util.h"
#include "scope/block.h"
#include "scope/fallback.h"
#include "scope/scope.h"
#include "scope/scope_fast.h"
#include "scope/thread.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define RA() __builtin_return_address(0)

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* One compare routes the call (route, thread.h): outside a scope it
 * fails and the call goes on to jemalloc.  In a scope, so does a request
 * of PTRDIFF_MAX bytes or more, which jemalloc fails with ENOMEM as the
 * pool would. */
EXPORT void *malloc(size_t n)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(n < t->route, 1)) return oh_scope_alloc_fast(t, n, false, RA());
    return oh_fb_malloc(n);
}

EXPORT void free(void *p)
{
    if (oh_in_pool(p)) {
        oh_scope_free(p, RA());
        return;
    }
    oh_fb_free(p); /* jemalloc's free takes NULL */
}

EXPORT void *calloc(size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    struct oh_thread *t = &oh_self;
    if (OH_LIKELY(!t->route)) return oh_fb_calloc(n);
    return oh_scope_alloc_fast(t, n, true, RA());
}

static void *realloc_ra(void *p, size_t n, void *ra)
{
    if (p == NULL) {
        struct oh_thread *t = &oh_self;
        if (OH_LIKELY(!t->route)) return oh_fb_malloc(n);
        return oh_scope_alloc_fast(t, n, false, ra);
    }
    if (n == 0) {
        free(p);
        return NULL;
    }
    return oh_realloc_any(p, n, ra);
}

EXPORT void *realloc(void *p, size_t n)
{
    return realloc_ra(p, n, RA());
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_ra(p, n, RA());
}

/* align: a power of two. */
static void *aligned_ra(size_t n, size_t align, void *ra)
{
    if (OH_LIKELY(!oh_self.route)) {
        /* jemalloc's 8-byte class is only 8-byte aligned. */
        if (align <= 16) return oh_fb_malloc(align == 16 ? oh_fb_size(n) : n);
        return oh_fb_aligned(n, align);
    }
    return oh_scope_alloc_aligned(n, align, ra);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!oh_is_pow2(align) || align % sizeof(void *)) return EINVAL;
    int saved = errno;
    void *p = aligned_ra(n, align, RA());
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!oh_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_ra(n, align, RA());
}

/* glibc's memalign rounds a non-power-of-two alignment up to one. */
EXPORT void *memalign(size_t align, size_t n)
{
    if (align > ((size_t)1 << 62)) {
        errno = EINVAL;
        return NULL;
    }
    if (!oh_is_pow2(align)) {
        size_t a = 1;
        while (a < align) a <<= 1;
        align = a;
    }
    return aligned_ra(n, align, RA());
}

EXPORT void *valloc(size_t n)
{
    return aligned_ra(n, (size_t)sysconf(_SC_PAGESIZE), RA());
}

EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (n + page - 1) & ~(page - 1);
    if (rounded < n) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned_ra(rounded ? rounded : page, page, RA());
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (oh_in_pool(p)) return oh_block_usable(p);
    return p ? oh_fb_usable(p) : 0;
}

/* Give free memory back: jemalloc's dirty pages and the pool's idle slabs.
 * Returns 1 when anything was released, as glibc does. */
EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    int saved = errno;
    size_t before = oh_os_rss();
    (void)mallctl("arena." OH_STR(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0);
    size_t released = oh_proc_purge();
    size_t after = oh_os_rss();
    errno = saved;
    return released > 0 || after < before;
}

/* ---- C++ operator new support (new_delete.cc) -------------------------- */

/* The allocation step of operator new: NULL on failure (the caller runs the
 * new_handler loop).  ra is operator new's caller. */
void *oh_cxx_alloc(size_t n, size_t align, void *ra)
{
    struct oh_thread *t = &oh_self;
    /* __STDCPP_DEFAULT_NEW_ALIGNMENT__ is 16: so is every block. */
    if (OH_LIKELY(!t->route)) return align <= 16 ? oh_fb_malloc(oh_fb_size(n)) : oh_fb_aligned(n, align);
    return align <= 16 ? oh_scope_alloc_fast(t, n, false, ra) : oh_scope_alloc_aligned(n, align, ra);
}

void oh_cxx_free(void *p, size_t size, size_t align, void *ra)
{
    if (oh_in_pool(p)) {
        oh_scope_free(p, ra);
        return;
    }
    if (align <= 16) {
        oh_fb_free(p);
        return;
    }
    if (size) sdallocx(p, oh_fb_size(size), MALLOCX_ALIGN(align));
    else dallocx(p, MALLOCX_ALIGN(align));
}

/* Our own entry points, not whatever the process binds the names to
 * (init.c gives them to the PLT code). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
extern __typeof__(malloc) oh_malloc_self __attribute__((alias("malloc"), visibility("hidden")));
extern __typeof__(calloc) oh_calloc_self __attribute__((alias("calloc"), visibility("hidden")));
extern __typeof__(free) oh_free_self __attribute__((alias("free"), visibility("hidden")));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* ---- glibc's internal names ---------------------------------------------- */
/* Some programs and libraries call these directly (old code, language
 * runtimes that wrap glibc's allocator); they must not reach glibc's heap. */
#define ALIAS(name, target) EXPORT __typeof__(target) name __attribute__((alias(#target)))
/* The aliases need not repeat glibc's declaration attributes (leaf, malloc). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
ALIAS(__libc_malloc, malloc);
ALIAS(__libc_free, free);
ALIAS(__libc_calloc, calloc);
ALIAS(__libc_realloc, realloc);
ALIAS(__libc_memalign, memalign);
ALIAS(__libc_valloc, valloc);
ALIAS(__libc_pvalloc, pvalloc);
