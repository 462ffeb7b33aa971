/* SPDX-License-Identifier: MIT */
/*
 * idle_warm_slabs.c — the pool is exhausted only by live blocks.
 *
 * A thread keeps one warm slab after its outermost scope ends (docs/design.md:
 * "The thread keeps one warm slab").  With OFFHEAP_POOL_SIZE=4M (4 slabs of
 * 1M, set by meson.build), six long-lived threads each run one small scope
 * and then idle with no scope open, one after the other; then the main thread
 * asks for a 3 MiB block in a scope.  Nothing is live at any point, so every
 * scope allocation must succeed: warm slabs of idle threads must not make the
 * pool report ENOMEM (nor fragment it against a large block).
 */
#include "check.h"
#include "offheap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 6

static pthread_barrier_t done;
static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;

static void *idle_thread(void *arg)
{
    int id = (int)(long)arg;
    pthread_mutex_lock(&turn); /* one at a time: never two scopes at once */
    offheap_scope_begin();
    errno = 0;
    char *p = malloc(1000);
    int e = errno;
    if (p) memset(p, id, 1000);
    offheap_scope_end();
    offheap_stats st;
    offheap_stats_get(&st);
    printf("idle_warm_slabs: thread %d: scope malloc(1000) %s (errno %d); then idle, %llu of %llu slabs in use\n", id,
           p ? "ok" : "FAILED", p ? 0 : e, (unsigned long long)st.slabs_in_use, (unsigned long long)st.slabs_total);
    CHECKF(p != NULL, "thread %d: scope malloc(1000) failed with errno %d", id, e);
    pthread_mutex_unlock(&turn);
    pthread_barrier_wait(&done); /* idle, alive, no scope open */
    pthread_barrier_wait(&done); /* until main has tried its large block */
    return NULL;
}

int main(void)
{
    if (!OFFHEAP_LOADED()) return 77;
    pthread_barrier_init(&done, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, idle_thread, (void *)(i + 1));
    pthread_barrier_wait(&done);
    offheap_scope_begin();
    errno = 0;
    char *big = malloc(3 << 20);
    int e = errno;
    if (big) memset(big, 1, 3 << 20);
    offheap_scope_end();
    printf("idle_warm_slabs: main: scope malloc(3 MiB) with every other thread idle: %s (errno %d)\n",
           big ? "ok" : "FAILED", big ? 0 : e);
    CHECKF(big != NULL, "scope malloc(3 MiB) failed with errno %d", e);
    pthread_barrier_wait(&done);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    return check_failures() ? 1 : 0;
}
