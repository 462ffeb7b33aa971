/* SPDX-License-Identifier: MIT */
/*
 * shim_preload.c — libbench_shim.so: the cheapest interposer that can sit
 * between a program and jemalloc.  A MEASURING STICK FOR THE BENCHMARKS, NOT
 * A PRODUCT.
 *
 * Every exported function of the malloc family does nothing but jump to
 * jemalloc's own exported function of the same name (one load of a pointer
 * and an indirect tail jump; no scopes, no routing, no checks).  Under
 * LD_PRELOAD=libbench_shim.so the stress programs (bench/stress.c) measure
 * the call level alone: shim / jemalloc is the best "outside scopes" ratio
 * any library that interposes malloc and forwards to jemalloc can reach.
 *
 * Binding.  libjemalloc.so.2 is a NEEDED dependency of this library, so it
 * is loaded before our constructor runs, but behind us (and behind libc) in
 * the global lookup order: RTLD_NEXT would find glibc, so the constructor
 * asks jemalloc's own handle (dlopen(RTLD_NOW | RTLD_LOCAL) + dlsym).
 * dlopen and dlsym may call malloc, and malloc may be called before the
 * constructor (other libraries' constructors): until the switch the
 * pointers hold boot versions built on jemalloc's non-standard *allocx API,
 * which this library links directly (nobody interposes those names).  So
 * every block, whether allocated before or after the switch, is a jemalloc
 * block, and the fast paths need no test for "not bound yet" and no
 * bootstrap-buffer range check in free.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* jemalloc's non-standard API (libjemalloc2 exports it unprefixed); declared
 * here so that jemalloc's development header is not needed. */
void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
void dallocx(void *ptr, int flags);
size_t sallocx(const void *ptr, int flags);
#define SHIM_MALLOCX_LG_ALIGN(la) ((int)(la))
#define SHIM_MALLOCX_ZERO ((int)0x40)

static int pow2(size_t a)
{
    return a && !(a & (a - 1));
}

static int lg(size_t a)
{
    return __builtin_ctzl(a);
}

/* ---- boot versions: jemalloc's *allocx, until the constructor binds ----- */

static void *boot_malloc(size_t n)
{
    void *p = mallocx(n ? n : 1, 0);
    if (!p) errno = ENOMEM;
    return p;
}

static void boot_free(void *p)
{
    if (p) dallocx(p, 0);
}

static void *boot_calloc(size_t count, size_t n)
{
    size_t b;
    void *p = NULL;
    if (!__builtin_mul_overflow(count, n, &b)) p = mallocx(b ? b : 1, SHIM_MALLOCX_ZERO);
    if (!p) errno = ENOMEM;
    return p;
}

static void *boot_realloc(void *p, size_t n)
{
    if (!p) return boot_malloc(n);
    if (!n) {
        dallocx(p, 0);
        return NULL;
    }
    void *q = rallocx(p, n, 0);
    if (!q) errno = ENOMEM;
    return q;
}

static void *boot_aligned(size_t align, size_t n)
{
    void *p = mallocx(n ? n : 1, SHIM_MALLOCX_LG_ALIGN(lg(align)));
    if (!p) errno = ENOMEM;
    return p;
}

static int boot_posix_memalign(void **out, size_t align, size_t n)
{
    if (!pow2(align) || align % sizeof(void *)) return EINVAL;
    void *p = boot_aligned(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static void *boot_aligned_alloc(size_t align, size_t n)
{
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return boot_aligned(align, n);
}

static void *boot_memalign(size_t align, size_t n)
{
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return boot_aligned(align, n);
}

static void *boot_valloc(size_t n)
{
    return boot_aligned((size_t)sysconf(_SC_PAGESIZE), n);
}

static size_t boot_usable(void *p)
{
    return p ? sallocx(p, 0) : 0;
}

static struct {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    size_t (*usable)(void *);
} fn = {boot_malloc,        boot_free,     boot_calloc, boot_realloc, boot_posix_memalign,
        boot_aligned_alloc, boot_memalign, boot_valloc, boot_usable};

/* ---- the interposed functions: one indirect tail jump each --------------- */

void *malloc(size_t n)
{
    return fn.malloc(n);
}

void free(void *p)
{
    fn.free(p);
}

void *calloc(size_t count, size_t n)
{
    return fn.calloc(count, n);
}

void *realloc(void *p, size_t n)
{
    return fn.realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    return fn.posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return fn.aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    return fn.memalign(align, n);
}

void *valloc(size_t n)
{
    return fn.valloc(n);
}

size_t malloc_usable_size(void *p)
{
    return fn.usable(p);
}

/* ---- binding ------------------------------------------------------------ */

#define SHIM_FP(x) ((void *)(uintptr_t)(x))

__attribute__((constructor)) static void shim_bind(void)
{
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return; /* cannot happen: it is our dependency; boot versions stay */
    void *m = dlsym(h, "malloc"), *f = dlsym(h, "free"), *c = dlsym(h, "calloc"), *r = dlsym(h, "realloc"),
         *pm = dlsym(h, "posix_memalign"), *aa = dlsym(h, "aligned_alloc"), *ma = dlsym(h, "memalign"),
         *va = dlsym(h, "valloc"), *us = dlsym(h, "malloc_usable_size");
    /* jemalloc stays loaded (our dependency); the handle is kept. */
    if (!m || !f || !c || !r || !pm || !aa || !ma || !va || !us || m == SHIM_FP(malloc)) return;
    fn.malloc = (void *(*)(size_t))(uintptr_t)m;
    fn.free = (void (*)(void *))(uintptr_t)f;
    fn.calloc = (void *(*)(size_t, size_t))(uintptr_t)c;
    fn.realloc = (void *(*)(void *, size_t))(uintptr_t)r;
    fn.posix_memalign = (int (*)(void **, size_t, size_t))(uintptr_t)pm;
    fn.aligned_alloc = (void *(*)(size_t, size_t))(uintptr_t)aa;
    fn.memalign = (void *(*)(size_t, size_t))(uintptr_t)ma;
    fn.valloc = (void *(*)(size_t))(uintptr_t)va;
    fn.usable = (size_t(*)(void *))(uintptr_t)us;
}
