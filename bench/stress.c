/* SPDX-License-Identifier: MIT */
/*
 * stress.c — allocator stress programs run OUTSIDE scopes (macro
 * benchmark 3): under LD_PRELOAD=liboffheap.so every call goes the fallback
 * route, so the figure to watch is the ratio to jemalloc alone.
 *
 *   larson   larson-style: threads own arrays of slots and replace random
 *            slots (free + malloc of 16-512 B); every epoch new threads take
 *            over the arrays of the previous ones, rotated, so most frees
 *            are of blocks another (now exited) thread allocated.
 *   xmalloc  xmalloc-style producer/consumer: producers malloc 16-256 B
 *            blocks and pass them in batches of 256 through a locked queue
 *            to consumers that free them (every free is cross-thread).
 *   small    many small objects: one thread builds a linked list of 1M
 *            objects of 16-64 B, walks it and frees it, repeatedly.
 * Prints operations per second (one op = one malloc + one free).
 *
 * --armed opens and closes one empty scope through the markers of offheap.h
 * before the timed loop (nothing without a preload that exports them): a
 * process that uses scopes somewhere, measured outside them.  Without it the
 * program never opens a scope, and a preload may leave such a process alone.
 *
 * usage: stress <larson|xmalloc|small> [--threads T] [--armed] [--quick]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "offheap.h"

static int quick;

/* ---- larson ------------------------------------------------------------ */

#define LARSON_SLOTS 2000

typedef struct larson_arg {
    void **slots;
    uint64_t seed;
    long ops;
} larson_arg;

static void *larson_thread(void *p)
{
    larson_arg *a = p;
    uint64_t s = a->seed;
    for (long i = 0; i < a->ops; i++) {
        uint64_t r = bench_rand(&s);
        unsigned k = (unsigned)(r % LARSON_SLOTS);
        size_t n = 16 + (size_t)((r >> 32) % 497);
        free(a->slots[k]);
        char *b = malloc(n);
        if (!b) abort();
        b[0] = (char)i;
        b[n - 1] = (char)i;
        a->slots[k] = b;
    }
    a->seed = s;
    return NULL;
}

static long run_larson(int threads)
{
    int epochs = quick ? 10 : 100;
    long ops = 100000;
    void **arrays[64];
    larson_arg args[64];
    pthread_t tid[64];
    uint64_t s = 1;
    for (int t = 0; t < threads; t++) {
        arrays[t] = calloc(LARSON_SLOTS, sizeof(void *));
        if (!arrays[t]) abort();
        for (int k = 0; k < LARSON_SLOTS; k++) {
            arrays[t][k] = malloc(16 + (size_t)(bench_rand(&s) % 497));
            if (!arrays[t][k]) abort();
        }
    }
    for (int e = 0; e < epochs; e++) {
        for (int t = 0; t < threads; t++) {
            args[t].slots = arrays[(t + e) % threads];
            args[t].seed = (uint64_t)e * 1000 + (uint64_t)t + 1;
            args[t].ops = ops;
            pthread_create(&tid[t], NULL, larson_thread, &args[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        /* rotate: epoch e+1's thread t takes array (t + e + 1) % threads,
         * allocated mostly by another thread of epoch e */
    }
    for (int t = 0; t < threads; t++) {
        for (int k = 0; k < LARSON_SLOTS; k++) free(arrays[t][k]);
        free(arrays[t]);
    }
    return (long)epochs * ops * threads;
}

/* ---- xmalloc ----------------------------------------------------------- */

#define XM_BATCH 256

typedef struct xm_batch {
    struct xm_batch *next;
    void *p[XM_BATCH];
} xm_batch;

static pthread_mutex_t xm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t xm_cond = PTHREAD_COND_INITIALIZER;
static xm_batch *xm_head;
static int xm_producers_left;
static long xm_per_producer;

static void *xm_producer(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg;
    for (long done = 0; done < xm_per_producer; done += XM_BATCH) {
        xm_batch *b = malloc(sizeof *b);
        if (!b) abort();
        for (int i = 0; i < XM_BATCH; i++) {
            size_t n = 16 + (size_t)(bench_rand(&s) % 241);
            char *q = malloc(n);
            if (!q) abort();
            q[0] = 1;
            b->p[i] = q;
        }
        pthread_mutex_lock(&xm_lock);
        b->next = xm_head;
        xm_head = b;
        pthread_cond_signal(&xm_cond);
        pthread_mutex_unlock(&xm_lock);
    }
    pthread_mutex_lock(&xm_lock);
    xm_producers_left--;
    pthread_cond_broadcast(&xm_cond);
    pthread_mutex_unlock(&xm_lock);
    return NULL;
}

static void *xm_consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&xm_lock);
        while (!xm_head && xm_producers_left > 0) pthread_cond_wait(&xm_cond, &xm_lock);
        xm_batch *b = xm_head;
        if (b) xm_head = b->next;
        pthread_mutex_unlock(&xm_lock);
        if (!b) return NULL;
        for (int i = 0; i < XM_BATCH; i++) free(b->p[i]);
        free(b);
    }
}

static long run_xmalloc(int threads)
{
    int producers = threads > 1 ? threads / 2 : 1;
    int consumers = threads > 1 ? threads - producers : 1;
    pthread_t tid[64];
    xm_per_producer = (quick ? 400000L : 4000000L) / producers;
    xm_producers_left = producers;
    for (int i = 0; i < producers; i++) pthread_create(&tid[i], NULL, xm_producer, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < consumers; i++) pthread_create(&tid[producers + i], NULL, xm_consumer, NULL);
    for (int i = 0; i < producers + consumers; i++) pthread_join(tid[i], NULL);
    return xm_per_producer * producers;
}

/* ---- many small objects ------------------------------------------------ */

typedef struct node {
    struct node *next;
    uint64_t v;
} node;

static long run_small(int threads)
{
    (void)threads;
    long count = 1000000;
    int rounds = quick ? 2 : 10;
    uint64_t s = 3, sum = 0;
    for (int r = 0; r < rounds; r++) {
        node *head = NULL;
        for (long i = 0; i < count; i++) {
            size_t n = 16 + (size_t)(bench_rand(&s) % 49);
            node *x = malloc(n);
            if (!x) abort();
            x->v = (uint64_t)i;
            x->next = head;
            head = x;
        }
        for (node *x = head; x; x = x->next) sum += x->v;
        while (head) {
            node *x = head->next;
            free(head);
            head = x;
        }
    }
    bench_keep(&sum);
    return count * rounds;
}

int main(int argc, char **argv)
{
    const char *test = NULL;
    int threads = 2, armed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--armed")) armed = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!test && argv[i][0] != '-') test = argv[i];
        else test = NULL, i = argc;
    }
    if (threads < 1 || threads > 64) threads = 2;
    if (bench_under_valgrind()) quick = 1;
    long (*fn)(int) = NULL;
    if (test && !strcmp(test, "larson")) fn = run_larson;
    else if (test && !strcmp(test, "xmalloc")) fn = run_xmalloc;
    else if (test && !strcmp(test, "small")) fn = run_small;
    if (!fn) {
        fprintf(stderr, "usage: %s <larson|xmalloc|small> [--threads T] [--armed] [--quick]\n", argv[0]);
        return 2;
    }
    if (armed) {
        /* One empty scope, outside the timed loop: arms the preload. */
        OFFHEAP_SCOPE_BEGIN();
        OFFHEAP_SCOPE_END();
    }
    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    bench_cg_begin();
    long ops = fn(threads);
    bench_cg_end("stress", test, ops);
    uint64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    double secs = (double)(t1 - t0) / 1e9;
    printf("%-11s stress %-8s threads=%d%s ops=%ld  %8.3f s  %12.0f ops/s  %7.2f ns/op"
           "  peak_rss=%ld KiB\n",
           bench_alloc_name(), test, threads, armed ? (OFFHEAP_LOADED() ? " armed" : " armed(no markers)") : "", ops,
           secs, (double)ops / secs, secs * 1e9 / (double)ops, bench_peak_rss_kib());
    bench_result("stress", test, "ops_per_s", (double)ops / secs);
    bench_result("stress", test, "ops_per_cpu_s", (double)ops / ((double)(c1 - c0) / 1e9));
    bench_result("stress", test, "peak_rss_kib", (double)bench_peak_rss_kib());
    return 0;
}
