/* SPDX-License-Identifier: MIT */
/*
 * micro_concurrent.c — 64 B allocations from 1 and 2 threads at once
 * (micro benchmarks):
 *   own     every thread allocates from its own pool and resets it;
 *   shared  all threads allocate from one pool; between batches the threads
 *           meet at a barrier and one of them resets it (reset needs
 *           quiescence);
 *   malloc  every thread mallocs the batch then frees it, under whatever
 *           allocator the process runs with.
 * A batch is 65536 allocations per thread; every variant pays the same two
 * barriers per batch.  Reported: ns per allocation as seen by one thread
 * (wall time / allocations per thread: equal figures at 1 and 2 threads mean
 * perfect scaling) and the aggregate Mops/s; for malloc the op is one malloc
 * plus its free, for the pools one alloc plus its share of the reset.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "offheap_pool.h"

#define BATCH 65536
#define MIB (1024u * 1024u)

enum mode { M_OWN, M_SHARED, M_MALLOC };
static const char *mode_name[] = {"own_pool", "shared_pool", "malloc_free"};

typedef struct ctx {
    enum mode mode;
    int threads;
    int batches;
    offheap_pool *shared;
    pthread_barrier_t bar;
} ctx;

typedef struct targ {
    ctx *c;
    int id;
    pthread_t tid;
    void **ptrs;
} targ;

static offheap_pool *make_pool(void)
{
    offheap_pool_config cfg = {0};
    offheap_pool *p = NULL;
    cfg.pool_size = 256 * MIB;
    cfg.slab_size = 1 * MIB;
    cfg.slab_count = 16;
    cfg.prealloc = true;
    int rc = offheap_pool_create(&p, &cfg);
    if (rc) {
        fprintf(stderr, "micro_concurrent: offheap_pool_create: %s\n", strerror(rc));
        exit(1);
    }
    return p;
}

static void *thread_main(void *arg)
{
    targ *t = arg;
    ctx *c = t->c;
    offheap_pool *pool = c->mode == M_OWN ? make_pool() : c->shared;
    pthread_barrier_wait(&c->bar); /* start */
    for (int b = 0; b < c->batches; b++) {
        if (c->mode == M_MALLOC) {
            for (int i = 0; i < BATCH; i++) {
                void *p = malloc(64);
                if (!p) abort();
                t->ptrs[i] = p;
            }
            bench_clobber();
            for (int i = 0; i < BATCH; i++) free(t->ptrs[i]);
        } else {
            for (int i = 0; i < BATCH; i++) {
                void *p = offheap_pool_alloc(pool, 64);
                if (!p) {
                    fprintf(stderr, "micro_concurrent: alloc: %s\n", strerror(errno));
                    abort();
                }
                t->ptrs[i] = p;
            }
            bench_clobber();
        }
        pthread_barrier_wait(&c->bar);
        if (c->mode == M_OWN) offheap_pool_reset(pool);
        else if (c->mode == M_SHARED && t->id == 0) offheap_pool_reset(pool);
        pthread_barrier_wait(&c->bar);
    }
    if (c->mode == M_OWN) offheap_pool_destroy(pool);
    return NULL;
}

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* One run: returns wall ns per allocation per thread; *faults gets the minor
 * page faults taken during the timed part, per batch. */
static double run(enum mode mode, int threads, int batches, double *faults)
{
    ctx c = {.mode = mode, .threads = threads, .batches = batches};
    targ t[2];
    if (mode == M_SHARED) c.shared = make_pool();
    pthread_barrier_init(&c.bar, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        t[i].c = &c;
        t[i].id = i;
        t[i].ptrs = malloc(BATCH * sizeof(void *));
        if (!t[i].ptrs) abort();
        pthread_create(&t[i].tid, NULL, thread_main, &t[i]);
    }
    pthread_barrier_wait(&c.bar);
    long f0 = minor_faults();
    uint64_t t0 = bench_now_ns();
    if (bench_under_valgrind()) bench_cg_begin();
    /* the main thread takes part in the barriers */
    for (int b = 0; b < batches; b++) {
        pthread_barrier_wait(&c.bar);
        pthread_barrier_wait(&c.bar);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i].tid, NULL);
    uint64_t t1 = bench_now_ns();
    *faults = (double)(minor_faults() - f0) / batches;
    if (bench_under_valgrind()) {
        char name[48];
        snprintf(name, sizeof name, "%s-t%d", mode_name[mode], threads);
        bench_cg_end("micro_concurrent", name, (long)batches * BATCH * threads);
    }
    for (int i = 0; i < threads; i++) free(t[i].ptrs);
    pthread_barrier_destroy(&c.bar);
    if (mode == M_SHARED) offheap_pool_destroy(c.shared);
    return (double)(t1 - t0) / ((double)batches * BATCH);
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_common(argc, argv, &o, 9);
    int batches = o.quick ? 4 : 32;
    if (bench_under_valgrind()) {
        o.reps = 1;
        batches = 2;
    }
    if (o.reps > 64) o.reps = 64;
    printf("micro_concurrent: 64 B, %d batches of %d per thread, median of %d reps, malloc under"
           " %s\n",
           batches, BATCH, o.reps, bench_alloc_name());
    for (int threads = 1; threads <= 2; threads++) {
        double v[3][64], f[3][64];
        for (int r = 0; r < o.reps; r++)
            for (int m = 0; m < 3; m++) v[m][r] = run((enum mode)m, threads, batches, &f[m][r]);
        for (int m = 0; m < 3; m++) {
            double med = bench_median(v[m], o.reps);
            char name[48];
            snprintf(name, sizeof name, "%s-t%d", mode_name[m], threads);
            double fmed = bench_median(f[m], o.reps);
            printf("  %-18s threads=%d %8.2f ns/op per thread  %8.1f Mops/s total  %8.1f page faults"
                   "/batch%s%s\n",
                   mode_name[m], threads, med, threads * 1e3 / med, fmed, m == M_MALLOC ? "  under " : "",
                   m == M_MALLOC ? bench_alloc_name() : "");
            bench_result("micro_concurrent", name, "ns_per_op", med);
            bench_result("micro_concurrent", name, "faults_per_batch", fmed);
        }
    }
    return 0;
}
