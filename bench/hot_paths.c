/* SPDX-License-Identifier: MIT */
/*
 * hot_paths.c — instructions per call of the preload's hot paths, for
 * bench/hot_paths.sh (valgrind --tool=callgrind; counts, not time, so the
 * figures are the same on a loaded machine).  Each path has a caller of its
 * own, so that the per-call cost of malloc, free, begin and end can be read
 * per caller from the callgrind output:
 *   in_scope   begin; 2000 x malloc(32); 2000 x free; end
 *   outside    2000 x malloc(32); 2000 x free (the process is armed)
 * Three rounds of each run first, before CALLGRIND_ZERO_STATS: the sites
 * are then known (README "Scope safety": the first scope of new code is
 * judged), which is the steady state a service runs in.
 */
#include <stdio.h>
#include <stdlib.h>

#if defined(BENCH_HAVE_CALLGRIND)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#endif

#include "offheap.h"

#define N 2000
#define ROUNDS 50

static void *volatile sink[N];

__attribute__((noinline)) static void in_scope(void)
{
    OFFHEAP_SCOPE_BEGIN();
    for (int i = 0; i < N; i++) sink[i] = malloc(32);
    for (int i = 0; i < N; i++) free(sink[i]);
    OFFHEAP_SCOPE_END();
}

__attribute__((noinline)) static void outside(void)
{
    for (int i = 0; i < N; i++) sink[i] = malloc(32);
    for (int i = 0; i < N; i++) free(sink[i]);
}

int main(void)
{
    for (int r = 0; r < 3; r++) {
        in_scope();
        outside();
    }
    CALLGRIND_ZERO_STATS;
    for (int r = 0; r < ROUNDS; r++) in_scope();
    for (int r = 0; r < ROUNDS; r++) outside();
    printf("hot_paths: %d rounds of %d allocations in and out of scopes\n", ROUNDS, N);
    return 0;
}
