/* SPDX-License-Identifier: MIT */
/*
 * fork_pool.c — fork while other threads use explicit pools (no preload).
 *
 * Worker threads loop: allocate from a shared pool (taking slabs, so the
 * supply lock is busy), create and destroy pools of their own (the pool
 * registry lock), release and read stats.  The main thread forks FORKS
 * times; each child allocates from the shared pool (the blocks the parent
 * made before the fork are intact), creates, uses and destroys a pool, and
 * exits 0.  The parent waits with a 20 s deadline: a timeout is a deadlock
 * (a lock held across fork).
 *
 *   fork_pool [FORKS]     default 40
 */
#include "check.h"
#include "offheap_pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static offheap_pool *shared;
static _Atomic bool stop;
static _Atomic unsigned long cycles;
static pthread_mutex_t reset_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reports name the process: the parent and its forked children. */
static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "fork_pool[%d]: ", (int)getpid());
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&reset_lock);
        for (int i = 0; i < 50; i++) {
            char *p = offheap_pool_alloc(shared, 1000 + id * 100);
            if (p) memset(p, (int)id, 16);
        }
        (void)offheap_pool_release(shared);
        pthread_mutex_unlock(&reset_lock);
        offheap_pool *mine;
        if (offheap_pool_create(&mine, &(offheap_pool_config){.pool_size = 4 << 20, .slab_size = 64 << 10}) == 0) {
            char *q = offheap_pool_alloc(mine, 100000);
            if (q) memset(q, 1, 100000);
            offheap_pool_stats st;
            offheap_pool_stats_get(mine, &st);
            offheap_pool_destroy(mine);
        }
        atomic_fetch_add(&cycles, 1);
    }
    return NULL;
}

static int child(const char *before, unsigned seed)
{
    for (int i = 0; i < 64; i++)
        if (before[i] != (char)(seed + (unsigned)i)) FAIL("child: the parent's block changed across fork");
    for (int i = 0; i < 100; i++) {
        char *p = offheap_pool_alloc(shared, 5000);
        if (!p && errno != ENOMEM) FAIL("child: shared pool alloc errno %d", errno);
        if (p) memset(p, 2, 5000);
    }
    offheap_pool *mine;
    if (offheap_pool_create(&mine, NULL) != 0) {
        FAIL("child: pool create");
    } else {
        char *q = offheap_pool_alloc(mine, 3 << 20);
        if (!q) FAIL("child: large alloc");
        else memset(q, 3, 3 << 20);
        offheap_pool_reset(mine);
        offheap_pool_destroy(mine);
    }
    offheap_arena *a;
    if (offheap_arena_create(&a, 1 << 20) == 0) {
        memset(offheap_arena_alloc(a, 1000), 4, 1000);
        offheap_arena_destroy(a);
    }
    _exit(check_failures() ? 1 : 0);
}

int main(int argc, char **argv)
{
    check_set_prefix(fail_prefix);
    int forks = argc > 1 ? atoi(argv[1]) : 40;
    REQUIRE(offheap_pool_create(&shared, &(offheap_pool_config){.pool_size = 64 << 20, .slab_size = 64 << 10}) == 0);
    pthread_t t[3];
    for (uintptr_t i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    int hung = 0;
    for (int f = 0; f < forks && !hung; f++) {
        pthread_mutex_lock(&reset_lock);
        char *before = offheap_pool_alloc(shared, 64);
        pthread_mutex_unlock(&reset_lock);
        if (!before) {
            /* Full: reset while no worker allocates. */
            pthread_mutex_lock(&reset_lock);
            offheap_pool_reset(shared);
            before = offheap_pool_alloc(shared, 64);
            pthread_mutex_unlock(&reset_lock);
        }
        for (int i = 0; i < 64; i++) before[i] = (char)((unsigned)f + (unsigned)i);
        pid_t pid = fork();
        if (pid < 0) {
            FAIL("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) child(before, (unsigned)f);
        int st = 0;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            if (waitpid(pid, &st, WNOHANG) == pid) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 20) {
                FAIL("child of fork %d still running after 20 s: deadlock", f);
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                hung = 1;
                break;
            }
            usleep(2000);
        }
        if (!hung && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
            FAIL("child of fork %d: %s %d", f, WIFEXITED(st) ? "exit" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    offheap_pool_destroy(shared);
    printf("fork_pool: %d forks while 3 threads ran %lu pool cycles: %d hung, %lu failures\n", forks,
           atomic_load(&cycles), hung, check_failures());
    return check_failures() ? 1 : 0;
}
