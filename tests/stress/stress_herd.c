/* SPDX-License-Identifier: MIT */
/*
 * stress_herd.c — herds of threads on probation at once (docs/design.md,
 * "Scope safety", Threads): every round, 12 threads enter a scope together
 * and allocate from a call site none of them used before, so all 12 are on
 * probation at the same time; more than 8 makes the rescues defer, their
 * runs wait as pending, and the last thread judges and releases them all
 * while the others already go on.  Each thread fills its blocks with its
 * own pattern, yields, and checks them before its scope ends: two threads
 * handed the same slab (a pending run released twice, or released while
 * its thread still walked its chain) show as a foreign pattern, and the
 * assertions build stops on the slab maps.  64 rounds, 64 call sites.
 * Nothing outlives a scope, so nothing may be kept.
 *
 * With "keep", each thread also keeps one block a round past its scope,
 * through an array on the heap: the rescues pin runs while others wait as
 * pending, and every kept block must read back intact at the end.  (A
 * call site routed by one thread's judgment may hand slower threads heap
 * blocks in the same round.)
 *
 *   stress_herd [ROUNDS [keep]]   default 64 rounds (at most 64)
 */
#include "check.h"
#include "offheap.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 12
#define SITES 64
#define BLOCKS 24
#define BLOCK 3000

typedef unsigned char *(*site_fn)(size_t);

/* 64 distinct call sites of malloc: one function each. */
#define SITE(i)                                                                                                        \
    __attribute__((noinline)) static unsigned char *site_##i(size_t n)                                              \
    {                                                                                                                  \
        unsigned char *p = malloc(n);                                                                                  \
        __asm__ volatile("" ::: "memory");                                                                             \
        return p;                                                                                                      \
    }
#define SITES8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
SITES8(0) SITES8(1) SITES8(2) SITES8(3) SITES8(4) SITES8(5) SITES8(6) SITES8(7)
#define REF8(a) site_##a##0, site_##a##1, site_##a##2, site_##a##3, site_##a##4, site_##a##5, site_##a##6, site_##a##7
static const site_fn sites[SITES] = {REF8(0), REF8(1), REF8(2), REF8(3), REF8(4), REF8(5), REF8(6), REF8(7)};

static pthread_barrier_t bar;
static int rounds = SITES;
static int keep;

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned char *b[BLOCKS];
    unsigned char **kept = malloc(sizeof *kept * SITES); /* outside any scope: a heap root */
    REQUIRE(kept != NULL);
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(&bar);
        offheap_scope_begin();
        for (int i = 0; i < BLOCKS; i++) {
            b[i] = sites[r](BLOCK);
            CHECK(b[i] != NULL && (keep || OFFHEAP_OWNS(b[i])));
            memset(b[i], (int)(id * 16 + (unsigned)i % 16), BLOCK);
        }
        sched_yield();
        for (int i = 0; i < BLOCKS; i++) {
            unsigned char want = (unsigned char)(id * 16 + (unsigned)i % 16);
            int ok = 1;
            for (int k = 0; k < BLOCK; k += 97) ok &= b[i][k] == want;
            CHECKF(ok && b[i][BLOCK - 1] == want, "round %d thread %u block %d holds another thread's pattern", r, id,
                   i);
        }
        if (keep) kept[r] = b[r % BLOCKS];
        offheap_scope_end();
    }
    for (int r = 0; keep && r < rounds; r++) {
        unsigned char want = (unsigned char)(id * 16 + (unsigned)(r % BLOCKS) % 16);
        int ok = 1;
        for (int k = 0; k < BLOCK; k += 97) ok &= kept[r][k] == want;
        CHECKF(ok, "thread %u: the block kept in round %d did not survive", id, r);
    }
    free(kept);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) rounds = atoi(argv[1]);
    if (rounds < 1 || rounds > SITES) rounds = SITES;
    keep = argc > 2 && strcmp(argv[2], "keep") == 0;
    offheap_stats s0;
    REQUIRE(offheap_stats_get(&s0) == 0);
    REQUIRE(pthread_barrier_init(&bar, NULL, THREADS) == 0);
    pthread_t t[THREADS];
    for (unsigned i = 0; i < THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0);
    for (unsigned i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    offheap_stats s1;
    REQUIRE(offheap_stats_get(&s1) == 0);
    CHECKF(s1.rescues > s0.rescues, "the rounds were judged (rescues %llu)", (unsigned long long)s1.rescues);
    if (keep)
        CHECKF(s1.pinned_runs > s0.pinned_runs, "blocks outlived their scopes, and no run was kept");
    else
        CHECKF(s1.pinned_runs == s0.pinned_runs, "nothing outlived its scope, yet %llu runs were kept",
               (unsigned long long)(s1.pinned_runs - s0.pinned_runs));
    CHECKF(s1.misuse == s0.misuse, "no misuse");
    return check_done("stress_herd");
}
