/* SPDX-License-Identifier: MIT */
/*
 * stress_pool.c — the explicit API under threads, with content checks; no
 * preload, so the ASan+UBSan and TSan builds run it.
 *
 * Rounds until the time is up: THREADS threads allocate small, aligned and
 * large blocks from one shared pool at once (until the cap, sometimes),
 * fill them, verify their own blocks and each other's (published through a
 * shared table after a barrier), while a releaser thread calls
 * offheap_pool_release() and offheap_pool_stats_get() concurrently (both
 * documented as safe alongside allocation).  Then the threads stop at a
 * barrier, the main thread checks that no two blocks overlap, resets the
 * pool (quiescent) and the next round starts.  Each thread also owns an
 * arena it fills and resets.
 *
 *   stress_pool [SECONDS]    default 8
 */
#include "check.h"
#include "offheap_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4
#define PER_THREAD 400

struct blk {
    char *p;
    size_t n;
    uint32_t seed;
};

static offheap_pool *pool;
static struct blk blocks[THREADS][PER_THREAD];
static int nblocks[THREADS];
static pthread_barrier_t bar;
/* Reset needs quiescence; release is only promised safe alongside
 * allocation, so the releaser pauses while the pool is reset. */
static pthread_mutex_t reset_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool stop;
static _Atomic unsigned long total_blocks, releases, enomem;

static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "stress_pool: ");
}

static inline uint8_t pat(uint32_t seed, size_t i)
{
    return (uint8_t)(seed * 131u + (uint32_t)i * 29u);
}

/* Head and tail 512 bytes: enough to see overlap and stray writes. */
static void fill(const struct blk *b)
{
    for (size_t i = 0; i < b->n && i < 512; i++) b->p[i] = (char)pat(b->seed, i);
    for (size_t i = b->n > 512 ? b->n - 512 : 0; i < b->n; i++) b->p[i] = (char)pat(b->seed, i);
}

static bool check(const struct blk *b)
{
    for (size_t i = 0; i < b->n && i < 512; i++)
        if ((uint8_t)b->p[i] != pat(b->seed, i)) return false;
    for (size_t i = b->n > 512 ? b->n - 512 : 0; i < b->n; i++)
        if ((uint8_t)b->p[i] != pat(b->seed, i)) return false;
    return true;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = (uint64_t)id * 0x9E3779B97F4A7C15ull + 3;
    uint32_t seed = (uint32_t)id << 26;
    offheap_arena *arena;
    if (offheap_arena_create(&arena, 256 << 10)) {
        FAIL("arena create");
        return NULL;
    }
    for (;;) {
        pthread_barrier_wait(&bar); /* round start (or stop) */
        if (atomic_load(&stop)) break;
        int n = 0;
        for (int i = 0; i < PER_THREAD; i++) {
            uint64_t r = rnd(&s);
            size_t sz = (r & 63) == 0 ? 70000 + (r >> 40) % 300000 : 1 + (r >> 20) % 3000;
            size_t align = (r & 7) == 0 ? (size_t)1 << (4 + (r >> 8) % 10) : 0;
            errno = 0;
            char *p = align ? offheap_pool_alloc_aligned(pool, sz, align) : offheap_pool_alloc(pool, sz);
            if (!p) {
                if (errno != ENOMEM) FAIL("alloc errno %d", errno);
                atomic_fetch_add(&enomem, 1);
                continue;
            }
            if (align && ((uintptr_t)p & (align - 1))) FAIL("misaligned block");
            if (!offheap_pool_owns(pool, p)) FAIL("block outside the pool");
            struct blk b = {p, sz, ++seed};
            fill(&b);
            blocks[id][n++] = b;
            /* The arena, single producer: this thread only. */
            char *a = offheap_arena_alloc(arena, 1 + (r >> 30) % 2000);
            if (!a) offheap_arena_reset(arena);
            else memset(a, id, 1);
        }
        nblocks[id] = n;
        atomic_fetch_add(&total_blocks, (unsigned long)n);
        for (int i = 0; i < n; i++)
            if (!check(&blocks[id][i])) FAIL("thread %d: own block %d corrupted", id, i);
        pthread_barrier_wait(&bar); /* all published */
        /* Check a neighbour's blocks: shared memory, read-only. */
        int other = (id + 1) % THREADS;
        for (int i = 0; i < nblocks[other]; i++)
            if (!check(&blocks[other][i])) FAIL("thread %d: thread %d's block %d corrupted", id, other, i);
        pthread_barrier_wait(&bar); /* round end: main resets */
    }
    offheap_arena_destroy(arena);
    return NULL;
}

static void *releaser(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&reset_lock);
        (void)offheap_pool_release(pool);
        offheap_pool_stats st;
        if (offheap_pool_stats_get(pool, &st) != 0) FAIL("stats");
        pthread_mutex_unlock(&reset_lock);
        if (st.slabs_in_use > st.slab_count) FAIL("in use %zu > %zu", st.slabs_in_use, st.slab_count);
        /* Read while threads allocate: each figure exact at some instant,
         * so never beyond the reservation. */
        if (st.allocated > st.reserved) FAIL("stats: allocated %zu > reserved %zu", st.allocated, st.reserved);
        atomic_fetch_add(&releases, 1);
        if (atomic_load(&releases) % 64 == 0) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    const struct blk *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

int main(int argc, char **argv)
{
    check_set_prefix(fail_prefix);
    check_set_max_reports(20);
    int seconds = argc > 1 ? atoi(argv[1]) : 8;
    /* 12 MiB of 256 KiB slabs: four threads reach the cap now and then. */
    REQUIRE(offheap_pool_create(&pool, &(offheap_pool_config){.pool_size = 12 << 20, .slab_size = 256 << 10}) == 0);
    pthread_barrier_init(&bar, NULL, THREADS + 1);
    pthread_t t[THREADS], rel;
    for (intptr_t i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    pthread_create(&rel, NULL, releaser, NULL);
    static struct blk all[THREADS * PER_THREAD];
    time_t end = time(NULL) + seconds;
    unsigned long rounds = 0;
    while (time(NULL) < end) {
        pthread_barrier_wait(&bar); /* start */
        pthread_barrier_wait(&bar); /* published */
        pthread_barrier_wait(&bar); /* over: quiescent */
        size_t n = 0;
        for (int i = 0; i < THREADS; i++)
            for (int j = 0; j < nblocks[i]; j++) all[n++] = blocks[i][j];
        qsort(all, n, sizeof all[0], cmp);
        for (size_t i = 1; i < n; i++)
            if (all[i - 1].p + all[i - 1].n > all[i].p)
                FAIL("blocks %p+%zu and %p overlap", (void *)all[i - 1].p, all[i - 1].n, (void *)all[i].p);
        pthread_mutex_lock(&reset_lock);
        offheap_pool_reset(pool);
        pthread_mutex_unlock(&reset_lock);
        rounds++;
    }
    atomic_store(&stop, true);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    pthread_join(rel, NULL);
    offheap_pool_destroy(pool);
    printf("stress_pool: %lu rounds, %lu blocks, %lu ENOMEM at the cap, %lu concurrent releases, %lu failures\n",
           rounds, atomic_load(&total_blocks), atomic_load(&enomem), atomic_load(&releases), check_failures());
    return check_failures() ? 1 : 0;
}
