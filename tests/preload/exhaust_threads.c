/* SPDX-License-Identifier: MIT */
/*
 * exhaust_threads.c — OFFHEAP_POOL_SIZE=8M, OFFHEAP_ON_EXHAUST=enomem, four
 * threads filling the pool at once, over and over: each gets NULL/ENOMEM
 * when it is full, never a block another thread holds (content checks),
 * and after every thread ended its scopes and exited all slabs are back.
 */
#include "ph.h"

#include <pthread.h>

static pthread_barrier_t bar;

static void *filler(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int round = 0; round < 15; round++) {
        pthread_barrier_wait(&bar);
        offheap_scope_begin();
        static __thread unsigned char *b[200];
        int n = 0;
        for (; n < 200; n++) {
            errno = 0;
            b[n] = malloc(40000 + (n % 3) * 100000);
            if (!b[n]) {
                if (errno != ENOMEM) FAIL("thread %u: NULL without ENOMEM (%d)", id, errno);
                break;
            }
            ph_fill(b[n], 40000, id * 1000 + (unsigned)n);
        }
        if (n == 200) FAIL("thread %u: 200 blocks from an 8M pool", id);
        pthread_barrier_wait(&bar); /* everyone is full now */
        for (int i = 0; i < n; i++)
            if (!ph_intact(b[i], 40000, id * 1000 + (unsigned)i)) {
                FAIL("thread %u round %d: block %d overwritten", id, round, i);
                break;
            }
        offheap_scope_end();
    }
    return NULL;
}

int main(void)
{
    ph_require_preload();
    const char *p = getenv("OFFHEAP_POOL_SIZE");
    REQUIRE(p && !strcmp(p, "8M"));
    offheap_stats s0 = ph_stats();
    pthread_barrier_init(&bar, NULL, 4);
    pthread_t t[4];
    for (unsigned i = 0; i < 4; i++) REQUIRE(pthread_create(&t[i], NULL, filler, (void *)(uintptr_t)i) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    offheap_stats s1 = ph_stats();
    CHECK(s1.exhausted >= s0.exhausted + 4 * 15);
    CHECKF(s1.slabs_in_use == 0, "%llu slabs in use after every thread exited", (unsigned long long)s1.slabs_in_use);
    CHECK(s1.pool_peak <= 8u << 20);
    /* The whole pool is available again. */
    offheap_scope_begin();
    void *big = malloc(6u << 20);
    CHECK(big && offheap_owns(big));
    offheap_scope_end();
    return check_done("exhaust_threads");
}
