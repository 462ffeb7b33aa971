/* SPDX-License-Identifier: MIT */
/*
 * stress_scopes.c — many threads under the preload, for a bounded time:
 *   - scope threads enter and leave (nested) scopes, allocate small and
 *     large blocks, realloc them, hand some to other threads, and verify
 *     every block of theirs before each scope end;
 *   - heap threads malloc / calloc / realloc / free outside scopes and hand
 *     blocks to other threads;
 *   - every thread takes blocks from a shared mailbox and frees them: heap
 *     blocks after checking their content (cross-thread frees), other
 *     threads' scope blocks unchecked (their scope may have ended; the free
 *     must be a no-op that disturbs nothing);
 *   - a tagged thread allocates and resets; a churn thread starts short
 *     threads that exit while inside a scope (or tagged);
 *   - a trim thread calls malloc_trim(0), which gives idle slabs back.
 * At the end: no content check failed, every slab is back (only the main
 * thread's warm slab may stay), no misuse, and the heap is back where it
 * started (within a margin for thread caches).
 *
 *   stress_scopes [SECONDS]     default 10
 */
#include "check.h"
#include "offheap.h"
#include "offheap_pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCOPE_THREADS 4
#define HEAP_THREADS 2
#define MAILBOX 1024

static _Atomic bool stop;
static _Atomic unsigned long scopes_done, heap_frees_foreign, scope_frees_foreign, churned;

static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "stress_scopes: ");
}

/* ---- content ------------------------------------------------------------ */

static inline uint8_t pat(uint32_t seed, size_t i)
{
    return (uint8_t)(seed * 31u + (uint32_t)i * 7u + (uint32_t)(i >> 8));
}

static void fill(char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)pat(seed, i);
}

static bool check(const char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)p[i] != pat(seed, i)) return false;
    return true;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- mailbox -------------------------------------------------------------- */

struct mail {
    char *p;
    size_t n;
    uint32_t seed;
    bool scope; /* a scope block of the sender: free only */
};

static struct {
    pthread_mutex_t lock;
    struct mail m[MAILBOX];
    size_t head, count;
} box = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool post(struct mail m)
{
    pthread_mutex_lock(&box.lock);
    bool ok = box.count < MAILBOX;
    if (ok) {
        box.m[(box.head + box.count) % MAILBOX] = m;
        box.count++;
    }
    pthread_mutex_unlock(&box.lock);
    return ok;
}

static bool take(struct mail *m)
{
    pthread_mutex_lock(&box.lock);
    bool ok = box.count > 0;
    if (ok) {
        *m = box.m[box.head];
        box.head = (box.head + 1) % MAILBOX;
        box.count--;
    }
    pthread_mutex_unlock(&box.lock);
    return ok;
}

/* Take up to n blocks and free them (called from every kind of thread,
 * inside or outside scopes). */
static void collect(int n)
{
    struct mail m;
    for (int i = 0; i < n && take(&m); i++) {
        if (m.scope) {
            if (!offheap_owns(m.p)) FAIL("scope block %p not in the pool", (void *)m.p);
            free(m.p); /* no-op */
            atomic_fetch_add(&scope_frees_foreign, 1);
        } else {
            if (offheap_owns(m.p)) FAIL("heap block %p in the pool", (void *)m.p);
            if (!check(m.p, m.n, m.seed))
                FAIL("heap block %p (%zu bytes) corrupted before a foreign free", (void *)m.p, m.n);
            free(m.p);
            atomic_fetch_add(&heap_frees_foreign, 1);
        }
    }
}

/* ---- scope threads -------------------------------------------------------- */

struct held {
    char *p;
    size_t n;
    uint32_t seed;
};

static size_t pick(uint64_t *s)
{
    uint64_t r = rnd(s);
    if ((r & 255) == 0) return 200000 + (r >> 40) % 400000; /* large: its own run */
    if ((r & 15) == 0) return 1 + (r >> 20) % 16384;
    return 1 + (r >> 20) % 512;
}

static void verify(struct held *h, int n, const char *when)
{
    for (int i = 0; i < n; i++)
        if (!check(h[i].p, h[i].n, h[i].seed))
            FAIL("own scope block %p (%zu bytes) corrupted %s", (void *)h[i].p, h[i].n, when);
}

static void scope_level(uint64_t *s, uint32_t *seed, int level)
{
    struct held h[128];
    int nh = 0;
    offheap_scope_begin();
    int blocks = 16 + (int)(rnd(s) % 100);
    for (int i = 0; i < blocks && nh < 128; i++) {
        size_t n = pick(s);
        char *p = (rnd(s) & 7) ? malloc(n) : calloc(1, n);
        if (!p) {
            FAIL("scope malloc(%zu) failed: errno %d", n, errno);
            continue;
        }
        if (!offheap_owns(p)) FAIL("scope block not in the pool");
        uint32_t sd = ++*seed;
        fill(p, n, sd);
        h[nh++] = (struct held){p, n, sd};
        if ((rnd(s) & 7) == 0) post((struct mail){p, n, sd, true});
        if ((rnd(s) & 15) == 0 && nh > 0) {
            /* Grow or shrink one of ours. */
            int k = (int)(rnd(s) % (uint64_t)nh);
            size_t nn = pick(s);
            char *q = realloc(h[k].p, nn);
            if (!q) {
                FAIL("scope realloc failed");
            } else {
                size_t keep = nn < h[k].n ? nn : h[k].n;
                if (!check(q, keep, h[k].seed)) FAIL("realloc lost content");
                fill(q, nn, h[k].seed);
                h[k].p = q;
                h[k].n = nn;
            }
        }
        if ((rnd(s) & 31) == 0) {
            /* A heap block from inside the scope, for someone else. */
            offheap_escape_begin();
            size_t en = pick(s);
            char *e = malloc(en);
            offheap_escape_end();
            if (e) {
                uint32_t es = ++*seed;
                fill(e, en, es);
                if (!post((struct mail){e, en, es, false})) free(e);
            }
        }
        if ((rnd(s) & 15) == 0) collect(4);
    }
    if (level < 3 && (rnd(s) & 3) == 0) scope_level(s, seed, level + 1);
    verify(h, nh, "before its scope ended");
    offheap_scope_end();
    atomic_fetch_add(&scopes_done, 1);
}

static void *scope_thread(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    uint32_t seed = (uint32_t)(uintptr_t)arg << 24;
    while (!atomic_load(&stop)) {
        scope_level(&s, &seed, 0);
        collect(8);
    }
    return NULL;
}

/* ---- heap threads --------------------------------------------------------- */

static void *heap_thread(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x2545F4914F6CDD1Dull + 7;
    uint32_t seed = (uint32_t)(uintptr_t)arg << 24;
    struct held h[64];
    int nh = 0;
    while (!atomic_load(&stop)) {
        uint64_t r = rnd(&s);
        if (nh < 64 && (r & 3) != 0) {
            size_t n = pick(&s);
            char *p = (r & 16) ? calloc(1, n) : malloc(n);
            if (!p) {
                FAIL("heap malloc(%zu) failed", n);
                continue;
            }
            if (offheap_owns(p)) FAIL("heap block in the pool outside scopes");
            if ((r & 16))
                for (size_t i = 0; i < n; i++)
                    if (p[i]) {
                        FAIL("calloc not zero");
                        break;
                    }
            uint32_t sd = ++seed;
            fill(p, n, sd);
            if ((r & 8) && post((struct mail){p, n, sd, false})) continue;
            h[nh++] = (struct held){p, n, sd};
        } else if (nh > 0) {
            int k = (int)(rnd(&s) % (uint64_t)nh);
            if (!check(h[k].p, h[k].n, h[k].seed)) FAIL("heap block corrupted");
            if (r & 32) {
                size_t nn = pick(&s);
                char *q = realloc(h[k].p, nn);
                if (!q) {
                    FAIL("heap realloc failed");
                    continue;
                }
                size_t keep = nn < h[k].n ? nn : h[k].n;
                if (!check(q, keep, h[k].seed)) FAIL("heap realloc lost content");
                fill(q, nn, h[k].seed);
                h[k].p = q;
                h[k].n = nn;
            } else {
                free(h[k].p);
                h[k] = h[--nh];
            }
        }
        if ((r & 7) == 0) collect(4);
    }
    for (int i = 0; i < nh; i++) {
        if (!check(h[i].p, h[i].n, h[i].seed)) FAIL("heap block corrupted at the end");
        free(h[i].p);
    }
    return NULL;
}

/* ---- tagged and churn threads --------------------------------------------- */

static void *tagged_thread(void *arg)
{
    (void)arg;
    uint64_t s = 99;
    uint32_t seed = 0xA0000000u;
    if (offheap_thread_tag() != 0) {
        FAIL("thread_tag");
        return NULL;
    }
    while (!atomic_load(&stop)) {
        struct held h[64];
        int nh = 0;
        for (int i = 0; i < 64; i++) {
            size_t n = pick(&s);
            char *p = malloc(n);
            if (!p || !offheap_owns(p)) {
                FAIL("tagged malloc");
                continue;
            }
            fill(p, n, ++seed);
            h[nh++] = (struct held){p, n, seed};
            if ((i & 15) == 0) post((struct mail){p, n, seed, true});
        }
        if (rnd(&s) & 1) scope_level(&s, &seed, 2);
        verify(h, nh, "before thread_reset");
        if (offheap_thread_reset() != 0) FAIL("thread_reset");
        collect(8);
    }
    if (offheap_thread_untag() != 0) FAIL("thread_untag");
    return NULL;
}

static void *short_thread(void *arg)
{
    uint64_t s = (uintptr_t)arg + 1;
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    /* Every other one exits tagged (with a scope on top) instead. */
    if ((uintptr_t)arg & 1) {
        if (offheap_thread_tag() != 0) FAIL("short thread: tag");
    } else {
        offheap_scope_begin();
    }
    offheap_scope_begin();
    for (int i = 0; i < 50; i++) {
        size_t n = pick(&s);
        char *p = malloc(n);
        if (p) fill(p, n, ++seed);
    }
    collect(2);
    /* Exit inside two scopes (or a tag and a scope): the thread's slabs
     * must come back. */
    return NULL;
}

static void *churn_thread(void *arg)
{
    (void)arg;
    uintptr_t i = 0;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, (void *)++i) != 0) {
            FAIL("pthread_create");
            continue;
        }
        pthread_join(t, NULL);
        atomic_fetch_add(&churned, 1);
    }
    return NULL;
}

/* malloc_trim() gives idle slabs back while the others allocate: it must
 * never take a slab that holds live blocks (or a thread's warm slab in use). */
static _Atomic unsigned long trims;
static void *trim_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        malloc_trim(0);
        atomic_fetch_add(&trims, 1);
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static size_t heap_bytes(void)
{
    static size_t (*sample)(int);
    if (!sample) *(void **)&sample = dlsym(RTLD_DEFAULT, "offheap_pressure_sample");
    return sample ? sample(OFFHEAP_PRESSURE_HEAP) : 0;
}

int main(int argc, char **argv)
{
    check_set_prefix(fail_prefix);
    check_set_max_reports(20);
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "stress_scopes: liboffheap.so not preloaded; skipping\n");
        return 77;
    }
    int seconds = argc > 1 ? atoi(argv[1]) : 10;
    size_t heap0 = heap_bytes();
    pthread_t t[SCOPE_THREADS + HEAP_THREADS + 3];
    int nt = 0;
    for (uintptr_t i = 0; i < SCOPE_THREADS; i++) pthread_create(&t[nt++], NULL, scope_thread, (void *)(i + 1));
    for (uintptr_t i = 0; i < HEAP_THREADS; i++) pthread_create(&t[nt++], NULL, heap_thread, (void *)(i + 11));
    pthread_create(&t[nt++], NULL, tagged_thread, NULL);
    pthread_create(&t[nt++], NULL, churn_thread, NULL);
    pthread_create(&t[nt++], NULL, trim_thread, NULL);
    sleep((unsigned)seconds);
    atomic_store(&stop, true);
    for (int i = 0; i < nt; i++) pthread_join(t[i], NULL);
    collect(MAILBOX);

    offheap_stats st;
    offheap_stats_get(&st);
    size_t heap1 = heap_bytes();
    if (st.slabs_in_use > 1) FAIL("%llu slabs in use after every thread exited", (unsigned long long)st.slabs_in_use);
    if (st.misuse) FAIL("misuse %llu", (unsigned long long)st.misuse);
    if (st.exhausted) FAIL("pool exhausted %llu times", (unsigned long long)st.exhausted);
    if (heap1 > heap0 + (8u << 20)) FAIL("heap grew from %zu to %zu bytes", heap0, heap1);
    printf("stress_scopes: %ds, %lu scopes, %lu cross-thread heap frees, %lu foreign scope-block frees, %lu "
           "short threads, %lu malloc_trim; slabs in use %llu, heap %zu -> %zu bytes; %lu failures\n",
           seconds, atomic_load(&scopes_done), atomic_load(&heap_frees_foreign), atomic_load(&scope_frees_foreign),
           atomic_load(&churned), atomic_load(&trims), (unsigned long long)st.slabs_in_use, heap0, heap1,
           check_failures());
    return check_failures() ? 1 : 0;
}
