/* SPDX-License-Identifier: MIT */
/*
 * fork.c — fork inside a scope, while other threads allocate in their own
 * scopes (and may hold the pool's lock): the child sees the scope's blocks,
 * can allocate in the scope, use, end it and open new ones; the parent is
 * unaffected; nobody deadlocks (a child that does not exit within 10 s
 * fails the test).
 */
#include "ph.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#define MiB ((size_t)1 << 20)

static atomic_int stop;

static void *churn(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&stop)) {
        offheap_scope_begin();
        for (int i = 0; i < 20; i++) {
            size_t n = i == 5 ? 2 * MiB : 5000;
            unsigned char *p = malloc(n);
            if (!p || !offheap_owns(p)) {
                FAIL("helper %u: malloc in scope", id);
                break;
            }
            memset(p, (int)id, n);
        }
        void *h = NULL;
        offheap_escape_begin();
        h = malloc(100); /* jemalloc too */
        offheap_escape_end();
        free(h);
        offheap_scope_end();
    }
    return NULL;
}

/* What the child does: everything must work and terminate. */
static int child(unsigned char *pre, size_t pre_n, unsigned char *big, size_t big_n)
{
    int bad = 0;
    if (!ph_intact(pre, pre_n, 7) || !ph_intact(big, big_n, 8)) bad |= 1;
    if (offheap_scope_depth() < 1) bad |= 2;
    unsigned char *p = malloc(1000);
    if (!p || !offheap_owns(p)) bad |= 4;
    else ph_fill(p, 1000, 9);
    unsigned char *l = malloc(3 * MiB); /* takes slabs: the pool lock must be usable */
    if (!l || !offheap_owns(l)) bad |= 8;
    else memset(l, 1, 3 * MiB);
    offheap_scope_begin();
    for (int i = 0; i < 50; i++) memset(malloc(40000), 2, 40000);
    offheap_scope_end();
    if (p && !ph_intact(p, 1000, 9)) bad |= 16;
    offheap_scope_end();
    for (int r = 0; r < 20; r++) {
        offheap_scope_begin();
        void *q = calloc(1, 200000);
        if (!q || !offheap_owns(q) || !ph_all(q, 200000, 0)) bad |= 32;
        offheap_scope_end();
    }
    void *h = malloc(12345);
    if (!h || offheap_owns(h)) bad |= 64;
    free(h);
    char *s = strdup("child"); /* libc still fine */
    if (!s || strcmp(s, "child")) bad |= 128;
    free(s);
    return bad;
}

static int wait_child(pid_t pid, const char *who)
{
    for (int i = 0; i < 1000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
            if (WIFEXITED(st)) FAIL("%s: child exit status %d (bit mask of failed steps)", who, WEXITSTATUS(st));
            else FAIL("%s: child killed by signal %d", who, WTERMSIG(st));
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    FAIL("%s: child did not exit within 10 s (deadlock after fork?)", who);
    return -1;
}

static void *forker_thread(void *arg)
{
    (void)arg;
    offheap_scope_begin();
    unsigned char *pre = malloc(3000);
    unsigned char *big = malloc(2 * MiB);
    ph_fill(pre, 3000, 7);
    ph_fill(big, 2 * MiB, 8);
    for (int i = 0; i < 5; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(child(pre, 3000, big, 2 * MiB));
        if (pid < 0) FAIL("fork failed");
        else wait_child(pid, "fork from a thread");
    }
    if (!ph_intact(pre, 3000, 7) || !ph_intact(big, 2 * MiB, 8)) FAIL("forking thread's blocks changed");
    offheap_scope_end();
    return NULL;
}

int main(void)
{
    ph_require_preload();
    pthread_t helpers[3];
    for (unsigned i = 0; i < 3; i++) REQUIRE(pthread_create(&helpers[i], NULL, churn, (void *)(uintptr_t)(i + 1)) == 0);

    offheap_scope_begin();
    unsigned char *pre = malloc(3000);
    unsigned char *big = malloc(2 * MiB);
    REQUIRE(pre && big && offheap_owns(pre) && offheap_owns(big));
    ph_fill(pre, 3000, 7);
    ph_fill(big, 2 * MiB, 8);
    offheap_stats s0 = ph_stats();
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(child(pre, 3000, big, 2 * MiB));
        REQUIRE(pid > 0);
        /* The parent keeps allocating in its scope meanwhile. */
        unsigned char *mine = malloc(5000);
        CHECK(mine && offheap_owns(mine));
        memset(mine, 3, 5000);
        wait_child(pid, "fork from main");
    }
    CHECK(ph_intact(pre, 3000, 7));
    CHECK(ph_intact(big, 2 * MiB, 8));
    CHECK(offheap_scope_depth() == 1);
    offheap_stats s1 = ph_stats();
    CHECK(s1.scopes >= s0.scopes);
    offheap_scope_end();

    pthread_t f;
    REQUIRE(pthread_create(&f, NULL, forker_thread, NULL) == 0);
    pthread_join(f, NULL);

    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(helpers[i], NULL);
    return check_done("fork");
}
