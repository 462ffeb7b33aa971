/* SPDX-License-Identifier: MIT */
/*
 * stress_fork.c — fork while other threads are inside scopes (and taking
 * slabs, and freeing on the heap), under the preload.
 *
 * Four worker threads loop: scope begin, allocate (small and large: slab
 * hand-over takes the pool lock), verify, end; two of them also malloc/free
 * on the heap.  The main thread forks FORKS times, half of them from inside
 * a scope of its own.  Each child:
 *   - finds the main thread's scope blocks intact and ends that scope;
 *   - allocates in new scopes, on the heap, tagged, and on a new thread;
 *   - exits 0 through exit() (atexit handlers and destructors run).
 * The parent waits for each child with a deadline (a deadlock in the child,
 * e.g. a lock held across fork by another thread, shows up as a timeout)
 * and checks its status.
 *
 *   stress_fork [FORKS]     default 60
 */
#include "check.h"
#include "offheap.h"

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

static _Atomic bool stop;
static _Atomic unsigned long worker_scopes;

/* Reports name the process: the parent and its forked children. */
static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "stress_fork[%d]: ", (int)getpid());
}

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)(seed + i * 13);
}

static bool check(const char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(seed + i * 13)) return false;
    return true;
}

static void scope_work(unsigned seed, int blocks, bool large)
{
    char *p[64];
    size_t n[64];
    offheap_scope_begin();
    for (int i = 0; i < blocks && i < 64; i++) {
        n[i] = large && i % 16 == 0 ? 300000 : 16 + (size_t)((seed + (unsigned)i) * 37 % 3000);
        p[i] = malloc(n[i]);
        if (!p[i] || !offheap_owns(p[i])) {
            FAIL("scope malloc");
            p[i] = NULL;
            continue;
        }
        fill(p[i], n[i], seed + (unsigned)i);
    }
    for (int i = 0; i < blocks && i < 64; i++)
        if (p[i] && !check(p[i], n[i], seed + (unsigned)i)) FAIL("scope block corrupted");
    offheap_scope_end();
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned seed = id << 20;
    while (!atomic_load(&stop)) {
        scope_work(seed++, 48, true);
        atomic_fetch_add(&worker_scopes, 1);
        if (id & 1) {
            char *h = malloc(1000 + seed % 5000);
            if (h) memset(h, 1, 1000);
            free(h);
        }
    }
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    scope_work(77, 40, true);
    return NULL;
}

static void child_exit_hook(void)
{
    /* atexit handler: allocation still works at exit. */
    char *p = malloc(100);
    free(p);
}

/* In the child: only this thread exists. */
static int child(char *mine, size_t n, unsigned seed, bool in_scope)
{
    if (in_scope) {
        if (offheap_scope_depth() != 1) FAIL("child: depth %d, expected the parent's scope", offheap_scope_depth());
        if (!check(mine, n, seed)) FAIL("child: the parent's scope block changed across fork");
        offheap_scope_end();
    }
    if (offheap_scope_depth() != 0) FAIL("child: depth %d", offheap_scope_depth());
    for (int i = 0; i < 20; i++) scope_work(1000 + (unsigned)i, 48, i % 4 == 0);
    char *h = malloc(100000);
    if (!h || offheap_owns(h)) FAIL("child: heap malloc");
    else fill(h, 100000, 5);
    if (offheap_thread_tag() != 0) FAIL("child: tag");
    char *t = malloc(5000);
    if (!t || !offheap_owns(t)) FAIL("child: tagged malloc");
    if (offheap_thread_untag() != 0) FAIL("child: untag");
    pthread_t th;
    if (pthread_create(&th, NULL, child_thread, NULL) != 0) FAIL("child: pthread_create");
    else pthread_join(th, NULL);
    if (h && !check(h, 100000, 5)) FAIL("child: heap block corrupted");
    free(h);
    atexit(child_exit_hook);
    exit(check_failures() ? 1 : 0);
}

/* Fork from a second, tagged thread (the child's only thread is then a
 * tagged one, with blocks of its tag): fork_from_thread() runs it. */
struct tfork {
    int f;
    pid_t pid;
};

static void *tagged_forker(void *arg)
{
    struct tfork *tf = arg;
    if (offheap_thread_tag() != 0) {
        FAIL("forker: tag");
        tf->pid = -1;
        return NULL;
    }
    size_t n = 5000;
    char *mine = malloc(n);
    if (!mine || !offheap_owns(mine)) FAIL("forker: tagged malloc");
    else fill(mine, n, (unsigned)tf->f);
    pid_t pid = fork();
    if (pid == 0) {
        /* Child: still tagged, the block intact; then the usual work. */
        if (offheap_scope_depth() != 1) FAIL("tagged child: depth %d", offheap_scope_depth());
        if (mine && !check(mine, n, (unsigned)tf->f)) FAIL("tagged child: tag block changed across fork");
        if (offheap_thread_untag() != 0) FAIL("tagged child: untag");
        child(NULL, 0, 0, false);
    }
    tf->pid = pid;
    if (mine && !check(mine, n, (unsigned)tf->f)) FAIL("forker: tag block changed across fork");
    if (offheap_thread_untag() != 0) FAIL("forker: untag");
    return NULL;
}

int main(int argc, char **argv)
{
    check_set_prefix(fail_prefix);
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "stress_fork: liboffheap.so not preloaded; skipping\n");
        return 77;
    }
    int forks = argc > 1 ? atoi(argv[1]) : 60;
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    int hung = 0, bad = 0;
    for (int f = 0; f < forks; f++) {
        bool in_scope = f & 1;
        char *mine = NULL;
        size_t n = 2000 + (size_t)f * 100;
        if (in_scope) {
            offheap_scope_begin();
            mine = malloc(n);
            if (!mine) {
                FAIL("parent scope malloc");
                offheap_scope_end();
                continue;
            }
            fill(mine, n, (unsigned)f);
        }
        pid_t pid;
        if (f % 4 == 2) { /* even: not in a scope */
            struct tfork tf = {f, -1};
            pthread_t ft;
            pthread_create(&ft, NULL, tagged_forker, &tf);
            pthread_join(ft, NULL);
            pid = tf.pid;
            if (pid < 0) continue;
        } else {
            pid = fork();
        }
        if (pid < 0) {
            FAIL("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) child(mine, n, (unsigned)f, in_scope);
        if (in_scope) {
            if (!check(mine, n, (unsigned)f)) FAIL("parent: own scope block changed across fork");
            offheap_scope_end();
        }
        /* Wait with a deadline: 20 s, polling. */
        int st = 0;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == pid) break;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 20) {
                FAIL("child %d (fork %d) still running after 20 s: deadlock", (int)pid, f);
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                hung++;
                break;
            }
            usleep(2000);
        }
        if (!hung && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
            FAIL("child of fork %d: %s %d", f, WIFEXITED(st) ? "exit" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            bad++;
        }
        if (hung) break;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("stress_fork: %d forks (half inside a scope, a quarter from a tagged thread) while 4 threads ran %lu "
           "scopes: %d hung, %d failed\n",
           forks, atomic_load(&worker_scopes), hung, bad);
    return check_failures() ? 1 : 0;
}
