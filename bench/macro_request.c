/* SPDX-License-Identifier: MIT */
/*
 * macro_request.c — the request loop (macro benchmark 1).
 *
 * One request = NSMALL blocks of mixed small sizes plus NLARGE blocks of
 * 64 KiB, each written (small: whole block; large: the first 4 KiB and one
 * byte per page, like an I/O buffer that holds one message), then read back
 * into a checksum, then released:
 *   variant "malloc"  malloc() per block; the release is free() per block,
 *                     or, when liboffheap.so is preloaded, one
 *                     OFFHEAP_SCOPE_END() around the request (no free);
 *   variant "bump"    an inlined bump pointer over a thread-local buffer,
 *                     reset per request: the physical limit of the workload;
 *   variant "miheap"  (binary macro_request_miheap only, links mimalloc)
 *                     mi_heap_new() per request, mi_heap_malloc() per
 *                     block, mi_heap_destroy() at the end: mimalloc's
 *                     scoped heap.
 * Each thread first runs 2% of its requests untimed (warm-up).
 * The same binary runs under every allocator through LD_PRELOAD.  Prints
 * requests/s (all threads) and peak RSS (getrusage ru_maxrss).
 *
 * usage: macro_request [--variant malloc|bump|miheap] [--threads T]
 *                      [--requests N per thread] [--quick] [--require-preload]
 * --require-preload fails (exit 1) unless liboffheap.so is loaded: the smoke
 * test uses it to prove it measured scopes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_OFFHEAP_COUNTERS
#include "bench.h"
#include "offheap.h"

#if defined(BENCH_MIHEAP)
#include <mimalloc.h>
#endif

#define NSMALL 200        /* small blocks per request */
#define NLARGE 2          /* large blocks per request */
#define LARGE_SIZE 65536u /* bytes per large block */
#define PATTERNS 16       /* distinct size sequences, request r uses r % 16 */
#define BUMP_BYTES (1u << 20)

enum variant { V_MALLOC, V_BUMP, V_MIHEAP };

static uint32_t sizes[PATTERNS][NSMALL];

/* 60% 16-64 B, 30% 65-256 B, 10% 257-1024 B: the shape of parser nodes,
 * strings and small vectors. */
static void make_sizes(void)
{
    uint64_t s = 42;
    for (int p = 0; p < PATTERNS; p++) {
        for (int i = 0; i < NSMALL; i++) {
            uint64_t r = bench_rand(&s);
            unsigned pick = (unsigned)(r % 100);
            uint32_t lo = pick < 60 ? 16 : pick < 90 ? 65 : 257;
            uint32_t hi = pick < 60 ? 64 : pick < 90 ? 256 : 1024;
            sizes[p][i] = lo + (uint32_t)((r >> 32) % (hi - lo + 1));
        }
    }
}

typedef struct worker {
    pthread_t tid;
    enum variant v;
    long requests;
    uint64_t checksum;
    int failed;
} worker;

static pthread_barrier_t warm_barrier, start_barrier;

/* The inlined bump pointer: what any allocator would need at least. */
typedef struct bump {
    char *cur, *end, *base;
} bump;

static inline __attribute__((always_inline)) void *bump_alloc(bump *b, size_t n)
{
    char *p = b->cur;
    size_t r = (n + 15u) & ~(size_t)15u;
    if ((size_t)(b->end - p) < r) return NULL;
    b->cur = p + r;
    return p;
}

static inline __attribute__((always_inline)) uint64_t one_request(enum variant v, long r, bump *b, int *failed)
{
    void *small[NSMALL];
    void *large[NLARGE];
    const uint32_t *sz = sizes[r % PATTERNS];
    uint64_t sum = 0;
    unsigned char fill = (unsigned char)r;
#if defined(BENCH_MIHEAP)
    mi_heap_t *heap = NULL;
#endif

    if (v == V_MALLOC) {
        OFFHEAP_SCOPE_BEGIN();
    } else if (v == V_BUMP) {
        b->cur = b->base;
    } else {
#if defined(BENCH_MIHEAP)
        heap = mi_heap_new();
#endif
    }

    for (int i = 0; i < NSMALL; i++) {
        void *p;
        if (v == V_MALLOC) p = malloc(sz[i]);
        else if (v == V_BUMP) p = bump_alloc(b, sz[i]);
#if defined(BENCH_MIHEAP)
        else p = mi_heap_malloc(heap, sz[i]);
#else
        else p = NULL;
#endif
        if (!p) {
            *failed = 1;
            return 0;
        }
        memset(p, fill, sz[i]);
        small[i] = p;
    }
    for (int i = 0; i < NLARGE; i++) {
        unsigned char *p;
        if (v == V_MALLOC) p = malloc(LARGE_SIZE);
        else if (v == V_BUMP) p = bump_alloc(b, LARGE_SIZE);
#if defined(BENCH_MIHEAP)
        else p = mi_heap_malloc(heap, LARGE_SIZE);
#else
        else p = NULL;
#endif
        if (!p) {
            *failed = 1;
            return 0;
        }
        memset(p, fill, 4096);
        for (size_t off = 4096; off < LARGE_SIZE; off += 4096) p[off] = fill;
        large[i] = p;
    }
    bench_clobber();
    for (int i = 0; i < NSMALL; i++) sum += ((unsigned char *)small[i])[sz[i] - 1];
    for (int i = 0; i < NLARGE; i++) sum += ((unsigned char *)large[i])[LARGE_SIZE - 4096];

    if (v == V_MALLOC) {
        if (OFFHEAP_LOADED()) {
            offheap_scope_end();
        } else {
            for (int i = 0; i < NSMALL; i++) free(small[i]);
            for (int i = 0; i < NLARGE; i++) free(large[i]);
        }
    } else if (v == V_MIHEAP) {
#if defined(BENCH_MIHEAP)
        mi_heap_destroy(heap);
#endif
    }
    return sum;
}

static BENCH_NOINLINE uint64_t run_malloc(long n, int *failed)
{
    uint64_t sum = 0;
    for (long r = 0; r < n && !*failed; r++) sum += one_request(V_MALLOC, r, NULL, failed);
    return sum;
}

static BENCH_NOINLINE uint64_t run_bump(long n, bump *b, int *failed)
{
    uint64_t sum = 0;
    for (long r = 0; r < n && !*failed; r++) sum += one_request(V_BUMP, r, b, failed);
    return sum;
}

#if defined(BENCH_MIHEAP)
static BENCH_NOINLINE uint64_t run_miheap(long n, int *failed)
{
    uint64_t sum = 0;
    for (long r = 0; r < n && !*failed; r++) sum += one_request(V_MIHEAP, r, NULL, failed);
    return sum;
}
#endif

static void *worker_main(void *arg)
{
    worker *w = arg;
    bump b = {0};
    if (w->v == V_BUMP) {
        /* Outside any scope: the buffer lives for the whole thread. */
        b.base = malloc(BUMP_BYTES);
        if (!b.base) {
            w->failed = 1;
        } else {
            memset(b.base, 0, BUMP_BYTES); /* committed up front, like a warm heap */
            b.cur = b.base;
            b.end = b.base + BUMP_BYTES;
        }
    }
    /* Warm-up, untimed, for every allocator alike: one-time set-up (thread
     * caches, heaps, liboffheap's process pool and caller table) is not
     * what a request costs. */
    long warm = w->requests / 50 + 1;
    if (!w->failed) {
        if (w->v == V_MALLOC) (void)run_malloc(warm, &w->failed);
        else if (w->v == V_BUMP) (void)run_bump(warm, &b, &w->failed);
#if defined(BENCH_MIHEAP)
        else (void)run_miheap(warm, &w->failed);
#endif
    }
    pthread_barrier_wait(&warm_barrier);
    pthread_barrier_wait(&start_barrier);
    if (w->failed) return NULL;
    if (w->v == V_MALLOC) w->checksum = run_malloc(w->requests, &w->failed);
    else if (w->v == V_BUMP) w->checksum = run_bump(w->requests, &b, &w->failed);
#if defined(BENCH_MIHEAP)
    else w->checksum = run_miheap(w->requests, &w->failed);
#endif
    free(b.base);
    return NULL;
}

int main(int argc, char **argv)
{
#if defined(BENCH_MIHEAP)
    enum variant v = V_MIHEAP;
#else
    enum variant v = V_MALLOC;
#endif
    int threads = 1, quick = 0, require_preload = 0;
    long requests = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
            const char *s = argv[++i];
            if (!strcmp(s, "malloc")) v = V_MALLOC;
            else if (!strcmp(s, "bump")) v = V_BUMP;
#if defined(BENCH_MIHEAP)
            else if (!strcmp(s, "miheap")) v = V_MIHEAP;
#endif
            else {
                fprintf(stderr, "macro_request: unknown variant %s\n", s);
                return 2;
            }
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--requests") && i + 1 < argc) {
            requests = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--require-preload")) {
            require_preload = 1;
        } else {
            fprintf(stderr,
                    "usage: %s [--variant malloc|bump%s] [--threads T] [--requests N] [--quick]"
                    " [--require-preload]\n",
                    argv[0],
#if defined(BENCH_MIHEAP)
                    "|miheap"
#else
                    ""
#endif
            );
            return 2;
        }
    }
    if (threads < 1 || threads > 64) threads = 1;
    if (requests <= 0) requests = quick ? 5000 : 100000;
    if (bench_under_valgrind()) requests = 2000;
    if (require_preload && (v != V_MALLOC || !OFFHEAP_LOADED())) {
        fprintf(stderr, "macro_request: --require-preload: liboffheap.so is not preloaded\n");
        return 1;
    }
    make_sizes();

    const char *vname = v == V_MALLOC ? "malloc" : v == V_BUMP ? "bump" : "miheap";
    const char *alloc = bench_alloc_name();
    if (v == V_MALLOC && OFFHEAP_LOADED()) vname = "scope";

    worker *w = calloc((size_t)threads, sizeof *w);
    if (!w) return 1;
    pthread_barrier_init(&warm_barrier, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        w[t].v = v;
        w[t].requests = requests;
        if (pthread_create(&w[t].tid, NULL, worker_main, &w[t]) != 0) {
            fprintf(stderr, "macro_request: pthread_create failed\n");
            return 1;
        }
    }
    /* Counted from here: every worker has done its warm-up and waits at
     * the start barrier (under valgrind threads take turns, so a count
     * started after it would miss part of the work). */
    pthread_barrier_wait(&warm_barrier);
    bench_cg_begin();
    pthread_barrier_wait(&start_barrier);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    uint64_t sum = 0;
    int failed = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(w[t].tid, NULL);
        sum += w[t].checksum;
        failed |= w[t].failed;
    }
    char cgname[64];
    snprintf(cgname, sizeof cgname, "t%d", threads);
    bench_cg_end("request", cgname, requests * threads);
    uint64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    getrusage(RUSAGE_SELF, &ru1);
    double faults = (double)(ru1.ru_minflt - ru0.ru_minflt) / ((double)requests * threads);
    if (failed) {
        fprintf(stderr, "macro_request: allocation failed (errno %d)\n", errno);
        return 1;
    }
    double secs = (double)(t1 - t0) / 1e9;
    double rps = (double)requests * threads / secs;
    long rss = bench_peak_rss_kib();
    printf("%-11s %-7s threads=%d requests=%ld  %12.0f req/s  %8.3f us/req  peak_rss=%ld KiB"
           "  %.2f faults/req  (checksum %llu)\n",
           alloc, vname, threads, requests * threads, rps, 1e6 / rps * threads, rss, faults, (unsigned long long)sum);
    char name[64];
    snprintf(name, sizeof name, "t%d", threads);
    bench_result("request", name, "req_per_s", rps);
    bench_result("request", name, "req_per_cpu_s", (double)requests * threads / ((double)(c1 - c0) / 1e9));
    bench_result("request", name, "peak_rss_kib", (double)rss);
    bench_result("request", name, "faults_per_req", faults);
    bench_offheap_counters("request", name, requests * threads);
    pthread_barrier_destroy(&start_barrier);
    free(w);
    return 0;
}
