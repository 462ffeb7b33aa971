/* SPDX-License-Identifier: MIT */
/*
 * micro_scope.c — cost of a scope, through the preload (micro
 * benchmarks).  Links nothing of liboffheap: it calls offheap_scope_begin()
 * and offheap_scope_end() through the weak markers of offheap.h, so it runs
 * under any allocator and measures scopes only with LD_PRELOAD=liboffheap.so.
 *
 *   scope_empty    begin + end, nothing allocated (goal: <= 50 ns)
 *   scope_named    offheap_scope_begin_named("bench") + end, nothing allocated
 *                  (a named scope's extra cost: hashing the name, the name's
 *                  counters at the end)
 *   scope_1x64     begin + malloc(64) + end
 *   scope_16x64    begin + 16 x malloc(64) + end
 *   scope_200mix   begin + 200 mallocs of 16-1024 B + end
 *   scope_free16   begin + 16 x (malloc(64), free) + end (in-scope frees)
 * and, under every allocator (outside any scope, so under liboffheap this is
 * its fallback path):
 *   mf_1x64        malloc(64) + free
 *   mf_16x64       16 x malloc(64), then 16 x free
 *   mf_200mix      the 200 mixed mallocs, then their frees
 * Reported: median over --reps of ns per iteration (one scope, or one
 * malloc/free group) and ns per allocation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "offheap.h"

#define MIX 200

static uint32_t mix[MIX];
static void *ptrs[MIX];

static inline void scope_begin(void)
{
    OFFHEAP_SCOPE_BEGIN();
}
static inline void scope_end(void)
{
    OFFHEAP_SCOPE_END();
}

static BENCH_NOINLINE void it_scope_empty(void)
{
    scope_begin();
    scope_end();
}

static BENCH_NOINLINE void it_scope_named(void)
{
    OFFHEAP_SCOPE_BEGIN_NAMED("bench");
    scope_end();
}

static BENCH_NOINLINE void it_scope_n(int n, int mixed)
{
    scope_begin();
    for (int i = 0; i < n; i++) {
        char *p = malloc(mixed ? mix[i] : 64);
        if (!p) abort();
        ptrs[i] = p;
    }
    bench_clobber();
    scope_end();
}

static BENCH_NOINLINE void it_scope_free16(void)
{
    scope_begin();
    for (int i = 0; i < 16; i++) {
        void *p = malloc(64);
        if (!p) abort();
        bench_keep(p);
        free(p);
    }
    scope_end();
}

static BENCH_NOINLINE void it_mf(int n, int mixed)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(mixed ? mix[i] : 64);
        if (!p) abort();
        ptrs[i] = p;
    }
    bench_clobber();
    for (int i = 0; i < n; i++) free(ptrs[i]);
}

enum which { S_EMPTY, S_NAMED, S_1, S_16, S_200, S_FREE16, MF_1, MF_16, MF_200, NCASES };
static const char *names[NCASES] = {"scope_empty",  "scope_named", "scope_1x64", "scope_16x64", "scope_200mix",
                                    "scope_free16", "mf_1x64",     "mf_16x64",   "mf_200mix"};
static const int allocs[NCASES] = {0, 0, 1, 16, MIX, 16, 1, 16, MIX};

static void one(enum which w)
{
    switch (w) {
    case S_EMPTY: it_scope_empty(); break;
    case S_NAMED: it_scope_named(); break;
    case S_1: it_scope_n(1, 0); break;
    case S_16: it_scope_n(16, 0); break;
    case S_200: it_scope_n(MIX, 1); break;
    case S_FREE16: it_scope_free16(); break;
    case MF_1: it_mf(1, 0); break;
    case MF_16: it_mf(16, 0); break;
    case MF_200: it_mf(MIX, 1); break;
    default: break;
    }
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_common(argc, argv, &o, 15);
    int cg = bench_under_valgrind();
    long iters_base = o.quick ? 20000 : 200000;
    if (cg) o.reps = 1;
    if (o.reps > 64) o.reps = 64;
    uint64_t s = 5;
    for (int i = 0; i < MIX; i++) mix[i] = 16 + (uint32_t)(bench_rand(&s) % 1009);

    int loaded = OFFHEAP_LOADED();
    printf("micro_scope: median of %d reps under %s (%s)\n", o.reps, bench_alloc_name(),
           loaded ? "scopes active" : "no liboffheap: scope rows skipped");
    double v[NCASES][64];
    long iters[NCASES];
    for (int w = 0; w < NCASES; w++) {
        iters[w] = allocs[w] >= MIX ? iters_base / 20 : iters_base;
        if (cg) iters[w] = 1000;
        for (int k = 0; k < 100; k++) one((enum which)w); /* warm */
    }
    for (int r = 0; r < o.reps; r++) {
        for (int w = 0; w < NCASES; w++) {
            if (w < MF_1 && !loaded) continue;
            if (cg) bench_cg_begin();
            uint64_t t0 = bench_now_ns();
            for (long i = 0; i < iters[w]; i++) one((enum which)w);
            uint64_t t1 = bench_now_ns();
            if (cg) bench_cg_end("micro_scope", names[w], iters[w]);
            v[w][r] = (double)(t1 - t0) / iters[w];
        }
    }
    for (int w = 0; w < NCASES; w++) {
        if (w < MF_1 && !loaded) continue;
        double med = bench_median(v[w], o.reps);
        printf("  %-14s %10.2f ns/iter", names[w], med);
        if (allocs[w]) printf("  %8.2f ns/alloc", med / allocs[w]);
        printf("\n");
        bench_result("micro_scope", names[w], "ns_per_iter", med);
        if (allocs[w]) bench_result("micro_scope", names[w], "ns_per_alloc", med / allocs[w]);
    }
    return 0;
}
