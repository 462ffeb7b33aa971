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
#include "config.h"
#include "fallback.h"
#include "log.h"
#include "os.h"
#include "plt.h"
#include "preload.h"
#include "scope.h"
#include "scope_fast.h"
#include "stats.h"
#include "thread.h"
#include "tid.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define RA() __builtin_return_address(0)
#define LIKELY(x) __builtin_expect(!!(x), 1)

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static bool is_pow2(size_t v)
{
    return v && !(v & (v - 1));
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

/* A pool block is freed by its scope's end; here it is only counted. */
static inline void pool_free(void)
{
    struct oh_thread *t = &oh_self;
    /* A thread that never opened a scope joins the registry here, so its
     * counters are part of the totals. */
    if (__builtin_expect(!t->registered, 0)) (void)oh_thread_register(t);
    OH_STAT_HOT_INC(t, frees_ignored);
}

EXPORT void free(void *p)
{
    if (oh_in_pool(p)) {
        pool_free();
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
    if (LIKELY(!t->route)) return oh_fb_calloc(n);
    return oh_scope_alloc_fast(t, n, true, RA());
}

static void *realloc_ra(void *p, size_t n, void *ra)
{
    if (p == NULL) {
        struct oh_thread *t = &oh_self;
        if (LIKELY(!t->route)) return oh_fb_malloc(n);
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
    if (LIKELY(!oh_self.route)) {
        /* jemalloc's 8-byte class is only 8-byte aligned. */
        if (align <= 16) return oh_fb_malloc(align == 16 ? oh_fb_size(n) : n);
        return oh_fb_aligned(n, align);
    }
    return oh_scope_alloc_aligned(n, align, ra);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!is_pow2(align) || align % sizeof(void *)) return EINVAL;
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
    if (!is_pow2(align)) {
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
    if (!is_pow2(align)) {
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
    if (oh_in_pool(p)) return oh_scope_usable(p);
    return p ? oh_fb_usable(p) : 0;
}

/* Give free memory back: jemalloc's dirty pages and the pool's idle slabs.
 * Returns 1 when anything was released, as glibc does. */
EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    int saved = errno;
    size_t before = oh_os_rss();
    (void)mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
    size_t released = oh_pool_base ? oh_slabs_purge(&oh_proc) : 0;
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
    if (LIKELY(!t->route)) return align <= 16 ? oh_fb_malloc(oh_fb_size(n)) : oh_fb_aligned(n, align);
    return align <= 16 ? oh_scope_alloc_fast(t, n, false, ra) : oh_scope_alloc_aligned(n, align, ra);
}

void oh_cxx_free(void *p, size_t size, size_t align)
{
    if (oh_in_pool(p)) {
        pool_free();
        return;
    }
    if (align <= 16) {
        oh_fb_free(p);
        return;
    }
    if (size) sdallocx(p, oh_fb_size(size), MALLOCX_ALIGN(align));
    else dallocx(p, MALLOCX_ALIGN(align));
}

/* ---- process start and fork -------------------------------------------- */

static void prefork(void)
{
    oh_tid_prefork();
    oh_thread_prefork();
    oh_scope_prefork();
}

static void postfork(void)
{
    oh_scope_postfork();
    oh_thread_postfork();
    oh_tid_postfork();
}

/* Our own entry points, not whatever the process binds the names to. */
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

/* Dormant until the first scope (plt.h).  realloc is not bypassed: our
 * realloc sets the errno jemalloc's forgets. */
static void go_dormant(void)
{
    struct oh_plt_fn fns[3];
    fns[0] = (struct oh_plt_fn){"malloc", (void *)(uintptr_t)oh_malloc_self, (void *)(uintptr_t)oh_fb.malloc};
    fns[1] = (struct oh_plt_fn){"calloc", (void *)(uintptr_t)oh_calloc_self, (void *)(uintptr_t)oh_fb.calloc};
    fns[2] = (struct oh_plt_fn){"free", (void *)(uintptr_t)oh_free_self, (void *)(uintptr_t)oh_fb.free};
    size_t n = oh_plt_bypass(fns, 3);
    if (oh_cfg.verbose) oh_log("dormant: %zu PLT slots call jemalloc directly until the first scope", n);
}

__attribute__((constructor)) static void oh_preload_init(void)
{
    oh_config_load();
    bool bound = oh_fb_bind();
    if (oh_cfg.verbose) oh_config_print();
    if (bound && oh_cfg.dormant) go_dormant();
    oh_stats_keep_fd();
    oh_stats_install_signal();
    (void)pthread_atfork(prefork, postfork, postfork);
}

__attribute__((destructor)) static void oh_preload_fini(void)
{
    oh_stats_at_exit();
}

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
