/* SPDX-License-Identifier: MIT */
/*
 * heap_counts.c — offheap_stats.fallback_allocs/fallback_frees count
 * allocations and frees served by jemalloc, one per call (README
 * "Statistics"):
 *   - N malloc/free pairs outside scopes on the calling thread add exactly N
 *     to both (the stats call merges the calling thread's jemalloc cache);
 *   - sizes of every kind: small, cached large (8K) and uncached large
 *     (1M), calloc, realloc that moves (one allocation and one free);
 *   - a thread that made N pairs and exited: its pairs are in (plus the few
 *     allocations glibc and jemalloc make to start a thread);
 *   - a live thread's pairs are in once that thread read the statistics.
 * Argument "armed" (default) opens one scope first, so every call goes
 * through liboffheap (README "Dormant"); "dormant" never opens a scope.
 * jemalloc counts either way.
 */
#include "ph.h"

#include <pthread.h>

#define PAIRS 100000

struct delta {
    long long allocs, frees;
};

static offheap_stats before_;

static void start(void)
{
    before_ = ph_stats();
}

static struct delta since(void)
{
    offheap_stats s = ph_stats();
    struct delta d = {(long long)(s.fallback_allocs - before_.fallback_allocs),
                      (long long)(s.fallback_frees - before_.fallback_frees)};
    return d;
}

/* The allocations are kept out of the compiler's sight (-fno-builtin). */
static void *volatile sink;

static void pairs(long n, size_t size)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(size);
        if (!p) abort();
        sink = p;
        free(p);
    }
}

#define EXPECT_EXACT(d, n, what)                                                                                       \
    do {                                                                                                               \
        CHECKF((d).allocs == (n), "%s: fallback_allocs +%lld, want +%ld", what, (d).allocs, (long)(n));                \
        CHECKF((d).frees == (n), "%s: fallback_frees +%lld, want +%ld", what, (d).frees, (long)(n));                   \
    } while (0)

static void *exiting_thread(void *arg)
{
    (void)arg;
    pairs(PAIRS, 48);
    return NULL;
}

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void wait_stage(int s)
{
    pthread_mutex_lock(&lk);
    while (stage < s) pthread_cond_wait(&cv, &lk);
    pthread_mutex_unlock(&lk);
}

static void set_stage(int s)
{
    pthread_mutex_lock(&lk);
    stage = s;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
}

static void *live_thread(void *arg)
{
    (void)arg;
    pairs(PAIRS, 80);
    offheap_stats s;
    CHECK(offheap_stats_get(&s) == 0); /* merges this thread's cache */
    set_stage(1);
    wait_stage(2); /* still alive while main reads */
    return NULL;
}

int main(int argc, char **argv)
{
    ph_require_preload();
    int armed = argc < 2 || strcmp(argv[1], "dormant") != 0;
    if (armed) {
        offheap_scope_begin();
        sink = malloc(10);
        offheap_scope_end();
    }

    start();
    pairs(PAIRS, 64);
    struct delta d = since();
    printf("%s: %d malloc/free pairs of 64 B: fallback_allocs +%lld, fallback_frees +%lld\n",
           armed ? "armed" : "dormant", PAIRS, d.allocs, d.frees);
    EXPECT_EXACT(d, PAIRS, "64 B pairs");

    start();
    pairs(10000, 8192);
    pairs(1000, 1 << 20);
    d = since();
    EXPECT_EXACT(d, 11000, "8K and 1M pairs");

    /* calloc counts as an allocation; a realloc that moves counts as one
     * allocation and one free; a realloc in place as neither. */
    start();
    char *c = calloc(100, 10);
    REQUIRE(c);
    char *r = realloc(c, 100000); /* another size class: moves */
    REQUIRE(r);
    free(r);
    d = since();
    EXPECT_EXACT(d, 2, "calloc + moving realloc + free");

    start();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, exiting_thread, NULL) == 0);
    pthread_join(t, NULL);
    d = since();
    /* Starting a thread allocates a little in glibc and jemalloc. */
    CHECKF(d.allocs >= PAIRS && d.allocs <= PAIRS + 64, "exited thread: fallback_allocs +%lld, want %d..%d", d.allocs,
           PAIRS, PAIRS + 64);
    CHECKF(d.frees >= PAIRS - 64 && d.frees <= PAIRS + 64, "exited thread: fallback_frees +%lld, want about %d",
           d.frees, PAIRS);

    start();
    REQUIRE(pthread_create(&t, NULL, live_thread, NULL) == 0);
    wait_stage(1);
    d = since();
    CHECKF(d.allocs >= PAIRS && d.allocs <= PAIRS + 64, "live thread: fallback_allocs +%lld, want %d..%d", d.allocs,
           PAIRS, PAIRS + 64);
    CHECKF(d.frees >= PAIRS - 64 && d.frees <= PAIRS + 64, "live thread: fallback_frees +%lld, want about %d", d.frees,
           PAIRS);
    set_stage(2);
    pthread_join(t, NULL);
    return check_done("heap_counts");
}
