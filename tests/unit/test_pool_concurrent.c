/* SPDX-License-Identifier: MIT */
/*
 * test_pool_concurrent.c — one Pool, several threads: every block keeps the
 * pattern its thread wrote until all threads are done, no two blocks
 * overlap, the cap holds exactly under contention, stats add up, and
 * release() running beside allocation loses no live byte.  Built for the
 * TSan run too (suite 'concurrent').
 */
#include <criterion/criterion.h>

#include "offheap_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define THREADS 6
#define BLOCKS 600 /* per thread and round */

struct block {
    unsigned char *p;
    size_t size;
};

struct worker {
    offheap_pool *pool;
    pthread_barrier_t *barrier;
    int index;
    unsigned rounds;
    struct block blocks[BLOCKS];
    size_t count;         /* blocks allocated this round */
    size_t bytes;         /* their rounded sizes */
    size_t bad;           /* bytes found changed */
    size_t misaligned;    /* blocks not 16-aligned */
    int err;              /* errno of a failed allocation, 0 if none */
    bool aligned_variant; /* use alloc_aligned for some blocks */
};

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

static unsigned char pattern(int thread, size_t block, size_t byte)
{
    return (unsigned char)(thread * 31 + block * 7 + byte);
}

/* Size of block i of a thread: small to a few KiB, now and then beyond a
 * 64 KiB slab. */
static size_t size_of(int thread, size_t i)
{
    if (i % 97 == 13) return 64 * KiB + 1 + (size_t)thread * 100;
    return 1 + (i * 131 + (size_t)thread * 17) % 5000;
}

static void fill_round(struct worker *w)
{
    w->count = w->bytes = 0;
    for (size_t i = 0; i < BLOCKS; i++) {
        size_t n = size_of(w->index, i);
        unsigned char *p;
        if (w->aligned_variant && i % 5 == 0) {
            size_t align = (size_t)64 << (i % 7);
            p = offheap_pool_alloc_aligned(w->pool, n, align);
            if (p && ((uintptr_t)p & (align - 1)) != 0) w->misaligned++;
        } else {
            p = offheap_pool_alloc(w->pool, n);
            w->bytes += round16(n);
        }
        if (!p) {
            w->err = errno;
            break;
        }
        if ((uintptr_t)p % 16 != 0) w->misaligned++;
        for (size_t j = 0; j < n; j++) p[j] = pattern(w->index, i, j);
        w->blocks[i] = (struct block){p, n};
        w->count++;
    }
}

static void check_round(struct worker *w)
{
    for (size_t i = 0; i < w->count; i++)
        for (size_t j = 0; j < w->blocks[i].size; j++)
            if (w->blocks[i].p[j] != pattern(w->index, i, j)) w->bad++;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (unsigned r = 0; r < w->rounds; r++) {
        pthread_barrier_wait(w->barrier); /* start together */
        fill_round(w);
        pthread_barrier_wait(w->barrier); /* everybody has written */
        check_round(w);
        pthread_barrier_wait(w->barrier); /* everybody has checked */
        pthread_barrier_wait(w->barrier); /* main has looked and reset */
    }
    return NULL;
}

static int cmp_block(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct block *)a)->p;
    uintptr_t y = (uintptr_t)((const struct block *)b)->p;
    return x < y ? -1 : x > y;
}

/* All blocks of all workers, sorted: each ends before the next begins. */
static void expect_disjoint(struct worker *w, int n)
{
    size_t total = 0;
    for (int t = 0; t < n; t++) total += w[t].count;
    struct block *all = malloc(total * sizeof *all);
    cr_assert_not_null(all);
    size_t k = 0;
    for (int t = 0; t < n; t++)
        for (size_t i = 0; i < w[t].count; i++) all[k++] = w[t].blocks[i];
    qsort(all, total, sizeof *all, cmp_block);
    for (size_t i = 1; i < total; i++)
        cr_expect_leq(all[i - 1].p + all[i - 1].size, all[i].p, "blocks %p+%zu and %p overlap", (void *)all[i - 1].p,
                      all[i - 1].size, (void *)all[i].p);
    free(all);
}

/* Run `rounds` rounds of THREADS workers; between rounds (all workers
 * parked) check every block and reset the pool when `reset` is set. */
static void run(offheap_pool *pool, unsigned rounds, bool aligned_variant, bool reset)
{
    static struct worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){
            .pool = pool, .barrier = &barrier, .index = i, .rounds = rounds, .aligned_variant = aligned_variant};
        cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned r = 0; r < rounds; r++) {
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        size_t bytes = 0;
        for (int i = 0; i < THREADS; i++) {
            cr_expect_eq(w[i].count, BLOCKS, "round %u thread %d allocated %zu: errno %d", r, i, w[i].count, w[i].err);
            cr_expect_eq(w[i].bad, 0, "round %u thread %d: %zu bytes overwritten", r, i, w[i].bad);
            cr_expect_eq(w[i].misaligned, 0, "round %u thread %d", r, i);
            bytes += w[i].bytes;
        }
        expect_disjoint(w, THREADS);
        offheap_pool_stats s;
        cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
        if (!aligned_variant)
            cr_expect_eq(s.allocated, bytes, "round %u: stats say %zu, blocks sum to %zu", r, s.allocated, bytes);
        else cr_expect_geq(s.allocated, bytes);
        if (reset) offheap_pool_reset(pool); /* every worker is parked */
        pthread_barrier_wait(&barrier);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
}

Test(pool_concurrent, patterns_survive_and_blocks_are_disjoint, .timeout = 120)
{
    offheap_pool_config cfg = {.pool_size = 256 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    run(pool, 1, false, true);
    offheap_pool_destroy(pool);
}

Test(pool_concurrent, rounds_with_reset_between, .timeout = 120)
{
    offheap_pool_config cfg = {.pool_size = 256 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    run(pool, 3, false, true);
    offheap_pool_stats s;
    cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
    cr_expect_eq(s.resets, 3);
    offheap_pool_destroy(pool);
}

Test(pool_concurrent, aligned_blocks_from_threads, .timeout = 120)
{
    offheap_pool_config cfg = {.pool_size = 512 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    run(pool, 2, true, true);
    offheap_pool_destroy(pool);
}

/* ---- the cap under contention -------------------------------------------- */

struct capper {
    offheap_pool *pool;
    pthread_barrier_t *barrier;
    size_t size;
    size_t got;
    int last_errno;
};

static void *cap_main(void *arg)
{
    struct capper *c = arg;
    pthread_barrier_wait(c->barrier);
    for (;;) {
        unsigned char *p = offheap_pool_alloc(c->pool, c->size);
        if (!p) {
            c->last_errno = errno;
            break;
        }
        p[0] = 1;
        p[c->size - 1] = 1;
        c->got++;
    }
    return NULL;
}

static void cap_run(size_t block)
{
    const size_t slab = 64 * KiB, slabs = 32;
    offheap_pool_config cfg = {.pool_size = slabs * slab, .slab_size = slab};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    struct capper c[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct capper){.pool = pool, .barrier = &barrier, .size = block};
        cr_assert_eq(pthread_create(&t[i], NULL, cap_main, &c[i]), 0);
    }
    size_t got = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        got += c[i].got;
        cr_expect_eq(c[i].last_errno, ENOMEM, "thread %d stopped with errno %d", i, c[i].last_errno);
    }
    pthread_barrier_destroy(&barrier);
    /* Slab-sized blocks fill the cap exactly; smaller ones may leave at most
     * one partly used slab per thread. */
    if (block == slab) cr_expect_eq(got, slabs, "%zu slab-sized blocks from a %zu-slab pool", got, slabs);
    else {
        size_t per_slab = slab / round16(block);
        cr_expect_leq(got, slabs * per_slab, "more blocks than the cap holds: %zu", got);
        cr_expect_geq(got, (slabs - THREADS) * per_slab, "too few blocks: %zu", got);
    }
    offheap_pool_stats s;
    cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
    cr_expect_eq(s.allocated, got * round16(block));
    cr_expect_leq(s.slabs_in_use, slabs);
    offheap_pool_destroy(pool);
}

Test(pool_concurrent, cap_is_exact_with_slab_sized_blocks, .timeout = 60)
{
    cap_run(64 * KiB);
}

Test(pool_concurrent, cap_holds_with_small_blocks, .timeout = 60)
{
    cap_run(1000);
}

/* A thread beside the workload (releaser, stats reader) sets *started after
 * its first call; the test waits for that before it starts the workload, so
 * "the side thread ran" does not depend on how the threads are scheduled. */
static void wait_started(atomic_int *started)
{
    while (!atomic_load(started)) sched_yield();
}

/* ---- release beside allocation ------------------------------------------- */

struct releaser {
    offheap_pool *pool;
    atomic_int stop, started;
    size_t calls;
};

static void *release_main(void *arg)
{
    struct releaser *r = arg;
    do {
        (void)offheap_pool_release(r->pool);
        r->calls++;
        atomic_store(&r->started, 1);
    } while (!atomic_load(&r->stop));
    return NULL;
}

Test(pool_concurrent, release_while_allocating_loses_nothing, .timeout = 120)
{
    offheap_pool_config cfg = {.pool_size = 256 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    struct releaser rel = {.pool = pool};
    pthread_t rt;
    cr_assert_eq(pthread_create(&rt, NULL, release_main, &rel), 0);
    wait_started(&rel.started);
    /* No reset: reset needs quiescence, release only promises to be safe
     * beside allocation. */
    run(pool, 1, false, false);
    atomic_store(&rel.stop, 1);
    pthread_join(rt, NULL);
    cr_expect_gt(rel.calls, 0);
    offheap_pool_destroy(pool);
}

/* ---- stats read beside allocation ----------------------------------------- */

struct stats_reader {
    offheap_pool *pool;
    atomic_int stop, started;
    size_t reads;
    size_t went_down; /* allocated lower than an earlier read (no reset ran) */
    size_t over_cap;  /* allocated or committed above the reservation */
    size_t too_many;  /* slabs_in_use above slab_count */
    size_t worst;     /* largest allocated seen */
};

static void *stats_main(void *arg)
{
    struct stats_reader *r = arg;
    size_t last = 0;
    do {
        offheap_pool_stats s;
        if (offheap_pool_stats_get(r->pool, &s) != 0) continue;
        r->reads++;
        atomic_store(&r->started, 1);
        if (s.allocated < last) r->went_down++;
        if (s.allocated > s.reserved || s.committed > s.reserved) r->over_cap++;
        if (s.slabs_in_use > s.slab_count) r->too_many++;
        if (s.allocated > r->worst) r->worst = s.allocated;
        last = s.allocated;
    } while (!atomic_load(&r->stop));
    return NULL;
}

Test(pool_concurrent, stats_read_while_allocating, .timeout = 120)
{
    /* "Thread-safe; figures read while other threads allocate are each exact
     * at some instant": without a reset the true allocated figure only
     * grows, never passes the final total, and no figure passes the cap. */
    offheap_pool_config cfg = {.pool_size = 256 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    struct stats_reader rd = {.pool = pool};
    pthread_t rt;
    cr_assert_eq(pthread_create(&rt, NULL, stats_main, &rd), 0);
    wait_started(&rd.started);
    run(pool, 1, false, false);
    atomic_store(&rd.stop, 1);
    pthread_join(rt, NULL);
    offheap_pool_stats s;
    cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
    cr_expect_gt(rd.reads, 0);
    cr_expect_eq(rd.went_down, 0, "allocated went down %zu times in %zu reads", rd.went_down, rd.reads);
    cr_expect_eq(rd.over_cap, 0, "%zu reads above the reservation", rd.over_cap);
    cr_expect_eq(rd.too_many, 0, "%zu reads with more slabs in use than exist", rd.too_many);
    cr_expect_leq(rd.worst, s.allocated, "a read saw %zu, the final total is %zu", rd.worst, s.allocated);
    offheap_pool_destroy(pool);
}

/* ---- the inline fast path: counting and reset across threads -------------- */

#define INLINE_THREADS 4
#define INLINE_BLOCKS 20000 /* 64-byte blocks per thread and round */
#define INLINE_ROUNDS 5

struct inline_worker {
    offheap_pool *pool;
    pthread_barrier_t *barrier;
    size_t bytes; /* rounded bytes this round */
    size_t failed;
};

static void *inline_main(void *arg)
{
    struct inline_worker *w = arg;
    for (unsigned r = 0; r < INLINE_ROUNDS; r++) {
        pthread_barrier_wait(w->barrier); /* start together */
        w->bytes = 0;
        for (size_t i = 0; i < INLINE_BLOCKS; i++) {
            /* mostly 64 bytes (the inline path), now and then another small
             * size, so the rounding is counted too */
            size_t n = i % 11 == 3 ? 1 + i % 200 : 64;
            char *p = offheap_pool_alloc(w->pool, n);
            if (!p) {
                w->failed++;
                break;
            }
            p[0] = 1;
            w->bytes += round16(n);
        }
        pthread_barrier_wait(w->barrier); /* done: main checks and resets */
        pthread_barrier_wait(w->barrier); /* main has reset */
    }
    return NULL;
}

struct bounded_reader {
    offheap_pool *pool;
    size_t bound; /* no true figure can exceed it */
    atomic_int stop, started;
    size_t reads;
    size_t torn; /* above the bound or not a multiple of the alignment */
};

static void *bounded_main(void *arg)
{
    struct bounded_reader *r = arg;
    do {
        offheap_pool_stats s;
        if (offheap_pool_stats_get(r->pool, &s) != 0) continue;
        r->reads++;
        atomic_store(&r->started, 1);
        if (s.allocated > r->bound || s.allocated % OFFHEAP_ALIGNMENT) r->torn++;
    } while (!atomic_load(&r->stop));
    return NULL;
}

Test(pool_concurrent, inline_allocations_counted_exactly_across_resets, .timeout = 120)
{
    /* The inline path counts nothing itself (allocated = cur - bias per
     * thread); slab switches (every 1024 blocks with 64 KiB slabs) and resets
     * must keep the figure exact, and a reader beside them must never see a
     * mix of two slabs' bookkeeping. */
    offheap_pool_config cfg = {.pool_size = 64 * MiB, .slab_size = 64 * KiB};
    offheap_pool *pool = NULL;
    cr_assert_eq(offheap_pool_create(&pool, &cfg), 0);
    struct bounded_reader rd = {.pool = pool, .bound = (size_t)INLINE_THREADS * INLINE_BLOCKS * 208};
    pthread_t rt;
    cr_assert_eq(pthread_create(&rt, NULL, bounded_main, &rd), 0);
    wait_started(&rd.started);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, INLINE_THREADS + 1);
    struct inline_worker w[INLINE_THREADS];
    pthread_t t[INLINE_THREADS];
    for (int i = 0; i < INLINE_THREADS; i++) {
        w[i] = (struct inline_worker){.pool = pool, .barrier = &barrier};
        cr_assert_eq(pthread_create(&t[i], NULL, inline_main, &w[i]), 0);
    }
    for (unsigned r = 0; r < INLINE_ROUNDS; r++) {
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
        size_t want = 0;
        for (int i = 0; i < INLINE_THREADS; i++) {
            cr_expect_eq(w[i].failed, 0, "round %u: thread %d failed to allocate", r, i);
            want += w[i].bytes;
        }
        offheap_pool_stats s;
        cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
        cr_expect_eq(s.allocated, want, "round %u: stats say %zu, the threads handed out %zu", r, s.allocated, want);
        offheap_pool_reset(pool); /* every worker is parked */
        cr_assert_eq(offheap_pool_stats_get(pool, &s), 0);
        cr_expect_eq(s.allocated, 0, "round %u: %zu bytes counted after reset", r, s.allocated);
        cr_expect_eq(s.slabs_in_use, 0, "round %u: %zu slabs in use after reset", r, s.slabs_in_use);
        pthread_barrier_wait(&barrier);
    }
    for (int i = 0; i < INLINE_THREADS; i++) pthread_join(t[i], NULL);
    atomic_store(&rd.stop, 1);
    pthread_join(rt, NULL);
    cr_expect_gt(rd.reads, 0);
    cr_expect_eq(rd.torn, 0, "%zu of %zu reads were not a possible figure", rd.torn, rd.reads);
    pthread_barrier_destroy(&barrier);
    offheap_pool_destroy(pool);
}
