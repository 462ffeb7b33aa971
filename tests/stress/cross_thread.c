/* SPDX-License-Identifier: MIT */
/*
 * cross_thread.c — realloc, malloc_usable_size and free of another thread's
 * live scope blocks (docs/design.md: they "accept any pointer the process got from
 * any of our entry points, in or out of a scope, on any thread").
 *
 * Owner threads open a scope, allocate a block (small, large, aligned,
 * calloc), fill it and hand it to a worker thread while the scope stays open;
 * the worker, in a scope of its own or outside any, checks
 * malloc_usable_size, reallocs the block (grow or shrink) and checks that the
 * result holds the content and lives on the heap (it is not the worker's
 * innermost scope's block), then frees the result and hands control back.
 * The owner then verifies its other blocks and ends its scope.  Pairs run in
 * parallel; bounded by a number of rounds.  The stats must count every one of
 * those reallocs (and the frees of a thread that never entered a scope).
 *
 *   cross_thread [ROUNDS]     default 20000
 */
#include "check.h"
#include "offheap.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIRS 3

static _Atomic unsigned long reallocs, in_scope_reallocs;

static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "cross_thread: ");
}

struct pair {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int state; /* 0: owner's turn, 1: worker's turn, 2: stop */
    char *p;
    size_t n;
    unsigned seed;
    unsigned long rounds;
};

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)(seed + i * 11);
}

static bool same(const char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(seed + i * 11)) return false;
    return true;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void handoff(struct pair *pr, int to)
{
    pthread_mutex_lock(&pr->lock);
    pr->state = to;
    pthread_cond_broadcast(&pr->cv);
    while (pr->state == to) pthread_cond_wait(&pr->cv, &pr->lock);
    pthread_mutex_unlock(&pr->lock);
}

static void *owner(void *arg)
{
    struct pair *pr = arg;
    uint64_t s = (uintptr_t)arg | 1;
    for (unsigned long r = 0; r < pr->rounds; r++) {
        offheap_scope_begin();
        char *mine = malloc(300);
        fill(mine, 300, (unsigned)r);
        uint64_t k = rnd(&s);
        size_t n = (k & 15) == 0 ? 300000 + (k >> 40) % 100000 : 1 + (k >> 20) % 5000;
        char *p;
        switch ((k >> 8) % 4) {
        case 0: p = malloc(n); break;
        case 1: p = calloc(1, n); break;
        case 2: p = aligned_alloc(4096, n); break;
        default: {
            void *q = NULL;
            p = posix_memalign(&q, 64, n) ? NULL : q;
        }
        }
        if (!p || !offheap_owns(p)) {
            FAIL("owner: scope allocation of %zu", n);
            offheap_scope_end();
            continue;
        }
        fill(p, n, (unsigned)k);
        pr->p = p;
        pr->n = n;
        pr->seed = (unsigned)k;
        handoff(pr, 1); /* the worker reallocs it while our scope is open */
        if (!same(mine, 300, (unsigned)r)) FAIL("owner: own block changed while the worker reallocated another");
        offheap_scope_end();
    }
    pthread_mutex_lock(&pr->lock);
    pr->state = 2;
    pthread_cond_broadcast(&pr->cv);
    pthread_mutex_unlock(&pr->lock);
    return NULL;
}

static void *worker(void *arg)
{
    struct pair *pr = arg;
    uint64_t s = ((uintptr_t)arg << 1) | 1;
    for (;;) {
        pthread_mutex_lock(&pr->lock);
        while (pr->state == 0) pthread_cond_wait(&pr->cv, &pr->lock);
        int st = pr->state;
        pthread_mutex_unlock(&pr->lock);
        if (st == 2) break;
        uint64_t k = rnd(&s);
        bool scoped = k & 1;
        if (scoped) offheap_scope_begin();
        if (malloc_usable_size(pr->p) < pr->n) FAIL("worker: usable size %zu < %zu", malloc_usable_size(pr->p), pr->n);
        size_t nn = (k & 2) ? pr->n + 1 + (k >> 30) % 100000 : 1 + (k >> 30) % pr->n;
        char *q = realloc(pr->p, nn);
        if (!q) {
            FAIL("worker: realloc(%zu -> %zu) failed", pr->n, nn);
        } else {
            size_t keep = nn < pr->n ? nn : pr->n;
            if (!same(q, keep, pr->seed)) FAIL("worker: realloc(%zu -> %zu) lost content", pr->n, nn);
            if (offheap_owns(q)) FAIL("worker: another thread's scope block stayed in the pool after realloc");
            free(q);
            atomic_fetch_add(&reallocs, 1);
            if (scoped) atomic_fetch_add(&in_scope_reallocs, 1);
        }
        free(pr->p); /* the original: a pool block, so a no-op */
        if (scoped) offheap_scope_end();
        pthread_mutex_lock(&pr->lock);
        pr->state = 0;
        pthread_cond_broadcast(&pr->cv);
        pthread_mutex_unlock(&pr->lock);
    }
    return NULL;
}

/* Stats: "counters are totals since start over all threads (live and
 * exited)" — also for a thread that never entered a scope itself. */
static void *never_scoped(void *arg)
{
    char **blocks = arg;
    for (int i = 0; i < 100; i++) free(blocks[i]);
    char *q = realloc(blocks[0], 10);
    free(q);
    return NULL;
}

static void stats_of_unscoped_threads(void)
{
    char *blocks[100];
    offheap_scope_begin();
    for (int i = 0; i < 100; i++) blocks[i] = malloc(64);
    offheap_stats s0, s1;
    offheap_stats_get(&s0);
    pthread_t t;
    pthread_create(&t, NULL, never_scoped, blocks);
    pthread_join(t, NULL);
    offheap_stats_get(&s1);
    offheap_scope_end();
    if (s1.frees_ignored - s0.frees_ignored != 100 || s1.reallocs_moved_out - s0.reallocs_moved_out != 1)
        FAIL("a thread that never entered a scope freed 100 scope blocks and moved one out: frees_ignored +%llu, "
             "reallocs_moved_out +%llu (expected +100, +1)",
             (unsigned long long)(s1.frees_ignored - s0.frees_ignored),
             (unsigned long long)(s1.reallocs_moved_out - s0.reallocs_moved_out));
}

int main(int argc, char **argv)
{
    check_set_prefix(fail_prefix);
    check_set_max_reports(20);
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "cross_thread: liboffheap.so not preloaded; skipping\n");
        return 77;
    }
    unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    stats_of_unscoped_threads();
    offheap_stats st0;
    offheap_stats_get(&st0);
    static struct pair pairs[PAIRS];
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pthread_mutex_init(&pairs[i].lock, NULL);
        pthread_cond_init(&pairs[i].cv, NULL);
        pairs[i].rounds = rounds / PAIRS;
        pthread_create(&t[2 * i], NULL, owner, &pairs[i]);
        pthread_create(&t[2 * i + 1], NULL, worker, &pairs[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++) pthread_join(t[i], NULL);
    offheap_stats st;
    offheap_stats_get(&st);
    if (st.slabs_in_use > 1) FAIL("%llu slabs in use at the end", (unsigned long long)st.slabs_in_use);
    if (st.reallocs_moved_out - st0.reallocs_moved_out != atomic_load(&reallocs))
        FAIL("stats: %llu reallocs moved out counted, %lu done",
             (unsigned long long)(st.reallocs_moved_out - st0.reallocs_moved_out), atomic_load(&reallocs));
    printf("cross_thread: %lu reallocs of another thread's live scope block (%lu from inside a scope), %llu moved "
           "out; %lu failures\n",
           atomic_load(&reallocs), atomic_load(&in_scope_reallocs), (unsigned long long)st.reallocs_moved_out,
           check_failures());
    return check_failures() ? 1 : 0;
}
