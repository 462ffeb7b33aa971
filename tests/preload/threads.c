/* SPDX-License-Identifier: MIT */
/*
 * threads.c — scopes are per thread: concurrent scopes with content checks,
 * one thread's end never touches another thread's blocks (also when it
 * frees or reallocates them), a thread started inside a scope is not in
 * it, and thread exit inside a scope (or tagged) hands every slab back
 * (offheap_stats slabs_in_use returns to where it was).
 */
#include "ph.h"

#include <malloc.h>
#include <pthread.h>

#define MiB ((size_t)1 << 20)
#define NT 4

/* ---- many threads, each its own scopes ---- */
static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (int round = 0; round < 150; round++) {
        offheap_scope_begin();
        enum { K = 40 };
        unsigned char *b[K];
        size_t n[K];
        for (int i = 0; i < K; i++) {
            n[i] = 16 + (size_t)((id * 7919u + (unsigned)round * 104729u + (unsigned)i * 13u) % 6000u);
            if (i == 7 && round % 10 == 0) n[i] = 600000; /* a large run now and then */
            b[i] = malloc(n[i]);
            CHECK(b[i] && offheap_owns(b[i]));
            ph_fill(b[i], n[i], id * 1000u + (unsigned)i);
        }
        offheap_scope_begin();
        for (int i = 0; i < 20; i++) memset(calloc(1, 3000), (int)id, 3000);
        offheap_scope_end();
        for (int i = 0; i < K; i++) CHECK(ph_intact(b[i], n[i], id * 1000u + (unsigned)i));
        offheap_scope_end();
        sched_yield();
    }
    return NULL;
}

/* ---- isolation between two threads ---- */
static pthread_barrier_t bar;
static unsigned char *a_blocks[50];
static size_t a_sizes[50];
static unsigned char *b_moved;

static void *holder(void *arg)
{
    (void)arg;
    offheap_scope_begin();
    for (int i = 0; i < 50; i++) {
        a_sizes[i] = i == 25 ? 3 * MiB : 100 + (size_t)i * 517u;
        a_blocks[i] = malloc(a_sizes[i]);
        CHECK(a_blocks[i] && offheap_owns(a_blocks[i]));
        ph_fill(a_blocks[i], a_sizes[i], 500u + (unsigned)i);
    }
    pthread_barrier_wait(&bar); /* the other thread churns now */
    pthread_barrier_wait(&bar);
    for (int i = 0; i < 50; i++) CHECK(ph_intact(a_blocks[i], a_sizes[i], 500u + (unsigned)i));
    memset(a_blocks, 0, sizeof a_blocks); /* no global points into the ending scope (check mode scans) */
    offheap_scope_end();
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&bar);
    /* free and realloc of the holder's live blocks from here. */
    for (int i = 0; i < 50; i += 2) free(a_blocks[i]);
    b_moved = realloc(a_blocks[1], 2 * a_sizes[1]);
    CHECK(b_moved && !offheap_owns(b_moved));
    CHECK(ph_intact(b_moved, a_sizes[1], 501));
    for (int r = 0; r < 40; r++) {
        offheap_scope_begin();
        for (int i = 0; i < 30; i++) {
            void *p = malloc(30000);
            CHECK(p && offheap_owns(p));
            memset(p, 0xff, 30000);
        }
        void *big = malloc(2 * MiB);
        CHECK(big != NULL);
        memset(big, 0xfe, 2 * MiB);
        offheap_scope_end();
    }
    pthread_barrier_wait(&bar);
    return NULL;
}

/* ---- a thread started from inside a scope ---- */
static void *outside(void *arg)
{
    void **out = arg;
    CHECK(offheap_scope_depth() == 0);
    void *p = malloc(100);
    CHECK(p && !offheap_owns(p));
    *out = p;
    return NULL;
}

/* ---- thread exit inside scopes ---- */
static void *exit_in_scope(void *arg)
{
    int how = (int)(uintptr_t)arg;
    if (how == 2) {
        CHECK(offheap_thread_tag() == 0);
    } else {
        offheap_scope_begin();
    }
    for (int i = 0; i < 60; i++) memset(malloc(100000), 1, 100000); /* several slabs */
    void *big = malloc(5 * MiB);
    CHECK(big && offheap_owns(big));
    offheap_scope_begin();
    memset(malloc(3 * MiB), 2, 3 * MiB);
    if (how == 1) pthread_exit(NULL);
    return NULL; /* scopes left open */
}

/* ---- cancellation inside a scope ---- */
static void *cancel_me(void *arg)
{
    pthread_barrier_t *b = arg;
    offheap_scope_begin();
    for (int i = 0; i < 40; i++) memset(malloc(100000), 1, 100000);
    memset(malloc(3 * MiB), 2, 3 * MiB);
    pthread_barrier_wait(b);
    for (;;) pause(); /* a cancellation point */
    return NULL;
}

int main(void)
{
    ph_require_preload();
    /* Check mode quarantines released slabs: they stay in use. */
    const char *chk = getenv("OFFHEAP_CHECK");
    int check_mode = chk && strcmp(chk, "0") != 0;
    offheap_stats s0 = ph_stats();

    pthread_t t[NT];
    for (unsigned i = 0; i < NT; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    for (unsigned i = 0; i < NT; i++) pthread_join(t[i], NULL);

    pthread_barrier_init(&bar, NULL, 2);
    pthread_t h, c;
    REQUIRE(pthread_create(&h, NULL, holder, NULL) == 0);
    REQUIRE(pthread_create(&c, NULL, churner, NULL) == 0);
    pthread_join(h, NULL);
    pthread_join(c, NULL);
    CHECK(b_moved && ph_intact(b_moved, a_sizes[1], 501)); /* the moved copy outlives the holder's scope */
    free(b_moved);

    offheap_scope_begin();
    void *from_thread = NULL;
    pthread_t o;
    REQUIRE(pthread_create(&o, NULL, outside, &from_thread) == 0);
    pthread_join(o, NULL);
    offheap_scope_end();
    CHECK(from_thread && !offheap_owns(from_thread));
    free(from_thread);

    offheap_stats s1 = ph_stats();
    CHECKF(check_mode || s1.slabs_in_use <= s0.slabs_in_use + 1,
           "slabs in use %llu at start, %llu after all threads joined", (unsigned long long)s0.slabs_in_use,
           (unsigned long long)s1.slabs_in_use);
    for (int how = 0; how < 3; how++) {
        offheap_stats before = ph_stats();
        pthread_t e;
        REQUIRE(pthread_create(&e, NULL, exit_in_scope, (void *)(uintptr_t)how) == 0);
        pthread_join(e, NULL);
        offheap_stats after = ph_stats();
        CHECKF(check_mode || after.slabs_in_use == before.slabs_in_use,
               "%s: slabs in use %llu before the thread, %llu after it exited",
               how == 0   ? "return inside a scope"
               : how == 1 ? "pthread_exit inside a scope"
                          : "tagged thread exit",
               (unsigned long long)before.slabs_in_use, (unsigned long long)after.slabs_in_use);
        CHECK(after.threads >= before.threads + 1);
    }
    {
        offheap_stats before = ph_stats();
        pthread_barrier_t b;
        pthread_barrier_init(&b, NULL, 2);
        pthread_t c;
        REQUIRE(pthread_create(&c, NULL, cancel_me, &b) == 0);
        pthread_barrier_wait(&b);
        CHECK(pthread_cancel(c) == 0);
        void *ret = NULL;
        pthread_join(c, &ret);
        CHECK(ret == PTHREAD_CANCELED);
        offheap_stats after = ph_stats();
        CHECKF(check_mode || after.slabs_in_use == before.slabs_in_use,
               "cancelled in a scope: slabs in use %llu before the thread, %llu after",
               (unsigned long long)before.slabs_in_use, (unsigned long long)after.slabs_in_use);
    }
    offheap_stats s2 = ph_stats();
    CHECK(s2.threads >= s0.threads + NT + 6);
    CHECK(s2.scopes >= s0.scopes + NT * 300);
    /* The pool still serves after all that. */
    offheap_scope_begin();
    void *p = malloc(4 * MiB);
    CHECK(p && offheap_owns(p));
    offheap_scope_end();
    return check_done("threads");
}
