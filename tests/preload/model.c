/* SPDX-License-Identifier: MIT */
/*
 * model.c [SEED [THREADS]] — random operations (begin, end, malloc, calloc, memalign,
 * realloc, free, escape begin/end, thread tag/reset/untag) checked against a model of what the
 * README promises: a block is a pool block exactly when it was allocated
 * in a scope outside an escape; it lives until its scope ends (heap blocks
 * until freed) and its content stays intact that long; calloc is zeroed;
 * realloc keeps the content, keeps a block of the innermost scope in the
 * pool, and moves any other block to the heap.  Deterministic (seeded).
 */
#include "ph.h"

#include <malloc.h>
#include <pthread.h>

#define MAXB 3000
#define MAXD 12

struct blk {
    unsigned char *p;
    size_t n;
    unsigned seed;
    unsigned scope;  /* 0: heap; else the id of the scope instance */
    const char *how; /* the call that made it */
};

/* Per thread: model.c SEED THREADS runs one model per thread at once. */
static __thread struct blk b[MAXB];
static __thread int nb;
static __thread unsigned stack[MAXD + 1];  /* scope ids, stack[1..depth] */
static __thread int depth, escape, tagged; /* tagged: stack[1] is the tag's level */
static __thread unsigned next_id = 1;
static __thread uint64_t rng;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static size_t rnd_size(void)
{
    unsigned r = rnd(1000);
    if (r < 700) return rnd(200);
    if (r < 950) return 200 + rnd(5000);
    if (r < 995) return 5000 + rnd(300000);
    return (1u << 20) + rnd(2u << 20);
}

static int in_scope(void)
{
    return depth > 0 && escape == 0;
}

static void check_block(int i, long step)
{
    CHECKF(ph_intact(b[i].p, b[i].n, b[i].seed), "step %ld: block %p (%zu bytes, %s) changed", step, (void *)b[i].p,
           b[i].n, b[i].scope ? "scope" : "heap");
}

static void add(unsigned char *p, size_t n, long step, const char *what)
{
    REQUIRE(p);
    int want = in_scope();
    CHECKF(!!offheap_owns(p) == want, "step %ld: %s(%zu) at depth %d escape %d: owned %d", step, what, n, depth, escape,
           offheap_owns(p));
    CHECK(malloc_usable_size(p) >= n);
    /* 16 in scopes; jemalloc's 8-byte class outside them. */
    CHECK(((uintptr_t)p & (want || n > 8 ? 15 : 7)) == 0);
    if (nb == MAXB) {
        if (!offheap_owns(p)) free(p);
        return;
    }
    b[nb].p = p;
    b[nb].n = n;
    b[nb].seed = rnd(1u << 30);
    b[nb].scope = offheap_owns(p) ? stack[depth] : 0;
    b[nb].how = what;
    ph_fill(p, n, b[nb].seed);
    nb++;
}

static void drop(int i)
{
    b[i] = b[--nb];
    memset(&b[nb], 0, sizeof b[0]);
}

static long steps = 60000;

static void *run(void *arg)
{
    rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull;
    if (!rng) rng = 1;
    for (long s = 0; s < steps; s++) {
        unsigned op = rnd(100);
        if (op < 2) {
            /* Tagging: tag at depth 0; reset/untag at the tag's level. */
            unsigned what = rnd(3);
            int r;
            if (what == 0) {
                r = offheap_thread_tag();
                int ok = depth == 0 && !tagged;
                CHECKF(r == (ok ? 0 : EBUSY), "step %ld: tag at depth %d tagged %d = %d", s, depth, tagged, r);
                if (!r) {
                    tagged = 1;
                    stack[++depth] = next_id++;
                }
                continue;
            }
            int ok = tagged && depth == 1;
            if (ok) {
                unsigned id = stack[1];
                for (int i = nb - 1; i >= 0; i--)
                    if (b[i].scope == id) {
                        check_block(i, s);
                        drop(i);
                    }
            }
            r = what == 1 ? offheap_thread_reset() : offheap_thread_untag();
            CHECKF(r == (ok       ? 0
                         : tagged ? EBUSY
                                  : EINVAL),
                   "step %ld: %s at depth %d tagged %d = %d", s, what == 1 ? "reset" : "untag", depth, tagged, r);
            if (ok && what == 1) stack[1] = next_id++;
            if (ok && what == 2) {
                tagged = 0;
                depth = 0;
            }
            continue;
        }
        if (op < 6 && depth < MAXD) {
            offheap_scope_begin();
            stack[++depth] = next_id++;
        } else if (op < 12 && depth > tagged) {
            unsigned id = stack[depth];
            for (int i = nb - 1; i >= 0; i--)
                if (b[i].scope == id) {
                    check_block(i, s);
                    drop(i);
                }
            offheap_scope_end();
            depth--;
        } else if (op < 14 && escape < 3) {
            offheap_escape_begin();
            escape++;
        } else if (op < 17 && escape > 0) {
            offheap_escape_end();
            escape--;
        } else if (op < 45) {
            size_t n = rnd_size();
            add(malloc(n), n, s, "malloc");
        } else if (op < 55) {
            size_t n = rnd_size();
            unsigned char *p = calloc(1, n);
            CHECKF(p && ph_all(p, n, 0), "step %ld: calloc(%zu) at depth %d not zeroed", s, n, depth);
            add(p, n, s, "calloc");
        } else if (op < 60) {
            size_t a = (size_t)16 << rnd(10), n = rnd_size();
            unsigned char *p = memalign(a, n);
            CHECKF(p && ((uintptr_t)p & (a - 1)) == 0, "step %ld: memalign(%zu, %zu) = %p", s, a, n, (void *)p);
            add(p, n, s, "memalign");
        } else if (op < 80 && nb > 0) {
            int i = (int)rnd((unsigned)nb);
            check_block(i, s);
            size_t n = rnd(4) == 0 ? rnd_size() : b[i].n + rnd(3000);
            if (n == 0) n = 1;
            int innermost = in_scope() && b[i].scope && b[i].scope == stack[depth];
            unsigned char *q = realloc(b[i].p, n);
            REQUIRE(q);
            size_t keep = b[i].n < n ? b[i].n : n;
            CHECKF(ph_intact(q, keep, b[i].seed), "step %ld: realloc(%zu -> %zu) lost content", s, b[i].n, n);
            CHECKF(!!offheap_owns(q) == innermost,
                   "step %ld: realloc(%s block from %s, %zu -> %zu bytes) (its scope %u, innermost %u, depth %d, "
                   "escape %d): "
                   "owned %d, want %d",
                   s, b[i].scope ? "scope" : "heap", b[i].how, b[i].n, n, b[i].scope, depth ? stack[depth] : 0, depth,
                   escape, offheap_owns(q), innermost);
            b[i].p = q;
            b[i].n = n;
            b[i].scope = offheap_owns(q) ? stack[depth] : 0;
            b[i].how = "realloc";
            ph_fill(q, n, b[i].seed);
        } else if (nb > 0) {
            int i = (int)rnd((unsigned)nb);
            check_block(i, s);
            int saved = errno = 1234;
            free(b[i].p);
            CHECK(errno == saved);
            drop(i);
        }
        if (s % 5000 == 0)
            for (int i = 0; i < nb; i++) check_block(i, s);
        if (check_failures() > 20) break;
    }
    while (escape) {
        offheap_escape_end();
        escape--;
    }
    while (depth > tagged) {
        offheap_scope_end();
        depth--;
    }
    if (tagged) {
        for (int i = nb - 1; i >= 0; i--)
            if (b[i].scope) drop(i);
        CHECK(offheap_thread_untag() == 0);
        depth = tagged = 0;
    }
    for (int i = 0; i < nb; i++) {
        if (!b[i].scope) {
            check_block(i, steps);
            free(b[i].p);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    ph_require_preload();
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    int nthreads = argc > 2 ? atoi(argv[2]) : 1;
    if (nthreads <= 1) {
        run((void *)(uintptr_t)seed);
    } else {
        steps = 30000;
        pthread_t t[16];
        if (nthreads > 16) nthreads = 16;
        for (int i = 0; i < nthreads; i++)
            REQUIRE(pthread_create(&t[i], NULL, run, (void *)(uintptr_t)(seed * 1000 + (uint64_t)i)) == 0);
        for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    }
    return check_done("model");
}
