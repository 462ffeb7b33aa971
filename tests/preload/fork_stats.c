/* SPDX-License-Identifier: MIT */
/*
 * fork_stats.c — each process reports its own figures (README
 * "Statistics"): a forked child's counters start at zero and count what
 * it does, the parent's are unaffected by the child, and the exit report
 * of each carries its own pid.
 *
 * The parent opens 100 scopes (two named "req"), makes 20,000 heap
 * malloc/free pairs and keeps a second thread with scopes alive across
 * the fork.  The child checks offheap_stats_get() right after the fork
 * (every counter 0, one thread), opens 7 scopes (one named "req") and
 * makes 1,000 heap pairs, checks again, and exits through exit() so that
 * OFFHEAP_STATS prints its report.  fork_stats.sh checks both reports.
 * Prints "parent PID" and "child PID" for the script.
 */
#include "ph.h"

#include <pthread.h>
#include <sys/wait.h>

static void *volatile sink;

static void heap_pairs(int n)
{
    for (int i = 0; i < n; i++) {
        void *p = malloc(200);
        if (!p) abort();
        sink = p;
        free(p);
    }
}

static void scopes(int n, int named)
{
    for (int i = 0; i < n; i++) {
        if (i < named) offheap_scope_begin_named("req");
        else offheap_scope_begin();
        for (int k = 0; k < 10; k++) sink = malloc(100);
        offheap_scope_end();
    }
}

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void *helper(void *arg)
{
    (void)arg;
    scopes(5, 0);
    pthread_mutex_lock(&lk);
    stage = 1;
    pthread_cond_broadcast(&cv);
    while (stage < 2) pthread_cond_wait(&cv, &lk);
    pthread_mutex_unlock(&lk);
    return NULL;
}

static uint64_t name_scopes(const char *name)
{
    offheap_scope_name_stats ns[8];
    size_t n = 0;
    CHECK(offheap_scope_name_stats_get(ns, 8, &n) == 0);
    for (size_t i = 0; i < n && i < 8; i++)
        if (!strcmp(ns[i].name, name)) return ns[i].scopes;
    return 0;
}

static int child(void)
{
    offheap_stats s = ph_stats();
    CHECKF(s.scopes == 0 && s.scope_blocks == 0 && s.scope_bytes == 0, "child at start: scopes %llu blocks %llu",
           (unsigned long long)s.scopes, (unsigned long long)s.scope_blocks);
    CHECKF(s.threads == 1, "child at start: threads %llu, want 1 (the forking thread)", (unsigned long long)s.threads);
    CHECKF(s.fallback_allocs < 100, "child at start: fallback_allocs %llu (the parent's?)",
           (unsigned long long)s.fallback_allocs);
    CHECK(s.misuse == 0);
    CHECK(name_scopes("req") == 0);
    offheap_stats t;
    CHECK(offheap_thread_stats_get(&t) == 0);
    CHECK(t.scopes == 0);

    scopes(7, 1);
    heap_pairs(1000);
    s = ph_stats();
    CHECKF(s.scopes == 7, "child: scopes %llu, want 7", (unsigned long long)s.scopes);
    CHECKF(s.scope_blocks >= 70 && s.scope_blocks < 100, "child: scope_blocks %llu, want about 70",
           (unsigned long long)s.scope_blocks);
    CHECKF(s.fallback_allocs >= 1000 && s.fallback_allocs < 1100, "child: fallback_allocs %llu, want 1000..1099",
           (unsigned long long)s.fallback_allocs);
    CHECKF(s.fallback_frees >= 1000 && s.fallback_frees < 1100, "child: fallback_frees %llu, want 1000..1099",
           (unsigned long long)s.fallback_frees);
    CHECK(name_scopes("req") == 1);
    return check_failures() ? 1 : 0;
}

int main(void)
{
    ph_require_preload();
    pthread_t h;
    REQUIRE(pthread_create(&h, NULL, helper, NULL) == 0);
    pthread_mutex_lock(&lk);
    while (stage < 1) pthread_cond_wait(&cv, &lk);
    pthread_mutex_unlock(&lk);

    scopes(100, 2);
    heap_pairs(20000);
    offheap_stats before = ph_stats();
    CHECK(before.scopes == 105);
    printf("parent %d\n", (int)getpid());
    fflush(stdout);

    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) exit(child()); /* exit(): the at-exit report runs */
    printf("child %d\n", (int)pid);
    fflush(stdout);
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);

    offheap_stats after = ph_stats();
    CHECKF(after.scopes == before.scopes, "parent: scopes %llu after the child, %llu before",
           (unsigned long long)after.scopes, (unsigned long long)before.scopes);
    CHECK(name_scopes("req") == 2);
    CHECK(after.threads == 2);

    pthread_mutex_lock(&lk);
    stage = 2;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lk);
    pthread_join(h, NULL);
    return check_done("fork_stats");
}
