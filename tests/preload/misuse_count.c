/* SPDX-License-Identifier: MIT */
/*
 * misuse_count.c — every misuse counts in offheap_stats.misuse, wherever
 * it happens:
 *   - on threads that never opened a scope (not in the registry): an end
 *     without a begin, an unmatched escape end; also once such a thread
 *     joins later (its count moves, the total stays);
 *   - nesting past OFFHEAP_SCOPE_MAX_DEPTH: one misuse per ignored begin,
 *     one stderr line per run of them;
 *   - offheap_thread_stats_get() gives the calling thread's own count.
 * The misuse lines go to stderr; ph_capture_stderr counts them.
 */
#include "ph.h"

#include <pthread.h>

static unsigned long long misuse_now(void)
{
    return (unsigned long long)ph_stats().misuse;
}

static unsigned long long thread_misuse(void)
{
    offheap_stats t;
    CHECK(offheap_thread_stats_get(&t) == 0);
    return (unsigned long long)t.misuse;
}

static void stray_ends(void *arg)
{
    (void)arg;
    offheap_scope_end();
    offheap_escape_end();
    offheap_scope_end();
}

struct fresh_result {
    unsigned long long before, after_misuse, after_join, own, own_after_join;
    const char *err;
};

/* A thread that has never opened a scope. */
static void *fresh_thread(void *arg)
{
    struct fresh_result *r = arg;
    r->before = misuse_now();
    r->err = ph_capture_stderr(stray_ends, NULL);
    r->after_misuse = misuse_now();
    r->own = thread_misuse();
    /* Now it joins: the total must not change, the thread keeps its 3. */
    offheap_scope_begin();
    free(malloc(10));
    offheap_scope_end();
    r->after_join = misuse_now();
    r->own_after_join = thread_misuse();
    return NULL;
}

static void too_deep(void *arg)
{
    int extra = *(int *)arg;
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH + extra; i++) offheap_scope_begin();
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH + extra; i++) offheap_scope_end();
}

static void *exits_after_misuse(void *arg)
{
    (void)arg;
    offheap_escape_end(); /* never joins; exits with its misuse counted */
    return NULL;
}

int main(void)
{
    ph_require_preload();

    struct fresh_result r;
    memset(&r, 0, sizeof r);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fresh_thread, &r) == 0);
    pthread_join(t, NULL);
    CHECKF(r.after_misuse == r.before + 3, "a thread without scopes: misuse +%llu, want +3", r.after_misuse - r.before);
    CHECKF(ph_count_lines(r.err) == 3, "a thread without scopes: %d stderr lines, want 3: %s", ph_count_lines(r.err),
           r.err);
    CHECKF(r.own == 3, "offheap_thread_stats_get on that thread: misuse %llu, want 3", r.own);
    CHECKF(r.after_join == r.after_misuse, "joining moved the total: %llu -> %llu", r.after_misuse, r.after_join);
    CHECKF(r.own_after_join == 3, "after joining, the thread's own misuse is %llu, want 3", r.own_after_join);
    CHECKF(misuse_now() == r.after_join, "after the thread exited: %llu, want %llu", misuse_now(), r.after_join);

    /* A thread that exits without ever joining: its misuse stays counted. */
    unsigned long long m0 = misuse_now();
    REQUIRE(pthread_create(&t, NULL, exits_after_misuse, NULL) == 0);
    pthread_join(t, NULL);
    CHECKF(misuse_now() == m0 + 1, "exited thread without scopes: misuse +%llu, want +1", misuse_now() - m0);

    /* Past the depth limit: each ignored begin is one misuse, one line. */
    unsigned long long own0 = thread_misuse();
    m0 = misuse_now();
    int extra = 7;
    const char *err = ph_capture_stderr(too_deep, &extra);
    CHECKF(misuse_now() == m0 + 7, "7 begins past the limit: misuse +%llu, want +7", misuse_now() - m0);
    CHECKF(ph_count_lines(err) == 1 && strstr(err, "OFFHEAP_SCOPE_MAX_DEPTH"), "7 begins past the limit said: %s", err);
    CHECKF(thread_misuse() == own0 + 7, "this thread's own misuse +%llu, want +7", thread_misuse() - own0);
    CHECK(offheap_scope_depth() == 0);

    /* A second run is reported again (one line) and counted again. */
    m0 = misuse_now();
    extra = 1;
    err = ph_capture_stderr(too_deep, &extra);
    CHECK(misuse_now() == m0 + 1);
    CHECK(ph_count_lines(err) == 1);

    /* Exactly at the limit is no misuse. */
    m0 = misuse_now();
    extra = 0;
    err = ph_capture_stderr(too_deep, &extra);
    CHECK(misuse_now() == m0);
    CHECKF(err[0] == '\0', "64 nested scopes said: %s", err);

    CHECK(offheap_thread_stats_get(NULL) == EINVAL);
    return check_done("misuse_count");
}
