/* SPDX-License-Identifier: MIT */
/*
 * glibc_contracts.c — the malloc family keeps glibc's contracts, outside a
 * scope (jemalloc underneath) and inside one (the pool): malloc(0) unique,
 * overflow-checked calloc/reallocarray, realloc(p, 0) frees, realloc(NULL,
 * n) allocates, free(NULL) and free never touching errno, posix_memalign
 * EINVAL with errno untouched, aligned_alloc EINVAL, memalign/valloc/pvalloc
 * alignments, ENOMEM for huge sizes, malloc_usable_size slack writable,
 * 16-byte alignment of every block, larger alignments exact up to 1 MiB and
 * beyond a slab.
 */
#include "ph.h"

#include <malloc.h>

/* The impossible alignments below are the point of those checks.  They
 * are called through a volatile pointer: glibc declares memalign with
 * alloc_align (so is aligned_alloc), and clang 14 crashes turning such
 * values into alignment assumptions. */
static void *(*volatile memalign_fn)(size_t, size_t) = memalign;
static void *(*volatile aligned_alloc_fn)(size_t, size_t) = aligned_alloc;

static int in_scope;

#define OWNED(p)                                                                                                       \
    CHECKF(!!offheap_owns(p) == in_scope, "[%s] %s=%p: offheap_owns %d", in_scope ? "scope" : "heap", #p, (void *)(p), \
           offheap_owns(p))
#define ALIGNED(p, a)                                                                                                  \
    CHECKF(((uintptr_t)(p) & ((a)-1)) == 0, "[%s] %s=%p not aligned to %zu", in_scope ? "scope" : "heap", #p,          \
           (void *)(p), (size_t)(a))
#define ENOMEM_NULL(expr)                                                                                              \
    do {                                                                                                               \
        errno = 0;                                                                                                     \
        void *r_ = (expr);                                                                                             \
        int e_ = errno;                                                                                                \
        CHECKF(r_ == NULL && e_ == ENOMEM, "[%s] %s: %p errno %d (want NULL, ENOMEM)", in_scope ? "scope" : "heap",    \
               #expr, r_, e_);                                                                                         \
        if (r_) free(r_);                                                                                              \
    } while (0)

static void zero_sizes(void)
{
    void *a = malloc(0), *b = malloc(0);
    CHECK(a && b && a != b);
    OWNED(a);
    OWNED(b);
    ALIGNED(a, 16);
    void *c = calloc(0, 0), *d = calloc(0, SIZE_MAX);
    CHECK(c && d && c != d);
    void *e = realloc(NULL, 0);
    CHECK(e && e != a && e != b);
    OWNED(e);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

static void overflow(void)
{
    ENOMEM_NULL(calloc(SIZE_MAX / 2 + 1, 2));
    ENOMEM_NULL(calloc((size_t)1 << 33, (size_t)1 << 33));
    ENOMEM_NULL(calloc(1, SIZE_MAX));
    ENOMEM_NULL(calloc(SIZE_MAX, SIZE_MAX));
    ENOMEM_NULL(reallocarray(NULL, SIZE_MAX, 2));
    ENOMEM_NULL(reallocarray(NULL, (size_t)1 << 40, (size_t)1 << 40));

    char *p = malloc(32);
    REQUIRE(p);
    ph_fill(p, 32, 1);
    ENOMEM_NULL(reallocarray(p, SIZE_MAX / 4, 8));
    CHECK(ph_intact(p, 32, 1)); /* a failed reallocarray leaves p alone */
    char *q = reallocarray(p, 16, 8);
    REQUIRE(q);
    CHECK(ph_intact(q, 32, 1));
    CHECK(malloc_usable_size(q) >= 128);
    free(q);
    void *r = reallocarray(NULL, 4, 4);
    CHECK(r != NULL);
    OWNED(r);
    free(r);
}

static void realloc_edges(void)
{
    char *p = realloc(NULL, 100);
    REQUIRE(p);
    OWNED(p);
    ph_fill(p, 100, 2);
    /* Grow and shrink through every regime; the prefix stays. */
    static const size_t steps[] = {200, 1000, 4000, 70000, 300000, 3u << 20, 5000, 50, 100000, 7};
    size_t have = 100;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *q = realloc(p, steps[i]);
        REQUIRE(q);
        size_t keep = have < steps[i] ? have : steps[i];
        CHECKF(ph_intact(q, keep, 2), "[%s] realloc to %zu lost content", in_scope ? "scope" : "heap", steps[i]);
        CHECK(malloc_usable_size(q) >= steps[i]);
        ALIGNED(q, 16);
        ph_fill(q, steps[i], 2);
        have = steps[i];
        p = q;
    }
    /* glibc: realloc(p, 0) frees p and returns NULL. */
    errno = 0;
    CHECK(realloc(p, 0) == NULL);
    char *h = malloc(64);
    REQUIRE(h);
    CHECK(realloc(h, 0) == NULL);
    /* Failing realloc leaves the block alone (and says ENOMEM). */
    char *k = malloc(48);
    REQUIRE(k);
    ph_fill(k, 48, 3);
    ENOMEM_NULL(realloc(k, SIZE_MAX));
    ENOMEM_NULL(realloc(k, SIZE_MAX - 4));
    ENOMEM_NULL(realloc(k, (size_t)PTRDIFF_MAX + 1));
    CHECK(ph_intact(k, 48, 3));
    free(k);
}

static void free_errno(void)
{
    void *blocks[6] = {malloc(10),       malloc(5000),    malloc(300000),
                       malloc(8u << 20), calloc(3, 1000), aligned_alloc(4096, 4096)};
    errno = 4321;
    free(NULL);
    CHECK(errno == 4321);
    for (int i = 0; i < 6; i++) {
        CHECK(blocks[i] != NULL);
        errno = 4321 + i;
        free(blocks[i]);
        CHECKF(errno == 4321 + i, "[%s] free of block %d changed errno to %d", in_scope ? "scope" : "heap", i, errno);
    }
    CHECK(malloc_usable_size(NULL) == 0);
}

static void posix_memalign_contract(void)
{
    static const size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 1000, SIZE_MAX, ((size_t)1 << 20) + 8};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1234;
        errno = 999;
        int r = posix_memalign(&p, bad[i], 16);
        CHECKF(r == EINVAL, "[%s] posix_memalign(align %zu) = %d, want EINVAL", in_scope ? "scope" : "heap", bad[i], r);
        CHECKF(errno == 999, "[%s] posix_memalign(align %zu) changed errno to %d", in_scope ? "scope" : "heap", bad[i],
               errno);
        CHECK(p == (void *)0x1234);
    }
    for (size_t a = sizeof(void *); a <= ((size_t)4 << 20); a <<= 1) {
        size_t sizes[] = {0, 1, 100, a, 3u << 20};
        for (size_t j = 0; j < 5; j++) {
            void *p = NULL;
            errno = 999;
            int r = posix_memalign(&p, a, sizes[j]);
            CHECKF(r == 0 && p, "[%s] posix_memalign(%zu, %zu) = %d", in_scope ? "scope" : "heap", a, sizes[j], r);
            CHECK(errno == 999);
            if (!p) continue;
            ALIGNED(p, a);
            ALIGNED(p, 16);
            OWNED(p);
            CHECK(malloc_usable_size(p) >= sizes[j]);
            memset(p, 0xa5, sizes[j]);
            free(p);
        }
    }
    void *p = (void *)0x1234;
    errno = 999;
    CHECK(posix_memalign(&p, 64, SIZE_MAX) == ENOMEM);
    CHECK(posix_memalign(&p, (size_t)1 << 20, SIZE_MAX - ((size_t)1 << 19)) == ENOMEM);
    if (in_scope) CHECK(posix_memalign(&p, (size_t)1 << 40, 16) == ENOMEM); /* beyond the pool */
    CHECK(p == (void *)0x1234);
}

static void aligned_alloc_contract(void)
{
    static const size_t bad[] = {0, 3, 5, 24, 48, 1000, ((size_t)1 << 20) + 16};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = aligned_alloc_fn(bad[i], 64);
        CHECKF(p == NULL && errno == EINVAL, "[%s] aligned_alloc(%zu, 64) = %p errno %d", in_scope ? "scope" : "heap",
               bad[i], p, errno);
        free(p);
    }
    for (size_t a = 1; a <= ((size_t)4 << 20); a <<= 1) {
        void *p = aligned_alloc(a, 100);
        CHECKF(p != NULL, "aligned_alloc(%zu, 100)", a);
        if (!p) continue;
        ALIGNED(p, a);
        ALIGNED(p, 16);
        OWNED(p);
        memset(p, 1, malloc_usable_size(p));
        free(p);
    }
    ENOMEM_NULL(aligned_alloc(4096, SIZE_MAX - 100));
}

static void memalign_family(void)
{
    /* glibc rounds a non-power-of-two memalign alignment up. */
    struct {
        size_t req, want;
    } cases[] = {
        {1, 1}, {3, 4}, {48, 64}, {100, 128}, {4096, 4096}, {5000, 8192}, {1u << 20, 1u << 20}, {3u << 20, 4u << 20}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = memalign(cases[i].req, 100);
        CHECKF(p != NULL, "memalign(%zu, 100)", cases[i].req);
        if (!p) continue;
        ALIGNED(p, cases[i].want);
        ALIGNED(p, 16);
        OWNED(p);
        memset(p, 2, 100);
        free(p);
    }
    errno = 0;
    void *bad = memalign_fn(SIZE_MAX, 10);
    CHECK(bad == NULL && errno == EINVAL);
    errno = 0;
    bad = memalign_fn((size_t)1 << 63, 10);
    CHECK(bad == NULL && (errno == ENOMEM || errno == EINVAL));

    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *v = valloc(10);
    CHECK(v != NULL);
    ALIGNED(v, page);
    OWNED(v);
    CHECK(malloc_usable_size(v) >= 10);
    free(v);
    void *pv = pvalloc(10);
    CHECK(pv != NULL);
    ALIGNED(pv, page);
    OWNED(pv);
    CHECKF(malloc_usable_size(pv) >= page, "pvalloc(10) usable %zu < page", malloc_usable_size(pv));
    memset(pv, 3, page);
    free(pv);
    void *pv0 = pvalloc(0);
    CHECK(pv0 != NULL);
    ALIGNED(pv0, page);
    free(pv0);
    ENOMEM_NULL(valloc(SIZE_MAX));
    ENOMEM_NULL(pvalloc(SIZE_MAX));
    ENOMEM_NULL(pvalloc(SIZE_MAX - page));
    ENOMEM_NULL(memalign(64, SIZE_MAX));
}

static void huge(void)
{
    ENOMEM_NULL(malloc(SIZE_MAX));
    ENOMEM_NULL(malloc(SIZE_MAX - 8));
    ENOMEM_NULL(malloc(SIZE_MAX - 15));
    ENOMEM_NULL(malloc((size_t)PTRDIFF_MAX));
    ENOMEM_NULL(malloc((size_t)PTRDIFF_MAX + 1));
    ENOMEM_NULL(malloc((size_t)1 << 50));
    ENOMEM_NULL(calloc((size_t)1 << 25, (size_t)1 << 25));
}

static void slack_and_alignment(void)
{
    enum { N = 700 };
    static unsigned char *blocks[N];
    static size_t usable[N];
    for (int i = 0; i < N; i++) {
        size_t n = i < 600 ? (size_t)i : (size_t)(i - 599) * 1237u;
        blocks[i] = (i % 3 == 0) ? calloc(1, n) : (i % 3 == 1) ? malloc(n) : realloc(NULL, n);
        REQUIRE(blocks[i]);
        /* Scope blocks are 16-byte aligned however small, as glibc's are;
         * outside scopes jemalloc's 8-byte class is 8-byte aligned (all C
         * requires of an object that small) and every larger block 16. */
        uintptr_t want = in_scope || n > 8 ? 16 : 8;
        CHECKF(((uintptr_t)blocks[i] & (want - 1)) == 0, "[%s] %s(%zu) = %p is not %zu-byte aligned",
               in_scope ? "scope" : "heap",
               i % 3 == 0   ? "calloc"
               : i % 3 == 1 ? "malloc"
                            : "realloc",
               n, (void *)blocks[i], (size_t)want);
        OWNED(blocks[i]);
        usable[i] = malloc_usable_size(blocks[i]);
        CHECKF(usable[i] >= n, "[%s] usable %zu < %zu", in_scope ? "scope" : "heap", usable[i], n);
        if (i % 3 == 0) CHECK(ph_all(blocks[i], n, 0));
        memset(blocks[i], (unsigned char)i, usable[i]); /* the whole slack */
    }
    for (int i = 0; i < N; i++) {
        CHECKF(ph_all(blocks[i], usable[i], (unsigned char)i), "[%s] block %d (%zu usable) overwritten",
               in_scope ? "scope" : "heap", i, usable[i]);
        CHECK(malloc_usable_size(blocks[i]) == usable[i]);
    }
    for (int i = 0; i < N; i++) free(blocks[i]);
    memset(blocks, 0, sizeof blocks); /* no global points into a scope at its end */
}

static void run_all(void)
{
    zero_sizes();
    overflow();
    realloc_edges();
    free_errno();
    posix_memalign_contract();
    aligned_alloc_contract();
    memalign_family();
    huge();
    slack_and_alignment();
}

int main(void)
{
    ph_require_preload();
    in_scope = 0;
    run_all();
    offheap_scope_begin();
    in_scope = 1;
    run_all();
    offheap_scope_end();
    /* And nested two deep. */
    offheap_scope_begin();
    offheap_scope_begin();
    run_all();
    offheap_scope_end();
    offheap_scope_end();
    in_scope = 0;
    run_all();
    return check_done("glibc_contracts");
}
