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
 * pvalloc as glibc 2.36 defines them.  mallinfo2, mallinfo, malloc_stats and
 * malloc_info answer from jemalloc and the process pool (end of this file).
 */
#include "preload.h"

#include "core/log.h"
#include "core/os.h"
#include "core/util.h"
#include "scope/block.h"
#include "scope/fallback.h"
#include "scope/scope.h"
#include "scope/scope_fast.h"
#include "scope/thread.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
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

/* ---- mallinfo2, mallinfo, malloc_stats, malloc_info ---------------------
 *
 * glibc's answer them from its own arenas, which hold nothing under the
 * preload.  Here they answer from jemalloc (everything outside scopes) and
 * the process pool (scopes).  The mapping onto glibc's fields (also in
 * docs/reference.md):
 *
 *   arena     jemalloc stats.mapped: bytes in the extents jemalloc has mapped
 *   ordblks   0 (jemalloc does not count free chunks)
 *   smblks    idle pool slabs kept committed (count)
 *   hblks     pool slabs held by scopes now (count)
 *   hblkhd    pool slabs held by scopes now (bytes)
 *   usmblks   0 (unused in glibc too)
 *   fsmblks   idle pool slabs kept committed (bytes): reused without a
 *             system call by the next scope
 *   uordblks  jemalloc stats.allocated: bytes the program holds outside scopes
 *   fordblks  arena - uordblks: jemalloc's mapped bytes not allocated
 *   keepcost  bytes malloc_trim() can give back: jemalloc's dirty pages and
 *             the pool's idle committed slabs
 *
 * So, as in glibc, arena + hblkhd is the memory the allocator holds for
 * blocks (plus fsmblks for the pool's idle slabs) and uordblks + hblkhd the
 * bytes in use.  jemalloc's figures are refreshed ("epoch") at every call;
 * small blocks in its thread caches count as allocated.  Nothing here calls
 * malloc: mallctl reads jemalloc's statistics with its own internal memory,
 * and text is formatted on the stack by oh_format. */

struct oh_mem_figures {
    size_t je_mapped, je_allocated, je_dirty;       /* jemalloc, bytes */
    size_t slab, in_use, committed, peak, reserved; /* pool, bytes */
    size_t slabs_in_use, slabs_idle;                /* pool, count */
};

static size_t je_size(const char *name)
{
    size_t v = 0, len = sizeof v;
    return mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static void mem_figures(struct oh_mem_figures *f)
{
    int saved = errno;
    memset(f, 0, sizeof *f);
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    (void)mallctl("epoch", &epoch, &elen, &epoch, elen);
    f->je_mapped = je_size("stats.mapped");
    f->je_allocated = je_size("stats.allocated");
    size_t page = je_size("arenas.page");
    f->je_dirty = je_size("stats.arenas." OH_STR(MALLCTL_ARENAS_ALL) ".pdirty") * (page ? page : 4096);
    struct oh_proc_usage u;
    oh_proc_usage(&u);
    if (oh_proc_ready()) {
        f->slab = (size_t)u.slab_size;
        f->slabs_in_use = (size_t)u.slabs_in_use;
        f->slabs_idle = u.slabs_committed > u.slabs_in_use ? (size_t)(u.slabs_committed - u.slabs_in_use) : 0;
        f->in_use = f->slabs_in_use * f->slab;
        f->committed = (size_t)u.slabs_committed * f->slab;
        f->peak = (size_t)u.peak_bytes;
        f->reserved = (size_t)u.reserved;
    }
    errno = saved;
}

EXPORT struct mallinfo2 mallinfo2(void)
{
    struct oh_mem_figures f;
    mem_figures(&f);
    struct mallinfo2 m;
    memset(&m, 0, sizeof m);
    m.arena = f.je_mapped;
    m.ordblks = 0;
    m.smblks = f.slabs_idle;
    m.hblks = f.slabs_in_use;
    m.hblkhd = f.in_use;
    m.usmblks = 0;
    m.fsmblks = f.slabs_idle * f.slab;
    m.uordblks = f.je_allocated;
    m.fordblks = f.je_mapped > f.je_allocated ? f.je_mapped - f.je_allocated : 0;
    m.keepcost = f.je_dirty + f.slabs_idle * f.slab;
    return m;
}

/* glibc's deprecated mallinfo: the same figures in int fields, each clamped
 * to INT_MAX (glibc truncates them modulo 2^32). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static int clamp_int(size_t v)
{
    return v > (size_t)INT_MAX ? INT_MAX : (int)v;
}

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo m;
    m.arena = clamp_int(m2.arena);
    m.ordblks = clamp_int(m2.ordblks);
    m.smblks = clamp_int(m2.smblks);
    m.hblks = clamp_int(m2.hblks);
    m.hblkhd = clamp_int(m2.hblkhd);
    m.usmblks = clamp_int(m2.usmblks);
    m.fsmblks = clamp_int(m2.fsmblks);
    m.uordblks = clamp_int(m2.uordblks);
    m.fordblks = clamp_int(m2.fordblks);
    m.keepcost = clamp_int(m2.keepcost);
    return m;
}
#pragma GCC diagnostic pop

/* glibc prints through stderr's FILE, which is unbuffered; here the text is
 * formatted on the stack and written to stderr's descriptor with write(2)
 * (after flushing the stream, so the order of output is kept). */
EXPORT void malloc_stats(void)
{
    struct oh_mem_figures f;
    mem_figures(&f);
    int saved = errno;
    char buf[1024];
    size_t n = 0;
    n += oh_format(buf + n, sizeof buf - n, "Arena 0 (jemalloc, all arenas):\n");
    n += oh_format(buf + n, sizeof buf - n, "system bytes     = %10zu\n", f.je_mapped);
    n += oh_format(buf + n, sizeof buf - n, "in use bytes     = %10zu\n", f.je_allocated);
    n += oh_format(buf + n, sizeof buf - n, "Scope pool (liboffheap):\n");
    n += oh_format(buf + n, sizeof buf - n, "system bytes     = %10zu\n", f.committed);
    n += oh_format(buf + n, sizeof buf - n, "in use bytes     = %10zu\n", f.in_use);
    n += oh_format(buf + n, sizeof buf - n, "Total (incl. mmap):\n");
    n += oh_format(buf + n, sizeof buf - n, "system bytes     = %10zu\n", f.je_mapped + f.committed);
    n += oh_format(buf + n, sizeof buf - n, "in use bytes     = %10zu\n", f.je_allocated + f.in_use);
    n += oh_format(buf + n, sizeof buf - n, "max mmap regions = %10zu\n", f.slab ? f.peak / f.slab : 0);
    n += oh_format(buf + n, sizeof buf - n, "max mmap bytes   = %10zu\n", f.peak);
    (void)fflush(stderr);
    int fd = fileno(stderr);
    (void)oh_write_all(fd >= 0 ? fd : 2, buf, n);
    errno = saved;
}

/* The XML of glibc's malloc_info (version 1): heap 0 is jemalloc (all its
 * arenas), heap 1 the scope pool, then the totals.  Written to the caller's
 * stream with fwrite: that is the caller's stream, which may allocate its
 * own buffer on first use exactly as with glibc's malloc_info (stdio's
 * allocation, from libc, goes to the heap); liboffheap itself formats on
 * the stack and holds no lock meanwhile. */
EXPORT int malloc_info(int options, FILE *fp)
{
    if (options != 0) return EINVAL;
    if (fp == NULL) return EINVAL;
    struct oh_mem_figures f;
    mem_figures(&f);
    size_t je_free = f.je_mapped > f.je_allocated ? f.je_mapped - f.je_allocated : 0;
    size_t idle = f.slabs_idle * f.slab;
    char buf[2048];
    size_t n = 0;
#define X(...) n += oh_format(buf + n, sizeof buf - n, __VA_ARGS__)
    X("<malloc version=\"1\">\n");
    X("<heap nr=\"0\" name=\"jemalloc\">\n<sizes>\n</sizes>\n");
    X("<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
    X("<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n", je_free);
    X("<system type=\"current\" size=\"%zu\"/>\n", f.je_mapped);
    X("<system type=\"max\" size=\"%zu\"/>\n", f.je_mapped);
    X("<aspace type=\"total\" size=\"%zu\"/>\n", f.je_mapped);
    X("<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.je_mapped);
    X("</heap>\n");
    X("<heap nr=\"1\" name=\"offheap-scope-pool\">\n<sizes>\n</sizes>\n");
    X("<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", f.slabs_idle, idle);
    X("<total type=\"rest\" count=\"0\" size=\"0\"/>\n");
    X("<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", f.slabs_in_use, f.in_use);
    X("<system type=\"current\" size=\"%zu\"/>\n", f.committed);
    X("<system type=\"max\" size=\"%zu\"/>\n", f.peak > f.committed ? f.peak : f.committed);
    X("<aspace type=\"total\" size=\"%zu\"/>\n", f.reserved);
    X("<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.committed);
    X("</heap>\n");
    X("<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n", f.slabs_idle, idle);
    X("<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n", je_free);
    X("<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", f.slabs_in_use, f.in_use);
    X("<system type=\"current\" size=\"%zu\"/>\n", f.je_mapped + f.committed);
    X("<system type=\"max\" size=\"%zu\"/>\n", f.je_mapped + (f.peak > f.committed ? f.peak : f.committed));
    X("<aspace type=\"total\" size=\"%zu\"/>\n", f.je_mapped + f.reserved);
    X("<aspace type=\"mprotect\" size=\"%zu\"/>\n", f.je_mapped + f.committed);
    X("</malloc>\n");
#undef X
    int saved = errno;
    if (fwrite(buf, 1, n, fp) != n) {
        int err = errno ? errno : EIO;
        errno = saved;
        return err;
    }
    errno = saved;
    return 0;
}
