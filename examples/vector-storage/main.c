/* SPDX-License-Identifier: MIT */
/*
 * vector-storage — float32[1536] embeddings kept in an offheap Pool, with a
 * brute-force cosine-similarity top-k search over them.
 *
 * The store normalises each vector when it is inserted, so a search is one
 * dot product per stored vector.  Vectors live in the Pool (64-byte aligned,
 * packed back to back in 2 MiB slabs); the small index (pointers, ids)
 * stays on the ordinary heap.  Dropping the whole collection is one
 * offheap_pool_reset() instead of one free() per vector, and the Pool's hard
 * cap bounds the memory the collection can ever take.
 *
 *   vector-storage [N]            insert N clustered vectors (default 2000), run 3 queries
 *   vector-storage --test         self-checks; exit 0 when all pass
 *   vector-storage --bench [N]    insert / search / drop, ns per op (medians), Pool vs
 *                                 aligned_alloc; N vectors (default 8000)
 *   add --huge to ask for huge pages (falls back silently, see offheap_pool.h)
 */
#include "../common/ex_util.h"

#include <offheap_pool.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define DIM 1536
#define VEC_BYTES (DIM * sizeof(float)) /* 6144 */
#define VEC_ALIGN 64                    /* a cache line; what AVX-512 loads like */

/* ------------------------------------------------------------------------ */
/* The store                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct store {
    offheap_pool *pool; /* NULL: vectors come from aligned_alloc */
    float **vec;        /* unit-length vectors, one block each */
    uint64_t *id;       /* caller's id per vector */
    size_t n, cap;      /* vectors stored / index capacity */
} store;

/* pool_bytes: the cap for the vectors (0 = malloc mode). */
static int store_init(store *s, size_t pool_bytes, bool huge)
{
    memset(s, 0, sizeof *s);
    if (!pool_bytes) return 0;
    offheap_pool_config cfg = {0};
    cfg.slab_size = 2u << 20; /* 341 vectors per slab, 2 KiB left over (0.1%) */
    cfg.pool_size = (pool_bytes + cfg.slab_size - 1) / cfg.slab_size * cfg.slab_size;
    cfg.huge_pages = huge;
    return offheap_pool_create(&s->pool, &cfg);
}

/* Insert a copy of v (DIM floats), normalised.  Returns 0, ENOMEM (the cap
 * or the heap is exhausted; the store is unchanged) or EINVAL (v is all
 * zeros: it has no direction). */
static int store_add(store *s, const float *v, uint64_t id)
{
    double sq = 0;
    for (size_t i = 0; i < DIM; i++) sq += (double)v[i] * v[i];
    if (sq == 0) return EINVAL;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        float **nv = realloc(s->vec, ncap * sizeof *nv);
        if (!nv) return ENOMEM;
        s->vec = nv;
        uint64_t *ni = realloc(s->id, ncap * sizeof *ni);
        if (!ni) return ENOMEM;
        s->id = ni;
        s->cap = ncap;
    }
    float *dst =
        s->pool ? offheap_pool_alloc_aligned(s->pool, VEC_BYTES, VEC_ALIGN) : aligned_alloc(VEC_ALIGN, VEC_BYTES);
    if (!dst) return ENOMEM;
    float inv = (float)(1.0 / sqrt(sq));
    for (size_t i = 0; i < DIM; i++) dst[i] = v[i] * inv;
    s->vec[s->n] = dst;
    s->id[s->n] = id;
    s->n++;
    return 0;
}

/* Forget every vector; the store stays usable.  Pool: one reset.
 * malloc: one free per vector. */
static void store_clear(store *s)
{
    if (s->pool) offheap_pool_reset(s->pool);
    else
        for (size_t i = 0; i < s->n; i++) free(s->vec[i]);
    s->n = 0;
}

static void store_destroy(store *s)
{
    store_clear(s);
    offheap_pool_destroy(s->pool);
    free(s->vec);
    free(s->id);
    memset(s, 0, sizeof *s);
}

/* Eight independent sums so the compiler can keep them in vector lanes
 * without -ffast-math. */
static float dot(const float *restrict a, const float *restrict b)
{
    float acc[8] = {0};
    for (size_t i = 0; i < DIM; i += 8)
        for (size_t j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

typedef struct hit {
    uint64_t id;
    float score; /* cosine similarity */
} hit;

/* Better first: higher score, then lower id (so results are deterministic). */
static bool better(const hit *a, const hit *b)
{
    return a->score > b->score || (a->score == b->score && a->id < b->id);
}

/* Top-k by cosine similarity to q (any length, not necessarily unit).
 * Writes min(k, n) hits to out, best first; returns how many. */
static size_t store_search(const store *s, const float *q, size_t k, hit *out)
{
    double sq = 0;
    for (size_t i = 0; i < DIM; i++) sq += (double)q[i] * q[i];
    if (sq == 0 || k == 0) return 0;
    float qn[DIM] __attribute__((aligned(VEC_ALIGN)));
    float inv = (float)(1.0 / sqrt(sq));
    for (size_t i = 0; i < DIM; i++) qn[i] = q[i] * inv;

    /* out[0..m) kept sorted best first; k is small, insertion is cheap. */
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        hit h = {s->id[i], dot(qn, s->vec[i])};
        if (m == k && !better(&h, &out[m - 1])) continue;
        size_t j = m < k ? m++ : k - 1;
        while (j > 0 && better(&h, &out[j - 1])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    return m;
}

/* ------------------------------------------------------------------------ */
/* Test data: clustered vectors                                              */
/* ------------------------------------------------------------------------ */

#define CLUSTERS 50

typedef struct dataset {
    float *centroid; /* CLUSTERS x DIM */
} dataset;

static float gauss(uint64_t *rng)
{
    double u = ex_rand_unit(rng), v = ex_rand_unit(rng);
    return (float)(sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v));
}

static void dataset_init(dataset *d, uint64_t seed)
{
    d->centroid = malloc(sizeof(float) * CLUSTERS * DIM);
    uint64_t rng = seed;
    for (size_t i = 0; i < (size_t)CLUSTERS * DIM; i++) d->centroid[i] = gauss(&rng);
}

/* Vector number `id`: its cluster is id % CLUSTERS, plus noise. */
static void dataset_vector(const dataset *d, uint64_t id, float noise, float *out)
{
    uint64_t rng = id * 0x9E3779B97F4A7C15u + 12345;
    const float *c = d->centroid + (id % CLUSTERS) * DIM;
    for (size_t i = 0; i < DIM; i++) out[i] = c[i] + noise * gauss(&rng);
}

static void must(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, offheap_strerror(rc));
        exit(1);
    }
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */
/* ------------------------------------------------------------------------ */

static int run_demo(size_t n, bool huge)
{
    dataset d;
    dataset_init(&d, 1);
    store s;
    must(store_init(&s, n * VEC_BYTES + (4u << 20), huge), "offheap_pool_create");
    float *v = malloc(VEC_BYTES);
    uint64_t t0 = ex_now_ns();
    for (size_t i = 0; i < n; i++) {
        dataset_vector(&d, i, 0.8f, v);
        must(store_add(&s, v, i), "store_add");
    }
    double ins_ms = (double)(ex_now_ns() - t0) / 1e6;
    offheap_pool_stats st;
    offheap_pool_stats_get(s.pool, &st);
    printf("stored %zu vectors of %d floats (%zu bytes each) in %.1f ms\n", s.n, DIM, (size_t)VEC_BYTES, ins_ms);
    printf("pool: %zu slabs of %zu KiB in use, %zu bytes allocated, cap %zu MiB, RSS %zu MiB\n", st.slabs_in_use,
           st.slab_size >> 10, st.allocated, st.reserved >> 20, ex_rss_bytes() >> 20);
    for (uint64_t qc = 0; qc < 3; qc++) {
        dataset_vector(&d, 1000000 + qc * 17, 0.8f, v); /* a new member of cluster (qc*17)%50 */
        hit top[5];
        t0 = ex_now_ns();
        size_t k = store_search(&s, v, 5, top);
        double us = (double)(ex_now_ns() - t0) / 1e3;
        printf("query near cluster %2llu (%.0f us):", (unsigned long long)((1000000 + qc * 17) % CLUSTERS), us);
        for (size_t i = 0; i < k; i++)
            printf("  id %llu (cluster %llu) %.3f", (unsigned long long)top[i].id,
                   (unsigned long long)(top[i].id % CLUSTERS), (double)top[i].score);
        printf("\n");
    }
    free(v);
    free(d.centroid);
    store_destroy(&s);
    return 0;
}

/* Reference top-k in double precision over the raw vectors. */
static size_t reference_topk(const dataset *d, size_t n, float noise, const float *q, size_t k, hit *out)
{
    float *v = malloc(VEC_BYTES);
    double qq = 0;
    for (size_t i = 0; i < DIM; i++) qq += (double)q[i] * q[i];
    size_t m = 0;
    for (size_t id = 0; id < n; id++) {
        dataset_vector(d, id, noise, v);
        double vq = 0, vv = 0;
        for (size_t i = 0; i < DIM; i++) {
            vq += (double)v[i] * q[i];
            vv += (double)v[i] * v[i];
        }
        hit h = {id, (float)(vq / sqrt(vv * qq))};
        if (m == k && !better(&h, &out[m - 1])) continue;
        size_t j = m < k ? m++ : k - 1;
        while (j > 0 && better(&h, &out[j - 1])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = h;
    }
    free(v);
    return m;
}

static int run_test(void)
{
    dataset d;
    dataset_init(&d, 7);
    float *v = malloc(VEC_BYTES);
    const size_t n = 600;
    store sp, sm;
    EX_CHECK(store_init(&sp, 8u << 20, false) == 0);
    EX_CHECK(store_init(&sm, 0, false) == 0);
    for (size_t i = 0; i < n; i++) {
        dataset_vector(&d, i, 1.0f, v);
        EX_CHECK(store_add(&sp, v, i) == 0);
        EX_CHECK(store_add(&sm, v, i) == 0);
    }
    EX_CHECK(sp.n == n && sm.n == n);

    /* Every vector is in the pool, 64-byte aligned, unit length, and the
     * vectors do not overlap. */
    bool owned = true, aligned = true, unit = true;
    for (size_t i = 0; i < n; i++) {
        owned &= offheap_pool_owns(sp.pool, sp.vec[i]);
        aligned &= ((uintptr_t)sp.vec[i] % VEC_ALIGN) == 0;
        unit &= fabsf(dot(sp.vec[i], sp.vec[i]) - 1.0f) < 1e-4f;
    }
    EX_CHECK(owned && aligned && unit);
    EX_CHECK(!offheap_pool_owns(sp.pool, sm.vec[0]));
    {
        uintptr_t *a = malloc(n * sizeof *a);
        for (size_t i = 0; i < n; i++) a[i] = (uintptr_t)sp.vec[i];
        bool disjoint = true;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++) {
                uintptr_t lo = a[i] < a[j] ? a[i] : a[j], hi = a[i] < a[j] ? a[j] : a[i];
                disjoint &= hi - lo >= VEC_BYTES;
            }
        EX_CHECK(disjoint);
        free(a);
    }
    offheap_pool_stats st;
    EX_CHECK(offheap_pool_stats_get(sp.pool, &st) == 0);
    EX_CHECK(st.allocated >= n * VEC_BYTES);
    EX_CHECK(st.slabs_in_use >= (n * VEC_BYTES + st.slab_size - 1) / st.slab_size);

    /* A stored vector finds itself first, with similarity 1. */
    for (size_t i = 0; i < n; i += 37) {
        dataset_vector(&d, i, 1.0f, v);
        hit top[3];
        EX_CHECK(store_search(&sp, v, 3, top) == 3);
        EX_CHECK(top[0].id == i && fabsf(top[0].score - 1.0f) < 1e-4f);
        EX_CHECK(top[0].score >= top[1].score && top[1].score >= top[2].score);
    }

    /* New members of a cluster find their cluster; the pool and malloc
     * stores agree exactly; both agree with a double-precision reference. */
    for (uint64_t q = 0; q < 10; q++) {
        uint64_t qid = 500000 + q * 7;
        dataset_vector(&d, qid, 1.0f, v);
        hit a[10], b[10], r[10];
        EX_CHECK(store_search(&sp, v, 10, a) == 10);
        EX_CHECK(store_search(&sm, v, 10, b) == 10);
        EX_CHECK(reference_topk(&d, n, 1.0f, v, 10, r) == 10);
        for (size_t i = 0; i < 10; i++) {
            EX_CHECK(a[i].id % CLUSTERS == qid % CLUSTERS);
            EX_CHECK(a[i].id == b[i].id && a[i].score == b[i].score);
            EX_CHECK(fabsf(a[i].score - r[i].score) < 1e-4f);
        }
        /* ids may swap only where scores tie within float error */
        EX_CHECK(a[0].id == r[0].id);
    }

    /* k larger than the store, zero query, zero vector. */
    {
        store tiny;
        EX_CHECK(store_init(&tiny, 4u << 20, false) == 0);
        dataset_vector(&d, 3, 1.0f, v);
        EX_CHECK(store_add(&tiny, v, 3) == 0);
        hit h[4];
        EX_CHECK(store_search(&tiny, v, 4, h) == 1 && h[0].id == 3);
        memset(v, 0, VEC_BYTES);
        EX_CHECK(store_search(&tiny, v, 4, h) == 0);
        EX_CHECK(store_add(&tiny, v, 4) == EINVAL && tiny.n == 1);
        store_destroy(&tiny);
    }

    /* Clearing is one reset: nothing allocated, and the pool refills. */
    store_clear(&sp);
    EX_CHECK(offheap_pool_stats_get(sp.pool, &st) == 0);
    EX_CHECK(st.allocated == 0 && st.slabs_in_use == 0 && st.resets == 1);
    for (size_t i = 0; i < 100; i++) {
        dataset_vector(&d, i, 1.0f, v);
        EX_CHECK(store_add(&sp, v, i) == 0);
    }
    hit top[1];
    dataset_vector(&d, 42, 1.0f, v);
    EX_CHECK(store_search(&sp, v, 1, top) == 1 && top[0].id == 42);

    /* The cap is a promise: a 4 MiB pool (two 2 MiB slabs) holds at most
     * 2 * 341 vectors, then ENOMEM, and the store stays consistent. */
    {
        store capped;
        EX_CHECK(store_init(&capped, 4u << 20, false) == 0);
        int rc = 0;
        size_t i = 0;
        while (i < 10000 && (rc = store_add(&capped, v, i)) == 0) i++;
        EX_CHECK(rc == ENOMEM);
        printf("4 MiB pool held %zu vectors (at most %zu fit)\n", capped.n, (size_t)2 * ((2u << 20) / VEC_BYTES));
        EX_CHECK(capped.n <= 2 * ((2u << 20) / VEC_BYTES));
        EX_CHECK(capped.n >= 2 * ((2u << 20) / VEC_BYTES) - 8);
        EX_CHECK(offheap_pool_stats_get(capped.pool, &st) == 0 && st.allocated <= st.reserved);
        EX_CHECK(store_search(&capped, v, 1, top) == 1);
        store_destroy(&capped);
    }

    store_destroy(&sp);
    store_destroy(&sm);
    free(v);
    free(d.centroid);
    printf("vector-storage: %d checks, %d failed\n", ex_checks, ex_failures);
    return ex_failures ? 1 : 0;
}

typedef struct bench_result {
    double insert_ns, search_ns, drop_ns; /* per vector, per query, per vector */
    double insert_faults;                 /* minor page faults per insert round */
    size_t kept, released;                /* pool: committed after reset, release() */
} bench_result;

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Insert n vectors, run 4 searches, drop the collection: one timed round. */
static void bench_round(store *s, size_t n, uint64_t round, const dataset *d, const float *data, float *q, double *ins,
                        double *srch, double *drop, double *flt)
{
    long f0 = minor_faults();
    uint64_t t0 = ex_now_ns();
    for (size_t i = 0; i < n; i++) must(store_add(s, data + (i % 1024) * DIM, i), "store_add");
    uint64_t t1 = ex_now_ns();
    long f1 = minor_faults();
    hit top[10];
    for (uint64_t j = 0; j < 4; j++) {
        dataset_vector(d, 777777 + round * 4 + j, 1.0f, q);
        store_search(s, q, 10, top);
    }
    uint64_t t2 = ex_now_ns();
    store_clear(s);
    uint64_t t3 = ex_now_ns();
    *ins = (double)(t1 - t0) / (double)n;
    *srch = (double)(t2 - t1) / 4.0;
    *drop = (double)(t3 - t2) / (double)n;
    *flt = (double)(f1 - f0);
}

/* Pool and aligned_alloc rounds alternate so noise from other processes
 * hits both; medians over rounds; round -1 warms up (faults pages in). */
static void bench_stores(bool huge, size_t n, int rounds, const dataset *d, const float *data, bench_result *p,
                         bench_result *m)
{
    size_t R = (size_t)rounds;
    double *v = malloc(sizeof(double) * R * 8);
    float *q = malloc(VEC_BYTES);
    store sp, sm;
    must(store_init(&sp, n * VEC_BYTES + (4u << 20), huge), "store_init");
    must(store_init(&sm, 0, false), "store_init");
    double tmp[4];
    for (int r = -1; r < rounds; r++) {
        double *o = r >= 0 ? v + (size_t)r * 8 : tmp, *o2 = r >= 0 ? o + 4 : tmp;
        bench_round(&sp, n, (uint64_t)(r + 1), d, data, q, &o[0], &o[1], &o[2], &o[3]);
        bench_round(&sm, n, (uint64_t)(r + 1), d, data, q, &o2[0], &o2[1], &o2[2], &o2[3]);
    }
    double *col = malloc(sizeof(double) * R);
    double res[8];
    for (size_t k = 0; k < 8; k++) {
        for (size_t r = 0; r < R; r++) col[r] = v[r * 8 + k];
        res[k] = ex_median(col, R);
    }
    p->insert_ns = res[0], p->search_ns = res[1], p->drop_ns = res[2], p->insert_faults = res[3];
    m->insert_ns = res[4], m->search_ns = res[5], m->drop_ns = res[6], m->insert_faults = res[7];
    /* What the Pool kept after the last reset, and what release gives back. */
    offheap_pool_stats st;
    offheap_pool_stats_get(sp.pool, &st);
    p->kept = st.committed;
    p->released = offheap_pool_release(sp.pool);
    store_destroy(&sp);
    store_destroy(&sm);
    free(col);
    free(v);
    free(q);
}

static int run_bench(size_t n, int rounds, bool huge)
{
    dataset d;
    dataset_init(&d, 3);
    float *data = malloc(1024 * VEC_BYTES); /* 1024 distinct inputs, reused */
    for (size_t i = 0; i < 1024; i++) dataset_vector(&d, i, 1.0f, data + i * DIM);
    printf("vector-storage bench: %zu vectors of %d floats (%zu MiB), median of %d rounds%s\n", n, DIM,
           n * VEC_BYTES >> 20, rounds, huge ? ", huge pages requested" : "");
    bench_result p = {0}, m = {0};
    bench_stores(huge, n, rounds, &d, data, &p, &m);
    printf("%-28s %12s %14s %10s\n", "", "pool", "aligned_alloc", "ratio");
    printf("%-28s %12.0f %14.0f %9.2fx\n", "insert ns/vector", p.insert_ns, m.insert_ns, m.insert_ns / p.insert_ns);
    printf("%-28s %12.0f %14.0f %9.2fx\n", "search top-10 ns/query", p.search_ns, m.search_ns,
           m.search_ns / p.search_ns);
    printf("%-28s %12.1f %14.1f\n", "drop all: us per collection", p.drop_ns * (double)n / 1e3,
           m.drop_ns * (double)n / 1e3);
    printf("%-28s %12.1f %14.1f\n", "search ns/vector scanned", p.search_ns / (double)n, m.search_ns / (double)n);
    printf("%-28s %12.0f %14.0f\n", "page faults per insert round", p.insert_faults, m.insert_faults);
    printf("pool after the last reset: %zu MiB committed (kept for reuse); "
           "offheap_pool_release() gave back %zu MiB\n",
           p.kept >> 20, p.released >> 20);
    free(data);
    free(d.centroid);
    return 0;
}

int main(int argc, char **argv)
{
    bool huge = false;
    int argn = 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--huge") == 0) huge = true;
        else argv[argn++] = argv[i];
    argc = argn;
    if (argc > 1 && strcmp(argv[1], "--test") == 0) return run_test();
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        long n = argc > 2 ? atol(argv[2]) : 8000;
        return run_bench(n > 0 ? (size_t)n : 8000, 7, huge);
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s [N | --test | --bench [N]] [--huge]\n", argv[0]);
        return 0;
    }
    long n = argc > 1 ? atol(argv[1]) : 2000;
    return run_demo(n > 0 ? (size_t)n : 2000, huge);
}
