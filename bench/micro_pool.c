/* SPDX-License-Identifier: MIT */
/*
 * micro_pool.c — per-operation cost of the explicit Pool and Arena beside
 * malloc/free of the same sizes (micro benchmarks).
 *
 * Cases (each a batch of allocations, timed, then released untimed unless
 * the release is what is measured):
 *   hot64     8192 x 64 B from a preallocated pool: the hot path, inlined
 *             from offheap_pool.h (what a program compiled with gcc/clang
 *             gets)
 *   hot64call the same through a pointer to the exported
 *             offheap_pool_alloc (what dlsym users, -O0 builds, other
 *             compilers and OFFHEAP_NO_INLINE get)
 *   grow      512 x 40000 B with 64 KiB slabs: every allocation takes a new
 *             slab (the grow path, pages already committed after rep 1)
 *   large1m   32 x 1 MiB (one byte written in each)
 *   varied    8192 blocks of 16-4096 B (log-uniform, fixed sequence)
 *   arena64   8192 x 64 B from an Arena;  arenavar: the varied sizes
 *   resetN    offheap_pool_reset() with N = 4/16/64/256 slabs of 64 KiB in
 *             use, beside free() of the same number of 4 KiB blocks
 * malloc/free is whatever allocator the process runs under (LD_PRELOAD);
 * the pool figures do not depend on it.  Reported: median ns per operation
 * over --reps repetitions, pool and malloc repetitions interleaved.
 * Under callgrind every case runs once and dumps its counters.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "offheap_pool.h"

#define MAXB 8192
#define KIB 1024u
#define MIB (1024u * 1024u)

static void *ptrs[MAXB];
static size_t varied[MAXB];
static int cg; /* running under callgrind */

static void die(const char *what, int err)
{
    fprintf(stderr, "micro_pool: %s: %s\n", what, strerror(err));
    exit(1);
}

static offheap_pool *make_pool(size_t pool_size, size_t slab_size, unsigned prealloc_slabs)
{
    offheap_pool_config cfg = {0};
    offheap_pool *p = NULL;
    cfg.pool_size = pool_size;
    cfg.slab_size = slab_size;
    cfg.slab_count = prealloc_slabs;
    cfg.prealloc = prealloc_slabs != 0;
    int rc = offheap_pool_create(&p, &cfg);
    if (rc) die("offheap_pool_create", rc);
    return p;
}

/* ---- one repetition of each variant: returns ns per operation ---------- */

static BENCH_NOINLINE double rep_pool(const char *name, offheap_pool *pool, int n, const size_t *sz, size_t fixed,
                                      int touch)
{
    if (cg) bench_cg_begin();
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        char *p = offheap_pool_alloc(pool, sz ? sz[i] : fixed);
        if (!p) die("offheap_pool_alloc", errno);
        if (touch) p[0] = 1;
        ptrs[i] = p;
    }
    uint64_t t1 = bench_now_ns();
    if (cg) bench_cg_end("micro_pool", name, n);
    bench_clobber();
    offheap_pool_reset(pool);
    return (double)(t1 - t0) / n;
}

/* As rep_pool with fixed-size blocks, through the exported function: the
 * pointer is read once per repetition, so the loop calls, never inlines. */
static void *(*volatile exported_alloc)(offheap_pool *, size_t) = offheap_pool_alloc;

static BENCH_NOINLINE double rep_pool_call(const char *name, offheap_pool *pool, int n, size_t fixed)
{
    void *(*alloc)(offheap_pool *, size_t) = exported_alloc;
    if (cg) bench_cg_begin();
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        char *p = alloc(pool, fixed);
        if (!p) die("offheap_pool_alloc", errno);
        ptrs[i] = p;
    }
    uint64_t t1 = bench_now_ns();
    if (cg) bench_cg_end("micro_pool", name, n);
    bench_clobber();
    offheap_pool_reset(pool);
    return (double)(t1 - t0) / n;
}

static BENCH_NOINLINE double rep_arena(const char *name, offheap_arena *a, int n, const size_t *sz, size_t fixed)
{
    if (cg) bench_cg_begin();
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        void *p = offheap_arena_alloc(a, sz ? sz[i] : fixed);
        if (!p) die("offheap_arena_alloc", errno);
        ptrs[i] = p;
    }
    uint64_t t1 = bench_now_ns();
    if (cg) bench_cg_end("micro_pool", name, n);
    bench_clobber();
    offheap_arena_reset(a);
    return (double)(t1 - t0) / n;
}

/* malloc then free of the same sizes; *free_ns gets the free side. */
static BENCH_NOINLINE double rep_malloc(const char *name, int n, const size_t *sz, size_t fixed, int touch,
                                        double *free_ns)
{
    char cgname[64];
    snprintf(cgname, sizeof cgname, "%s-malloc", name);
    if (cg) bench_cg_begin();
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < n; i++) {
        char *p = malloc(sz ? sz[i] : fixed);
        if (!p) die("malloc", errno);
        if (touch) p[0] = 1;
        ptrs[i] = p;
    }
    uint64_t t1 = bench_now_ns();
    if (cg) bench_cg_end("micro_pool", cgname, n);
    bench_clobber();
    snprintf(cgname, sizeof cgname, "%s-free", name);
    if (cg) bench_cg_begin();
    uint64_t t2 = bench_now_ns();
    for (int i = 0; i < n; i++) free(ptrs[i]);
    uint64_t t3 = bench_now_ns();
    if (cg) bench_cg_end("micro_pool", cgname, n);
    *free_ns = (double)(t3 - t2) / n;
    return (double)(t1 - t0) / n;
}

/* ---- table ------------------------------------------------------------- */

static void row(const char *name, const char *what, double ns, const char *note)
{
    printf("  %-10s %-22s %10.2f ns/op   %s\n", name, what, ns, note);
    char metric[64];
    snprintf(metric, sizeof metric, "%s_ns", what);
    bench_result("micro_pool", name, metric, ns);
}

/* Run `reps` interleaved repetitions of a pool-or-arena case and the malloc
 * case of the same sizes and print the medians. */
static void run_case(const char *name, int reps, int n, const size_t *sz, size_t fixed, int touch, offheap_pool *pool,
                     offheap_arena *arena)
{
    double a[64], m[64], f[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        a[r] = pool ? rep_pool(name, pool, n, sz, fixed, touch) : rep_arena(name, arena, n, sz, fixed);
        m[r] = rep_malloc(name, n, sz, fixed, touch, &f[r]);
    }
    row(name, pool ? "pool_alloc" : "arena_alloc", bench_median(a, reps), "");
    row(name, "malloc", bench_median(m, reps), bench_alloc_name());
    row(name, "free", bench_median(f, reps), bench_alloc_name());
}

static void run_reset(int reps, unsigned slabs)
{
    char name[32];
    double rs[64], fr[64];
    offheap_pool *pool = make_pool(64 * MIB, 64 * KIB, 0);
    offheap_pool_stats st;
    int n = 0;
    if (reps > 64) reps = 64;
    snprintf(name, sizeof name, "reset%u", slabs);
    for (int r = 0; r < reps; r++) {
        /* fill `slabs` slabs with 4 KiB blocks (untimed) */
        n = 0;
        do {
            if (!offheap_pool_alloc(pool, 4 * KIB)) die("offheap_pool_alloc", errno);
            n++;
            offheap_pool_stats_get(pool, &st);
        } while (st.slabs_in_use < slabs && n < 100000);
        if (cg) bench_cg_begin();
        uint64_t t0 = bench_now_ns();
        offheap_pool_reset(pool);
        uint64_t t1 = bench_now_ns();
        if (cg) bench_cg_end("micro_pool", name, 1);
        rs[r] = (double)(t1 - t0);
        /* the peer: free() of as many 4 KiB blocks */
        int k = n < MAXB ? n : MAXB;
        for (int i = 0; i < k; i++)
            if (!(ptrs[i] = malloc(4 * KIB))) die("malloc", errno);
        char fname[40];
        snprintf(fname, sizeof fname, "%s-free", name);
        if (cg) bench_cg_begin();
        uint64_t t2 = bench_now_ns();
        for (int i = 0; i < k; i++) free(ptrs[i]);
        uint64_t t3 = bench_now_ns();
        if (cg) bench_cg_end("micro_pool", fname, 1);
        fr[r] = (double)(t3 - t2);
    }
    double med = bench_median(rs, reps);
    char note[96];
    snprintf(note, sizeof note, "per reset; %.2f ns per slab", med / slabs);
    printf("  %-10s %-22s %10.2f ns      %s\n", name, "pool_reset", med, note);
    bench_result("micro_pool", name, "pool_reset_ns", med);
    snprintf(note, sizeof note, "%d x free(4 KiB) under %s", n, bench_alloc_name());
    double fmed = bench_median(fr, reps);
    printf("  %-10s %-22s %10.2f ns      %s\n", name, "free_same_blocks", fmed, note);
    bench_result("micro_pool", name, "free_same_blocks_ns", fmed);
    offheap_pool_destroy(pool);
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_common(argc, argv, &o, 15);
    cg = bench_under_valgrind();
    if (cg) o.reps = 2; /* rep 1 warms (first touch), rep 2 is the steady state */

    uint64_t s = 11;
    for (int i = 0; i < MAXB; i++) {
        /* log-uniform 16..4096: exponent 4..12, then a uniform mantissa */
        uint64_t r = bench_rand(&s);
        unsigned e = 4 + (unsigned)(r % 8);
        size_t lo = (size_t)1 << e;
        varied[i] = lo + (size_t)((r >> 16) % lo);
        if (varied[i] > 4096) varied[i] = 4096;
    }

    printf("micro_pool: median of %d reps, malloc/free under %s\n", o.reps, bench_alloc_name());

    offheap_pool *hot = make_pool(64 * MIB, 1 * MIB, 16);
    run_case("hot64", o.reps, MAXB, NULL, 64, 0, hot, NULL);
    {
        double a[64];
        int reps = o.reps > 64 ? 64 : o.reps;
        for (int r = 0; r < reps; r++) a[r] = rep_pool_call("hot64call", hot, MAXB, 64);
        row("hot64call", "pool_alloc", bench_median(a, reps), "exported function, not inlined");
    }
    offheap_pool_destroy(hot);

    offheap_pool *grow = make_pool(64 * MIB, 64 * KIB, 0);
    run_case("grow", o.reps, 512, NULL, 40000, 0, grow, NULL);
    offheap_pool_destroy(grow);

    offheap_pool *large = make_pool(256 * MIB, 1 * MIB, 0);
    run_case("large1m", o.reps, 32, NULL, 1 * MIB, 1, large, NULL);
    offheap_pool_destroy(large);

    offheap_pool *var = make_pool(256 * MIB, 1 * MIB, 16);
    run_case("varied", o.reps, MAXB, varied, 0, 0, var, NULL);
    offheap_pool_destroy(var);

    offheap_arena *ar = NULL;
    int rc = offheap_arena_create(&ar, 64 * MIB);
    if (rc) die("offheap_arena_create", rc);
    run_case("arena64", o.reps, MAXB, NULL, 64, 0, NULL, ar);
    run_case("arenavar", o.reps, MAXB, varied, 0, 0, NULL, ar);
    offheap_arena_destroy(ar);

    static const unsigned counts[] = {4, 16, 64, 256};
    for (unsigned i = 0; i < sizeof counts / sizeof counts[0]; i++) run_reset(o.reps, counts[i]);
    return 0;
}
