/* SPDX-License-Identifier: MIT */
/*
 * threads_limit.c — 4200 threads in scopes at the same time (more than the
 * 4095 the README promises).  Each thread that opens a scope must
 * either get a real scope (its blocks are pool blocks, depth 1) or the
 * refusal must be reported on stderr and counted — never silently turn the
 * scope into heap allocations that nothing releases.
 */
#include "ph.h"

#include <pthread.h>
#include <stdatomic.h>

#define N 4200

static pthread_barrier_t bar;
static atomic_int scoped, unscoped;

static void *worker(void *arg)
{
    (void)arg;
    offheap_scope_begin();
    void *p = malloc(100);
    if (p && offheap_owns(p) && offheap_scope_depth() == 1) atomic_fetch_add(&scoped, 1);
    else atomic_fetch_add(&unscoped, 1);
    pthread_barrier_wait(&bar); /* all N hold their scope now */
    offheap_scope_end();
    return NULL;
}

static void run(void *arg)
{
    int *made = arg;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 << 10);
    static pthread_t t[N];
    REQUIRE(pthread_barrier_init(&bar, NULL, N) == 0);
    for (int i = 0; i < N; i++) {
        int e = pthread_create(&t[i], &at, worker, NULL);
        if (e == EAGAIN) {
            /* The machine's limits (ulimit -u, threads-max) are lower. */
            dprintf(1, "SKIP: only %d threads could be created\n", i);
            _exit(77);
        }
        REQUIRE(e == 0);
    }
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    *made = N;
}

int main(void)
{
    ph_require_preload();
    offheap_stats s0 = ph_stats();
    int made = 0;
    const char *err = ph_capture_stderr(run, &made);
    offheap_stats s1 = ph_stats();
    CHECK(made == N);
    CHECK(scoped + unscoped == N);
    if (unscoped) {
        CHECKF(strstr(err, "liboffheap") != NULL, "%d of %d threads got no scope, and nothing was said on stderr",
               (int)unscoped, N);
        CHECKF(s1.misuse + s1.exhausted > s0.misuse + s0.exhausted,
               "%d of %d threads got no scope, and it was not counted (misuse/exhausted)", (int)unscoped, N);
    }
    printf("%d threads scoped, %d refused\n", (int)scoped, (int)unscoped);
    return check_done("threads_limit");
}
