/* SPDX-License-Identifier: MIT */
/*
 * oom_preload.c — walk every ENOMEM path of the preload with fault
 * injection (OFFHEAP_FAULT_MMAP=N, OFFHEAP_FAULT_FALLBACK=N).
 *
 *   oom_preload PRELOAD_SO      driver: for each kind and N = 1, 2, ... runs
 *                               itself as a child with LD_PRELOAD and the
 *                               fault variable set, until 25 N in a row
 *                               change nothing (or N = 400);
 *   oom_preload --child BASE    child: runs the workload ROUNDS times.
 *
 * Each round allocates with every entry point in and out of scopes, on a
 * tagged thread and on a second thread, checks every block's content and
 * frees what must be freed.  The child checks:
 *   - every failed call reports ENOMEM (posix_memalign returns it, errno
 *     untouched) and nothing crashes;
 *   - the single injected failure affects one round only: later rounds
 *     allocate everything (the allocator is usable afterwards);
 *   - nothing leaks: heap bytes (jemalloc stats.allocated) after the last
 *     round equal the ones after the round before and exceed the start by no
 *     more than a clean child's (BASE), and the pool holds at most the
 *     thread's warm slab.
 * When the fault hit the process pool's reservation, scopes are off for the
 * process (one stderr line says so) and everything goes to the heap: the
 * driver checks that line.
 */
#include "offheap.h"
#include "offheap_pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "run_captured.h"

#define ROUNDS 4

static int nulls;      /* failed allocations in this round */
static int scopes_off; /* a scope_begin that did not open */

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)(seed + i * 7);
}

static bool same(const char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(seed + i * 7)) return false;
    return true;
}

/* A result: NULL must come with ENOMEM; a block is filled and checked. */
static char *took(char *p, size_t n, const char *what)
{
    if (!p) {
        CHECKF(errno == ENOMEM, "%s(%zu) NULL with errno %d", what, n, errno);
        nulls++;
        return NULL;
    }
    fill(p, n, (unsigned)n);
    CHECKF(same(p, n, (unsigned)n), "%s(%zu) content", what, n);
    return p;
}

static void heap_calls(void)
{
    errno = 0;
    char *a = took(malloc(100), 100, "malloc");
    errno = 0;
    char *b = took(calloc(10, 100), 1000, "calloc");
    errno = 0;
    char *c = took(malloc(1 << 20), 1 << 20, "malloc");
    if (a) {
        errno = 0;
        char *r = realloc(a, 5000);
        if (!r) {
            CHECKF(errno == ENOMEM, "realloc NULL errno %d", errno);
            CHECKF(same(a, 100, 100), "failed realloc kept the block");
            nulls++;
        } else {
            CHECKF(same(r, 100, 100), "realloc kept content");
            a = r;
        }
    }
    errno = 0;
    char *d = took(aligned_alloc(64, 640), 640, "aligned_alloc");
    void *e = NULL;
    errno = 1234;
    int r = posix_memalign(&e, 4096, 3000);
    CHECKF(errno == 1234, "posix_memalign changed errno");
    if (r) {
        CHECKF(r == ENOMEM && e == NULL, "posix_memalign gave %d", r);
        nulls++;
    } else {
        fill(e, 3000, 3);
    }
    errno = 0;
    char *f = took(memalign(256, 300), 300, "memalign");
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
}

static void scope_calls(void)
{
    offheap_scope_begin();
    if (offheap_scope_depth() != 1) {
        scopes_off++;
        offheap_scope_end();
        heap_calls();
        return;
    }
    /* Enough small blocks to take several slabs, then large ones. */
    char *keep[8] = {0};
    for (int i = 0; i < 3000; i++) {
        errno = 0;
        char *p = took(malloc(1000), 1000, "scope malloc");
        if (i % 500 == 0) keep[i / 500] = p;
    }
    errno = 0;
    char *big = took(malloc(3 << 20), 3 << 20, "scope malloc large");
    errno = 0;
    char *z = calloc(1, 700000);
    if (z) {
        for (size_t i = 0; i < 700000; i += 4096) CHECKF(z[i] == 0, "scope calloc not zero");
    } else {
        CHECKF(errno == ENOMEM, "scope calloc errno %d", errno);
        nulls++;
    }
    errno = 0;
    char *al = took(aligned_alloc(4096, 5000), 5000, "scope aligned_alloc");
    if (al) {
        errno = 0;
        char *g = realloc(al, 20000);
        if (!g) {
            CHECKF(errno == ENOMEM, "scope realloc errno %d", errno);
            nulls++;
        } else {
            CHECKF(same(g, 5000, 5000), "scope realloc content");
        }
    }
    /* A nested scope on top. */
    offheap_scope_begin();
    errno = 0;
    free(took(malloc(200000), 200000, "inner scope malloc"));
    offheap_scope_end();
    for (int i = 0; i < 6; i++)
        if (keep[i]) CHECKF(same(keep[i], 1000, 1000), "scope block content");
    if (big) CHECKF(same(big, 3 << 20, 3 << 20), "scope large block content");
    /* A heap block from inside the scope, via an escape. */
    offheap_escape_begin();
    errno = 0;
    char *esc = took(malloc(4000), 4000, "escape malloc");
    offheap_escape_end();
    offheap_scope_end();
    if (esc) CHECKF(!offheap_owns(esc) && same(esc, 4000, 4000), "escaped block");
    free(esc);
}

static void tag_calls(void)
{
    int r = offheap_thread_tag();
    if (r) {
        CHECKF(r == ENOMEM, "thread_tag gave %d", r);
        scopes_off++;
        return;
    }
    for (int i = 0; i < 100; i++) {
        errno = 0;
        took(malloc(5000), 5000, "tagged malloc");
    }
    CHECKF(offheap_thread_reset() == 0, "thread_reset");
    errno = 0;
    took(malloc(300000), 300000, "tagged malloc");
    CHECKF(offheap_thread_untag() == 0, "thread_untag");
}

static void *thread_main(void *arg)
{
    (void)arg;
    scope_calls();
    heap_calls();
    return NULL;
}

/* The explicit API is exported by the preload but not weak in its header:
 * look it up. */
static size_t heap_bytes(void)
{
    static size_t (*sample)(int);
    if (!sample) *(void **)&sample = dlsym(RTLD_DEFAULT, "offheap_pressure_sample");
    return sample ? sample(OFFHEAP_PRESSURE_HEAP) : 0;
}

static void child_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "oom_preload child: ");
}

static int child(size_t base, size_t base_slabs)
{
    if (!OFFHEAP_LOADED()) return 77;
    /* Failed checks are reported by check.h with one write(2) from the
     * stack: no stdio, which could allocate under the injected fault (and
     * move it) or fail. */
    check_set_prefix(child_prefix);
    int nulls_in[ROUNDS] = {0};
    size_t heap_after[ROUNDS] = {0};
    size_t heap0 = heap_bytes();
    for (int round = 0; round < ROUNDS; round++) {
        nulls = 0;
        heap_calls();
        scope_calls();
        tag_calls();
        pthread_t t;
        int r = pthread_create(&t, NULL, thread_main, NULL);
        if (r) {
            CHECKF(r == EAGAIN || r == ENOMEM, "pthread_create gave %d", r);
            nulls++;
        } else {
            pthread_join(t, NULL);
        }
        nulls_in[round] = nulls;
        heap_after[round] = heap_bytes();
    }
    int faulted = 0, first = -1;
    for (int round = 0; round < ROUNDS; round++)
        if (nulls_in[round]) faulted++, first = first < 0 ? round : first;
    /* One fault injected: one round sees it, the next ones are clean. */
    CHECKF(faulted <= 1, "failures in %d rounds (one fault injected): %d %d %d %d", faulted, nulls_in[0], nulls_in[1],
           nulls_in[2], nulls_in[3]);
    bool heap_check = !getenv("OOM_NO_HEAP_CHECK");
    if (first < ROUNDS - 2 && heap_check)
        CHECKF(heap_after[ROUNDS - 1] == heap_after[ROUNDS - 2], "heap grows: %zu then %zu bytes",
               heap_after[ROUNDS - 2], heap_after[ROUNDS - 1]);
    size_t grew = heap_after[ROUNDS - 1] - heap0;
    CHECKF(base == 0 || !heap_check || grew <= base, "heap grew by %zu bytes, a clean run by %zu", grew, base);
    offheap_stats st;
    CHECKF(offheap_stats_get(&st) == 0, "stats");
    /* At most the warm slab.  Check mode keeps released runs in a quarantine
     * bounded at 64 MiB (src/check.c Q_BYTES); how full it is depends on
     * timing, so a clean child's count (base_slabs) is only reported. */
    size_t limit = getenv("OFFHEAP_CHECK") ? (size_t)(64ull << 20) / st.slab_size + 2 : 1;
    CHECKF(st.slabs_in_use <= limit, "%llu slabs in use after every scope ended (limit %zu, a clean run: %zu)",
           (unsigned long long)st.slabs_in_use, limit, base_slabs);
    CHECKF(st.misuse == 0, "misuse %llu", (unsigned long long)st.misuse);
    /* Report to the driver on stdout: grew, nulls, scopes_off. */
    printf("grew=%zu nulls=%d scopes_off=%d slabs=%llu first=%d\n", grew,
           nulls_in[0] + nulls_in[1] + nulls_in[2] + nulls_in[3], scopes_off, (unsigned long long)st.slabs_in_use,
           first);
    return check_failures() ? 1 : 0;
}

/* ---- driver ------------------------------------------------------------ */

struct result {
    int status; /* exit status, or 128 + signal, or -1 on timeout */
    size_t grew, slabs;
    int nulls, scopes_off, first;
    char err[8192]; /* the child's stderr */
    char out[512];
};

/* The child's environment: the preload, var=n (n > 0), the extra ones. */
struct child_env {
    const char *so, *var, *num, *extra;
};

static void set_child_env(void *arg)
{
    const struct child_env *ce = arg;
    setenv("LD_PRELOAD", ce->so, 1);
    if (ce->num) setenv(ce->var, ce->num, 1);
    if (ce->extra) {
        /* "A=1 B=2": several variables. */
        char *list = strdup(ce->extra);
        for (char *tok = strtok(list, " "); tok; tok = strtok(NULL, " ")) putenv(tok);
    }
}

static void run_child(const char *self, const char *so, const char *var, unsigned long n, const char *extra,
                      size_t base, size_t base_slabs, struct result *res)
{
    char num[32], basestr[32], slabstr[32];
    snprintf(num, sizeof num, "%lu", n);
    snprintf(basestr, sizeof basestr, "%zu", base);
    snprintf(slabstr, sizeof slabstr, "%zu", base_slabs);
    const char *args[] = {self, "--child", basestr, slabstr, NULL};
    struct child_env ce = {so, var, var && n ? num : NULL, extra};
    struct captured cap = {res->out, sizeof res->out, 0, res->err, sizeof res->err, 0};
    res->status = run_captured(args, set_child_env, &ce, &cap);
    res->grew = res->slabs = 0;
    res->nulls = res->scopes_off = 0;
    res->first = -1;
    sscanf(res->out, "grew=%zu nulls=%d scopes_off=%d slabs=%zu first=%d", &res->grew, &res->nulls, &res->scopes_off,
           &res->slabs, &res->first);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--child"))
        return child(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/liboffheap.so\n", argv[0]);
        return 2;
    }
    const char *so = argv[1];
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) return 2;
    self[sl] = '\0';

    static struct result res;
    run_child(self, so, NULL, 0, NULL, 0, SIZE_MAX, &res);
    if (res.status == 77) {
        printf("oom_preload: the preload does not load here; skipping\n");
        return 77;
    }

    static const struct {
        const char *var, *extra, *name;
    } kinds[] = {
        {"OFFHEAP_FAULT_MMAP", NULL, "mmap"},
        {"OFFHEAP_FAULT_MMAP", "OFFHEAP_CHECK=1", "mmap+check"},
        {"OFFHEAP_FAULT_FALLBACK", NULL, "fallback"},
        /* The pool too small for a round, the rest from the heap.  Heap
         * growth is not checked here: exhaust_fallback tests that leak. */
        {"OFFHEAP_FAULT_FALLBACK", "OFFHEAP_ON_EXHAUST=fallback OFFHEAP_POOL_SIZE=4M OOM_NO_HEAP_CHECK=1",
         "fallback+exhausted"},
    };
    int failures = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        /* A clean child with the same settings: its heap growth (plus slack
         * for libc's own allocations that a fault may move in time) and its
         * slabs in use are the bounds. */
        run_child(self, so, NULL, 0, kinds[k].extra, 0, SIZE_MAX, &res);
        if (res.status != 0 || res.nulls) {
            fprintf(stderr, "oom_preload: clean %s child failed (status %d, nulls %d):\n%s%s", kinds[k].name,
                    res.status, res.nulls, res.out, res.err);
            return 1;
        }
        size_t base = res.grew + 64 * 1024, base_slabs = res.slabs;
        unsigned long quiet = 0, n, hit = 0;
        for (n = 1; n <= 400 && quiet < 25; n++) {
            run_child(self, so, kinds[k].var, n, kinds[k].extra, base, base_slabs, &res);
            /* The walk ends when the fault no longer lands in the first
             * rounds (N is past their calls): later rounds must prove the
             * allocator usable after it. */
            bool effect = (res.first >= 0 && res.first < ROUNDS - 2) || res.scopes_off;
            bool ok = res.status == 0;
            if (res.scopes_off && !strstr(res.err, "scopes are off")) {
                ok = false;
                fprintf(stderr, "oom_preload: %s N=%lu: scopes off without the stderr line\n", kinds[k].name, n);
            }
            if (!ok) {
                failures++;
                fprintf(stderr, "oom_preload: %s=%lu%s%s: child status %d\n--- stdout\n%s--- stderr\n%s---\n",
                        kinds[k].var, n, kinds[k].extra ? " " : "", kinds[k].extra ? kinds[k].extra : "", res.status,
                        res.out, res.err);
                if (failures > 10) return 1;
            }
            if (effect) hit++, quiet = 0;
            else quiet++;
        }
        printf("oom_preload: %-20s N = 1..%lu: %lu with a visible failure, all handled\n", kinds[k].name, n - 1, hit);
        if (hit == 0) {
            fprintf(stderr, "oom_preload: %s: no N made anything fail: fault injection not working?\n", kinds[k].name);
            failures++;
        }
    }
    return failures ? 1 : 0;
}
