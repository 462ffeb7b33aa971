/* SPDX-License-Identifier: MIT */
/*
 * floor_preload.c — libbench_floor.so: the cheapest in-scope malloc any
 * LD_PRELOAD interposer can have.  A MEASURING STICK FOR THE BENCHMARKS, NOT
 * A PRODUCT: no caller checks, no statistics, no misuse detection, no
 * safety beyond what the benchmark programs and libc need to run under it.
 * Never use it for anything else.
 *
 * What it is: the request loop and the JSON programs (bench/macro_*.c) run
 * their normal `malloc` variant under it.  They find the scope markers with
 * dlsym (offheap.h, OFFHEAP_LOADED), so they open and close scopes exactly
 * as under liboffheap.so; inside a scope every malloc is an out-of-line call
 * through the PLT into this library that does the least a preload can do:
 *   - a thread-local (initial-exec TLS) bump cursor over the thread's own
 *     slice of one mmap'd reservation (FLOOR_SLICES slices of FLOOR_SLICE
 *     bytes, claimed by threads in the order of their first scope, never
 *     returned),
 *   - an 8-byte size header before each block, as liboffheap has (realloc
 *     and malloc_usable_size need it), results 16-byte aligned,
 *   - a mark per scope level, rewound at scope end (nested scopes work up to
 *     FLOOR_MAX_DEPTH levels; deeper levels are released by the enclosing
 *     one), escape_begin/escape_end suspend bump allocation.
 * Outside scopes (and for blocks that do not fit) everything forwards to
 * glibc's __libc_malloc / __libc_calloc / __libc_realloc / __libc_memalign /
 * __libc_free; free and realloc tell their own blocks from glibc's by one
 * range check against the reservation (so a block may be freed by any
 * thread); free of an own block does nothing.
 *
 * The gap between the inlined bump pointer of macro_request --variant bump
 * and this library is the price of the call level itself (PLT, call, TLS
 * access, header, return): no preload can be faster than this floor.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FLOOR_SLICE ((size_t)16 << 20) /* bytes of bump space per thread */
#define FLOOR_SLICES 64                /* threads that get a slice */
#define FLOOR_MAX_DEPTH 64             /* nesting levels with their own mark */
#define FLOOR_HDR 8u

/* glibc's own allocator under its exported internal names. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

typedef struct floor_tls {
    char *cur; /* next header; always 8 mod 16, so results are 16-aligned */
    char *lim; /* end while bump allocation is on, == cur (nothing fits) otherwise */
    char *end; /* end of the slice, minus 8 (8 mod 16 too) */
    unsigned depth, escape, claimed;
    char *marks[FLOOR_MAX_DEPTH];
} floor_tls;

static __thread floor_tls tls __attribute__((tls_model("initial-exec")));

static uintptr_t g_lo; /* the reservation: [g_lo, g_lo + g_len) */
static size_t g_len;
static unsigned g_next; /* next free slice */
static size_t (*libc_usable)(void *);

__attribute__((constructor)) static void floor_init(void)
{
    size_t len = FLOOR_SLICE * FLOOR_SLICES;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        g_lo = (uintptr_t)p;
        g_len = len;
    }
    /* glibc's malloc_usable_size for its own blocks (dlsym may call malloc:
     * it works before this is set). */
    libc_usable = (size_t(*)(void *))(uintptr_t)dlsym(RTLD_NEXT, "malloc_usable_size");
}

static inline int floor_own(const void *p)
{
    return (uintptr_t)p - g_lo < g_len;
}

static inline void floor_update(floor_tls *s)
{
    s->lim = s->depth && !s->escape ? s->end : s->cur;
}

static __attribute__((noinline)) void floor_claim(floor_tls *s)
{
    s->claimed = 1;
    if (!g_len) return;
    unsigned i = __atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED);
    if (i >= FLOOR_SLICES) return; /* no slice: this thread never bumps */
    char *base = (char *)g_lo + (size_t)i * FLOOR_SLICE;
    s->cur = base + FLOOR_HDR;
    s->end = base + FLOOR_SLICE - FLOOR_HDR;
}

/* ---- the markers (the programs find them with dlsym) --------------------- */

void offheap_scope_begin(void);
void offheap_scope_end(void);
void offheap_escape_begin(void);
void offheap_escape_end(void);

void offheap_scope_begin(void)
{
    floor_tls *s = &tls;
    if (__builtin_expect(!s->claimed, 0)) floor_claim(s);
    unsigned d = s->depth++;
    if (__builtin_expect(d < FLOOR_MAX_DEPTH, 1)) s->marks[d] = s->cur;
    if (!s->escape) s->lim = s->end;
}

void offheap_scope_end(void)
{
    floor_tls *s = &tls;
    unsigned d = s->depth;
    if (__builtin_expect(d == 0, 0)) return;
    s->depth = --d;
    if (__builtin_expect(d < FLOOR_MAX_DEPTH, 1)) s->cur = s->marks[d];
    floor_update(s);
}

void offheap_escape_begin(void)
{
    floor_tls *s = &tls;
    s->escape++;
    s->lim = s->cur;
}

void offheap_escape_end(void)
{
    floor_tls *s = &tls;
    if (s->escape) s->escape--;
    floor_update(s);
}

/* ---- the malloc family ------------------------------------------------- */

/* Bump n bytes if bump allocation is on and they fit, else NULL. */
static inline __attribute__((always_inline)) void *floor_bump(size_t n)
{
    floor_tls *s = &tls;
    char *p = s->cur;
    size_t r = (n + FLOOR_HDR + 15u) & ~(size_t)15u;
    if (__builtin_expect(n < FLOOR_SLICE && r <= (size_t)(s->lim - p), 1)) {
        s->cur = p + r;
        *(size_t *)(void *)p = r - FLOOR_HDR;
        return p + FLOOR_HDR;
    }
    return NULL;
}

void *malloc(size_t n)
{
    void *p = floor_bump(n);
    if (__builtin_expect(p != NULL, 1)) return p;
    return __libc_malloc(n);
}

void free(void *p)
{
    if (floor_own(p)) return;
    __libc_free(p);
}

void *calloc(size_t count, size_t n)
{
    size_t b;
    if (__builtin_mul_overflow(count, n, &b)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = floor_bump(b);
    if (p) return memset(p, 0, b);
    return __libc_calloc(count, n);
}

void *realloc(void *p, size_t n)
{
    if (!p) return malloc(n);
    if (!floor_own(p)) return __libc_realloc(p, n);
    size_t old = ((const size_t *)p)[-1];
    if (n <= old) return p;
    void *q = malloc(n);
    if (q) memcpy(q, p, old);
    return q;
}

size_t malloc_usable_size(void *p)
{
    if (!p) return 0;
    if (floor_own(p)) return ((const size_t *)p)[-1];
    return libc_usable ? libc_usable(p) : 0;
}

static inline int pow2(size_t a)
{
    return a && !(a & (a - 1));
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (!pow2(align) || align % sizeof(void *)) return EINVAL;
    void *p = align <= 16 ? malloc(n) : __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return align <= 16 ? malloc(n) : __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    return align <= 16 ? malloc(n) : __libc_memalign(align, n);
}
