/* SPDX-License-Identifier: MIT */
/*
 * exhaust.c MODE — the pool's exhaustion policy, run with a tiny pool
 * (OFFHEAP_POOL_SIZE=4M, 1M slabs) and OFFHEAP_ON_EXHAUST=MODE:
 *   enomem    (also `default`, with OFFHEAP_ON_EXHAUST unset) in-scope allocations beyond the pool return NULL with ENOMEM;
 *             the heap outside scopes is unaffected; a scope end gives the
 *             room back.
 *   fallback  they are served by the heap instead (not pool blocks).
 *   abort     the first one aborts with a diagnostic (run by
 *             expect_abort.sh, which wants SIGABRT and the message).
 */
#include "ph.h"

#include <malloc.h>

#define MiB ((size_t)1 << 20)

static void check_env(const char *mode)
{
    const char *p = getenv("OFFHEAP_POOL_SIZE"), *m = getenv("OFFHEAP_ON_EXHAUST");
    REQUIRE(p && !strcmp(p, "4M"));
    if (!strcmp(mode, "default")) REQUIRE(m == NULL); /* ENOMEM is the default */
    else if (!strcmp(mode, "huge")) REQUIRE(m && !strcmp(m, "abort"));
    else REQUIRE(m && !strcmp(m, mode));
    offheap_stats s = ph_stats();
    CHECKF(s.pool_reserved == 0 || s.pool_reserved == 4 * MiB, "pool_reserved %llu",
           (unsigned long long)s.pool_reserved);
}

static int fill_pool(size_t n, size_t max, void **out)
{
    int got = 0;
    for (size_t i = 0; i < max; i++) {
        errno = 0;
        void *p = malloc(n);
        if (!p) break;
        if (out) out[got] = p;
        got++;
    }
    return got;
}

static void enomem(void)
{
    void *outside = malloc(16 * MiB); /* the heap is not capped */
    CHECK(outside && !offheap_owns(outside));
    free(outside);
    for (int round = 0; round < 3; round++) {
        offheap_stats s0 = ph_stats();
        offheap_scope_begin();
        char *keep = malloc(5000);
        REQUIRE(keep);
        ph_fill(keep, 5000, 77);
        int got = fill_pool(100000, 1000, NULL);
        int e = errno;
        /* realloc that needs room the pool does not have: NULL, block intact */
        errno = 0;
        CHECK(realloc(keep, 200000) == NULL && errno == ENOMEM);
        CHECK(ph_intact(keep, 5000, 77));
        CHECKF(got >= 30 && got <= 42, "round %d: %d blocks of 100000 bytes from a 4M pool", round, got);
        CHECK(e == ENOMEM);
        errno = 0;
        CHECK(malloc(8 * MiB) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(calloc(1, 2 * MiB) == NULL && errno == ENOMEM);
        void *al = (void *)1;
        CHECK(posix_memalign(&al, 4096, 2 * MiB) == ENOMEM && al == (void *)1);
        errno = 0;
        CHECK(aligned_alloc(MiB, MiB) == NULL && errno == ENOMEM);
        /* The heap is still there. */
        offheap_escape_begin();
        void *h = malloc(8 * MiB);
        offheap_escape_end();
        CHECK(h && !offheap_owns(h));
        free(h);
        offheap_stats s1 = ph_stats();
        CHECK(s1.exhausted >= s0.exhausted + 5);
        CHECK(s1.slabs_in_use <= 4);
        offheap_scope_end();
        /* The room is back (the next round fills the pool again too). */
        offheap_scope_begin();
        void *big = malloc(3 * MiB / 2);
        CHECKF(big && offheap_owns(big), "round %d: after the end a 1.5M block does not fit a 4M pool", round);
        offheap_scope_end();
    }
}

static void fallback(void)
{
    offheap_stats s0 = ph_stats();
    offheap_scope_begin();
    static void *blocks[80];
    int got = fill_pool(100000, 80, blocks);
    CHECK(got == 80);
    int owned = 0;
    for (int i = 0; i < got; i++) {
        owned += offheap_owns(blocks[i]);
        memset(blocks[i], i, 100000);
    }
    CHECKF(owned >= 30 && owned <= 42, "%d of 80 blocks in the pool", owned);
    void *big = calloc(1, 8 * MiB);
    CHECK(big && !offheap_owns(big) && ph_all(big, 8 * MiB, 0));
    /* A pool block that must grow with the pool full: it moves to the heap. */
    char *grow = blocks[0];
    ph_fill(grow, 1000, 78);
    char *grown = realloc(grow, 500000);
    CHECK(grown && !offheap_owns(grown) && ph_intact(grown, 1000, 78));
    free(grown);
    memset(blocks[0] = malloc(100000), 0, 100000); /* (keep the loop below simple) */
    void *al = aligned_alloc(MiB, MiB);
    CHECK(al && ((uintptr_t)al & (MiB - 1)) == 0);
    for (int i = 0; i < got; i++) CHECKF(ph_all(blocks[i], 100000, (unsigned char)i), "block %d overwritten", i);
    offheap_stats s1 = ph_stats();
    CHECK(s1.exhausted >= s0.exhausted + 40);
    offheap_scope_end();
    /* Heap blocks handed out in the scope live on and free normally. */
    CHECK(ph_all(big, 8 * MiB, 0));
    for (int i = 0; i < got; i++)
        if (!offheap_owns(blocks[i])) {
            CHECK(ph_all(blocks[i], 100000, (unsigned char)i));
            free(blocks[i]);
        }
    free(big);
    free(al);
}

static void do_abort(void)
{
    offheap_scope_begin();
    int got = fill_pool(100000, 1000, NULL);
    FATAL("OFFHEAP_ON_EXHAUST=abort: %d allocations then NULL instead of an abort", got);
}

/* Under OFFHEAP_ON_EXHAUST=abort: a malloc no allocator can serve
 * (PTRDIFF_MAX bytes or more) fails with ENOMEM, as README says, instead of
 * aborting the program. */
static void huge(void)
{
    offheap_scope_begin();
    size_t sizes[] = {(size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 15, SIZE_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *p = malloc(sizes[i]);
        CHECKF(p == NULL && errno == ENOMEM, "malloc(%zu) in a scope: %p, errno %d", sizes[i], p, errno);
    }
    void *ok = malloc(100);
    CHECK(ok && offheap_owns(ok));
    offheap_scope_end();
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 2);
    check_env(argv[1]);
    if (!strcmp(argv[1], "enomem") || !strcmp(argv[1], "default")) enomem();
    else if (!strcmp(argv[1], "fallback")) fallback();
    else if (!strcmp(argv[1], "abort")) do_abort();
    else if (!strcmp(argv[1], "huge")) huge();
    else REQUIRE(!"mode");
    return check_done(argv[1]);
}
