/* SPDX-License-Identifier: MIT */
/*
 * scopes.c — scope semantics on one thread: nesting (an inner end releases
 * only the inner scope), address reuse after an end, calloc zeroing reused
 * (dirtied) memory, free of a block after its scope ended is a no-op,
 * realloc inside a scope keeps content, realloc across the scope boundary
 * moves the block to the heap with its content, large blocks, misuse
 * (reported on stderr, counted, no corruption), thread tagging and its
 * error codes, and the escape hatch.
 */
#include "ph.h"

#include <malloc.h>
#include <pthread.h>

#define MiB ((size_t)1 << 20)

/* Check mode gives every scope fresh slabs (released ones are quarantined),
 * so addresses are not reused there. */
static int check_mode;

/* pass 0 is the first time this code runs in a scope: its allocation sites
 * are on probation, and an inner scope that allocated from them releases
 * nothing at its end (its blocks join the outer scope until the rescue at
 * the outer end has judged them; docs/design.md, "Scope safety").  From
 * pass 1 on the sites are known and the inner end releases at once. */
static void nested(int pass)
{
    offheap_scope_begin();
    char *a = malloc(100);
    REQUIRE(a && offheap_owns(a));
    ph_fill(a, 100, 10);

    offheap_scope_begin();
    CHECK(offheap_scope_depth() == 2);
    char *b = malloc(100);
    REQUIRE(b && offheap_owns(b));
    /* The inner scope takes several slabs and a large run. */
    char *many[64];
    for (int i = 0; i < 64; i++) {
        many[i] = malloc(100000);
        REQUIRE(many[i]);
        memset(many[i], 0xee, 100000);
    }
    char *big = malloc(3 * MiB);
    REQUIRE(big && offheap_owns(big));
    memset(big, 0xdd, 3 * MiB);
    offheap_scope_end();
    CHECK(offheap_scope_depth() == 1);
    CHECK(ph_intact(a, 100, 10));

    /* Reuse: the next block of the same size lands where the inner one was. */
    char *c = malloc(100);
    CHECKF(check_mode || pass == 0 || c == b, "after the inner end malloc(100) = %p, the inner block was %p", (void *)c,
           (void *)b);
    CHECKF(pass > 0 || c != b, "the first inner end released blocks of sites on probation (%p reused)", (void *)c);
    ph_fill(c, 100, 11);
    /* The outer scope keeps allocating over what the inner one released. */
    for (int i = 0; i < 64; i++) {
        char *p = malloc(100000);
        REQUIRE(p);
        memset(p, 0x11, 100000);
    }
    CHECK(ph_intact(a, 100, 10));
    CHECK(ph_intact(c, 100, 11));
    offheap_scope_end();
    CHECK(offheap_scope_depth() == 0);

    /* After the outer end the warm slab is reused from its start (a scope
     * on probation took a clean slab of its own, pass 0). */
    offheap_scope_begin();
    char *d = malloc(100);
    CHECKF(check_mode || pass == 0 || d == a, "a new scope's first malloc(100) = %p, the old scope's was %p",
           (void *)d, (void *)a);
    offheap_scope_end();
}

static void calloc_reused(void)
{
    /* Dirty bump slabs, a large run and a nested mark, then calloc over
     * the same memory. */
    static const size_t sizes[] = {1, 16, 24, 100, 1000, 4096, 10000, 65536, 200000, 2 * MiB, 5 * MiB};
    for (int round = 0; round < 3; round++) {
        offheap_scope_begin();
        for (int k = 0; k < 4; k++)
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                void *p = malloc(sizes[i]);
                REQUIRE(p);
                memset(p, 0xff, malloc_usable_size(p));
            }
        offheap_scope_end();

        offheap_scope_begin();
        for (int k = 0; k < 4; k++)
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                unsigned char *p = calloc(1, sizes[i]);
                REQUIRE(p && offheap_owns(p));
                CHECKF(ph_all(p, sizes[i], 0), "round %d: calloc(%zu) from a reused slab is not zeroed", round,
                       sizes[i]);
                memset(p, 0xff, malloc_usable_size(p)); /* dirty for the next round */
            }
        offheap_scope_end();
    }

    /* Inside one scope: an inner scope dirties memory the outer reuses. */
    offheap_scope_begin();
    void *keep = malloc(32);
    for (int k = 0; k < 3; k++) {
        offheap_scope_begin();
        for (int i = 0; i < 50; i++) memset(malloc(5000), 0xab, 5000);
        offheap_scope_end();
        for (int i = 0; i < 50; i++) {
            unsigned char *z = calloc(5000, 1);
            REQUIRE(z);
            CHECKF(ph_all(z, 5000, 0), "calloc after an inner scope's end is not zeroed (k %d, i %d)", k, i);
            memset(z, 0xcd, 5000);
        }
        /* Shrink then calloc into the freed tail. */
    }
    (void)keep;
    offheap_scope_end();

    /* The newest block grown in place over dirty memory, shrunk, then
     * calloc right after it; also after an inner scope and an aligned block. */
    for (int round = 0; round < 20; round++) {
        offheap_scope_begin();
        for (int i = 0; i < 200; i++) memset(malloc(1000 + (size_t)round), 0xff, 1000 + (size_t)round);
        offheap_scope_end();
        offheap_scope_begin();
        char *g = malloc(16);
        g = realloc(g, 50000 + (size_t)round * 100);
        REQUIRE(g);
        memset(g, 0xee, 50000 + (size_t)round * 100);
        g = realloc(g, 100);
        unsigned char *z1 = calloc(1, 3000);
        CHECKF(z1 && ph_all(z1, 3000, 0), "round %d: calloc after an in-place realloc is not zeroed", round);
        offheap_scope_begin();
        unsigned char *z2 = calloc(3, 1000);
        CHECK(z2 && ph_all(z2, 3000, 0));
        memset(z2, 0xdd, 3000);
        offheap_scope_end();
        unsigned char *z3 = calloc(1, 3000);
        CHECKF(z3 && ph_all(z3, 3000, 0), "round %d: calloc after an inner scope is not zeroed", round);
        void *al = memalign(4096, 100);
        REQUIRE(al);
        memset(al, 0xcc, 100);
        unsigned char *z4 = calloc(1, 5000);
        CHECKF(z4 && ph_all(z4, 5000, 0), "round %d: calloc after an aligned block is not zeroed", round);
        offheap_scope_end();
    }

    /* realloc shrink, then calloc must not see the old tail. */
    offheap_scope_begin();
    char *r = malloc(4000);
    memset(r, 0x77, 4000);
    r = realloc(r, 16);
    unsigned char *z = calloc(1, 3000);
    CHECK(z && ph_all(z, 3000, 0));
    offheap_scope_end();
}

static void stale_free(void)
{
    offheap_scope_begin();
    char *old = malloc(256);
    REQUIRE(old);
    offheap_scope_end();

    offheap_scope_begin();
    char *now = malloc(256);
    REQUIRE(now);
    ph_fill(now, 256, 20);
    offheap_stats s0 = ph_stats();
    free(old); /* stale: may be `now`'s address; must do nothing */
    offheap_stats s1 = ph_stats();
    CHECK(s1.frees_ignored == s0.frees_ignored + 1);
    char *next = malloc(256);
    CHECKF(next != now, "free of a stale block let malloc hand out a live block again (%p)", (void *)next);
    ph_fill(next, 256, 21);
    CHECK(ph_intact(now, 256, 20));
    offheap_scope_end();
    free(now); /* outside any scope: still a no-op */
    free(next);
    void *h = malloc(256);
    CHECK(h && !offheap_owns(h));
    free(h);
}

static void realloc_in_scope(void)
{
    offheap_scope_begin();
    char *p = malloc(40);
    REQUIRE(p);
    ph_fill(p, 40, 30);
    /* The newest block grows in place. */
    char *q = realloc(p, 400);
    CHECKF(q == p, "the newest block did not grow in place (%p -> %p)", (void *)p, (void *)q);
    CHECK(ph_intact(q, 40, 30));
    ph_fill(q, 400, 30);
    char *other = malloc(10);
    ph_fill(other, 10, 31);
    /* Not the newest any more: it moves, content kept, still a pool block. */
    char *r = realloc(q, 5000);
    REQUIRE(r);
    CHECK(offheap_owns(r));
    CHECK(ph_intact(r, 400, 30));
    CHECK(ph_intact(other, 10, 31));
    /* Shrink in place. */
    char *s = realloc(r, 100);
    CHECK(s == r && ph_intact(s, 100, 30));
    /* Grow to a large block (own run of slabs). */
    char *t = realloc(s, 3 * MiB);
    REQUIRE(t && offheap_owns(t));
    CHECK(ph_intact(t, 100, 30));
    memset(t + 100, 0x42, 3 * MiB - 100);
    char *u = realloc(t, 6 * MiB);
    REQUIRE(u && offheap_owns(u));
    CHECK(ph_intact(u, 100, 30) && ph_all(u + 100, 3 * MiB - 100, 0x42));
    offheap_scope_end();
}

/* A scope whose first pool block comes after an inner scope that took a
 * slab: its blocks are still blocks of the innermost scope for realloc.
 * Run on a fresh thread (no warm slab yet). */
static void *realloc_after_inner_thread(void *arg)
{
    (void)arg;
    offheap_scope_begin(); /* nothing from the pool yet */
    offheap_scope_begin();
    memset(malloc(100), 1, 100); /* the inner scope takes a slab */
    offheap_scope_end();
    char *p = malloc(100);
    REQUIRE(p && offheap_owns(p));
    ph_fill(p, 100, 90);
    char *q = realloc(p, 200);
    CHECKF(q && offheap_owns(q), "realloc of the newest block of the innermost scope went to the heap (%p -> %p)",
           (void *)p, (void *)q);
    CHECK(q && ph_intact(q, 100, 90));
    if (q && !offheap_owns(q)) free(q);
    offheap_scope_end();

    /* Same for a tagged thread's own blocks. */
    CHECK(offheap_thread_tag() == 0);
    offheap_scope_begin();
    memset(malloc(100), 1, 100);
    offheap_scope_end();
    char *t = malloc(100);
    char *u = realloc(t, 5000);
    CHECKF(u && offheap_owns(u), "realloc of a tagged thread's block after an inner scope went to the heap");
    if (u && !offheap_owns(u)) free(u);
    CHECK(offheap_thread_untag() == 0);
    return NULL;
}

/* A tagged worker: tag, then handle a request and reset, over and over.
 * Its blocks are always the innermost level's (fresh thread). */
static void *tagged_worker_thread(void *arg)
{
    (void)arg;
    CHECK(offheap_thread_tag() == 0);
    for (int r = 0; r < 4; r++) {
        char *p = malloc(100);
        REQUIRE(p && offheap_owns(p));
        ph_fill(p, 100, 91);
        char *q = realloc(p, 300);
        CHECKF(q && offheap_owns(q), "tagged worker, round %d (after %d resets): realloc went to the heap", r, r);
        CHECK(q && ph_intact(q, 100, 91));
        if (q && !offheap_owns(q)) free(q);
        CHECK(offheap_thread_reset() == 0);
    }
    CHECK(offheap_thread_untag() == 0);
    return NULL;
}

static void realloc_after_inner(void)
{
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, realloc_after_inner_thread, NULL) == 0);
    pthread_join(t, NULL);
    REQUIRE(pthread_create(&t, NULL, tagged_worker_thread, NULL) == 0);
    pthread_join(t, NULL);
}

static void realloc_escapes(void)
{
    offheap_stats s0 = ph_stats();
    offheap_scope_begin();
    char *outer = malloc(3000);
    REQUIRE(outer);
    ph_fill(outer, 3000, 40);
    offheap_scope_begin();
    /* A block of the outer scope reallocated in the inner one must not be
     * tied to the inner scope: it goes to the heap. */
    char *moved = realloc(outer, 6000);
    REQUIRE(moved);
    CHECK(ph_intact(moved, 3000, 40));
    CHECK(!offheap_owns(moved));
    for (int i = 0; i < 100; i++) memset(malloc(10000), 0x99, 10000);
    offheap_scope_end();
    CHECK(ph_intact(moved, 3000, 40));

    /* Through the escape hatch: a scope block reallocated with the escape
     * open goes to the heap and survives the scope. */
    char *inner = malloc(777);
    REQUIRE(inner && offheap_owns(inner));
    ph_fill(inner, 777, 41);
    offheap_escape_begin();
    char *kept = realloc(inner, 1500);
    offheap_escape_end();
    REQUIRE(kept);
    CHECK(!offheap_owns(kept));
    CHECK(ph_intact(kept, 777, 41));
    offheap_scope_end();

    for (int i = 0; i < 20; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 100; j++) memset(malloc(10000), 0x98, 10000);
        offheap_scope_end();
    }
    CHECK(ph_intact(moved, 3000, 40));
    CHECK(ph_intact(kept, 777, 41));
    offheap_stats s1 = ph_stats();
    CHECK(s1.reallocs_moved_out >= s0.reallocs_moved_out + 2);
    /* Heap blocks free normally. */
    free(moved);
    free(kept);
}

static void large_blocks(void)
{
    offheap_stats s0 = ph_stats();
    offheap_scope_begin();
    static const size_t sizes[] = {MiB / 4, MiB, MiB + 1, 2 * MiB, 5 * MiB + 3, 17 * MiB};
    char *b[6];
    for (int i = 0; i < 6; i++) {
        b[i] = malloc(sizes[i]);
        REQUIRE(b[i]);
        CHECK(offheap_owns(b[i]) && offheap_owns(b[i] + sizes[i] - 1));
        CHECK(((uintptr_t)b[i] & 15) == 0);
        CHECK(malloc_usable_size(b[i]) >= sizes[i]);
        ph_fill(b[i], sizes[i], (unsigned)i);
    }
    for (int i = 0; i < 6; i++) CHECKF(ph_intact(b[i], sizes[i], (unsigned)i), "large block %d overwritten", i);
    offheap_stats s1 = ph_stats();
    size_t total = 0;
    for (int i = 0; i < 6; i++) total += sizes[i];
    CHECKF((s1.slabs_in_use - s0.slabs_in_use) * s1.slab_size >= total, "%llu more slabs of %llu bytes hold %zu bytes",
           (unsigned long long)(s1.slabs_in_use - s0.slabs_in_use), (unsigned long long)s1.slab_size, total);
    offheap_scope_end();
    offheap_stats s2 = ph_stats();
    CHECKF(check_mode || s2.slabs_in_use <= s0.slabs_in_use + 1, "slabs in use %llu before, %llu after the scope",
           (unsigned long long)s0.slabs_in_use, (unsigned long long)s2.slabs_in_use);
}

static void end_without_begin(void *arg)
{
    (void)arg;
    offheap_scope_end();
}

static void nest_too_deep(void *arg)
{
    char **deep = arg;
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH + 5; i++) offheap_scope_begin();
    *deep = malloc(64);
}

static void unmatched_escape(void *arg)
{
    (void)arg;
    offheap_escape_end();
}

static void misuse(void)
{
    void *heap = malloc(100);
    ph_fill(heap, 100, 50);
    offheap_stats s0 = ph_stats();

    const char *err = ph_capture_stderr(end_without_begin, NULL);
    CHECKF(ph_count_lines(err) == 1 && strstr(err, "offheap_scope_end"), "end without begin said: '%s'", err);
    offheap_stats s1 = ph_stats();
    CHECK(s1.misuse == s0.misuse + 1);
    CHECK(offheap_scope_depth() == 0);

    char *deep = NULL;
    err = ph_capture_stderr(nest_too_deep, &deep);
    CHECKF(ph_count_lines(err) == 1 && strstr(err, "OFFHEAP_SCOPE_MAX_DEPTH"), "nesting past the limit said: '%s'",
           err);
    offheap_stats s2 = ph_stats();
    /* One line for the run, one misuse for each of the 5 ignored begins. */
    CHECKF(s2.misuse == s1.misuse + 5, "misuse +%llu for 5 begins past the limit",
           (unsigned long long)(s2.misuse - s1.misuse));
    CHECK(offheap_scope_depth() == OFFHEAP_SCOPE_MAX_DEPTH);
    CHECK(s2.depth_peak >= OFFHEAP_SCOPE_MAX_DEPTH);
    REQUIRE(deep && offheap_owns(deep));
    ph_fill(deep, 64, 51);
    /* The extra ends match the ignored begins: the innermost real scope
     * stays open until they are all consumed. */
    for (int i = 0; i < 5; i++) offheap_scope_end();
    CHECK(offheap_scope_depth() == OFFHEAP_SCOPE_MAX_DEPTH);
    CHECK(ph_intact(deep, 64, 51));
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH; i++) offheap_scope_end();
    CHECK(offheap_scope_depth() == 0);
    offheap_stats s3 = ph_stats();
    CHECK(s3.misuse == s2.misuse);

    err = ph_capture_stderr(unmatched_escape, NULL);
    CHECKF(ph_count_lines(err) == 1 && strstr(err, "offheap_escape_end"), "unmatched escape end said: '%s'", err);
    CHECK(ph_stats().misuse == s3.misuse + 1);

    /* Nothing was corrupted: scopes still work, heap block intact. */
    offheap_scope_begin();
    char *p = malloc(100);
    CHECK(p && offheap_owns(p));
    offheap_scope_end();
    char *h = malloc(100);
    CHECK(h && !offheap_owns(h));
    free(h);
    CHECK(ph_intact(heap, 100, 50));
    free(heap);
}

/* pass 0 runs this code's allocation sites for the first time (probation:
 * reuse of addresses is asserted from pass 1 on, see nested()). */
__attribute__((noinline)) static char *tag_block(void)
{
    return malloc(500);
}

static void tagging(int pass)
{
    CHECK(offheap_thread_reset() == EINVAL);
    CHECK(offheap_thread_untag() == EINVAL);
    offheap_scope_begin();
    CHECK(offheap_thread_tag() == EBUSY); /* tag first, then scopes */
    offheap_scope_end();

    CHECK(offheap_thread_tag() == 0);
    CHECK(offheap_thread_tag() == EBUSY);
    CHECK(offheap_scope_depth() == 1);
    char *a = tag_block();
    REQUIRE(a && offheap_owns(a));
    ph_fill(a, 500, 60);
    /* A scope on top of the tag. */
    offheap_scope_begin();
    CHECK(offheap_scope_depth() == 2);
    char *b = malloc(500);
    CHECK(b && offheap_owns(b));
    CHECK(offheap_thread_reset() == EBUSY);
    CHECK(offheap_thread_untag() == EBUSY);
    offheap_scope_end();
    CHECK(ph_intact(a, 500, 60));
    /* Reset releases the tag's blocks (the memory is reused) and keeps the tag. */
    CHECK(offheap_thread_reset() == 0);
    CHECK(offheap_scope_depth() == 1);
    char *c = tag_block();
    CHECKF(check_mode || pass == 0 || c == a, "after reset malloc(500) = %p, first tagged block was %p", (void *)c,
           (void *)a);
    CHECK(offheap_owns(c));
    /* Untag: back to the heap. */
    CHECK(offheap_thread_untag() == 0);
    CHECK(offheap_scope_depth() == 0);
    CHECK(offheap_thread_untag() == EINVAL);
    CHECK(offheap_thread_reset() == EINVAL);
    char *d = malloc(500);
    CHECK(d && !offheap_owns(d));
    free(d);
    /* Scopes work as before. */
    offheap_scope_begin();
    CHECK(offheap_owns(malloc(8)));
    offheap_scope_end();

    /* The tag's base counts as one level of OFFHEAP_SCOPE_MAX_DEPTH. */
    offheap_stats s0 = ph_stats();
    CHECK(offheap_thread_tag() == 0);
    for (int i = 1; i < OFFHEAP_SCOPE_MAX_DEPTH; i++) offheap_scope_begin();
    CHECK(offheap_scope_depth() == OFFHEAP_SCOPE_MAX_DEPTH);
    CHECK(ph_stats().misuse == s0.misuse);
    for (int i = 1; i < OFFHEAP_SCOPE_MAX_DEPTH; i++) offheap_scope_end();
    CHECK(offheap_scope_depth() == 1);
    CHECK(offheap_thread_untag() == 0);
    CHECK(ph_stats().misuse == s0.misuse);
}

static void api_errors(void)
{
    CHECK(offheap_stats_get(NULL) == EINVAL);
    CHECK(offheap_stats_print(-1, 0) == EBADF);
    CHECK(offheap_stats_print(-1, 1) == EBADF);
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK(offheap_stats_print(p[1], 1) == 0);
    char buf[4096];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = '\0';
    const char *head = "{\"liboffheap\":{\"version\":\"" OFFHEAP_VERSION "\",\"pid\":";
    CHECKF(!strncmp(buf, head, strlen(head)) && strstr(buf, ",\"scopes\":") && strstr(buf, "\"threads\":") &&
               buf[n - 1] == '\n',
           "stats JSON: %s", buf);
    close(p[0]);
    close(p[1]);
}

static void escape_hatch(void)
{
    offheap_scope_begin();
    offheap_escape_begin();
    char *cache = malloc(1000);
    char *cache2 = calloc(10, 100);
    void *al = aligned_alloc(256, 512);
    offheap_escape_begin(); /* nests */
    char *dup = strdup("escaped string");
    offheap_escape_end();
    char *still = malloc(10);
    offheap_escape_end();
    char *scoped = malloc(1000);
    REQUIRE(cache && cache2 && al && dup && still && scoped);
    CHECK(!offheap_owns(cache) && !offheap_owns(cache2) && !offheap_owns(al) && !offheap_owns(dup) &&
          !offheap_owns(still));
    CHECK(offheap_owns(scoped));
    CHECK(((uintptr_t)al & 255) == 0);
    ph_fill(cache, 1000, 70);
    CHECK(ph_all(cache2, 1000, 0));
    offheap_scope_end();
    for (int i = 0; i < 20; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 50; j++) memset(malloc(20000), 0x66, 20000);
        offheap_scope_end();
    }
    CHECK(ph_intact(cache, 1000, 70));
    CHECK(ph_all(cache2, 1000, 0));
    CHECK(strcmp(dup, "escaped string") == 0);
    free(cache);
    free(cache2);
    free(al);
    free(dup);
    free(still);
}

int main(void)
{
    ph_require_preload();
    const char *chk = getenv("OFFHEAP_CHECK");
    check_mode = chk && strcmp(chk, "0") != 0;
    nested(0);
    nested(1);
    calloc_reused();
    stale_free();
    realloc_in_scope();
    realloc_after_inner();
    realloc_escapes();
    large_blocks();
    misuse();
    tagging(0);
    tagging(1);
    escape_hatch();
    api_errors();
    CHECK(offheap_scope_depth() == 0);
    return check_done("scopes");
}
